package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/blogstack/blogstack/blog/internal/seed"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// repoRoot is the module root, for node_modules and screenshots.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// need reports a missing requirement: a skip on a developer's machine, a
// failure in CI.
func need(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set and %s", what)
	}
	t.Skipf("skipped: %s", what)
}

// browser starts headless Chromium with a fresh profile and returns a tab
// context and the problems (console errors, exceptions, CSP violations)
// it has logged.
func browser(t *testing.T) (context.Context, *problems) {
	t.Helper()
	path := os.Getenv("CHROME_BIN")
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path == "" {
			path, _ = exec.LookPath(name)
		}
	}
	if path == "" {
		need(t, "Chromium is not installed (apt-get install chromium, or set CHROME_BIN)")
	}
	// A fresh profile; not t.TempDir, because Chromium's helpers may still
	// be writing to it for a moment after the browser exits.
	profile, err := os.MkdirTemp("", "blog-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1200, 900),
	)
	ctx, cancelTab := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	p := &problems{}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type == cdpruntime.APITypeError || ev.Type == cdpruntime.APITypeWarning {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				p.add("console %s: %s", ev.Type, strings.Join(args, " "))
			}
		case *cdpruntime.EventExceptionThrown:
			p.add("exception: %s", ev.ExceptionDetails.Error())
		case *cdplog.EventEntryAdded:
			// Expected answers that Chromium logs as errors: the 404 page
			// the tests visit on purpose, and forms answered 422 with
			// their errors.
			if ev.Entry.Source == cdplog.SourceNetwork && (strings.HasSuffix(ev.Entry.URL, "/no-such-page") && strings.Contains(ev.Entry.Text, "404") ||
				strings.Contains(ev.Entry.Text, "status of 422")) {
				return
			}
			if ev.Entry.Level == cdplog.LevelError || strings.Contains(ev.Entry.Text, "Content Security Policy") {
				p.add("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
	})
	if err := chromedp.Run(ctx, cdplog.Enable(), cdpruntime.Enable()); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx, p
}

// problems collects what the browser complained about.
type problems struct {
	mu   sync.Mutex
	list []string
}

func (p *problems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) check(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, msg := range p.list {
		t.Errorf("browser: %s", msg)
	}
	p.list = nil
}

// browserBlog is a blog on PostgreSQL filled by the demo seeder, the way a
// reader would meet it.
func browserBlog(t *testing.T) *fixture {
	t.Helper()
	f := newBlog(t, storetest.Postgres(t), map[string]string{"BLOG_TITLE": "Field Notes"})
	a, err := f.store.SaveAuthor(context.Background(), store.Author{Email: "demo@example.com", Name: "Demo Author", PasswordHash: "x", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	err = seed.Run(context.Background(), f.store, seed.Options{
		Posts: 40, AuthorID: a.ID, Now: time.Now(), Rand: rand.New(rand.NewPCG(7, 7)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func needHTMX(t *testing.T, f *fixture) {
	t.Helper()
	if _, body := f.get("/"); !strings.Contains(body, "/static/htmx.min.") {
		need(t, "htmx is not embedded (run make, which copies it from node_modules)")
	}
}

func count(ctx context.Context, t *testing.T, sel string) int {
	t.Helper()
	var n int
	if err := chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf("document.querySelectorAll(%q).length", sel), &n)); err != nil {
		t.Fatal(err)
	}
	return n
}

func location(ctx context.Context, t *testing.T) string {
	t.Helper()
	var loc string
	if err := chromedp.Run(ctx, chromedp.Evaluate("location.pathname + location.search", &loc)); err != nil {
		t.Fatal(err)
	}
	return loc
}

// waitFor polls a JavaScript condition until it is true.
func waitFor(ctx context.Context, t *testing.T, cond string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ok bool
		if err := chromedp.Run(ctx, chromedp.Evaluate(cond, &ok)); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (at %s)", cond, location(ctx, t))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrowserWithoutJavaScript(t *testing.T) {
	f := browserBlog(t)
	ctx, probs := browser(t)
	if err := chromedp.Run(ctx, emulation.SetScriptExecutionDisabled(true)); err != nil {
		t.Fatal(err)
	}
	var firstOnPage2, title string
	err := chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/"),
		chromedp.Click(`[data-testid=older]`, chromedp.NodeVisible, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=newer]`, chromedp.ByQuery),
		chromedp.Text(`[data-testid=post-card] h2`, &firstOnPage2, chromedp.NodeVisible, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if loc := location(ctx, t); loc != "/?page=2" {
		t.Errorf("after older: at %s", loc)
	}
	if n := count(ctx, t, "[data-testid=post-card]"); n != 10 {
		t.Errorf("page 2 shows %d posts, want 10 (a new page, not appended)", n)
	}
	err = chromedp.Run(ctx,
		chromedp.Click(`[data-testid=older]`, chromedp.NodeVisible, chromedp.ByQuery),
		chromedp.WaitVisible(`.page-of`, chromedp.ByQuery),
	)
	if err != nil || location(ctx, t) != "/?page=3" {
		t.Fatalf("page 3: %v at %s", err, location(ctx, t))
	}

	err = chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/search"),
		chromedp.SendKeys(`#q`, "runbook", chromedp.NodeVisible, chromedp.ByQuery),
		chromedp.Submit(`#q`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=result-count]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if loc := location(ctx, t); loc != "/search?q=runbook" {
		t.Errorf("search form went to %s", loc)
	}
	if n := count(ctx, t, "[data-testid=search-result] mark"); n == 0 {
		t.Errorf("no highlighted results for runbook")
	}
	err = chromedp.Run(ctx,
		chromedp.Click(`[data-testid=search-result] h2 a`, chromedp.NodeVisible, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=post] h1`, chromedp.ByQuery),
		chromedp.Text(`[data-testid=post] h1`, &title, chromedp.ByQuery),
	)
	if err != nil || title == "" || !strings.HasPrefix(location(ctx, t), "/posts/") {
		t.Fatalf("opening a post: %v, title %q at %s", err, title, location(ctx, t))
	}
	probs.check(t)
}

func TestBrowserWithHTMX(t *testing.T) {
	f := browserBlog(t)
	needHTMX(t, f)
	ctx, probs := browser(t)

	// "Older posts" appends in place: the window survives, the URL changes.
	err := chromedp.Run(ctx,
		chromedp.Navigate(f.srv.URL+"/"),
		chromedp.WaitVisible(`[data-testid=older]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "typeof htmx === 'object'")
	if err := chromedp.Run(ctx, chromedp.Evaluate("window.__stillHere = 42", nil)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, chromedp.Click(`[data-testid=older]`, chromedp.NodeVisible, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "document.querySelectorAll('[data-testid=post-card]').length === 20")
	waitFor(ctx, t, "location.search === '?page=2'")
	var marker int
	if err := chromedp.Run(ctx, chromedp.Evaluate("window.__stillHere || 0", &marker)); err != nil || marker != 42 {
		t.Errorf("the page was reloaded: marker %d, %v", marker, err)
	}
	if n := count(ctx, t, "#pager"); n != 1 {
		t.Errorf("%d pagers after appending, want 1", n)
	}
	var older string
	if err := chromedp.Run(ctx, chromedp.AttributeValue(`[data-testid=older]`, "href", &older, nil, chromedp.ByQuery)); err != nil || older != "/?page=3" {
		t.Errorf("older now points to %q (%v), want /?page=3", older, err)
	}

	// Back restores the first page.
	if err := chromedp.Run(ctx, chromedp.NavigateBack()); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "location.search === '' && document.querySelectorAll('[data-testid=post-card]').length === 10")
	// Forward again shows page 2.
	if err := chromedp.Run(ctx, chromedp.NavigateForward()); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "location.search === '?page=2' && document.querySelectorAll('[data-testid=post-card]').length >= 10")

	// Search as you type: results without a page load, a shareable URL.
	err = chromedp.Run(ctx, chromedp.Navigate(f.srv.URL+"/search"), chromedp.WaitVisible(`#q`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "typeof htmx === 'object'")
	if err := chromedp.Run(ctx, chromedp.Evaluate("window.__stillHere = 7", nil), chromedp.SendKeys(`#q`, "runbook", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "document.querySelectorAll('[data-testid=search-result]').length > 0")
	waitFor(ctx, t, "location.search === '?q=runbook'")
	if err := chromedp.Run(ctx, chromedp.Evaluate("window.__stillHere || 0", &marker)); err != nil || marker != 7 {
		t.Errorf("typing in search reloaded the page: marker %d, %v", marker, err)
	}
	var indicator string
	if err := chromedp.Run(ctx, chromedp.Evaluate("getComputedStyle(document.querySelector('#search-indicator')).visibility", &indicator)); err != nil || indicator != "hidden" {
		t.Errorf("loading indicator still shown after the results came: %q %v", indicator, err)
	}

	// Boosted navigation to a post gets the whole page.
	var title string
	err = chromedp.Run(ctx,
		chromedp.Click(`[data-testid=search-result] h2 a`, chromedp.NodeVisible, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=post] h1`, chromedp.ByQuery),
		chromedp.Title(&title),
	)
	if err != nil || !strings.HasSuffix(title, "· Field Notes") {
		t.Errorf("boosted navigation: title %q, %v", title, err)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(f.srv.URL+"/no-such-page"), chromedp.WaitVisible(`[data-testid=error]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	probs.check(t)
}

// axeImpactsThatFail are the axe-core impacts that fail the test.
var axeImpactsThatFail = map[string]bool{"serious": true, "critical": true}

// axeSource is axe-core's script from node_modules.
func axeSource(t *testing.T) string {
	t.Helper()
	axe, err := os.ReadFile(filepath.Join(repoRoot(), "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		need(t, "axe-core is not installed (npm ci)")
	}
	return string(axe)
}

// checkA11y runs axe-core on the current page of ctx and fails the test on
// serious or critical WCAG 2.1 A/AA violations.
func checkA11y(ctx context.Context, t *testing.T, axe string) {
	t.Helper()
	var violations []struct {
		ID, Impact, Help string
		Nodes            []struct{ Target []string }
	}
	err := chromedp.Run(ctx,
		chromedp.Evaluate(axe, nil),
		chromedp.Evaluate(`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(r => r.violations)`,
			&violations, func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		if axeImpactsThatFail[v.Impact] {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, strings.Join(n.Target, " "))
			}
			t.Errorf("%s: %s (%s): %s at %v", location(ctx, t), v.ID, v.Impact, v.Help, where)
		}
	}
}

func colorScheme(scheme string) chromedp.Action {
	return emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}})
}

func TestAccessibility(t *testing.T) {
	axe := axeSource(t)
	f := browserBlog(t)
	ctx, probs := browser(t)
	_, sitemap := f.get("/sitemap.xml")
	post := "/posts/" + between(sitemap, "/posts/", "<")
	for _, scheme := range []string{"light", "dark"} {
		for _, path := range []string{"/", post, "/search?q=runbook", "/no-such-page", "/login"} {
			t.Run(scheme+path, func(t *testing.T) {
				err := chromedp.Run(ctx, colorScheme(scheme), chromedp.Navigate(f.srv.URL+path), chromedp.WaitVisible(`main`, chromedp.ByQuery))
				if err != nil {
					t.Fatal(err)
				}
				checkA11y(ctx, t, axe)
			})
		}
	}
	probs.check(t)
}

// TestScreenshots renders the home and a post page, light and dark, at
// desktop and phone widths. make screenshots writes them for the README
// (SCREENSHOTS_DIR); otherwise they go to a temporary folder.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	f := browserBlog(t)
	ctx, probs := browser(t)
	_, sitemap := f.get("/sitemap.xml")
	post := "/posts/" + between(sitemap, "/posts/", "<")
	for _, page := range []struct{ name, path string }{{"home", "/"}, {"post", post}} {
		for _, scheme := range []string{"light", "dark"} {
			for _, size := range []struct {
				name          string
				width, height int64
				mobile        bool
			}{{"desktop", 1280, 900, false}, {"phone", 390, 844, true}} {
				var png []byte
				err := chromedp.Run(ctx,
					emulation.SetDeviceMetricsOverride(size.width, size.height, 1, size.mobile),
					colorScheme(scheme),
					chromedp.Navigate(f.srv.URL+page.path),
					chromedp.WaitVisible(`main`, chromedp.ByQuery),
					chromedp.CaptureScreenshot(&png),
				)
				if err != nil {
					t.Fatal(err)
				}
				if len(png) < 1000 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
					t.Fatalf("%s %s %s: not a PNG", page.name, scheme, size.name)
				}
				name := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.png", page.name, size.name, scheme))
				if err := os.WriteFile(name, png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	probs.check(t)
}

// TestPageWeight keeps the home page light for readers on slow phones:
// its HTML, CSS and JavaScript together, gzipped, stay under 30 KB.
func TestPageWeight(t *testing.T) {
	f := browserBlog(t)
	needHTMX(t, f)
	const budget = 30 << 10
	_, html := f.get("/")
	total := gzipSize(t, html)
	parts := []string{fmt.Sprintf("HTML %d", total)}
	doc := f.page("/", 200)
	for _, sel := range []string{"link[rel=stylesheet]", "script[src]"} {
		for _, n := range doc.Find(sel).Nodes {
			for _, a := range n.Attr {
				if a.Key == "href" || a.Key == "src" {
					_, body := f.get(a.Val)
					size := gzipSize(t, body)
					total += size
					parts = append(parts, fmt.Sprintf("%s %d", a.Val, size))
				}
			}
		}
	}
	t.Logf("home page gzipped: %d bytes (%s)", total, strings.Join(parts, ", "))
	if total > budget {
		t.Errorf("home page weighs %d bytes gzipped, over the %d budget: %s", total, budget, strings.Join(parts, ", "))
	}
}

func gzipSize(t *testing.T, s string) int {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Len()
}
