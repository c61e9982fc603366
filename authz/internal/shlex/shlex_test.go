package shlex

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func texts(ws []Word) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Text
	}
	return out
}

// TestSplitWords pins the words Tenuo's tokenizer (CPython shlex in POSIX
// mode with punctuation_chars) produces for the same inputs.
func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"ls -la /tmp", []string{"ls", "-la", "/tmp"}},
		{`ls "foo; bar"`, []string{"ls", "foo; bar"}},
		{`ls 'foo && bar'`, []string{"ls", "foo && bar"}},
		{"ls -la; rm -rf /", []string{"ls", "-la", ";", "rm", "-rf", "/"}},
		{"ls;rm", []string{"ls", ";", "rm"}},
		{"ls&&rm", []string{"ls", "&&", "rm"}},
		{"ls||rm", []string{"ls", "||", "rm"}},
		{`echo "AT&T"`, []string{"echo", "AT&T"}},
		{"echo AT&T", []string{"echo", "AT", "&", "T"}},
		{"cat <<EOF", []string{"cat", "<<", "EOF"}},
		{"cat <<<'hello'", []string{"cat", "<<<", "hello"}},
		{"diff <(ls) <(ls -la)", []string{"diff", "<(", "ls", ")", "<(", "ls", "-la", ")"}},
		{"ls\t-la", []string{"ls", "-la"}},
		{`"ls" -la`, []string{"ls", "-la"}},
		{`ls -la ""`, []string{"ls", "-la", ""}},
		{`""`, []string{""}},
		{`ls foo\ bar`, []string{"ls", "foo bar"}},
		{"echo {a,b,c}", []string{"echo", "{", "a", ",", "b", ",", "c", "}"}},
		{"ls *", []string{"ls", "*"}},
		{"ls file?.txt", []string{"ls", "file?.txt"}},
		{"ls file[12].txt", []string{"ls", "file", "[", "12", "]", ".txt"}},
		{"ls &#59;", []string{"ls", "&"}},
		{"echo hello #world", []string{"echo", "hello"}},
		{"echo hello!", []string{"echo", "hello", "!"}},
		{`find . -exec rm {} \;`, []string{"find", ".", "-exec", "rm", "{", "}", ";"}},
		{"ls foo;bar", []string{"ls", "foo", ";", "bar"}},
		{"cat <> /etc/passwd", []string{"cat", "<>", "/etc/passwd"}},
		{"/usr/bin/../bin/ls -la", []string{"/usr/bin/../bin/ls", "-la"}},
		{`"my program" arg1`, []string{"my program", "arg1"}},
		{`echo 'hello "world"'`, []string{"echo", `hello "world"`}},
		{`echo 'a'"b"'c'`, []string{"echo", "abc"}},
		{"ls #; rm", []string{"ls"}},
		{"foo#bar", []string{"foo"}},
		{`echo "$(date)"`, []string{"echo", "$(date)"}},
		{"echo '$HOME'", []string{"echo", "$HOME"}},
		{"ls ~/Documents", []string{"ls", "~/Documents"}},
		{"npm   install   express", []string{"npm", "install", "express"}},
		{"café --help", []string{"café", "--help"}},
		{"ls -- -rf;", []string{"ls", "--", "-rf", ";"}},
		{"git clone --upload-pack=id repo", []string{"git", "clone", "--upload-pack=id", "repo"}},
		// Double quotes keep a backslash unless it escapes '"' or '\'.
		{`echo "a\"b" "c\\d" "e\nf"`, []string{"echo", `a"b`, `c\d`, `e\nf`}},
		// Single quotes keep backslashes.
		{`echo 'a\b'`, []string{"echo", `a\b`}},
		// A comment runs to the end of its line only.
		{"ls # x\n-la", []string{"ls", "-la"}},
		{"", nil},
		{"   \t ", nil},
		{"# only a comment", nil},
		// Latin-1 letters are word characters, × is not.
		{"a×b", []string{"a", "×", "b"}},
		{"日本", []string{"日", "本"}},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if err != nil {
			t.Errorf("Split(%q): %v", tt.in, err)
			continue
		}
		if g := texts(got); !reflect.DeepEqual(g, tt.want) && !(len(g) == 0 && len(tt.want) == 0) {
			t.Errorf("Split(%q) = %q, want %q", tt.in, g, tt.want)
		}
	}
}

func TestSplitFlags(t *testing.T) {
	type flags struct {
		text                               string
		quoted, operator, joined, cmtAfter bool
		start, end                         int
	}
	tests := []struct {
		in   string
		want []flags
	}{
		{"ls -la", []flags{{"ls", false, false, false, false, 0, 2}, {"-la", false, false, false, false, 3, 6}}},
		{"ls;rm", []flags{{"ls", false, false, true, false, 0, 2}, {";", false, true, true, false, 2, 3}, {"rm", false, false, false, false, 3, 5}}},
		{`"a;b" ';'`, []flags{{"a;b", true, false, false, false, 0, 5}, {";", true, false, false, false, 6, 9}}},
		{`\;x`, []flags{{";x", true, false, false, false, 0, 3}}},
		{"ls{,}", []flags{{"ls", false, false, true, false, 0, 2}, {"{", false, false, true, false, 2, 3}, {",", false, false, true, false, 3, 4}, {"}", false, false, false, false, 4, 5}}},
		{"ls foo#; rm", []flags{{"ls", false, false, false, false, 0, 2}, {"foo", false, false, false, true, 3, 6}}},
		{`""#x`, []flags{{"", true, false, false, true, 0, 2}}},
		{"ls ;#x", []flags{{"ls", false, false, false, false, 0, 2}, {";", false, true, false, false, 3, 4}}},
		{"ls #x", []flags{{"ls", false, false, false, false, 0, 2}}},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if err != nil {
			t.Errorf("Split(%q): %v", tt.in, err)
			continue
		}
		var g []flags
		for _, w := range got {
			g = append(g, flags{w.Text, w.Quoted, w.Operator, w.Joined, w.CommentAfter, w.Start, w.End})
		}
		if !reflect.DeepEqual(g, tt.want) {
			t.Errorf("Split(%q) =\n %+v\nwant\n %+v", tt.in, g, tt.want)
		}
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		in     string
		want   error
		offset int
		msg    string
	}{
		{`ls "`, ErrNoClosingQuote, 3, "double quote opened at byte 3"},
		{`ls '`, ErrNoClosingQuote, 3, "single quote opened at byte 3"},
		{`ls 'a"b`, ErrNoClosingQuote, 3, "single quote"},
		{`ls "a\"`, ErrNoClosingQuote, 3, "double quote"},
		{`ls \`, ErrNoEscapedChar, 3, "backslash at byte 3"},
		{`ls "a\`, ErrNoEscapedChar, 5, "backslash at byte 5"},
		{`x\`, ErrNoEscapedChar, 1, "backslash at byte 1"},
	}
	for _, tt := range tests {
		_, err := Split(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, tt.want) {
			t.Errorf("Split(%q) error = %v, want %v", tt.in, err, tt.want)
			continue
		}
		if se.Offset != tt.offset || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Split(%q) error = %q (offset %d), want offset %d and %q", tt.in, err, se.Offset, tt.offset, tt.msg)
		}
	}
}

func TestNormpath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/usr/bin/../bin/ls", "/usr/bin/ls"},
		{"//bin//ls", "//bin/ls"},
		{"///bin//ls", "/bin/ls"},
		{"/bin/./ls", "/bin/ls"},
		{"./ls", "ls"},
		{"../../../usr/bin/ls", "../../../usr/bin/ls"},
		{"a/../../b", "../b"},
		{"/..", "/"},
		{"/../../x", "/x"},
		{"", "."},
		{".", "."},
		{"a/..", "."},
		{"ls/", "ls"},
		{"/", "/"},
		{"//", "//"},
	}
	for _, tt := range tests {
		if got := Normpath(tt.in); got != tt.want {
			t.Errorf("Normpath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSplit checks that Split never panics and that its words are
// consistent with the input.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"ls -la /tmp", `grep "a;b" f`, "ls;rm", `echo 'a'"b"\c`, "foo#bar", "ls{,}",
		`"unclosed`, `trailing\`, "a\n#c\nb", "\xff\xfe(", "diff <(ls) <(ls -la)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		words, err := Split(cmd)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset >= len(cmd) {
				t.Fatalf("Split(%q): bad error %v", cmd, err)
			}
			return
		}
		prevEnd := 0
		for i, w := range words {
			if w.Start < prevEnd || w.End < w.Start || w.End > len(cmd) {
				t.Fatalf("Split(%q): word %d %+v out of order or range", cmd, i, w)
			}
			prevEnd = w.End
			if w.Operator {
				if w.Quoted || w.Text != cmd[w.Start:w.End] || strings.Trim(w.Text, "();<>|&") != "" {
					t.Fatalf("Split(%q): operator word %+v", cmd, w)
				}
			}
			if !w.Quoted && w.Text != cmd[w.Start:w.End] {
				t.Fatalf("Split(%q): unquoted word %+v differs from its source %q", cmd, w, cmd[w.Start:w.End])
			}
			if !w.Quoted && w.Text == "" {
				t.Fatalf("Split(%q): empty unquoted word %d", cmd, i)
			}
			if w.Joined && (i+1 >= len(words) || words[i+1].Start != w.End) {
				t.Fatalf("Split(%q): word %d marked joined", cmd, i)
			}
			if w.CommentAfter && (w.Operator || cmd[w.End] != '#') {
				t.Fatalf("Split(%q): word %d marked CommentAfter", cmd, i)
			}
		}
		if utf8.ValidString(cmd) {
			for _, w := range words {
				if !utf8.ValidString(w.Text) {
					t.Fatalf("Split(%q): word %q is not valid UTF-8", cmd, w.Text)
				}
			}
		}
	})
}
