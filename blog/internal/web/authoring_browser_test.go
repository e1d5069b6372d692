package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/blogstack/blogstack/blog/internal/store"
)

// signIn fills the sign-in form in the browser.
func signIn(ctx context.Context, t *testing.T, f *fixture, email string) {
	t.Helper()
	err := chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/admin"),
		chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.SendKeys(`#email`, email, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
		chromedp.Submit(`#password`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=drafts]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("sign in: %v (at %s)", err, location(ctx, t))
	}
}

func TestBrowserAuthoringWithoutJavaScript(t *testing.T) {
	f := browserBlog(t)
	f.author("writer@example.com", store.RoleAdmin)
	ctx, probs := browser(t)
	if err := chromedp.Run(ctx, emulation.SetScriptExecutionDisabled(true)); err != nil {
		t.Fatal(err)
	}
	signIn(ctx, t, f, "writer@example.com")

	// Write, preview with the button, then publish.
	var preview string
	err := chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/admin/posts/new"),
		chromedp.SendKeys(`#title`, "Written without JavaScript", chromedp.ByQuery),
		chromedp.SendKeys(`#body`, "Plain **forms** work.", chromedp.ByQuery),
		chromedp.Click(`button[value=preview]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=preview] strong`, chromedp.ByQuery),
		chromedp.Text(`[data-testid=preview]`, &preview, chromedp.ByQuery),
	)
	if err != nil || !strings.Contains(preview, "Plain forms work.") {
		t.Fatalf("preview: %v %q", err, preview)
	}
	err = chromedp.Run(ctx,
		chromedp.Click(`input[name=status][value=published]`, chromedp.ByQuery),
		chromedp.Click(`button[value=save]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=notice]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("save: %v", err)
	}
	if r, _ := f.get("/posts/written-without-javascript"); r.StatusCode != 200 {
		t.Fatalf("the published post answers %d", r.StatusCode)
	}

	// Comment on it, as a reader would.
	err = chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/posts/written-without-javascript"),
		chromedp.SendKeys(`#comment-name`, "Reader", chromedp.ByQuery),
		chromedp.SendKeys(`#comment-body`, "Works for me too.", chromedp.ByQuery),
		chromedp.Submit(`#comment-body`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=notice]`, chromedp.ByQuery),
	)
	if err != nil || !strings.Contains(location(ctx, t), "comment=pending") {
		t.Fatalf("comment: %v at %s", err, location(ctx, t))
	}

	// Approve it on the moderation page.
	err = chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/admin/comments"),
		chromedp.WaitVisible(`[data-testid=pending-comment]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	var approved bool
	err = chromedp.Run(ctx,
		chromedp.Evaluate(`[...document.querySelectorAll("[data-testid=pending-comment]")].some(li => li.textContent.includes("Works for me too."))`, &approved),
	)
	if err != nil || !approved {
		t.Fatalf("the comment is not waiting for moderation: %v", err)
	}
	// Each pending comment has its own approve form; submit the one for ours.
	err = chromedp.Run(ctx, chromedp.Evaluate(`[...document.querySelectorAll("[data-testid=pending-comment]")].find(li => li.textContent.includes("Works for me too.")).querySelector("form").id = "ours"`, nil))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Run(ctx,
		chromedp.Click(`#ours button`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=notice]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, body := f.get("/posts/written-without-javascript"); !strings.Contains(body, "Works for me too.") {
		t.Errorf("approved comment not shown")
	}

	// Delete through the confirmation page.
	p, err := f.store.PostBySlug(context.Background(), "written-without-javascript")
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/admin"),
		chromedp.Click(`#post-`+itoa(p.ID)+` a[href$="/delete"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`button.danger`, chromedp.ByQuery),
		chromedp.Click(`button.danger`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=notice]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := f.get("/posts/written-without-javascript"); r.StatusCode != 404 {
		t.Errorf("deleted post answers %d", r.StatusCode)
	}
	probs.check(t)
}

func TestBrowserAuthoringWithHTMX(t *testing.T) {
	f := browserBlog(t)
	needHTMX(t, f)
	axe := axeSource(t)
	f.author("writer@example.com", store.RoleAdmin)
	ctx, probs := browser(t)
	// Inline confirmations (hx-confirm) are answered yes.
	chromedp.ListenTarget(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			go func() { _ = chromedp.Run(ctx, page.HandleJavaScriptDialog(true)) }()
		}
	})
	signIn(ctx, t, f, "writer@example.com")
	checkA11y(ctx, t, axe)

	// The live preview follows typing without a page load.
	err := chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/admin/posts/new"),
		chromedp.WaitVisible(`#body`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "typeof htmx === 'object'")
	checkA11y(ctx, t, axe)
	if err := chromedp.Run(ctx,
		chromedp.Evaluate("window.__stillHere = 1", nil),
		chromedp.SendKeys(`#title`, "Written with htmx", chromedp.ByQuery),
		chromedp.SendKeys(`#body`, "## Live\n\nThe preview *follows*.", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, `document.querySelector("[data-testid=preview] em")?.textContent === "follows"`)
	waitFor(ctx, t, "window.__stillHere === 1")

	err = chromedp.Run(ctx,
		chromedp.Click(`input[name=status][value=published]`, chromedp.ByQuery),
		chromedp.Click(`button[value=save]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=notice]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}

	// A reader's comment is answered in place.
	err = chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/posts/written-with-htmx"),
		chromedp.WaitVisible(`#comment-name`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "typeof htmx === 'object'")
	err = chromedp.Run(ctx,
		chromedp.Evaluate("window.__stillHere = 2", nil),
		chromedp.Click(`#comment-form button[type=submit]`, chromedp.ByQuery), // empty: errors in place
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, `document.querySelector("[data-testid=comment-body-error]") !== null`)
	err = chromedp.Run(ctx,
		chromedp.SendKeys(`#comment-name`, "Reader", chromedp.ByQuery),
		chromedp.SendKeys(`#comment-body`, "Instant.", chromedp.ByQuery),
		chromedp.Click(`#comment-form button[type=submit]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, `document.querySelector("#comment-form [data-testid=notice]") !== null`)
	waitFor(ctx, t, "window.__stillHere === 2")

	// Moderation and deletion remove their rows in place.
	err = chromedp.Run(ctx, chromedp.Navigate(f.srv.URL+"/admin/comments"), chromedp.WaitVisible(`main`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "typeof htmx === 'object'")
	before := count(ctx, t, "[data-testid=pending-comment]")
	if err := chromedp.Run(ctx, chromedp.Evaluate("window.__stillHere = 3", nil), chromedp.Click(`[data-testid=pending-comment] button`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "document.querySelectorAll('[data-testid=pending-comment]').length === "+itoa(int64(before-1)))
	waitFor(ctx, t, "window.__stillHere === 3")

	p, err := f.store.PostBySlug(context.Background(), "written-with-htmx")
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Run(ctx, chromedp.Navigate(f.srv.URL+"/admin"), chromedp.WaitVisible(`#post-`+itoa(p.ID), chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "typeof htmx === 'object'")
	if err := chromedp.Run(ctx, chromedp.Evaluate("window.__stillHere = 4", nil), chromedp.Click(`#post-`+itoa(p.ID)+` a[href$="/delete"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "document.querySelector('#post-"+itoa(p.ID)+"') === null")
	waitFor(ctx, t, "window.__stillHere === 4")
	if r, _ := f.get("/posts/written-with-htmx"); r.StatusCode != 404 {
		t.Errorf("deleted post answers %d", r.StatusCode)
	}
	probs.check(t)
}
