package content

import (
	"errors"
	"strings"
	"testing"
)

// pathological are posts of up to 180 KB shaped to make a markdown parser
// slow or its output huge; before the limits the worst took 10 s of CPU
// (nested quotes) or rendered to 41 MB (one long reference repeated).
var pathological = map[string]string{
	"nested quotes":       strings.Repeat(">", 100_000),
	"nested lists":        strings.Repeat("- ", 50_000),
	"indented lists":      indentedLists(400),
	"wide table":          "|" + strings.Repeat("a|", 5000) + "\n|" + strings.Repeat("-|", 5000) + "\n" + strings.Repeat("|x\n", 30000),
	"open links":          strings.Repeat("[a](", 40_000),
	"brackets":            strings.Repeat("[", 100_000),
	"footnote refs":       strings.Repeat("[^1]", 40_000) + "\n\n[^1]: " + strings.Repeat("x ", 1000),
	"repeated reference":  "[a]: http://example.com/" + strings.Repeat("x", 1000) + "\n\n" + strings.Repeat("[a] ", 450) + "\n\n" + strings.Repeat(strings.Repeat("[a] ", 450)+"\n\n", 80),
	"headings":            strings.Repeat("# a\n", 45_000),
	"inline html":         strings.Repeat("<a>", 60_000),
	"less-than signs":     strings.Repeat("<", 180_000),
	"emphasis":            strings.Repeat("*a ", 60_000),
	"nested emphasis":     strings.Repeat("*_", 40_000) + "a" + strings.Repeat("_*", 40_000),
	"code fence brackets": "```\n" + strings.Repeat("a[i] = b[j]\n", 15_000) + "```\n",
}

func indentedLists(levels int) string {
	var b strings.Builder
	for i := range levels {
		b.WriteString(strings.Repeat("  ", i) + "- a\n")
	}
	return b.String()
}

// TestPathologicalPostsBounded: each is refused with a LimitError or renders
// within MaxHTML. How long each takes is BenchmarkPathologicalPosts's job.
func TestPathologicalPostsBounded(t *testing.T) {
	for name, md := range pathological {
		r, err := Render(md)
		var limit *LimitError
		switch {
		case errors.As(err, &limit):
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case len(r.HTML) > MaxHTML:
			t.Errorf("%s: %d bytes of HTML, over %d", name, len(r.HTML), MaxHTML)
		}
	}
	// Legitimate posts near the limits still render.
	for name, md := range map[string]string{
		"code with brackets": pathological["code fence brackets"],
		"a long table":       "| a | b |\n|---|---|\n" + strings.Repeat("| 1 | 2 |\n", 5000),
		"deep but sane":      strings.Repeat("> ", 10) + "quote\n\n" + indentedLists(20),
		"200 KB of prose":    strings.Repeat("Words of prose, plainly written. ", 6000),
	} {
		if _, err := Render(md); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Render(strings.Repeat("a", MaxMarkdown+1)); err == nil {
		t.Error("markdown over MaxMarkdown was rendered")
	}
}

// BenchmarkPathologicalPosts measures each pathological post: time per
// render and the HTML it produced (0 when refused); the test above asserts
// the bounds.
func BenchmarkPathologicalPosts(b *testing.B) {
	for name, md := range pathological {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			var out int
			for b.Loop() {
				r, _ := Render(md)
				out = len(r.HTML)
			}
			if out > MaxHTML {
				b.Fatalf("%d bytes of HTML, over %d", out, MaxHTML)
			}
			b.ReportMetric(float64(out), "html-bytes")
		})
	}
}
