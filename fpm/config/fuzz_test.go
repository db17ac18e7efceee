package config

import (
	"net/netip"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
)

// mapFiles are the files an include may find while fuzzing, so that a fuzzed
// include=/... never reads the machine's files.
type mapFiles map[string]string

func (m mapFiles) Glob(pattern string) ([]string, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, err
	}
	var names []string
	for name := range m {
		if ok, _ := path.Match(pattern, name); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

func (m mapFiles) ReadFile(name string) ([]byte, error) {
	if text, ok := m[name]; ok {
		return []byte(text), nil
	}
	return nil, os.ErrNotExist
}

// FuzzParse: no input makes the parser panic, every error it reports has a
// file and a line (but the one about the whole file), and a configuration it
// accepts is one a master can run: a pool, an address net/sock can open,
// workers.
//
//	go test ./fpm/config -run XXX -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/php-fpm.conf", "testdata/pool.d/www.conf"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal + "include = pool.d/*.conf\n"))
	f.Add([]byte("include = loop.conf\n[a]\nlisten=1\npm=dynamic\npm.max_children=3\npm.min_spare_servers=1\npm.max_spare_servers=2\n"))
	f.Add([]byte("[x]\nenv[A] = \"b\\\"c\" ; d\nlisten.allowed_clients = ::1,127.0.0.1\nping.path=/p\n"))
	files := mapFiles{
		"pool.d/www.conf": poolConf("www", "9000"),
		"pool.d/api.conf": "[api]\nlisten = /run/$pool.sock\npm = ondemand\npm.max_children = 4\n",
		"loop.conf":       "include = fpm.conf\n",
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parse("fpm.conf", data, files, "")
		for _, e := range Errors(err) {
			if e.File == "" || e.Msg == "" || e.Line < 1 && e.Err != ErrNoPool {
				t.Fatalf("error without a place: %q", e)
			}
		}
		if err != nil {
			return
		}
		for _, p := range cfg.Pools {
			if p.MaxChildren < 1 || p.PM == "" || p.WorkerCoroutines < 1 {
				t.Fatalf("accepted a pool that cannot run: %+v", p)
			}
			// net/sock.Listen takes a path by its '/', or else an ip:port.
			if addr := p.ListenAddress(); !strings.Contains(addr, "/") {
				if _, err := netip.ParseAddrPort(addr); err != nil {
					t.Fatalf("accepted listen = %q, which net/sock cannot open as %q", p.Listen, addr)
				}
			}
		}
		if len(cfg.Pools) == 0 {
			t.Fatal("accepted a configuration without a pool")
		}
	})
}
