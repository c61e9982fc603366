package spec

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText writes the human report: one line per case, the failure under
// it, and a summary.
func (r *Report) WriteText(w io.Writer) {
	if s := r.Snapshot; s != nil {
		switch {
		case s.Written:
			fmt.Fprintf(w, "SNAPSHOT written %s (%d tools)\n", s.File, s.Tools)
		case s.Passed:
			fmt.Fprintf(w, "PASS snapshot %s (%d tools)\n", s.File, s.Tools)
		default:
			fmt.Fprintf(w, "FAIL snapshot %s\n    %s\n", s.File, indent(s.Failure))
		}
	}
	passed := 0
	for _, c := range r.Cases {
		if c.Passed {
			passed++
			fmt.Fprintf(w, "PASS %s (%s)\n", c.Name, c.Time.Round(time.Millisecond))
			continue
		}
		fmt.Fprintf(w, "FAIL %s (%s)\n    %s:%d: %s\n", c.Name, c.Time.Round(time.Millisecond), r.File, c.Line, indent(c.Failure))
	}
	verdict := "ok"
	if r.Failed() > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s %s: %d passed, %d failed (%s)\n", verdict, r.File, passed, len(r.Cases)-passed, r.Time.Round(time.Millisecond))
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	type out struct {
		*Report
		Passed int `json:"passed"`
		Failed int `json:"failed"`
	}
	n := 0
	for _, c := range r.Cases {
		if c.Passed {
			n++
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out{r, n, r.Failed()})
}

// JUnit is the JUnit XML that CI dashboards read (the Jenkins / Ant
// schema: testsuites > testsuite > testcase > failure).
type JUnit struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     float64      `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one spec file.
type JUnitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Time      float64     `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []JUnitCase `xml:"testcase"`
}

// JUnitCase is one case (or the snapshot).
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      float64       `xml:"time,attr"`
	Failure   *JUnitFailure `xml:"failure,omitempty"`
}

// JUnitFailure is a failed case's message and detail.
type JUnitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit returns the report in JUnit form.
func (r *Report) JUnit() *JUnit {
	s := JUnitSuite{Name: r.File, Time: r.Time.Seconds(), Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05")}
	if sn := r.Snapshot; sn != nil {
		c := JUnitCase{Name: "tool snapshot " + sn.File, ClassName: r.File, File: r.File}
		if !sn.Passed {
			c.Failure = &JUnitFailure{Message: firstLine(sn.Failure), Type: "snapshot", Text: sn.Failure}
		}
		s.Cases = append(s.Cases, c)
	}
	for _, c := range r.Cases {
		jc := JUnitCase{Name: c.Name, ClassName: r.File, File: r.File, Line: c.Line, Time: c.Time.Seconds()}
		if !c.Passed {
			jc.Failure = &JUnitFailure{Message: firstLine(c.Failure), Type: "expectation", Text: fmt.Sprintf("%s:%d: %s", r.File, c.Line, c.Failure)}
		}
		s.Cases = append(s.Cases, jc)
	}
	s.Tests = len(s.Cases)
	s.Failures = r.Failed()
	return &JUnit{Tests: s.Tests, Failures: s.Failures, Time: s.Time, Suites: []JUnitSuite{s}}
}

// WriteJUnit writes the report as JUnit XML.
func (r *Report) WriteJUnit(w io.Writer) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(r.JUnit()); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// firstLine is a failure in one line, for the failure's message attribute.
func firstLine(s string) string {
	f := strings.Fields(s)
	l := strings.Join(f, " ")
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	return l
}
