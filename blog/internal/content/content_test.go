package content

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	md := "# Title\n\nIntro with **bold** and a [link](https://example.com).\n\n" +
		"| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\nA note[^1].\n\n[^1]: The footnote.\n\n" +
		"```go\nfunc main() {}\n```\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[bad](javascript:alert(1))\n"
	r, err := Render(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<h1 id="h-title">Title <a href="#h-title" class="anchor">#</a></h1>`, // heading anchor, prefixed
		`<table>`, `<td>1</td>`, // GFM table
		`<input checked="" disabled="" type="checkbox" aria-label="Done">`, // task list, labelled
		`<a href="#fn:1" class="footnote-ref" role="doc-noteref">1</a>`,    // footnote
		`<pre class="chroma"><code>`, `<span class="kd">func</span>`,       // highlighted with classes
	} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML lacks %s:\n%s", want, r.HTML)
		}
	}
	for _, bad := range []string{"<script", "onerror", "javascript:", "style="} {
		if strings.Contains(r.HTML, bad) {
			t.Errorf("HTML contains %q:\n%s", bad, r.HTML)
		}
	}
	if r.Excerpt != "Intro with bold and a link. A note. bad" {
		t.Errorf("excerpt %q", r.Excerpt)
	}
	if strings.Contains(r.Text, "#") || strings.Contains(r.Text, "↩") {
		t.Errorf("plain text carries navigation marks: %q", r.Text)
	}
}

func TestReadingTimeAndExcerpt(t *testing.T) {
	long := strings.Repeat("word ", 1000)
	r, err := Render(long)
	if err != nil {
		t.Fatal(err)
	}
	if r.ReadingMinutes != 5 {
		t.Errorf("1000 words: %d minutes, want 5", r.ReadingMinutes)
	}
	if n := len([]rune(r.Excerpt)); n > excerptLength+1 || !strings.HasSuffix(r.Excerpt, "…") {
		t.Errorf("excerpt of %d runes: %q", n, r.Excerpt)
	}
	if r, _ := Render(""); r.ReadingMinutes != 1 || r.Excerpt != "" {
		t.Errorf("empty post: %+v", r)
	}
}

func TestSlug(t *testing.T) {
	cases := map[string]string{
		"Hello, World!":           "hello-world",
		"  Crème brûlée à la Go ": "creme-brulee-a-la-go",
		"C++ & Rust":              "c-rust",
		"---":                     "",
		"日本語":                     "",
		strings.Repeat("a", 100):  strings.Repeat("a", 80),
	}
	for in, want := range cases {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}
