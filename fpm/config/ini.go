package config

import (
	"fmt"
	"strings"
)

// lineKind tells the lexer's verdict on one line.
type lineKind int

const (
	blankLine   lineKind = iota // empty, or a ; or # comment
	sectionLine                 // [name]
	entryLine                   // name = value, or name[key] = value
)

// iniLine is one line of php-fpm's INI dialect, taken apart.
type iniLine struct {
	kind  lineKind
	name  string // the section's name, or the entry's name before any [key]
	key   string // the key of name[key] = value
	array bool   // name[key] = value rather than name = value
	value string // quotes removed, trailing comment cut
}

// lexLine takes one line apart:
//
//	[www]                      section "www"
//	pm.max_children = 5 ; five entry "pm.max_children", value "5"
//	env[PATH] = "/usr/bin"     entry "env", key "PATH", value "/usr/bin"
//	access.format = "%R \"%m\"" value `%R "%m"`: \" and \\ escape in "..."
//
// php-fpm hands its INI parser one line at a time, so a quoted value cannot
// span lines here either. A problem comes back as a message without place.
func lexLine(s string) (iniLine, string) {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == ';' || s[0] == '#' {
		return iniLine{kind: blankLine}, ""
	}
	if s[0] == '[' {
		return lexSection(s)
	}
	eq := strings.IndexByte(s, '=')
	if eq < 0 {
		return iniLine{}, fmt.Sprintf("syntax error: '%s' is neither 'name = value' nor '[section]'", s)
	}
	l := iniLine{kind: entryLine, name: strings.TrimSpace(s[:eq])}
	if open := strings.IndexByte(l.name, '['); open >= 0 {
		if !strings.HasSuffix(l.name, "]") {
			return iniLine{}, fmt.Sprintf("syntax error in entry name '%s'", l.name)
		}
		l.array = true
		l.key = strings.TrimSpace(l.name[open+1 : len(l.name)-1])
		l.name = strings.TrimSpace(l.name[:open])
	}
	if !validName(l.name) || hasControl(l.key) || strings.ContainsAny(l.key, "[]") {
		return iniLine{}, fmt.Sprintf("syntax error in entry name '%s'", strings.TrimSpace(s[:eq]))
	}
	var problem string
	l.value, problem = lexValue(strings.TrimSpace(s[eq+1:]))
	return l, problem
}

// lexSection reads [name]. A faulty header still opens a section when its
// name can be made out, so that the lines below it are not reported again
// as misplaced; with no name at all, the section is nameless.
func lexSection(s string) (iniLine, string) {
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return iniLine{kind: sectionLine, name: validSection(s[1:])},
			fmt.Sprintf("syntax error: '%s' has no closing ']'", s)
	}
	name := validSection(s[1:end])
	if name == "" {
		return iniLine{kind: sectionLine}, fmt.Sprintf("invalid section name '%s'", s[:end+1])
	}
	if rest := strings.TrimSpace(s[end+1:]); rest != "" && rest[0] != ';' {
		return iniLine{kind: sectionLine, name: name},
			fmt.Sprintf("syntax error: unexpected '%s' after the section name", rest)
	}
	return iniLine{kind: sectionLine, name: name}, ""
}

// validSection returns the trimmed section name, or "" if it cannot be one.
func validSection(name string) string {
	name = strings.TrimSpace(name)
	if strings.ContainsAny(name, "[]") || hasControl(name) {
		return ""
	}
	return name
}

// lexValue unquotes a value: "..." with \" and \\ escapes, '...' as is, or
// bare text up to a ; comment. Anything but a comment after a closing quote
// is an error rather than a guess.
func lexValue(v string) (string, string) {
	if v == "" {
		return "", ""
	}
	switch v[0] {
	case '"':
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			switch c := v[i]; {
			case c == '\\' && i+1 < len(v) && (v[i+1] == '"' || v[i+1] == '\\'):
				b.WriteByte(v[i+1])
				i++
			case c == '"':
				return b.String(), afterQuote(v[i+1:])
			default:
				b.WriteByte(c)
			}
		}
		return "", "syntax error: the quoted value has no closing '\"'"
	case '\'':
		end := strings.IndexByte(v[1:], '\'')
		if end < 0 {
			return "", "syntax error: the quoted value has no closing \"'\""
		}
		return v[1 : 1+end], afterQuote(v[2+end:])
	}
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v), ""
}

func afterQuote(rest string) string {
	if rest = strings.TrimSpace(rest); rest == "" || rest[0] == ';' {
		return ""
	}
	return fmt.Sprintf("syntax error: unexpected '%s' after the quoted value", rest)
}

// validName accepts the characters php-fpm's directive names are made of.
func validName(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
}
