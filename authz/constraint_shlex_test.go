package authz

import (
	"path"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/shlex"
)

func TestShlexMatch(t *testing.T) {
	lsCat := []string{"ls", "cat", "grep", "echo", "find", "git"}
	tests := []struct {
		name    string
		allow   []string
		cmd     any
		wantErr string // "" means allowed
	}{
		{"plain", lsCat, "ls -la /tmp", ""},
		{"semicolon", lsCat, "ls; rm -rf /", `shell operator ";"`},
		{"glued semicolon", lsCat, "ls;rm", `shell operator ";"`},
		{"command substitution", lsCat, "echo $(id)", `contains '$'`},
		{"backticks", lsCat, "ls `pwd`", "contains '`'"},
		{"dollar in single quotes", lsCat, "echo '$HOME'", `contains '$'`},
		{"dollar in double quotes", lsCat, `echo "$HOME"`, `contains '$'`},
		{"escaped dollar", lsCat, `echo \$HOME`, `contains '$'`},
		{"quoted operator is literal", lsCat, `grep "a;b" f`, ""},
		{"quoted pipe is literal", lsCat, "grep 'a|b' f", ""},
		{"quoted ampersand", lsCat, `echo "AT&T"`, ""},
		{"quoted angle brackets", lsCat, `echo "<html>"`, ""},
		{"and-and", lsCat, "ls && rm", `shell operator "&&"`},
		{"glued and-and", lsCat, "ls&&rm", `shell operator "&&"`},
		{"or-or", lsCat, "ls || rm", `shell operator "||"`},
		{"pipe", lsCat, "ls | sh", `shell operator "|"`},
		{"background", lsCat, "ls &", `shell operator "&"`},
		{"redirect out", lsCat, "ls > /etc/x", `shell operator ">"`},
		{"redirect fd", lsCat, "ls 2>&1", `shell operator ">&"`},
		{"process substitution", lsCat, "cat <(x)", `shell operator "<("`},
		{"read-write redirect", lsCat, "cat <> /etc/passwd", `shell operator "<>"`},
		{"heredoc", lsCat, "cat <<EOF", `shell operator "<<"`},
		{"subshell", lsCat, "(ls)", `shell operator "("`},
		{"trailing semicolon", lsCat, "ls -- -rf;", `shell operator ";"`},
		{"html entity", lsCat, "ls &#59;", `shell operator "&"`},
		{"quoted operator spelled alone", lsCat, `grep ";" f`, `word ";" at byte 5, which is refused`},
		{"escaped operator spelled alone", lsCat, `find . -exec rm {} \;`, `word ";"`},
		{"comment at word start", lsCat, "ls # ; rm", ""},
		{"comment after blank", lsCat, "echo hello #world", ""},
		{"hash inside word hides operator", lsCat, "ls foo#; rm -rf /", "'#' inside a word at byte 6"},
		{"hash after quote", lsCat, `ls "a"#; rm`, "'#' inside a word"},
		{"hash inside program", lsCat, "ls#x", "'#' inside a word"},
		{"quoted hash", lsCat, `grep "a#b" f`, ""},
		{"escaped hash", lsCat, `grep \#b f`, ""},
		{"newline", lsCat, "ls\nrm", "control character U+000A at byte 2"},
		{"carriage return", lsCat, "ls\r", "control character U+000D"},
		{"nul", lsCat, "ls\x00", "control character U+0000"},
		{"escape char", lsCat, "ls \x1b[2J", "control character U+001B"},
		{"vertical tab", lsCat, "ls\v-la", "control character U+000B"},
		{"delete", lsCat, "ls\x7f", "control character U+007F"},
		{"next line", lsCat, "ls\u0085", "control character U+0085"},
		{"line separator", lsCat, "ls\u2028rm", "control character U+2028"},
		{"tab is a blank", lsCat, "ls\t-la", ""},
		{"invalid utf-8", lsCat, "ls \xff", "not valid UTF-8"},
		{"absolute program", []string{"ls"}, "/bin/ls -la", ""},
		{"dotted program", []string{"ls"}, "/usr/bin/../bin/ls", ""},
		{"relative program", []string{"ls"}, "./ls", ""},
		{"parent-relative program", []string{"ls"}, "../../bin/ls", ""},
		{"full path entry", []string{"/usr/bin/ls"}, "/usr/bin/../bin/ls -l", ""},
		{"full path entry, other dir", []string{"/usr/bin/ls"}, "/tmp/ls", `program "/tmp/ls"`},
		{"full path entry, bare name", []string{"/usr/bin/ls"}, "ls", `program "ls"`},
		{"double slash kept", []string{"//bin/ls"}, "//bin//ls", ""},
		{"quoted program with space", []string{"my tool"}, `"my tool" x`, ""},
		{"escaped program with space", []string{"my tool"}, `my\ tool x`, ""},
		{"program not allowed", lsCat, "rm -rf /", `program "rm"`},
		{"program glued to brace", []string{"git"}, "git{-shell,}", `program word "git" is joined to "{"`},
		{"program glued to plus", []string{"my"}, "my+tool", `program word "my" is joined to "+"`},
		{"program glued to bracket", []string{"l"}, "l[s]", "joined"},
		{"argument braces are fine", lsCat, "echo {a,b}", ""},
		{"prefix of allowed name", []string{"ls"}, "lsx", `program "lsx"`},
		{"empty quoted program", []string{""}, `"" x`, "empty program name"},
		{"root as program", []string{"", "/"}, "/ x", "empty program name"},
		{"unbalanced double quote", lsCat, `echo "abc`, "double quote opened at byte 5 is never closed"},
		{"unbalanced single quote", lsCat, "echo 'abc", "single quote opened at byte 5"},
		{"dangling backslash", lsCat, `ls \`, "backslash at byte 3"},
		{"empty", lsCat, "", "empty command"},
		{"blank", lsCat, "   \t ", "is empty"},
		{"only comment", lsCat, "# ls", "is empty"},
		{"operator first", lsCat, ";ls", `shell operator ";"`},
		{"empty allow list", []string{}, "ls", `program "ls"`},
		{"env assignment is the program", lsCat, "FOO=1 ls", `program "FOO=1"`},
		{"unicode argument", lsCat, "echo café 日本", ""},
		{"git option", lsCat, "git clone --upload-pack=id repo", ""},
		{"not a string", lsCat, int64(3), "expects a command string, got integer 3"},
		{"nil", lsCat, nil, "got null"},
		{"list", lsCat, []any{"ls"}, "got list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Shlex{Allow: tt.allow}
			if err := c.validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			err := c.Match(tt.cmd)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Match(%q) = %v, want allowed", tt.cmd, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Match(%q) allowed, want error containing %q", tt.cmd, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Match(%q) = %q, want it to contain %q", tt.cmd, err, tt.wantErr)
			}
		})
	}
}

func TestShlexString(t *testing.T) {
	tests := []struct {
		allow []string
		want  string
	}{
		{[]string{"ls", "cat"}, `Shlex(["ls","cat"])`},
		{nil, `Shlex([])`},
		{[]string{`my "tool"`}, `Shlex(["my \"tool\""])`},
	}
	for _, tt := range tests {
		if got := (&Shlex{Allow: tt.allow}).String(); got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
	}
	if got := (&Shlex{}).Type(); got != TypeShlex {
		t.Errorf("Type() = %v", got)
	}
}

func TestShlexNarrowing(t *testing.T) {
	parent := &Shlex{Allow: []string{"ls", "cat", "/usr/bin/git"}}
	tests := []struct {
		name    string
		child   Constraint
		wantErr string
	}{
		{"same", &Shlex{Allow: []string{"ls", "cat", "/usr/bin/git"}}, ""},
		{"subset", &Shlex{Allow: []string{"cat"}}, ""},
		{"reordered", &Shlex{Allow: []string{"/usr/bin/git", "ls"}}, ""},
		{"empty", &Shlex{Allow: []string{}}, ""},
		{"new program", &Shlex{Allow: []string{"ls", "rm"}}, `allows program "rm"`},
		{"bare name for full path", &Shlex{Allow: []string{"git"}}, `allows program "git"`},
		{"exact allowed command", &Exact{Value: "ls -la"}, ""},
		{"exact denied command", &Exact{Value: "ls; rm"}, "is not allowed by parent"},
		{"exact non-string", &Exact{Value: int64(1)}, "is not allowed by parent"},
		{"wildcard", &Wildcard{}, "would expand permissions"},
		{"other type", &Pattern{Pattern: "ls*"}, "incompatible constraint types"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkNarrowing(parent, tt.child)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("narrowing to %s: %v", tt.child, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("narrowing to %s accepted, want %q", tt.child, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("narrowing to %s: %q, want %q", tt.child, err, tt.wantErr)
			}
		})
	}
}

// shellReading reads cmd the way a POSIX shell tokenises it, independently of
// package shlex: it reports whether an unquoted operator character occurs
// outside a comment, and the first word after quote removal.
func shellReading(cmd string) (unquotedOp bool, first string, ok bool) {
	var word strings.Builder
	inWord, done := false, false
	add := func(s string) {
		if !done {
			word.WriteString(s)
		}
		inWord = true
	}
	end := func() {
		if inWord {
			done = true
		}
		inWord = false
	}
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case c == '\\':
			if i+1 >= len(cmd) {
				return false, "", false
			}
			_, n := utf8.DecodeRuneInString(cmd[i+1:])
			add(cmd[i+1 : i+1+n])
			i += n
		case c == '\'':
			j := strings.IndexByte(cmd[i+1:], '\'')
			if j < 0 {
				return false, "", false
			}
			add(cmd[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			var q strings.Builder
			j := i + 1
			for ; j < len(cmd) && cmd[j] != '"'; j++ {
				if cmd[j] == '\\' && j+1 < len(cmd) && (cmd[j+1] == '"' || cmd[j+1] == '\\') {
					j++
				}
				q.WriteByte(cmd[j])
			}
			if j >= len(cmd) {
				return false, "", false
			}
			add(q.String())
			i = j
		case c == ' ' || c == '\t' || c == '\n':
			end()
		case c == '#' && !inWord:
			for i < len(cmd) && cmd[i] != '\n' {
				i++
			}
		case strings.IndexByte(";&|<>()", c) >= 0:
			return true, "", true
		default:
			add(cmd[i : i+1])
		}
	}
	end()
	return false, word.String(), true
}

// FuzzShlexSplit checks that Split and Shlex never panic, and that an accepted
// command holds no '$', backtick or control character, has no unquoted
// operator as a shell reads it, and runs an allowed program.
func FuzzShlexSplit(f *testing.F) {
	for _, s := range []string{
		"ls -la /tmp", "ls; rm -rf /", "ls;rm", "echo $(id)", "ls `pwd`", `grep "a;b" f`,
		"grep 'a|b' f", "ls && rm", "ls 2>&1", "cat <(x)", "ls # ; rm", "ls foo#; rm",
		"/usr/bin/../bin/ls", `"my tool" x`, `my\ tool "a\"b" 'c'`, "git{-shell,}",
		"ls\t-la", "ls\n", `echo "unterminated`, `ls \`, "cat <<<'x'", "echo \"a\\\\\" ; b\"",
	} {
		f.Add(s)
	}
	allow := []string{"ls", "cat", "grep", "echo", "my tool", "/usr/bin/env"}
	c := &Shlex{Allow: allow}
	f.Fuzz(func(t *testing.T, cmd string) {
		words, splitErr := shlex.Split(cmd)
		err := c.Match(cmd)
		if err != nil {
			return
		}
		if splitErr != nil || len(words) == 0 {
			t.Fatalf("accepted %q that does not split: %v", cmd, splitErr)
		}
		for _, r := range cmd {
			if r == '$' || r == '`' || (r != '\t' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f))) {
				t.Fatalf("accepted %q holding %U", cmd, r)
			}
		}
		op, first, ok := shellReading(cmd)
		if !ok || op {
			t.Fatalf("accepted %q, in which a shell sees an unquoted operator (ok=%v)", cmd, ok)
		}
		if first != words[0].Text {
			t.Fatalf("accepted %q: a shell runs %q, the split saw %q", cmd, first, words[0].Text)
		}
		name := first
		if strings.Contains(name, "/") {
			name = shlex.Normpath(name)
		}
		if !slices.Contains(allow, name) && !slices.Contains(allow, path.Base(name)) {
			t.Fatalf("accepted %q running %q, not in %q", cmd, first, allow)
		}
	})
}

func BenchmarkMatchShlex(b *testing.B) {
	c := &Shlex{Allow: []string{"git", "ls", "cat"}}
	if err := c.validate(); err != nil {
		b.Fatal(err)
	}
	ec := &evalContext{}
	for _, cmd := range []string{"ls -la /tmp", `grep -r "a;b" --include='*.go' ./src`} {
		b.Run(strings.Fields(cmd)[0], func(b *testing.B) {
			c := c
			if cmd[0] == 'g' {
				c = &Shlex{Allow: []string{"grep"}}
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := c.match(cmd, ec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
