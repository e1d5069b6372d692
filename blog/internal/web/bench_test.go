package web_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/seed"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// benchBlogs are blogs with 500 demo posts on each database.
func benchBlogs(b *testing.B) map[string]*fixture {
	b.Helper()
	blogs := map[string]*fixture{}
	for _, db := range storetest.Each(b) {
		f := newBlog(b, db, nil)
		a, err := f.store.SaveAuthor(context.Background(), store.Author{Email: "bench@example.com", Name: "Bench", PasswordHash: "x", Role: store.RoleAdmin})
		if err != nil {
			b.Fatal(err)
		}
		if err := seed.Run(context.Background(), f.store, seed.Options{Posts: 500, AuthorID: a.ID, Now: time.Now(), Rand: rand.New(rand.NewPCG(1, 2))}); err != nil {
			b.Fatal(err)
		}
		blogs[db.Name] = f
	}
	return blogs
}

// BenchmarkPages measures whole requests through the real handler stack
// (middleware, store, templates) for the pages readers hit most.
func BenchmarkPages(b *testing.B) {
	for name, f := range benchBlogs(b) {
		_, sitemap := f.get("/sitemap.xml")
		post := "/posts/" + between(sitemap, "/posts/", "<")
		for _, path := range []string{"/", "/?page=5", post, "/tags/operations", "/search?q=runbook", "/feed.atom"} {
			b.Run(name+path, func(b *testing.B) {
				for b.Loop() {
					rec := httptest.NewRecorder()
					f.web.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d", path, rec.Code)
					}
					_, _ = io.Copy(io.Discard, rec.Body)
				}
			})
		}
	}
}
