package web_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/blogstack/blogstack/blog/internal/config"
	"github.com/blogstack/blogstack/blog/internal/metrics"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
	"github.com/blogstack/blogstack/blog/internal/web"
)

// published is the number of visible posts in the fixture: three pages.
const published = 23

// fixture is a running blog over a real database with known content.
type fixture struct {
	t   testing.TB
	srv *httptest.Server
	web *web.Server
	// metrics is what the server counts into; never served by web.
	metrics *metrics.Metrics
	store   *store.Store
	client  *http.Client
	logs    *syncBuffer // what the server logged, for security-event checks
}

// syncBuffer is a log destination that handlers write to concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newFixture is a blog with the fixed content of seed.
func newFixture(t *testing.T, db storetest.DB, env map[string]string) *fixture {
	t.Helper()
	f := newBlog(t, db, env)
	f.seed()
	return f
}

// newBlog is a running blog over an empty, migrated database.
func newBlog(t testing.TB, db storetest.DB, env map[string]string) *fixture {
	t.Helper()
	st := db.MustOpen(t)
	cfg, err := config.Load(func(k string) string {
		if k == "BLOG_DATA_DIR" && env[k] == "" {
			return t.TempDir() // the default media folder is in it
		}
		return env[k]
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	assets, _, err := web.LoadAssets()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	st.Log = log
	m := metrics.New(metrics.Build{Version: "v-test", Commit: "abc123"}, st.DB())
	bucket := openMedia(t, cfg.MediaURL)
	w := web.NewServer(cfg, st, log, assets, m, web.WithMedia(bucket))
	w.CommentMinFill = 0 // tests send forms at once; TestCommentTokens sets it
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	f := &fixture{t: t, srv: srv, web: w, metrics: m, store: st, logs: logs, client: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	return f
}

func (f *fixture) seed() {
	ctx := context.Background()
	a, err := f.store.SaveAuthor(ctx, store.Author{Email: "ada@example.com", Name: "Ada Lovelace", PasswordHash: "x", Role: store.RoleAdmin})
	if err != nil {
		f.t.Fatal(err)
	}
	base := time.Now().Add(-30 * 24 * time.Hour)
	create := func(in store.PostInput) store.Post {
		in.AuthorID = a.ID
		p, err := f.store.CreatePost(ctx, in)
		if err != nil {
			f.t.Fatal(err)
		}
		return p
	}
	for i := range published {
		at := base.Add(time.Duration(i) * time.Hour)
		tags := []string{"Go"}
		if i%2 == 0 {
			tags = append(tags, "Databases")
		}
		body := fmt.Sprintf("Post number %d about gophers.\n\n## Details\n\n```go\nfmt.Println(%d)\n```\n", i, i)
		if i == 5 {
			body = "Everything about **PostgreSQL** indexes and how PostgreSQL plans queries."
		}
		create(store.PostInput{Title: fmt.Sprintf("Post %02d", i), Slug: fmt.Sprintf("post-%02d", i), Body: body, Tags: tags, Status: store.StatusPublished, PublishedAt: &at})
	}
	future := time.Now().Add(48 * time.Hour)
	create(store.PostInput{Title: "Scheduled", Slug: "scheduled", Body: "gophers later", Status: store.StatusPublished, PublishedAt: &future})
	create(store.PostInput{Title: "Draft", Slug: "draft", Body: "gophers draft", Tags: []string{"Secret"}, Status: store.StatusDraft})
	p, err := f.store.PostBySlug(ctx, "post-22")
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range []store.Comment{
		{PostID: p.ID, Name: "Grace", Website: "https://example.org", Body: "Approved <b>comment</b>", Status: store.CommentApproved},
		{PostID: p.ID, Name: "Mallory", Body: "Pending spam", Status: store.CommentPending},
	} {
		if _, err := f.store.CreateComment(ctx, c); err != nil {
			f.t.Fatal(err)
		}
	}
}

// get requests path with optional headers, returning the response and body.
func (f *fixture) get(path string, headers ...string) (*http.Response, string) {
	f.t.Helper()
	return f.send(f.client, http.MethodGet, path, nil, headers...)
}

// page fetches an HTML page, checks its status, and parses it.
func (f *fixture) page(path string, status int) *goquery.Document {
	f.t.Helper()
	resp, body := f.get(path)
	if resp.StatusCode != status {
		f.t.Fatalf("GET %s: status %d, want %d\n%.400s", path, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		f.t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	return doc
}

func eachDB(t *testing.T, run func(t *testing.T, f *fixture)) {
	for _, db := range storetest.Each(t) {
		t.Run(db.Name, func(t *testing.T) {
			run(t, newFixture(t, db, map[string]string{"BLOG_BASE_URL": "https://blog.example.com", "BLOG_SECRET_KEY": strings.Repeat("k", 32)}))
		})
	}
}

func texts(doc *goquery.Document, sel string) []string {
	var out []string
	doc.Find(sel).Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
	return out
}

func attr(doc *goquery.Document, sel, name string) string {
	v, _ := doc.Find(sel).First().Attr(name)
	return v
}

func TestHomePagination(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		doc := f.page("/", 200)
		titles := texts(doc, "[data-testid=post-card] h2")
		if len(titles) != 10 || titles[0] != "Post 22" || titles[9] != "Post 13" {
			t.Fatalf("page 1 titles %v", titles)
		}
		if attr(doc, "[data-testid=older]", "href") != "/?page=2" || doc.Find("[data-testid=newer]").Length() != 0 {
			t.Errorf("page 1 pager wrong")
		}
		if got := attr(doc, "link[rel=canonical]", "href"); got != "https://blog.example.com/" {
			t.Errorf("canonical %q", got)
		}
		if cur := texts(doc, "header nav a[aria-current=page]"); len(cur) != 1 || cur[0] != "Posts" {
			t.Errorf("current section %v", cur)
		}
		if topics := texts(doc, "[data-testid=topics] a"); strings.Join(topics, ",") != "Go 23,Databases 12" {
			t.Errorf("topics %q: published tags by use, the draft's tag hidden", topics)
		}
		doc = f.page("/?page=3", 200)
		titles = texts(doc, "[data-testid=post-card] h2")
		if len(titles) != 3 || titles[2] != "Post 00" {
			t.Fatalf("page 3 titles %v", titles)
		}
		if attr(doc, "[data-testid=newer]", "href") != "/?page=2" || doc.Find("[data-testid=older]").Length() != 0 {
			t.Errorf("page 3 pager wrong")
		}
		if got := attr(doc, "link[rel=canonical]", "href"); got != "https://blog.example.com/?page=3" {
			t.Errorf("canonical %q", got)
		}
	})
}

func TestPageMetadata(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		for _, path := range []string{"/", "/posts/post-05", "/tags/go", "/search", "/search?q=gophers", "/posts/missing"} {
			status := 200
			if path == "/posts/missing" {
				status = 404
			}
			doc := f.page(path, status)
			if attr(doc, "html", "lang") != "en" {
				t.Errorf("%s: no lang", path)
			}
			if doc.Find("title").Text() == "" || attr(doc, "meta[name=description]", "content") == "" && status == 200 {
				t.Errorf("%s: title or description missing", path)
			}
			for _, sel := range []string{"link[rel=canonical]", "meta[property='og:title']", "meta[property='og:type']", "meta[property='og:url']", "meta[name='twitter:card']"} {
				if doc.Find(sel).Length() != 1 {
					t.Errorf("%s: %s missing", path, sel)
				}
			}
		}
	})
}

func TestPostPage(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		doc := f.page("/posts/post-22", 200)
		if got := doc.Find("article h1").Text(); got != "Post 22" {
			t.Errorf("h1 %q", got)
		}
		if doc.Find(".prose pre.chroma").Length() != 1 || doc.Find(".prose h2#h-details").Length() != 1 {
			t.Errorf("markdown not rendered with highlighting and heading ids")
		}
		if tags := texts(doc, "article .tags a"); strings.Join(tags, ",") != "Databases,Go" {
			t.Errorf("tags %v", tags)
		}
		comments := texts(doc, "[data-testid=comment] .comment-body")
		if len(comments) != 1 || comments[0] != "Approved <b>comment</b>" {
			t.Errorf("comments %v: only the approved one, escaped", comments)
		}
		if doc.Find("[data-testid=comment-form]").Length() != 1 {
			t.Errorf("comment form missing")
		}
		if attr(doc, "meta[property='og:type']", "content") != "article" {
			t.Errorf("og:type is not article")
		}
		var ld map[string]any
		if err := json.Unmarshal([]byte(doc.Find(`script[type="application/ld+json"]`).Text()), &ld); err != nil {
			t.Fatalf("JSON-LD: %v", err)
		}
		if ld["@type"] != "BlogPosting" || ld["headline"] != "Post 22" || ld["url"] != "https://blog.example.com/posts/post-22" {
			t.Errorf("JSON-LD %v", ld)
		}
		for _, path := range []string{"/posts/scheduled", "/posts/draft", "/posts/nope", "/posts/%27%3B--", "/tags/secret", "/tags/nope", "/nope", "/posts/post-22/extra"} {
			resp, body := f.get(path)
			if resp.StatusCode != 404 || !strings.Contains(body, "Page not found") {
				t.Errorf("GET %s: %d, want the 404 page", path, resp.StatusCode)
			}
		}
	})
}

func TestTagPage(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		doc := f.page("/tags/databases", 200)
		if h := doc.Find("h1").Text(); !strings.Contains(h, "Databases") {
			t.Errorf("heading %q", h)
		}
		if n := doc.Find("[data-testid=post-card]").Length(); n != 10 {
			t.Errorf("%d posts on the first tag page", n)
		}
		doc = f.page("/tags/databases?page=2", 200)
		if n := doc.Find("[data-testid=post-card]").Length(); n != 2 {
			t.Errorf("%d posts on the second tag page, want 2 (12 even posts)", n)
		}
	})
}

func TestSearch(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		doc := f.page("/search", 200)
		if attr(doc, "[data-testid=search-form]", "method") != "get" || doc.Find("[data-testid=search-result]").Length() != 0 {
			t.Errorf("empty search page should show only the form")
		}
		doc = f.page("/search?q=postgresql", 200)
		results := texts(doc, "[data-testid=search-result] h2")
		if len(results) != 1 || results[0] != "Post 05" {
			t.Fatalf("results %v", results)
		}
		if mark := doc.Find("[data-testid=search-result] .snippet mark").First().Text(); !strings.EqualFold(mark, "postgresql") {
			t.Errorf("snippet highlight %q", mark)
		}
		doc = f.page("/search?q=gophers", 200)
		if n := doc.Find("[data-testid=search-result]").Length(); n != 10 {
			t.Errorf("%d results on page 1", n)
		}
		if attr(doc, "[data-testid=older]", "href") != "/search?page=2&q=gophers" {
			t.Errorf("search pager %q", attr(doc, "[data-testid=older]", "href"))
		}
		if !strings.Contains(doc.Find("[data-testid=result-count]").Text(), "22 posts") {
			t.Errorf("count %q: drafts and scheduled posts must not match", doc.Find("[data-testid=result-count]").Text())
		}
	})
}

func TestBadInput(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		cases := []struct {
			path   string
			status int
		}{
			{"/?page=0", 400},
			{"/?page=-1", 400},
			{"/?page=abc", 400},
			{"/?page=1.5", 400},
			{"/?page=99999999999999999999999", 400},
			{"/?page=", 200},
			{"/?page=4", 302},
			{"/?page=2147483647", 302},
			{"/tags/go?page=zzz", 400},
			{"/search?q=" + strings.Repeat("a", 10_000), 400},
			{"/search?q=" + url.QueryEscape(`'; DROP TABLE posts; --`), 200},
			{"/search?q=" + url.QueryEscape(`"unbalanced AND (OR NEAR* ^title:`), 200},
			{"/search?q=" + url.QueryEscape("\x00"), 400},
			{"/search?q=%ff%fe", 400},
			{"/search?q=gophers&page=-3", 400},
			{"/search?q=gophers&page=50", 302},
		}
		for _, c := range cases {
			resp, body := f.get(c.path)
			if resp.StatusCode != c.status {
				t.Errorf("GET %.60s: %d, want %d", c.path, resp.StatusCode, c.status)
			}
			for _, leak := range []string{"SQLSTATE", "syntax error", "fts5", "sql:", "panic"} {
				if strings.Contains(body, leak) {
					t.Errorf("GET %.60s leaks %q", c.path, leak)
				}
			}
			if c.status == 400 && !strings.Contains(body, "didn’t make sense") {
				t.Errorf("GET %.60s: not the friendly 400 page", c.path)
			}
		}
		if resp, _ := f.get("/?page=4"); resp.Header.Get("Location") != "/?page=3" {
			t.Errorf("past the last page redirects to %q, want the last page", resp.Header.Get("Location"))
		}
	})
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		css := attr(f.page("/", 200), "link[rel=stylesheet]", "href")
		for _, path := range []string{"/", "/posts/post-01", "/nope", "/?page=abc", "/feed.atom", "/healthz", css} {
			resp, _ := f.get(path)
			h := resp.Header
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
				t.Errorf("%s: CSP %q", path, csp)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
				t.Errorf("%s: nosniff/Referrer-Policy missing", path)
			}
			if !strings.HasPrefix(h.Get("Strict-Transport-Security"), "max-age=") {
				t.Errorf("%s: HSTS missing on an https blog", path)
			}
		}
	})
}

func TestConditionalGet(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		// Not post pages: their comment form carries a nonce per load.
		for _, path := range []string{"/", "/tags/go", "/feed.atom", "/feed.rss", "/sitemap.xml"} {
			resp, _ := f.get(path)
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatalf("%s: no ETag", path)
			}
			resp, body := f.get(path, "If-None-Match", etag)
			if resp.StatusCode != http.StatusNotModified || body != "" {
				t.Errorf("%s with its ETag: %d, want an empty 304", path, resp.StatusCode)
			}
			if resp, _ := f.get(path, "If-None-Match", `"stale"`); resp.StatusCode != 200 {
				t.Errorf("%s with a stale ETag: %d", path, resp.StatusCode)
			}
		}
	})
}

func TestStaticAssets(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		doc := f.page("/", 200)
		doc.Find("link[rel=stylesheet]").Each(func(_ int, s *goquery.Selection) {
			href, _ := s.Attr("href")
			resp, body := f.get(href)
			if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" || body == "" {
				t.Errorf("%s: %d %q %q", href, resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"))
			}
		})
		if resp, _ := f.get("/static/style.css"); resp.StatusCode != 404 {
			t.Errorf("unhashed name served: %d", resp.StatusCode)
		}
	})
}

func TestFragments(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		resp, body := f.get("/?page=2", "HX-Request", "true")
		if strings.Contains(body, "<html") || !strings.Contains(body, "Post 12") || !strings.Contains(body, `hx-swap-oob`) {
			t.Errorf("htmx request for page 2 should get the entries and the pager, got %.300s", body)
		}
		if !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
			t.Errorf("Vary %q", resp.Header.Get("Vary"))
		}
		for _, h := range [][]string{{"HX-Request", "true", "HX-Boosted", "true"}, {"HX-Request", "true", "HX-History-Restore-Request", "true"}} {
			if _, body := f.get("/?page=2", h...); !strings.Contains(body, "<html") {
				t.Errorf("%v must get the full page", h)
			}
		}
		if _, body := f.get("/search?q=gophers", "HX-Request", "true"); strings.Contains(body, "<html") || !strings.Contains(body, `id="search-results"`) {
			t.Errorf("search fragment: %.200s", body)
		}
	})
}

// atomFeed and rssFeed are just enough of each format to check entries.
type atomFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string   `xml:"title"`
	Entries []struct {
		Title     string `xml:"title"`
		ID        string `xml:"id"`
		Published string `xml:"published"`
		Updated   string `xml:"updated"`
		Link      struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
	} `xml:"entry"`
}

type rssFeed struct {
	XMLName xml.Name `xml:"rss"`
	Channel struct {
		Title string `xml:"title"`
		Items []struct {
			Title   string `xml:"title"`
			Link    string `xml:"link"`
			PubDate string `xml:"pubDate"`
		} `xml:"item"`
	} `xml:"channel"`
}

func TestFeeds(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		resp, body := f.get("/feed.atom")
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/atom+xml") {
			t.Errorf("atom content type %q", resp.Header.Get("Content-Type"))
		}
		var atom atomFeed
		if err := xml.Unmarshal([]byte(body), &atom); err != nil {
			t.Fatalf("atom does not parse: %v", err)
		}
		if len(atom.Entries) != 20 || atom.Entries[0].Title != "Post 22" {
			t.Fatalf("atom entries: %d, first %+v", len(atom.Entries), atom.Entries)
		}
		for _, e := range atom.Entries {
			if e.Link.Href == "" || !strings.HasPrefix(e.ID, "https://blog.example.com/posts/") {
				t.Errorf("atom entry %q: link %q id %q", e.Title, e.Link.Href, e.ID)
			}
			for _, ts := range []string{e.Published, e.Updated} {
				if _, err := time.Parse(time.RFC3339, ts); err != nil {
					t.Errorf("atom entry %q date %q: %v", e.Title, ts, err)
				}
			}
		}
		resp, body = f.get("/feed.rss")
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/rss+xml") {
			t.Errorf("rss content type %q", resp.Header.Get("Content-Type"))
		}
		var rss rssFeed
		if err := xml.Unmarshal([]byte(body), &rss); err != nil {
			t.Fatalf("rss does not parse: %v", err)
		}
		if len(rss.Channel.Items) != 20 {
			t.Fatalf("rss items %d", len(rss.Channel.Items))
		}
		for _, it := range rss.Channel.Items {
			if it.Title == "" || !strings.HasPrefix(it.Link, "https://blog.example.com/posts/") {
				t.Errorf("rss item %+v", it)
			}
			if _, err := time.Parse(time.RFC1123Z, it.PubDate); err != nil {
				t.Errorf("rss item %q date %q: %v", it.Title, it.PubDate, err)
			}
		}
	})
}

func TestSitemapAndRobots(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		_, body := f.get("/sitemap.xml")
		var set struct {
			URLs []struct {
				Loc string `xml:"loc"`
			} `xml:"url"`
		}
		if err := xml.Unmarshal([]byte(body), &set); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, u := range set.URLs {
			got[u.Loc] = true
		}
		if len(set.URLs) != published || len(got) != published {
			t.Fatalf("sitemap has %d URLs (%d distinct), want %d", len(set.URLs), len(got), published)
		}
		for i := range published {
			if loc := fmt.Sprintf("https://blog.example.com/posts/post-%02d", i); !got[loc] {
				t.Errorf("sitemap lacks %s", loc)
			}
		}
		_, robots := f.get("/robots.txt")
		if !strings.Contains(robots, "Sitemap: https://blog.example.com/sitemap.xml") || !strings.Contains(robots, "Disallow: /admin") {
			t.Errorf("robots.txt:\n%s", robots)
		}
	})
}

func TestHealthAndDrain(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		for _, path := range []string{"/healthz", "/readyz", "/"} {
			if resp, _ := f.get(path); resp.StatusCode != 200 || resp.Close {
				t.Errorf("%s: %d, closes the connection: %v", path, resp.StatusCode, resp.Close)
			}
		}
		f.web.Drain()
		if resp, _ := f.get("/readyz"); resp.StatusCode != 503 {
			t.Errorf("readyz while draining: %d, want 503", resp.StatusCode)
		}
		if resp, _ := f.get("/healthz"); resp.StatusCode != 200 {
			t.Errorf("healthz while draining: %d, want 200", resp.StatusCode)
		}
		// Still serving, but no connection is kept for a next request: the
		// proxy must not hold one the shutdown closes.
		if resp, _ := f.get("/"); resp.StatusCode != 200 || !resp.Close {
			t.Errorf("pages while draining: %d, closes the connection: %v; want 200 and Connection: close", resp.StatusCode, resp.Close)
		}
		f.store.Close()
		if resp, _ := f.get("/"); resp.StatusCode != 200 {
			t.Errorf("cached page with the database gone: %d, want it served from the cache", resp.StatusCode)
		}
		if resp, _ := f.get("/?page=2"); resp.StatusCode != 500 {
			t.Errorf("uncached page with the database closed: %d, want the 500 page", resp.StatusCode)
		}
	})
}

func TestPreview(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), map[string]string{"BLOG_PREVIEW": "1"})
	resp, body := f.get("/")
	if resp.Header.Get("X-Robots-Tag") == "" || !strings.Contains(body, `data-testid="preview-banner"`) {
		t.Errorf("preview: X-Robots-Tag %q, banner shown %v", resp.Header.Get("X-Robots-Tag"), strings.Contains(body, "preview-banner"))
	}
	if _, robots := f.get("/robots.txt"); !strings.Contains(robots, "Disallow: /\n") {
		t.Errorf("preview robots.txt:\n%s", robots)
	}
}

// between returns the text of s after the first start, up to end.
func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	before, _, _ := strings.Cut(after, end)
	return before
}
