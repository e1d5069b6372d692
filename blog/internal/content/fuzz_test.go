package content

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// FuzzRender feeds markdown to Render and fails when the sanitized HTML
// could run anything: a script or style element, an event handler, a style
// attribute, an htmx (hx-*) or data-* attribute, an id outside the post's
// own prefixes, a URL with a scheme other than http, https or mailto, or
// output beyond MaxHTML. `go test` runs it over the seeds in
// testdata/xss-payloads.txt; `go test -fuzz FuzzRender` explores further.
func FuzzRender(f *testing.F) {
	for _, p := range xssSeeds(f) {
		for _, wrap := range []string{"%s", "- %s", "> %s", "[x](%s)", "text *%s* text", "1. a\n\n   %s"} {
			f.Add(strings.Replace(wrap, "%s", p, 1))
		}
	}
	f.Fuzz(func(t *testing.T, markdown string) {
		r, err := Render(markdown)
		var limit *LimitError
		if errors.As(err, &limit) {
			return
		}
		if err != nil {
			t.Fatalf("Render(%q): %v", markdown, err)
		}
		if len(r.HTML) > MaxHTML {
			t.Fatalf("Render(%.80q): %d bytes of HTML, over the %d limit", markdown, len(r.HTML), MaxHTML)
		}
		if problem := unsafeHTML(r.HTML); problem != "" {
			t.Fatalf("Render(%q) = %q: %s", markdown, r.HTML, problem)
		}
	})
}

// xssSeeds reads the seed payloads, one a line, "\n" standing for a break.
func xssSeeds(tb testing.TB) []string {
	file, err := os.Open("testdata/xss-payloads.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer file.Close()
	var seeds []string
	sc := bufio.NewScanner(file)
	header := true // the comment at the top; later "#" lines are headings
	for sc.Scan() {
		line := sc.Text()
		if header && strings.HasPrefix(line, "#") {
			continue
		}
		header = false
		if line != "" {
			seeds = append(seeds, strings.ReplaceAll(line, `\n`, "\n"))
		}
	}
	if err := sc.Err(); err != nil || len(seeds) < 50 {
		tb.Fatalf("read the seeds: %d, %v", len(seeds), err)
	}
	return seeds
}

// forbiddenElements can run code, load other documents or restyle the page.
var forbiddenElements = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Iframe: true, atom.Frame: true, atom.Frameset: true,
	atom.Object: true, atom.Embed: true, atom.Applet: true, atom.Link: true, atom.Meta: true,
	atom.Base: true, atom.Form: true, atom.Button: true, atom.Textarea: true, atom.Select: true,
	atom.Svg: true, atom.Math: true, atom.Template: true, atom.Noscript: true,
}

// urlAttributes hold URLs that a browser follows or loads.
var urlAttributes = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "cite": true,
	"poster": true, "background": true, "xlink:href": true, "srcset": true, "longdesc": true,
}

// unsafeHTML describes the first thing in a post's HTML that could run or
// restyle the page, or is "" when there is none.
func unsafeHTML(fragment string) string {
	nodes, err := html.ParseFragment(strings.NewReader(fragment), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil {
		return "unparsable HTML: " + err.Error()
	}
	var problem string
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		if problem != "" {
			return
		}
		if n.Type == html.ElementNode {
			if forbiddenElements[n.DataAtom] || n.Namespace != "" {
				problem = "element <" + n.Data + ">"
				return
			}
			if n.DataAtom == atom.Input {
				for _, a := range n.Attr {
					if a.Key == "type" && a.Val != "checkbox" {
						problem = "an input that is not a task checkbox"
						return
					}
				}
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				switch {
				case strings.HasPrefix(key, "on"):
					problem = "event handler " + key
				case key == "style":
					problem = "style attribute"
				case strings.HasPrefix(key, "hx-") || strings.HasPrefix(key, "data-"):
					problem = "attribute " + key
				case key == "id" && !strings.HasPrefix(a.Val, headingIDPrefix) && !strings.HasPrefix(a.Val, "fn:") && !strings.HasPrefix(a.Val, "fnref:"):
					problem = "id " + a.Val + " outside the post's prefixes"
				case urlAttributes[key] && !safeURL(a.Val):
					problem = "unsafe URL " + key + "=" + a.Val
				}
				if problem != "" {
					return
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	for _, n := range nodes {
		visit(n)
	}
	return problem
}

// safeURL reports whether a URL is relative or uses http, https or mailto,
// read the way a browser reads it: tabs and line breaks removed, leading
// spaces and control characters ignored, the scheme in any case.
func safeURL(raw string) bool {
	u := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, raw)
	u = strings.ToLower(strings.TrimLeft(u, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "))
	colon := strings.IndexByte(u, ':')
	if colon < 0 || strings.ContainsAny(u[:colon], "/?#") {
		return true // no scheme: a relative URL
	}
	switch u[:colon] {
	case "http", "https", "mailto":
		return true
	}
	return false
}

// TestUnsafeHTMLCatches proves the fuzz target's oracle fails on what it
// must, so that a passing fuzz run means something.
func TestUnsafeHTMLCatches(t *testing.T) {
	for _, bad := range []string{
		`<script>x</script>`, `<p onclick="x">a</p>`, `<p style="color:red">a</p>`, `<div hx-get="/admin">a</div>`,
		`<p data-x="1">a</p>`, `<a href="java&#x09;script:alert(1)">a</a>`, `<a href=" JAVASCRIPT:x">a</a>`,
		`<img src="data:image/svg+xml,x">`, `<p id="comment-form">a</p>`, `<svg></svg>`, `<input type="text">`,
	} {
		if unsafeHTML(bad) == "" {
			t.Errorf("unsafeHTML(%q) found nothing", bad)
		}
	}
	for _, good := range []string{
		`<a href="https://example.com/a:b">a</a>`, `<a href="/posts/x?y=z:1">a</a>`, `<a href="#h-intro">#</a>`,
		`<h2 id="h-intro">Intro</h2>`, `<a href="mailto:a@example.com">a</a>`, `<input checked="" disabled="" type="checkbox">`,
	} {
		if p := unsafeHTML(good); p != "" {
			t.Errorf("unsafeHTML(%q) = %s, want nothing", good, p)
		}
	}
}
