package content_test

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/blogstack/blogstack/blog/internal/content"
)

// A picture from the blog's media gets its widths, size and lazy loading;
// one from elsewhere is left as written.
func TestMediaImages(t *testing.T) {
	md := "![A harbour at dawn](/media/0123456789abcdef-1600x1067.jpg)\n\n" +
		"Text.\n\n![A second](/media/fedcba9876543210-800x600.png \"title\")\n\n" +
		"![Elsewhere](https://example.com/a.jpg)\n"
	r, err := content.Render(md)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(r.HTML))
	if err != nil {
		t.Fatal(err)
	}
	imgs := doc.Find("img")
	if imgs.Length() != 3 {
		t.Fatalf("got %d images in %s", imgs.Length(), r.HTML)
	}
	first, second, other := imgs.Eq(0), imgs.Eq(1), imgs.Eq(2)
	want := map[string]string{
		"src":    "/media/0123456789abcdef-1600x1067.jpg",
		"alt":    "A harbour at dawn",
		"width":  "1600",
		"height": "1067",
		"srcset": "/media/0123456789abcdef-1600x1067.jpg 1600w, /media/0123456789abcdef-960x640.jpg 960w, /media/0123456789abcdef-480x320.jpg 480w",
		"sizes":  "(max-width: 42.5rem) calc(100vw - 2.5rem), 40rem",
	}
	for k, v := range want {
		if got, _ := first.Attr(k); got != v {
			t.Errorf("first image %s = %q, want %q", k, got, v)
		}
	}
	if _, lazy := first.Attr("loading"); lazy {
		t.Error("the first picture may be in view: it must not load lazily")
	}
	if got, _ := second.Attr("loading"); got != "lazy" {
		t.Errorf("second picture loading = %q, want lazy", got)
	}
	if got, _ := second.Attr("srcset"); got != "/media/fedcba9876543210-800x600.png 800w, /media/fedcba9876543210-480x360.png 480w" {
		t.Errorf("second srcset = %q", got)
	}
	if _, ok := other.Attr("srcset"); ok {
		t.Error("a picture from elsewhere got a srcset")
	}
}
