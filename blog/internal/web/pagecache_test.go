package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// TestPageCacheQueries holds post pages to at most two queries when they
// are rendered and none when they come from the cache, and checks that a
// revalidation is a 304 without touching the database.
func TestPageCacheQueries(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		queries := storetest.CountQueries(f.store)
		f.page("/", 200) // loads the archive counts, once per change
		for _, path := range []string{"/posts/post-22", "/posts/post-21"} {
			queries.Store(0)
			resp, _ := f.get(path)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", path, resp.StatusCode)
			}
			if n := queries.Load(); n > 2 {
				t.Errorf("%s rendered with %d queries, want at most 2 (post with author and tags, comments)", path, n)
			}
			queries.Store(0)
			resp, _ = f.get(path)
			if n := queries.Load(); n != 0 {
				t.Errorf("%s from the cache ran %d queries, want 0", path, n)
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatalf("%s: no ETag", path)
			}
			if resp, _ := f.get(path, "If-None-Match", etag); resp.StatusCode != 304 {
				t.Errorf("%s revalidated: %d, want 304", path, resp.StatusCode)
			}
			if n := queries.Load(); n != 0 {
				t.Errorf("%s: a 304 ran %d queries", path, n)
			}
		}
		for _, path := range []string{"/", "/?page=2", "/tags/go", "/feed.atom", "/search?q=gophers"} {
			f.get(path)
			queries.Store(0)
			if resp, _ := f.get(path); resp.StatusCode != 200 || queries.Load() != 0 {
				t.Errorf("%s again: status %d after %d queries, want 200 from the cache", path, resp.StatusCode, queries.Load())
			}
		}
		queries.Store(0)
		f.page("/?page=3", 200)
		if n := queries.Load(); n > 1 {
			t.Errorf("a list page rendered with %d queries, want 1 (the counts are known)", n)
		}
		c := f.web.PageCache()
		if c.Hits.Load() == 0 || c.Misses.Load() == 0 || c.Len() == 0 {
			t.Errorf("counters: hits %d, misses %d, entries %d", c.Hits.Load(), c.Misses.Load(), c.Len())
		}
	})
}

// TestPageCacheTokens checks that the comment form's token is made for
// each response, never cached, and that a form from a cached page works.
func TestPageCacheTokens(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		token := func() string {
			doc := f.page("/posts/post-22", 200)
			v, _ := doc.Find("input[name=token]").Attr("value")
			if v == "" || strings.Contains(v, "slot") {
				t.Fatalf("token %q", v)
			}
			return v
		}
		first, second := token(), token()
		if first == second {
			t.Fatal("two responses carry the same comment token: it was cached")
		}
		resp, _ := f.send(f.client, "POST", "/posts/post-22/comments", url.Values{
			"name": {"Reader"}, "body": {"From a cached page."}, "token": {second},
		})
		if resp.StatusCode != 303 {
			t.Fatalf("comment from a cached page's form: %d, want 303", resp.StatusCode)
		}
	})
}

// TestPageCacheInvalidation checks that every kind of write readers see
// shows on the very next request, and that a scheduled post appears at
// its time with nothing but the clock moving.
func TestPageCacheInvalidation(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		warm := func() {
			for _, p := range []string{"/", "/posts/post-22", "/tags/go", "/feed.atom", "/sitemap.xml", "/search?q=gophers"} {
				f.get(p)
				f.get(p)
			}
		}
		warm()
		p, err := f.store.PostBySlug(ctx, "post-22")
		if err != nil {
			t.Fatal(err)
		}
		in := store.PostInput{AuthorID: p.AuthorID, Title: "Renamed", Slug: "post-22", Body: p.Body, Tags: []string{"Go", "Fresh"}, Status: store.StatusPublished, Version: p.Version}
		if _, err := f.store.UpdatePost(ctx, p.ID, in); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/", "/posts/post-22", "/tags/go", "/feed.atom"} {
			if _, body := f.get(path); !strings.Contains(body, "Renamed") {
				t.Errorf("%s after an edit still shows the old title", path)
			}
		}
		if resp, _ := f.get("/tags/fresh"); resp.StatusCode != 200 {
			t.Errorf("a new tag's page: %d", resp.StatusCode)
		}

		warm()
		pending, _, err := f.store.PendingComments(ctx, store.AnyOwner, 10, 0)
		if err != nil || len(pending) == 0 {
			t.Fatalf("pending comments: %v, %v", pending, err)
		}
		if err := f.store.ApproveComment(ctx, pending[0].ID, store.AnyOwner); err != nil {
			t.Fatal(err)
		}
		if _, body := f.get("/posts/post-22"); !strings.Contains(body, pending[0].Body) {
			t.Error("an approved comment is not shown on the next request")
		}

		warm()
		if _, err := f.store.SaveAuthor(ctx, store.Author{Email: "ada@example.com", Name: "Countess Ada", PasswordHash: "x", Role: store.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		if _, body := f.get("/posts/post-22"); !strings.Contains(body, "Countess Ada") {
			t.Error("a renamed author's byline is stale")
		}

		warm()
		if err := f.store.DeletePost(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if resp, _ := f.get("/posts/post-22"); resp.StatusCode != 404 {
			t.Errorf("a deleted post: %d, want 404", resp.StatusCode)
		}

		// The fixture's scheduled post goes out in 48 hours.
		warm()
		if resp, _ := f.get("/posts/scheduled"); resp.StatusCode != 404 {
			t.Fatalf("the scheduled post before its time: %d", resp.StatusCode)
		}
		f.store.Now = func() time.Time { return time.Now().Add(49 * time.Hour) }
		if _, body := f.get("/"); !strings.Contains(body, "/posts/scheduled") {
			t.Error("the home page does not list the scheduled post once its time came")
		}
		if resp, _ := f.get("/posts/scheduled"); resp.StatusCode != 200 {
			t.Errorf("the scheduled post once its time came: %d", resp.StatusCode)
		}
	})
}

// TestPageCacheAcrossInstances runs two app instances on one PostgreSQL
// database, each with its change listener: once a write through one has
// returned, the very next request to the other shows it, every time: the
// writer waits until every listening instance has acknowledged the change.
func TestPageCacheAcrossInstances(t *testing.T) {
	db := storetest.Postgres(t)
	env := map[string]string{"BLOG_BASE_URL": "https://blog.example.com", "BLOG_SECRET_KEY": strings.Repeat("k", 32)}
	a := newFixture(t, db, env)
	b := newBlog(t, db, env)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, f := range []*fixture{a, b} {
		ready := make(chan struct{})
		go f.store.Listen(ctx, ready)
		<-ready
	}
	if _, body := b.get("/posts/post-21"); !strings.Contains(body, "Post 21") {
		t.Fatal("instance b does not serve the post")
	}
	for i := range 20 {
		b.get("/posts/post-21") // b caches the page as it is
		p, err := a.store.PostBySlug(ctx, "post-21")
		if err != nil {
			t.Fatal(err)
		}
		title := fmt.Sprintf("Edit %d on a", i)
		written := time.Now()
		if _, err := a.store.UpdatePost(ctx, p.ID, store.PostInput{AuthorID: p.AuthorID, Title: title, Slug: p.Slug, Body: p.Body, Status: store.StatusPublished, Version: p.Version}); err != nil {
			t.Fatal(err)
		}
		took := time.Since(written)
		if _, body := b.get("/posts/post-21"); !strings.Contains(body, title) {
			t.Fatalf("write %d: instance b's next request, after the write returned (in %s), serves the old page", i+1, took)
		}
		if took > time.Second {
			t.Errorf("write %d took %s: the writer did not hear its own notification", i+1, took)
		}
	}
}

// TestPageCacheSeesOtherWritersOnSQLite writes through a second store on
// the same SQLite file, as blog import does from another process: the
// server's cached page changes within the poll's second.
func TestPageCacheSeesOtherWritersOnSQLite(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	go f.store.Listen(ctx, ready)
	<-ready
	f.get("/posts/post-20")
	other := db.Open(t)
	p, err := other.PostBySlug(ctx, "post-20")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.UpdatePost(ctx, p.ID, store.PostInput{AuthorID: p.AuthorID, Title: "Edited elsewhere", Slug: p.Slug, Body: p.Body, Status: store.StatusPublished, Version: p.Version}); err != nil {
		t.Fatal(err)
	}
	written := time.Now()
	for {
		if _, body := f.get("/posts/post-20"); strings.Contains(body, "Edited elsewhere") {
			t.Logf("the edit showed %s after the write", time.Since(written).Round(time.Millisecond))
			return
		}
		if time.Since(written) > 3*time.Second {
			t.Fatal("the server still serves the old page 3 s after another process wrote")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
