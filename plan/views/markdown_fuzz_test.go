package views

import (
	"bytes"
	"strings"
	"testing"

	"github.com/confsync/confsync/plan"
)

// FuzzMarkdown feeds names, display names and reasons as an IdP could
// send them into the Markdown view: outside its code blocks the comment
// never carries markup from them, its code blocks are all closed, and it
// opens and closes exactly the <details> it writes itself.
func FuzzMarkdown(f *testing.F) {
	f.Add("alice", "Alice </details>", "reason", "devs")
	f.Add("<img src=x>", "```\n", "a|b", "[x](y)")
	f.Fuzz(func(t *testing.T, user, display, reason, group string) {
		p := &plan.Plan{
			IDPs:    []string{"entra"},
			Notices: []plan.Notice{{Severity: plan.SeverityWarning, Kind: plan.NoticeMapping, Subject: "idp user " + display, Summary: reason}},
			Changes: []plan.Change{
				{Action: plan.ActionCreate, Kind: plan.KindGroup, Group: group, Reason: reason},
				{Action: plan.ActionCreate, Kind: plan.KindUser, User: user, Reason: reason, After: &plan.UserValues{DisplayName: display, Email: display}},
				{Action: plan.ActionAdd, Kind: plan.KindMembership, User: user, Group: group},
			},
		}
		var b bytes.Buffer
		if err := Markdown(&b, p, MarkdownOptions{}); err != nil {
			t.Fatal(err)
		}
		var prose strings.Builder
		inCode := false
		for _, l := range strings.Split(b.String(), "\n") {
			if strings.HasPrefix(l, "```") {
				inCode = !inCode
				continue
			}
			if !inCode {
				prose.WriteString(l + "\n")
			}
		}
		if inCode {
			t.Fatalf("a code block is left open:\n%s", b.String())
		}
		out := prose.String()
		if o, c := strings.Count(out, "<details>"), strings.Count(out, "</details>"); o != 3 || c != 3 {
			t.Fatalf("%d <details> and %d </details>, want 3 each:\n%s", o, c, b.String())
		}
		// Every '<' outside code blocks and code spans is one of the
		// view's own tags.
		rest := stripCodeSpans(out)
		for _, tag := range []string{"<!-- confsync-plan -->", "<details>", "</details>", "<summary>", "</summary>", "<sub>", "</sub>"} {
			rest = strings.ReplaceAll(rest, tag, "")
		}
		if strings.Contains(rest, "<") {
			t.Fatalf("raw '<' from the input outside code blocks:\n%s", b.String())
		}
	})
}

// stripCodeSpans removes inline code spans (a run of n backticks up to the
// next run of exactly n), whose text Markdown shows as is.
func stripCodeSpans(s string) string {
	var out strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '`' {
			out.WriteByte(s[i])
			i++
			continue
		}
		n := 0
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		fence := strings.Repeat("`", n)
		end := -1
		for j := i + n; j < len(s); {
			k := strings.Index(s[j:], fence)
			if k < 0 {
				break
			}
			k += j
			m := 0
			for k+m < len(s) && s[k+m] == '`' {
				m++
			}
			if m == n {
				end = k
				break
			}
			j = k + m
		}
		if end < 0 {
			out.WriteString(fence)
			i += n
			continue
		}
		i = end + n
	}
	return out.String()
}
