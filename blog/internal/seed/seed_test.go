package seed_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/seed"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

func TestRun(t *testing.T) {
	s := storetest.SQLite(t).MustOpen(t)
	ctx := context.Background()
	a, err := s.SaveAuthor(ctx, store.Author{Email: "seed@example.com", Name: "Seed", PasswordHash: "x", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	now := time.Now()
	if err := seed.Run(ctx, s, seed.Options{Posts: 60, AuthorID: a.ID, Now: now, Rand: rand.New(rand.NewPCG(3, 4)), Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	all, total, err := s.Posts(ctx, store.PostFilter{Drafts: true, Limit: 100, WithHTML: true})
	if err != nil || total != 60 {
		t.Fatalf("%d posts (err %v), want 60", total, err)
	}
	visible, _, err := s.Posts(ctx, store.PostFilter{Limit: 100})
	if err != nil || len(visible) == 0 || len(visible) == len(all) {
		t.Errorf("%d of %d posts visible: want most, but some drafts or scheduled (err %v)", len(visible), len(all), err)
	}
	features := map[string]string{"heading": "<h2", "code": `class="chroma"`, "list": "<li>", "table": "<table>", "link": `<a href="https://`, "task": `type="checkbox"`}
	seen := map[string]int{}
	slugs := map[string]bool{}
	for _, p := range all {
		if slugs[p.Slug] {
			t.Errorf("duplicate slug %s", p.Slug)
		}
		slugs[p.Slug] = true
		if len(p.Tags) == 0 || p.Excerpt == "" {
			t.Errorf("post %q: tags %v, excerpt %q", p.Title, p.Tags, p.Excerpt)
		}
		for name, marker := range features {
			if strings.Contains(p.HTML, marker) {
				seen[name]++
			}
		}
	}
	for name := range features {
		if seen[name] == 0 {
			t.Errorf("no seeded post has a %s", name)
		}
	}
	if !strings.Contains(progress.String(), "\rseeding posts: 60/60") {
		t.Errorf("progress %q", progress.String())
	}
}
