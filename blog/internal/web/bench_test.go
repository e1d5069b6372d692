package web_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/seed"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// benchBlogs are blogs with 500 demo posts on each database, with the
// page cache on and, as "<db>-miss", off (every request renders).
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
		blogs[db.Name+"-miss"] = newBlog(b, db, map[string]string{"BLOG_CACHE_MB": "0"})
	}
	return blogs
}

// BenchmarkPages measures whole requests through the real handler stack
// (middleware, cache, store, templates) for the pages readers hit most:
// from the page cache, and rendered ("-miss"). The response goes to a
// discarding writer, as a socket would take it.
func BenchmarkPages(b *testing.B) {
	for name, f := range benchBlogs(b) {
		_, sitemap := f.get("/sitemap.xml")
		post := "/posts/" + between(sitemap, "/posts/", "<")
		for _, path := range []string{"/", "/?page=5", post, "/tags/operations", "/search?q=runbook", "/feed.atom"} {
			b.Run(name+path, func(b *testing.B) {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				for b.Loop() {
					w := &discardWriter{header: http.Header{}}
					f.web.ServeHTTP(w, req)
					if w.status != http.StatusOK {
						b.Fatalf("%s: %d", path, w.status)
					}
				}
			})
		}
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}
