package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// TestMain lets the test binary be corofpm itself: the daemon and the
// workers it starts are this binary again, run through main.
func TestMain(m *testing.M) {
	if os.Getenv("COROFPM_TEST_MAIN") != "" || os.Getenv("COROFPM_ROLE") != "" {
		main()
	}
	os.Exit(m.Run())
}

// corofpm runs this binary as the command, with args.
func corofpm(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "COROFPM_TEST_MAIN=1")
	return cmd
}

func writeConf(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fpm.conf")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

func TestTestFlagSaysWhatIsWrongAndWhere(t *testing.T) {
	bad := writeConf(t, "[global]\nlog_level = loud\n[www]\nlisten = 127.0.0.1:9000\npm.max_chilren = 5\n")
	var stderr bytes.Buffer
	cmd := corofpm("-y", bad, "-t")
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 1, exit.ExitCode())
	out := stderr.String()
	assert.Contains(t, out, "fpm.conf:2: unable to parse value for entry 'log_level'")
	assert.Contains(t, out, "fpm.conf:5: unknown entry 'pm.max_chilren'")
	assert.Contains(t, out, "test failed")

	good := writeConf(t, "[www]\nlisten = 127.0.0.1:9000\npm = static\npm.max_children = 2\n")
	out2, err := corofpm("--fpm-config", good, "--test").CombinedOutput()
	require.NoError(t, err)
	assert.Equal(t, "NOTICE: configuration file "+good+" test is successful\n", string(out2))
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	out, err := corofpm("-h").CombinedOutput()
	require.NoError(t, err)
	for _, flag := range []string{"-y", "-p", "-t", "-F", "-D", "-fpm-config", "-prefix", "-test", "-nodaemonize", "-daemonize"} {
		assert.Contains(t, string(out), "  "+flag, "help lists %s", flag)
	}
	out, err = corofpm("-y").CombinedOutput()
	assert.Error(t, err)
	assert.Contains(t, string(out), "flag needs an argument")
}

func TestDaemonStartsServesAndStopsByItsPidFile(t *testing.T) {
	port, err := peer.FreePort()
	require.NoError(t, err)
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	conf := writeConf(t, "[global]\npid = "+dir+"/fpm.pid\nerror_log = "+dir+"/fpm.log\n"+
		"[www]\nlisten = "+addr+"\npm = static\npm.max_children = 1\n")
	out, err := corofpm("-y", conf).CombinedOutput() // daemonize defaults to yes
	require.NoError(t, err, "%s", out)

	pidText, err := os.ReadFile(filepath.Join(dir, "fpm.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	sid, err := unix.Getsid(pid)
	require.NoError(t, err)
	assert.Equal(t, pid, sid, "the daemon leads a session of its own")

	c, err := fastcgi.Dial(addr, 5*time.Second)
	require.NoError(t, err)
	reply, err := c.Do(fastcgi.Call{Params: map[string]string{"SCRIPT_NAME": "/hello.php", "REQUEST_METHOD": "GET"}})
	c.Close()
	require.NoError(t, err)
	assert.Contains(t, string(reply.Stdout), "Hello from corofpm")

	require.NoError(t, syscall.Kill(pid, syscall.SIGQUIT))
	require.Eventually(t, func() bool { return chaptertest.Gone(pid) }, 10*time.Second, 20*time.Millisecond)
	_, err = os.Stat(filepath.Join(dir, "fpm.pid"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	log, _ := os.ReadFile(filepath.Join(dir, "fpm.log"))
	assert.Contains(t, string(log), "exiting, bye-bye!")
}

func TestABadConfigurationFailsTheStartWithItsReason(t *testing.T) {
	port, err := peer.FreePort()
	require.NoError(t, err)
	conf := writeConf(t, "[www]\nlisten = 127.0.0.1:"+strconv.Itoa(port)+"\npm = sometimes\n")
	out, err := corofpm("-y", conf, "-F").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "ERROR: ")
	assert.Contains(t, string(out), "FPM initialization failed")
}

func TestTheSampleConfigurationIsGood(t *testing.T) {
	out, err := corofpm("-y", filepath.Join("conf", "fpm.conf"), "-t").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "test is successful")
}

// TestBrokenConfigurations runs -t on each file in testdata/bad, whose
// first line says what the error must say: "; want: ...".
func TestBrokenConfigurations(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.conf"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			text, err := os.ReadFile(file)
			require.NoError(t, err)
			first, _, _ := strings.Cut(string(text), "\n")
			want, ok := strings.CutPrefix(first, "; want: ")
			require.True(t, ok, "the first line says what to expect")
			out, err := corofpm("-y", file, "-t").CombinedOutput()
			require.Error(t, err)
			assert.Contains(t, string(out), want)
			assert.Contains(t, string(out), "ERROR: configuration file "+file+" test failed")
		})
	}
}
