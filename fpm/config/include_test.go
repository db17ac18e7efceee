package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
	require.NoError(t, os.WriteFile(name, []byte(text), 0o644))
}

// tree writes files under a temporary directory and returns it.
func tree(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, text := range files {
		writeFile(t, filepath.Join(dir, name), text)
	}
	return dir
}

func poolConf(name, listen string) string {
	return "[" + name + "]\nlisten = " + listen + "\npm = static\npm.max_children = 2\n" +
		"access.log = log/$pool.log\n"
}

// Files a glob matches are read in name order, relative to the including
// file, and $pool in each is its own pool's name.
func TestIncludeGlob(t *testing.T) {
	dir := tree(t, map[string]string{
		"pool.d/b.conf":       poolConf("beta", "9001"),
		"pool.d/a.conf":       poolConf("alpha", "$pool.sock"),
		"pool.d/c.conf.off":   poolConf("off", "9002"),
		"pool.d/dir.conf/x":   "not read",
		"pool.d/sub/d.conf":   poolConf("sub", "9003"),
		"other/absolute.conf": poolConf("absolute", "9004"),
	})
	abs := filepath.Join(dir, "other", "absolute.conf")
	writeFile(t, filepath.Join(dir, "fpm.conf"), "[global]\nlog_level = debug\ninclude = pool.d/*.conf\ninclude="+abs+"\n")
	cfg, err := Load(filepath.Join(dir, "fpm.conf"))
	require.NoError(t, err)
	var names, listens, logs []string
	for _, p := range cfg.Pools {
		names = append(names, p.Name)
		listens = append(listens, p.Listen)
		logs = append(logs, p.AccessLog)
	}
	assert.Equal(t, []string{"alpha", "beta", "absolute"}, names)
	assert.Equal(t, []string{filepath.Join(dir, "pool.d", "alpha.sock"), "9001", "9004"}, listens)
	assert.Equal(t, []string{
		filepath.Join(dir, "pool.d", "log", "alpha.log"),
		filepath.Join(dir, "pool.d", "log", "beta.log"),
		filepath.Join(dir, "other", "log", "absolute.log"),
	}, logs)
	assert.Equal(t, "debug", cfg.Global.LogLevel)
	assert.Empty(t, cfg.Warnings)
}

// Errors in an included file name that file and its line.
func TestIncludeErrorPlace(t *testing.T) {
	dir := tree(t, map[string]string{
		"fpm.conf":        "include = pool.d/*.conf\n",
		"pool.d/www.conf": "[www]\nlisten = 9000\npm = static\npm.max_children = 1\npm.max_chilren = 2\n",
		"pool.d/api.conf": "; the api\n[api]\nlisten = 9000\npm = static\npm.max_children = 1\n",
	})
	_, err := Load(filepath.Join(dir, "fpm.conf"))
	require.Error(t, err)
	pool := filepath.Join(dir, "pool.d")
	assert.Equal(t, filepath.Join(pool, "www.conf")+":5: unknown entry 'pm.max_chilren'\n"+
		filepath.Join(pool, "www.conf")+":2: [www] unable to set listen address as it's already used in another pool 'api'",
		err.Error())
}

// A pattern matching nothing is fine, as in php-fpm, with a warning.
func TestIncludeNothing(t *testing.T) {
	dir := tree(t, map[string]string{"fpm.conf": minimal + "include = pool.d/*.conf\n"})
	cfg, err := Load(filepath.Join(dir, "fpm.conf"))
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "fpm.conf") + ":5: nothing matches the include pattern '" +
		filepath.Join(dir, "pool.d", "*.conf") + "'"}, cfg.Warnings)

	_, err = Parse("fpm.conf", []byte(minimal+"include = [\n"))
	assert.EqualError(t, err, "fpm.conf:5: unable to include '[': syntax error in pattern")
}

// A file that includes itself, directly or not, is refused at the include
// that closes the loop; the rest is read once.
func TestIncludeCycle(t *testing.T) {
	dir := tree(t, map[string]string{
		"fpm.conf":  "include = a.conf\n",
		"a.conf":    minimal + "include = b/*.conf\n",
		"b/b.conf":  "include = ../a.conf\n",
		"self.conf": "include = self.conf\n" + minimal,
	})
	cfg, err := Parse(filepath.Join(dir, "fpm.conf"), []byte("include = a.conf\n"))
	require.Error(t, err)
	assert.Nil(t, cfg)
	assert.Equal(t, filepath.Join(dir, "b", "b.conf")+":1: include cycle: "+
		filepath.Join(dir, "a.conf")+" -> "+filepath.Join(dir, "b", "b.conf")+" -> "+filepath.Join(dir, "a.conf"),
		err.Error())

	_, err = Load(filepath.Join(dir, "self.conf"))
	self := filepath.Join(dir, "self.conf")
	assert.EqualError(t, err, self+":1: include cycle: "+self+" -> "+self)
}

// Includes nest at most five files deep, as in php-fpm.
func TestIncludeDepth(t *testing.T) {
	files := map[string]string{"6.conf": minimal}
	for i := 1; i <= 5; i++ {
		files[string(rune('0'+i))+".conf"] = "include = " + string(rune('1'+i)) + ".conf\n"
	}
	dir := tree(t, files)
	_, err := Load(filepath.Join(dir, "1.conf"))
	assert.EqualError(t, err, filepath.Join(dir, "5.conf")+":1: unable to include "+filepath.Join(dir, "6.conf")+
		": failed to include more than 5 files recursively\n"+
		filepath.Join(dir, "1.conf")+": no pool defined: at least one pool section must be specified in config file")

	files["5.conf"] = minimal
	_, err = Load(filepath.Join(tree(t, files), "1.conf"))
	assert.NoError(t, err, "five deep is allowed")
}

// As in php-fpm, the section carries across an include: lines after an
// include go to the last pool the included files opened, which is why the
// include comes last in php-fpm.conf.
func TestIncludeSectionCarries(t *testing.T) {
	dir := tree(t, map[string]string{
		"fpm.conf":        "[global]\ninclude = pool.d/*.conf\nlog_level = debug\n",
		"pool.d/www.conf": poolConf("www", "9000"),
	})
	_, err := Load(filepath.Join(dir, "fpm.conf"))
	assert.EqualError(t, err, filepath.Join(dir, "fpm.conf")+":3: unknown entry 'log_level'")

	dir = tree(t, map[string]string{
		"fpm.conf":     "[www]\ninclude = www.d/*.conf\n",
		"www.d/pm":     "",
		"www.d/a.conf": "listen = 9000\npm = static\n",
		"www.d/b.conf": "pm.max_children = 3\n",
	})
	cfg, err := Load(filepath.Join(dir, "fpm.conf"))
	require.NoError(t, err)
	assert.Equal(t, 3, cfg.Pools[0].MaxChildren, "an included file without a section adds to the includer's pool")
}

func TestIncludeUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	dir := tree(t, map[string]string{"fpm.conf": minimal + "include = secret.conf\n", "secret.conf": "x = 1\n"})
	require.NoError(t, os.Chmod(filepath.Join(dir, "secret.conf"), 0))
	_, err := Load(filepath.Join(dir, "fpm.conf"))
	secret := filepath.Join(dir, "secret.conf")
	assert.EqualError(t, err, filepath.Join(dir, "fpm.conf")+":5: unable to include "+secret+": open "+secret+": permission denied")
}
