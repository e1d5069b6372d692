package importer_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/config"
	"github.com/blogstack/blogstack/blog/internal/importer"
	"github.com/blogstack/blogstack/blog/internal/metrics"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
	"github.com/blogstack/blogstack/blog/internal/web"
)

// parse reads a fixture with the named source's parser.
func parse(t *testing.T, kind, file string) (importer.Data, error) {
	t.Helper()
	f, err := os.Open("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	switch kind {
	case "django":
		return importer.ParseDjango(f, importer.DefaultDjangoMap())
	case "wordpress":
		return importer.ParseWordPress(f, false)
	default:
		return importer.ParseGhost(f, false, "")
	}
}

func mustParse(t *testing.T, kind, file string) importer.Data {
	t.Helper()
	d, err := parse(t, kind, file)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// counts is what a database holds, as readers and authors see it.
type counts struct{ all, published, authors, approved, pending int }

func countAll(t *testing.T, st *store.Store) counts {
	t.Helper()
	ctx := context.Background()
	var c counts
	var err error
	if _, c.all, err = st.Posts(ctx, store.PostFilter{Drafts: true, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if _, c.published, err = st.Posts(ctx, store.PostFilter{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if c.authors, err = st.AuthorCount(ctx); err != nil {
		t.Fatal(err)
	}
	if c.pending, err = st.PendingCommentCount(ctx, store.AnyOwner); err != nil {
		t.Fatal(err)
	}
	posts, _, err := st.Posts(ctx, store.PostFilter{Drafts: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range posts {
		cs, err := st.ApprovedComments(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		c.approved += len(cs)
	}
	return c
}

// get answers one GET from the blog over st, without following redirects.
func get(t *testing.T, st *store.Store, path string) *http.Response {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		if k == "BLOG_DATA_DIR" {
			return t.TempDir()
		}
		return ""
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	assets, _, err := web.LoadAssets()
	if err != nil {
		t.Fatal(err)
	}
	srv := web.NewServer(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)), assets, metrics.New(metrics.Build{}, nil))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkRedirects asserts that every old path answers a 301 to its post and
// that the rest (drafts' old paths) are 404s.
func checkRedirects(t *testing.T, st *store.Store, moved map[string]string, gone []string) {
	t.Helper()
	for old, to := range moved {
		res := get(t, st, old)
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != to {
			t.Errorf("GET %s: %d to %q, want 301 to %q", old, res.StatusCode, res.Header.Get("Location"), to)
		}
	}
	for _, p := range gone {
		if res := get(t, st, p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404 (a draft stays invisible)", p, res.StatusCode)
		}
	}
}

// checkFeeds asserts that the sitemap and feeds list new URLs only.
func checkFeeds(t *testing.T, st *store.Store, want []string, oldPrefix string) {
	t.Helper()
	for _, path := range []string{"/sitemap.xml", "/feed.atom", "/feed.rss"} {
		res := get(t, st, path)
		b := body(t, res)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		for _, w := range want {
			if !strings.Contains(b, w) {
				t.Errorf("%s does not list %s", path, w)
			}
		}
		if strings.Contains(b, oldPrefix) {
			t.Errorf("%s lists an old address (%s...)", path, oldPrefix)
		}
	}
}

func TestDjango(t *testing.T) {
	for _, db := range storetest.Each(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			st := db.MustOpen(t)
			owner, err := st.SaveAuthor(ctx, store.Author{Email: "owner@example.com", Name: "Owner", PasswordHash: "x", Role: store.RoleAdmin})
			if err != nil {
				t.Fatal(err)
			}
			d := mustParse(t, "django", "django.json")

			dry, err := importer.Run(ctx, st, "django", d, importer.Options{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if dry.Posts != 4 || !dry.DryRun {
				t.Errorf("dry run reports %d posts, want 4", dry.Posts)
			}
			if c := countAll(t, st); c.all != 0 || c.authors != 1 {
				t.Fatalf("a dry run wrote: %+v", c)
			}

			rep, err := importer.Run(ctx, st, "django", d, importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.AuthorsCreated != 2 || rep.AuthorsMapped != 1 || rep.Posts != 4 || rep.Comments != 4 || rep.Redirects != 4 || len(rep.Renamed) != 1 {
				t.Errorf("report %+v, want 2 authors created (bob, unknown), 1 mapped, 4 posts, 4 comments, 4 redirects, 1 renamed", rep)
			}
			want := counts{all: 4, published: 3, authors: 3, approved: 3, pending: 1} // one approved comment is on the draft
			if c := countAll(t, st); c != want {
				t.Errorf("after import %+v, want %+v", c, want)
			}

			p1, err := st.PostBySlug(ctx, "hello-world")
			if err != nil {
				t.Fatal(err)
			}
			if p1.AuthorID != owner.ID {
				t.Errorf("post 1 belongs to author %d, want the existing owner %d (mapped by email)", p1.AuthorID, owner.ID)
			}
			if !p1.PublishedAt.Equal(time.Date(2016, 3, 7, 10, 0, 0, 0, time.UTC)) || !p1.UpdatedAt.Equal(time.Date(2016, 3, 8, 12, 0, 0, 0, time.UTC)) ||
				!p1.CreatedAt.Equal(time.Date(2016, 3, 7, 9, 30, 0, 0, time.UTC)) {
				t.Errorf("post 1 dates published %v created %v updated %v, want the source's", p1.PublishedAt, p1.CreatedAt, p1.UpdatedAt)
			}
			if len(p1.Tags) != 1 || p1.Tags[0].Name != "Django" {
				t.Errorf("post 1 tags %+v, want Django only (a tag on a comment is not a post's)", p1.Tags)
			}
			if !strings.Contains(p1.HTML, "<strong>first</strong>") || p1.Body != "My **first** post.\n\nWith a [link](https://example.com)." {
				t.Errorf("post 1 markdown not kept: %q -> %q", p1.Body, p1.HTML)
			}
			p2, err := st.PostBySlug(ctx, "hello-world-2")
			if err != nil {
				t.Fatalf("the duplicate slug was not made unique: %v", err)
			}
			bob, err := st.AuthorByID(ctx, p2.AuthorID)
			if err != nil {
				t.Fatal(err)
			}
			if bob.Email != "bob@example.com" || bob.DisabledAt == nil || bob.PasswordHash != "" {
				t.Errorf("bob is %+v, want created disabled with no password", bob)
			}
			p3, err := st.PostBySlug(ctx, "über-kaffee")
			if err != nil {
				t.Fatalf("the unicode slug was not kept: %v", err)
			}
			if strings.Contains(p3.HTML, "<script") || strings.Contains(p3.HTML, "javascript:") {
				t.Errorf("post 3 HTML not sanitized: %s", p3.HTML)
			}
			if len(p3.Tags) != 1 || p3.Tags[0].Name != "Café culture" {
				t.Errorf("post 3 tags %+v", p3.Tags)
			}
			unknown, err := st.AuthorByID(ctx, p3.AuthorID)
			if err != nil || unknown.DisabledAt == nil || unknown.Name != "Unknown author" {
				t.Errorf("the post with no author went to %+v (%v), want a disabled Unknown author", unknown, err)
			}

			again, err := importer.Run(ctx, st, "django", d, importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !again.Unchanged() {
				t.Errorf("a second run changed something: %+v", again)
			}
			if c := countAll(t, st); c != want {
				t.Errorf("after a second run %+v, want %+v", c, want)
			}

			checkRedirects(t, st, map[string]string{
				"/blog/2016/3/7/hello-world/":        "/posts/hello-world",
				"/blog/2016/3/7/hello-world":         "/posts/hello-world",
				"/blog/2017/5/1/hello-world/":        "/posts/hello-world-2",
				"/blog/2018/11/20/%C3%BCber-kaffee/": "/posts/%C3%BCber-kaffee",
			}, []string{"/blog/2020/1/1/unfinished/", "/posts/unfinished", "/blog/2016/3/8/hello-world/"})
			checkFeeds(t, st, []string{"/posts/hello-world-2", "/posts/hello-world<", "über-kaffee"}, "/blog/20")
		})
	}
}

// TestNothingHalfWritten: bad input is an error naming the record, and a
// failure part-way through the writes leaves the database as it was.
func TestNothingHalfWritten(t *testing.T) {
	if _, err := parse(t, "django", "django-truncated.json"); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated dumpdata: %v, want an error saying the file is truncated", err)
	}
	if _, err := importer.ParseDjango(strings.NewReader(`[{"model": "blog.post", "pk": 9, "fields": {"title": "T", "publish": "yesterday", "status": "PB"}}]`), importer.DefaultDjangoMap()); err == nil ||
		!strings.Contains(err.Error(), "blog.post pk=9") || !strings.Contains(err.Error(), "publish") {
		t.Errorf("bad date: %v, want an error naming blog.post pk=9 and its field", err)
	}
	for _, db := range storetest.Each(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			st := db.MustOpen(t)
			d := mustParse(t, "django", "django.json")
			d.Posts[2].Status = "bogus" // refused by the database after two posts are written
			_, err := importer.Run(ctx, st, "django", d, importer.Options{})
			if err == nil || !strings.Contains(err.Error(), "blog.post pk=3") || !strings.Contains(err.Error(), "nothing was written") {
				t.Fatalf("import of a bad record: %v, want an error naming blog.post pk=3", err)
			}
			if c := countAll(t, st); c != (counts{}) {
				t.Errorf("a failed import left %+v behind", c)
			}
		})
	}
}

func TestWordPress(t *testing.T) {
	for _, db := range storetest.Each(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			st := db.MustOpen(t)
			d := mustParse(t, "wordpress", "wordpress.xml")
			rep, err := importer.Run(ctx, st, "wordpress", d, importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.AuthorsCreated != 2 || rep.Posts != 5 || rep.Comments != 3 || rep.Redirects != 3 || len(rep.Renamed) != 1 {
				t.Errorf("report %+v, want 2 authors (carol, unknown), 5 posts, 3 comments, 3 redirects, 1 renamed", rep)
			}
			var skipped []string
			for _, s := range rep.Skipped {
				skipped = append(skipped, s.Record+": "+s.Why)
			}
			if all := strings.Join(skipped, "\n"); len(skipped) != 2 || !strings.Contains(all, "wp:post_id=2: a page") || !strings.Contains(all, "wp:comment_id=6 on item wp:post_id=10: marked \"spam\"") {
				t.Errorf("skipped %q, want the page and the spam comment", skipped)
			}
			// 10, 11, 12 published; 13 scheduled; 14 a draft. Approved: 5 and 8 (on the draft).
			want := counts{all: 5, published: 3, authors: 2, approved: 2, pending: 1}
			if c := countAll(t, st); c != want {
				t.Errorf("after import %+v, want %+v", c, want)
			}
			p, err := st.PostBySlug(ctx, "ten-years-of-gardening")
			if err != nil {
				t.Fatal(err)
			}
			if !p.PublishedAt.Equal(time.Date(2015, 4, 1, 9, 0, 0, 0, time.UTC)) || !p.UpdatedAt.Equal(time.Date(2016, 1, 1, 10, 0, 0, 0, time.UTC)) {
				t.Errorf("dates %v %v, want the GMT dates of the export", p.PublishedAt, p.UpdatedAt)
			}
			if strings.Contains(p.HTML, "<script") || !strings.Contains(p.HTML, "<strong>bold</strong>") || !strings.Contains(p.HTML, "<li>Rake</li>") ||
				!strings.Contains(p.HTML, "<p>Second paragraph.") ||
				!strings.Contains(p.HTML, `src="https://old.example.org/wp-content/uploads/rose.jpg"`) || strings.Contains(p.HTML, "caption") {
				t.Errorf("post HTML: %s", p.HTML)
			}
			if len(p.Tags) != 2 {
				t.Errorf("tags %+v, want Garden and Tools (Uncategorized left out)", p.Tags)
			}
			cs, err := st.ApprovedComments(ctx, p.ID)
			if err != nil || len(cs) != 1 || cs[0].Website != "" || cs[0].Body != "Lovely roses." {
				t.Errorf("comments %+v (%v), want Dave's, as text, without his javascript: link", cs, err)
			}
			if _, err := st.PostBySlug(ctx, "next-spring"); err == nil {
				t.Error("the scheduled post is visible now")
			}
			again, err := importer.Run(ctx, st, "wordpress", d, importer.Options{})
			if err != nil || !again.Unchanged() {
				t.Errorf("a second run: %+v, %v", again, err)
			}
			if c := countAll(t, st); c != want {
				t.Errorf("after a second run %+v, want %+v", c, want)
			}
			checkRedirects(t, st, map[string]string{
				"/2015/04/ten-years-of-gardening/": "/posts/ten-years-of-gardening",
				"/2017/04/ten-years-of-gardening":  "/posts/ten-years-of-gardening-2",
				"/2016/06/sm%C3%B6rg%C3%A5sbord/":  "/posts/sm%C3%B6rg%C3%A5sbord",
			}, []string{"/about/", "/posts/half-a-thought", "/posts/next-spring"})
			checkFeeds(t, st, []string{"/posts/ten-years-of-gardening-2"}, "old.example.org/20")
			if b := body(t, get(t, st, "/search?q=spade")); !strings.Contains(b, "/posts/ten-years-of-gardening") {
				t.Error("search does not find an imported post by its words")
			}
		})
	}
}

func TestGhost(t *testing.T) {
	for _, db := range storetest.Each(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			st := db.MustOpen(t)
			owner, err := st.SaveAuthor(ctx, store.Author{Email: "grace@example.net", Name: "Grace", PasswordHash: "x", Role: store.RoleAdmin})
			if err != nil {
				t.Fatal(err)
			}
			// A post already here takes the slug the import wants.
			if _, err := st.CreatePost(ctx, store.PostInput{AuthorID: owner.ID, Title: "Mine", Slug: "welcome", Body: "x", Status: store.StatusPublished}); err != nil {
				t.Fatal(err)
			}
			d := mustParse(t, "ghost", "ghost.json")
			rep, err := importer.Run(ctx, st, "ghost", d, importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.AuthorsCreated != 1 || rep.AuthorsMapped != 1 || rep.Posts != 5 || rep.Redirects != 4 || len(rep.Skipped) != 1 {
				t.Errorf("report %+v, want Heidi created, Grace mapped, 5 posts, 4 redirects (the scheduled post's waits), the page skipped", rep)
			}
			want := counts{all: 6, published: 4, authors: 2}
			if c := countAll(t, st); c != want {
				t.Errorf("after import %+v, want %+v", c, want)
			}
			p, err := st.PostBySlug(ctx, "welcome-2")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(p.HTML, "Lexical only, <strong>bold</strong>") || !strings.Contains(p.HTML, `<h2 id="h-a-heading">A heading`) {
				t.Errorf("post from Lexical: %s", p.HTML)
			}
			if len(p.Tags) != 1 || p.Tags[0].Name != "News" || p.AuthorID != owner.ID {
				t.Errorf("tags %+v author %d: want News only (#internal left out), by Grace", p.Tags, p.AuthorID)
			}
			s, err := st.PostBySlug(ctx, "script-kiddies")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(s.HTML, "<script") || strings.Contains(s.HTML, "javascript:") || !strings.Contains(s.HTML, `<img src="/content/images/rose.jpg" alt="A rose"`) || !strings.Contains(s.HTML, "Println") {
				t.Errorf("post from HTML: %s", s.HTML)
			}
			m, err := st.PostBySlug(ctx, "from-ghost-3")
			if err != nil {
				t.Fatal(err)
			}
			if want := "## From a markdown card\n\nWith `code`.\n\nThen a [link](<https://example.com/>) and **bold**.\n\n- one\n- two\n"; m.Body != want || m.AuthorID != owner.ID {
				t.Errorf("post from Mobiledoc: %q by %d, want %q by Grace (Ghost 2's author_id)", m.Body, m.AuthorID, want)
			}
			again, err := importer.Run(ctx, st, "ghost", d, importer.Options{})
			if err != nil || !again.Unchanged() {
				t.Errorf("a second run: %+v, %v", again, err)
			}
			checkRedirects(t, st, map[string]string{
				"/welcome/":        "/posts/welcome-2",
				"/script-kiddies/": "/posts/script-kiddies",
				"/from-ghost-3":    "/posts/from-ghost-3",
			}, []string{"/draft/", "/coming-soon/", "/posts/coming-soon", "/posts/draft", "/about/"})
			checkFeeds(t, st, []string{"/posts/welcome-2", "/posts/script-kiddies"}, "/welcome/")
		})
	}
}

func TestTruncatedFiles(t *testing.T) {
	for kind, file := range map[string]string{"django": "django-truncated.json", "wordpress": "wordpress-truncated.xml", "ghost": "ghost-truncated.json"} {
		_, err := parse(t, kind, file)
		if err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("%s: %v, want an error saying the file is truncated", file, err)
		}
		t.Logf("%s: %v", file, err)
	}
	_, err := importer.ParseGhost(strings.NewReader("{\"db\": [\n{\"data\": {\"posts\": [}}]\n}"), false, "")
	if err == nil || strings.Contains(err.Error(), "truncated") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("broken JSON: %v, want an error at line 2 that does not blame truncation", err)
	}
}

// TestPages: pages are skipped unless asked for, then imported as posts
// with their old addresses.
func TestPages(t *testing.T) {
	for _, tc := range []struct{ kind, file, path string }{
		{"wordpress", "wordpress.xml", "/about/"},
		{"ghost", "ghost.json", "/about/"},
	} {
		f, err := os.Open("testdata/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		var d importer.Data
		if tc.kind == "wordpress" {
			d, err = importer.ParseWordPress(f, true)
		} else {
			d, err = importer.ParseGhost(f, true, "https://old.example.net")
		}
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, p := range d.Posts {
			if p.Title == "About" {
				found = len(p.OldPaths) == 1 && p.OldPaths[0] == tc.path && p.Status == store.StatusPublished
			}
		}
		if !found {
			t.Errorf("%s with pages: no published About post at %s", tc.kind, tc.path)
		}
		if tc.kind == "ghost" && !strings.Contains(d.Posts[1].Body, "(<https://old.example.net/content/images/rose.jpg>)") {
			t.Errorf("__GHOST_URL__ not replaced by --old-url: %q", d.Posts[1].Body)
		}
	}
}
