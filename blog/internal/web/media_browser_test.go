package web_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/blogstack/blogstack/blog/internal/media/mediatest"
	"github.com/blogstack/blogstack/blog/internal/store"
)

// photoFile writes a test photo to disk for the browser's file input.
func photoFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "harbour.jpg")
	if err := os.WriteFile(path, mediatest.JPEGWithGPS(t, 1200, 800), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// publishWith writes and publishes a post whose body is body, from the
// editor, and opens it; the picture must have loaded.
func publishWith(ctx context.Context, t *testing.T, f *fixture, title, body string) {
	t.Helper()
	err := chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/admin/posts/new"),
		chromedp.SendKeys(`#title`, title, chromedp.ByQuery),
		chromedp.SendKeys(`#body`, body, chromedp.ByQuery),
		chromedp.Click(`input[name=status][value=published]`, chromedp.ByQuery),
		chromedp.Click(`button[value=save]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=notice]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	pictureShown(ctx, t, f, "/posts/"+strings.ToLower(strings.ReplaceAll(title, " ", "-")))
}

// pictureShown opens a post and checks that its picture loaded, at the
// size the page gave, from the blog's own media.
func pictureShown(ctx context.Context, t *testing.T, f *fixture, path string) {
	t.Helper()
	var ok bool
	err := chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+path),
		chromedp.WaitReady(`.prose img`, chromedp.ByQuery),
		chromedp.Poll(`(() => { const i = document.querySelector(".prose img"); return i.complete && i.naturalWidth > 0 && i.currentSrc.includes("/media/") && i.getAttribute("width") === "800"; })()`, &ok),
	)
	if err != nil || !ok {
		t.Fatalf("the picture did not appear in %s: %v", path, err)
	}
}

// Without JavaScript: upload on the media page, which shows the markdown;
// paste it into a post; the picture appears in the post.
func TestBrowserMediaWithoutJavaScript(t *testing.T) {
	f := browserBlog(t)
	f.author("writer@example.com", store.RoleAuthor)
	ctx, probs := browser(t)
	if err := chromedp.Run(ctx, emulation.SetScriptExecutionDisabled(true)); err != nil {
		t.Fatal(err)
	}
	signIn(ctx, t, f, "writer@example.com")
	var markdown string
	err := chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/admin/media"),
		chromedp.SetUploadFiles(`#file`, []string{photoFile(t)}, chromedp.ByQuery),
		chromedp.Click(`#upload button[type=submit]`, chromedp.ByQuery), // no alt text yet
		chromedp.WaitVisible(`[data-testid=upload-kept]`, chromedp.ByQuery),
		chromedp.SendKeys(`#alt`, "A harbour at dawn", chromedp.ByQuery),
		chromedp.Click(`#upload button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=upload-result]`, chromedp.ByQuery),
		chromedp.Value(`[data-testid=upload-markdown]`, &markdown, chromedp.ByQuery),
	)
	if err != nil || !strings.HasPrefix(markdown, "![A harbour at dawn](/media/") {
		t.Fatalf("upload: %v, markdown %q", err, markdown)
	}
	publishWith(ctx, t, f, "Harbour without script", "Morning.\n\n"+markdown+"\n")
	probs.check(t)
}

// With htmx: upload from the editor; the markdown lands where the cursor
// was, the post shows the picture; the media pages pass axe; deleting the
// used picture is refused in place.
func TestBrowserMediaWithHTMX(t *testing.T) {
	f := browserBlog(t)
	needHTMX(t, f)
	axe := axeSource(t)
	f.author("writer@example.com", store.RoleAuthor)
	ctx, probs := browser(t)
	signIn(ctx, t, f, "writer@example.com")
	if err := chromedp.Run(ctx, chromedp.Navigate(f.srv.URL+"/admin/media"), chromedp.WaitVisible(`#upload`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	checkA11y(ctx, t, axe)

	err := chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/admin/posts/new"),
		chromedp.WaitVisible(`#body`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "typeof htmx === 'object'")
	err = chromedp.Run(ctx,
		chromedp.Evaluate("window.__stillHere = 1", nil),
		chromedp.SendKeys(`#title`, "Harbour with htmx", chromedp.ByQuery),
		chromedp.SendKeys(`#body`, "Before.\n\nAfter.", chromedp.ByQuery),
		// The cursor goes between the paragraphs, then focus leaves.
		chromedp.Evaluate(`(() => { const b = document.getElementById("body"); b.focus(); b.setSelectionRange(9, 9); })()`, nil),
		chromedp.SetUploadFiles(`#file`, []string{photoFile(t)}, chromedp.ByQuery),
		chromedp.SendKeys(`#alt`, "A harbour at dawn", chromedp.ByQuery),
		chromedp.Click(`#upload button[type=submit]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, `document.getElementById("body").value.includes("![A harbour at dawn]")`)
	var body string
	if err := chromedp.Run(ctx, chromedp.Value(`#body`, &body, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^Before\.\n\n!\[A harbour at dawn\]\(/media/[0-9a-f]{16}-800x1200\.jpg\)\n\nAfter\.$`).MatchString(body) {
		t.Fatalf("the markdown is not where the cursor was:\n%s", body)
	}
	waitFor(ctx, t, `document.querySelector("[data-testid=preview] img") !== null`)
	waitFor(ctx, t, "window.__stillHere === 1")
	checkA11y(ctx, t, axe)
	err = chromedp.Run(ctx,
		chromedp.Click(`input[name=status][value=published]`, chromedp.ByQuery),
		chromedp.Click(`button[value=save]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=notice]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	pictureShown(ctx, t, f, "/posts/harbour-with-htmx")

	err = chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/admin/media"),
		chromedp.WaitVisible(`[data-testid=media-item]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	checkA11y(ctx, t, axe)
	// The refused delete below is a 409 the browser logs: check before it.
	probs.check(t)
	err = chromedp.Run(ctx,
		chromedp.Click(`[data-testid=media-item] button.danger`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=media-error]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("delete of a used picture: %v", err)
	}
	if n := count(ctx, t, `[data-testid=media-item]`); n != 1 {
		t.Errorf("%d pictures after a refused delete, want 1", n)
	}
}
