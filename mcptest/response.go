package mcptest

import (
	"encoding/json"
	"strings"
)

// Denied reports whether the call was refused: a JSON-RPC error, or (with
// DenyAsResult) an isError result carrying Tenuo's code in _meta.tenuo.
func (r *Response) Denied() bool {
	if r.Error != nil {
		return true
	}
	_, ok := r.resultTenuo()
	return ok
}

// Tenuo is the denial's Tenuo information: its numeric code and kebab-case
// name ("constraint-violation"), and the human message.
type Tenuo struct {
	Code    int    `json:"code"`
	Name    string `json:"error"`
	Message string `json:"message"`
}

// Tenuo returns the denial's Tenuo code and name, when it carries them
// (error.data.tenuo, or a denial result's _meta.tenuo).
func (r *Response) Tenuo() (Tenuo, bool) {
	if r.Error != nil && len(r.Error.Data) > 0 {
		var d struct {
			Tenuo *Tenuo `json:"tenuo"`
		}
		if json.Unmarshal(r.Error.Data, &d) == nil && d.Tenuo != nil {
			return *d.Tenuo, true
		}
		return Tenuo{}, false
	}
	return r.resultTenuo()
}

func (r *Response) resultTenuo() (Tenuo, bool) {
	if len(r.Result) == 0 {
		return Tenuo{}, false
	}
	var res struct {
		IsError bool `json:"isError"`
		Meta    struct {
			Tenuo *Tenuo `json:"tenuo"`
		} `json:"_meta"`
	}
	if json.Unmarshal(r.Result, &res) != nil || !res.IsError || res.Meta.Tenuo == nil {
		return Tenuo{}, false
	}
	return *res.Meta.Tenuo, true
}

// Text returns the text of a tool result's text content items, joined by
// newlines, or the error message of a JSON-RPC error.
func (r *Response) Text() string {
	if r.Error != nil {
		return r.Error.Message
	}
	var res struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	json.Unmarshal(r.Result, &res)
	var parts []string
	for _, c := range res.Content {
		if c.Type == "text" {
			parts = append(parts, c.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// IsError reports a tool result's isError.
func (r *Response) IsError() bool {
	var res struct {
		IsError bool `json:"isError"`
	}
	json.Unmarshal(r.Result, &res)
	return res.IsError
}
