package store_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/seed"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// BenchmarkHotQueries measures the queries behind reader pages on each
// database with 300 seeded posts: what a cache miss costs in the store.
func BenchmarkHotQueries(b *testing.B) {
	ctx := context.Background()
	for _, db := range storetest.Each(b) {
		s := db.MustOpen(b)
		a, err := s.SaveAuthor(ctx, store.Author{Email: "bench@example.com", Name: "Bench", PasswordHash: "x", Role: store.RoleAdmin})
		if err != nil {
			b.Fatal(err)
		}
		if err := seed.Run(ctx, s, seed.Options{Posts: 300, Comments: 1500, AuthorID: a.ID, Now: time.Now(), Rand: rand.New(rand.NewPCG(1, 2))}); err != nil {
			b.Fatal(err)
		}
		if err := s.Analyze(ctx); err != nil {
			b.Fatal(err)
		}
		list, err := s.PostList(ctx, store.PostFilter{Limit: 1})
		if err != nil || len(list) == 0 {
			b.Fatal(err)
		}
		post := list[0]
		for _, q := range []struct {
			name string
			run  func() error
		}{
			{"PostBySlug", func() error { _, err := s.PostBySlug(ctx, post.Slug); return err }},
			{"ApprovedComments", func() error { _, err := s.ApprovedComments(ctx, post.ID); return err }},
			{"PostList/page1", func() error { _, err := s.PostList(ctx, store.PostFilter{Limit: 10}); return err }},
			{"PostList/page20", func() error { _, err := s.PostList(ctx, store.PostFilter{Limit: 10, Offset: 190}); return err }},
			{"PostList/tag", func() error { _, err := s.PostList(ctx, store.PostFilter{Limit: 10, TagSlug: "go"}); return err }},
			{"Archive", func() error { _, err := s.Archive(ctx); return err }},
			{"Search", func() error { _, _, err := s.Search(ctx, "postgresql indexes", 10, 0); return err }},
		} {
			b.Run(db.Name+"/"+q.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := q.run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
