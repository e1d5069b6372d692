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
		return importer.ParseGhost(f, false)
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
	srv := web.NewServer(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)), assets)
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
