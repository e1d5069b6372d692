package importer

import (
	"strings"
	"testing"

	"github.com/blogstack/blogstack/blog/internal/content"
)

func TestHTMLToMarkdown(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"paragraphs", "<p>One</p>\n<p>Two <em>it</em> <b>bold</b></p>", "One\n\nTwo *it* **bold**\n"},
		{"heading and rule", "<h3>Title</h3><hr><p>x</p>", "### Title\n\n---\n\nx\n"},
		{"link and image", `<p><a href="https://e.com/a b">go</a> <img src="/i.png" alt="pic"></p>`, "[go](<https://e.com/a b>) ![pic](</i.png>)\n"},
		{"lists", "<ol><li>a</li><li>b</li></ol><ul><li>c</li></ul>", "1. a\n2. b\n\n- c\n"},
		{"line break", "<p>a<br>b</p>", "a  \nb\n"},
		{"quote", "<blockquote><p>said</p></blockquote>", "> said\n"},
		{"code", `<pre><code class="language-go">x := 1 * 2</code></pre><p>use <code>a*b</code></p>`, "```go\nx := 1 * 2\n```\n\nuse `a*b`\n"},
		{"markdown in text is text", "<p>*not em* [x](y) # no</p>", "\\*not em\\* \\[x\\](y) \\# no\n"},
		{"scripts and frames dropped", `<p>a</p><script>alert(1)</script><iframe src="https://x"></iframe><style>p{}</style>`, "a\n"},
		{"unknown tags keep their text", "<p><span class=x>kept</span></p>", "kept\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := htmlToMarkdown(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHTMLNeverRunsScript: whatever the converter makes of hostile HTML,
// the post pipeline's output holds nothing that runs.
func TestHTMLNeverRunsScript(t *testing.T) {
	for _, in := range []string{
		`<a href="javascript:alert(1)">x</a>`,
		`<img src=x onerror=alert(1)>`,
		`<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>`,
		`<svg><script>alert(1)</script></svg>`,
		`<a href="jav&#x09;ascript:alert(1)">x</a>`,
	} {
		md, err := htmlToMarkdown(in)
		if err != nil {
			t.Fatal(err)
		}
		r, err := content.Render(md)
		if err != nil {
			t.Fatal(err)
		}
		low := strings.ToLower(r.HTML)
		if strings.Contains(low, "<script") || strings.Contains(low, "javascript:") || strings.Contains(low, "onerror") {
			t.Errorf("%s -> %q -> %s", in, md, r.HTML)
		}
	}
}
