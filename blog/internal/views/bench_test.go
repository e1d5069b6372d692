package views_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/content"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/views"
)

var site = views.Site{Title: "Blog", BaseURL: "https://blog.example.com", CSS: []string{"/static/style.css"}, Scripts: []string{"/static/htmx.min.js"}, HTMXConfig: "{}"}

// benchPost is a post of realistic size: headings, code, lists, a table.
func benchPost(b *testing.B, i int) store.Post {
	b.Helper()
	var md strings.Builder
	for s := range 8 {
		fmt.Fprintf(&md, "## Section %d\n\nA paragraph about caches, indexes and *deploys*, with a [link](https://example.com/%d) and `code`.\n\n", s, s)
		md.WriteString("```go\nfor _, p := range posts {\n\tfmt.Println(p.Title)\n}\n```\n\n- one\n- two\n- three\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n")
	}
	r, err := content.Render(md.String())
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).Add(-time.Duration(i) * time.Hour)
	return store.Post{
		ID: int64(i + 1), Slug: fmt.Sprintf("post-%d", i), Title: fmt.Sprintf("Post number %d about caching", i),
		HTML: r.HTML, Excerpt: r.Excerpt, ReadingMinutes: r.ReadingMinutes, Status: store.StatusPublished,
		PublishedAt: &at, UpdatedAt: at, Author: &store.Author{Name: "Ada"},
		Tags: store.TagList{{ID: 1, Name: "Go", Slug: "go"}, {ID: 2, Name: "Performance", Slug: "performance"}},
	}
}

// BenchmarkRenderPost renders a post page with five comments (a cache miss
// renders this).
func BenchmarkRenderPost(b *testing.B) {
	p := benchPost(b, 1)
	var comments []store.Comment
	for i := range 5 {
		comments = append(comments, store.Comment{ID: int64(i), Name: "Reader", Body: "Thanks, this helped with our deploys.", CreatedAt: *p.PublishedAt})
	}
	vm := views.PostPage{
		Site: site, Meta: views.Meta{Title: p.Title, Description: p.Excerpt, Path: "/posts/" + p.Slug, Type: "article", Published: p.PublishedAt, JSONLD: views.BlogPosting(site, p)},
		Post: p, Comments: comments, Form: views.CommentForm{Slug: p.Slug, Token: "token"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := views.Article(vm).Render(context.Background(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderHome renders the home page: ten posts and the topics.
func BenchmarkRenderHome(b *testing.B) {
	vm := views.ListPage{Site: site, Meta: views.Meta{Title: "Blog", Path: "/", Type: "website"}, Pager: views.Pager{Page: 1, Pages: 100, Older: "/?page=2"}}
	for i := range 10 {
		vm.Posts = append(vm.Posts, benchPost(b, i))
	}
	for i := range 12 {
		vm.Tags = append(vm.Tags, store.TagCount{Tag: store.Tag{ID: int64(i), Name: fmt.Sprintf("Topic %d", i), Slug: fmt.Sprintf("topic-%d", i)}, Posts: 100 - i})
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := views.List(vm).Render(context.Background(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
