package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxIncludeDepth is how many files deep includes may nest, the main file
// counted, as in php-fpm ("failed to include more than 5 files
// recursively"). It also stops a cycle through symlinks, which the cycle
// check, comparing paths, cannot see.
const maxIncludeDepth = 5

// files is where the main file's includes are read from: the file system,
// or a fixed set of files in the fuzz test.
type files interface {
	// Glob returns the regular files matching pattern, sorted.
	Glob(pattern string) ([]string, error)
	ReadFile(name string) ([]byte, error)
}

type osFiles struct{}

// Glob skips directories and devices, as php-fpm skips what glob(3) marks
// as a directory: an include of pool.d/* must not read a fifo.
func (osFiles) Glob(pattern string) ([]string, error) {
	names, err := filepath.Glob(pattern)
	regular := names[:0]
	for _, name := range names {
		if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() {
			regular = append(regular, name)
		}
	}
	return regular, err
}

func (osFiles) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// pos is where something was written.
type pos struct {
	file string
	line int
}

// section is a section being read, with where each directive was set, so
// that a check involving several directives can point at one of them.
type section[T any] struct {
	v   T
	at  pos             // the [name] line
	set map[string]pos  // directive → where it was last set
	bad map[string]bool // directives whose value was refused: checks skip them
}

func newSection[T any](v T, at pos) *section[T] {
	return &section[T]{v: v, at: at, set: map[string]pos{}, bad: map[string]bool{}}
}

// where is the line of the first of names that was set, or the section's.
func (s *section[T]) where(names ...string) pos {
	for _, name := range names {
		if at, ok := s.set[name]; ok {
			return at
		}
	}
	return s.at
}

// valid reports whether none of names had a refused value, so that a check
// does not pile a second message on a value already reported.
func (s *section[T]) valid(names ...string) bool {
	for _, name := range names {
		if s.bad[name] {
			return false
		}
	}
	return true
}

// parser reads a main file and its includes into one configuration.
type parser struct {
	files files
	// prefix, when set, is what relative paths are relative to (-p).
	prefix string
	global *section[Global]
	pools  []*section[Pool]
	// cur is the pool that entries go to; nil in [global]. As in php-fpm it
	// carries across includes: an included file without a section header
	// adds to the includer's pool, and the includer goes on in the last
	// section the included file opened. Hence include lines at the end.
	cur   *section[Pool]
	chain []string // the files being read, outermost first: include cycles
	errs  []*Error
	warns []string
}

func parse(name string, data []byte, fs files, prefix string) (*Config, error) {
	p := &parser{files: fs, prefix: prefix}
	p.global = newSection(Global{LogLevel: "notice", Daemonize: true}, pos{file: name})
	p.read(name, data)
	cfg := p.finish(name)
	return cfg, errorList(p.errs)
}

func (p *parser) fail(at pos, pool string, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: at.file, Line: at.line, Pool: pool, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) warn(at pos, format string, args ...any) {
	p.warns = append(p.warns, fmt.Sprintf("%s:%d: %s", at.file, at.line, fmt.Sprintf(format, args...)))
}

// read parses one file, line by line.
func (p *parser) read(name string, data []byte) {
	p.chain = append(p.chain, name)
	defer func() { p.chain = p.chain[:len(p.chain)-1] }()
	text := strings.TrimPrefix(string(data), "\uFEFF")
	for i, raw := range strings.Split(text, "\n") {
		at := pos{file: name, line: i + 1}
		l, problem := lexLine(raw)
		if problem != "" {
			p.fail(at, "", "%s", problem)
		}
		switch {
		case l.kind == sectionLine:
			p.section(at, l.name)
		case problem != "":
		case l.kind == entryLine && l.array:
			p.array(at, l)
		case l.kind == entryLine && l.name == "include":
			p.include(at, l.value)
		case l.kind == entryLine:
			p.entry(at, l.name, l.value)
		}
	}
}

// section switches to [global] or to a pool, creating it. A second section
// of the same name is refused: php-fpm would quietly reopen the first, but
// in a pool.d layout a repeated name is a copied file, not a plan.
//
// A nameless section, from a header in error, is read but kept out of the
// result, like a repeated one.
func (p *parser) section(at pos, name string) {
	if strings.EqualFold(name, "global") {
		p.cur = nil
		return
	}
	pool := Pool{
		Name: name, ListenBacklog: defaultBacklog, ListenMode: defaultMode,
		MaxSpawnRate: defaultSpawnRate, ProcessIdleTimeout: defaultIdleTimeout,
		PingResponse: defaultPingResponse, AccessFormat: defaultAccessFormat,
		WorkerModel: Blocking, WorkerCoroutines: defaultCoroutines,
	}
	p.cur = newSection(pool, at)
	if name == "" {
		return
	}
	for _, s := range p.pools {
		if strings.EqualFold(s.v.Name, name) {
			p.fail(at, name, "pool already defined at %s:%d", s.at.file, s.at.line)
			return // cur is checked line by line but kept out of the result
		}
	}
	p.pools = append(p.pools, p.cur)
}

// entry sets one directive in the current section.
func (p *parser) entry(at pos, name, value string) {
	if p.cur == nil {
		if strings.Contains(value, "$pool") {
			p.fail(at, "", "can't use '$pool' when the pool is not defined")
			return
		}
		set(p, p.global, globalDirectives, at, name, value)
		return
	}
	value = strings.ReplaceAll(value, "$pool", p.cur.v.Name)
	set(p, p.cur, poolDirectives, at, name, value)
}

func set[T any](p *parser, s *section[T], table map[string]setter[T], at pos, name, value string) {
	key := strings.ToLower(name)
	setter, ok := table[key]
	switch {
	case !ok && notImplemented[key]:
		p.warn(at, "'%s' is a php-fpm directive corofpm does not implement; ignored", name)
	case !ok:
		p.fail(at, "", "unknown entry '%s'", name)
	default:
		s.set[key] = at
		delete(s.bad, key)
		if err := setter(&s.v, value); err != nil {
			s.bad[key] = true
			p.fail(at, "", "unable to parse value for entry '%s': %v", key, err)
		}
	}
}

// array handles name[key] = value: env[], and php-fpm's php_value[] family,
// which has no meaning here.
func (p *parser) array(at pos, l iniLine) {
	switch {
	case p.cur == nil:
		p.fail(at, "", "arrays are not allowed in the global section")
	case l.key == "":
		p.fail(at, "", "misspelled array? '%s[]' has no key", l.name)
	case l.name == "env" && l.value == "":
		p.fail(at, "", "empty value for 'env[%s]'", l.key)
	case l.name == "env":
		if p.cur.v.Env == nil {
			p.cur.v.Env = map[string]string{}
		}
		p.cur.v.Env[l.key] = strings.ReplaceAll(l.value, "$pool", p.cur.v.Name)
	case notImplemented[l.name]:
		p.warn(at, "'%s[%s]' is a php-fpm directive corofpm does not implement; ignored", l.name, l.key)
	default:
		p.fail(at, "", "unknown directive '%s'", l.name)
	}
}

// include reads every file that pattern matches, in order, as if its lines
// stood here. A relative pattern is relative to this file's directory.
func (p *parser) include(at pos, pattern string) {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(at.file), pattern)
	}
	names, err := p.files.Glob(pattern)
	if err != nil {
		p.fail(at, "", "unable to include '%s': %v", pattern, err)
		return
	}
	if len(names) == 0 {
		p.warn(at, "nothing matches the include pattern '%s'", pattern)
	}
	for _, name := range names {
		if cycle := p.cycle(name); cycle != "" {
			p.fail(at, "", "include cycle: %s", cycle)
			continue
		}
		if len(p.chain) >= maxIncludeDepth {
			p.fail(at, "", "unable to include %s: failed to include more than %d files recursively", name, maxIncludeDepth)
			continue
		}
		data, err := p.files.ReadFile(name)
		if err != nil {
			p.fail(at, "", "unable to include %s: %v", name, err)
			continue
		}
		p.read(name, data)
	}
}

// cycle describes the chain of includes that leads back to name, if any.
func (p *parser) cycle(name string) string {
	key := absPath(name)
	for i, f := range p.chain {
		if absPath(f) == key {
			return strings.Join(slices.Concat(p.chain[i:], []string{name}), " -> ")
		}
	}
	return ""
}

func absPath(name string) string {
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return filepath.Clean(name)
}
