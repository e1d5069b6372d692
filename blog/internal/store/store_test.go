package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// The same cases run against SQLite and PostgreSQL.
func TestStore(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, db storetest.DB)
	}{
		{"migrations from empty, then nothing pending", testMigrateFromEmpty},
		{"two migrators at once apply each migration once", testConcurrentMigrators},
		{"create and read a post with tags", testCreatePost},
		{"duplicate slug is a conflict", testDuplicateSlug},
		{"concurrent creates of one slug: one wins, the rest conflict", testConcurrentSlug},
		{"the unique violation itself is a conflict", testUniqueViolationMapped},
		{"pagination newest first", testPagination},
		{"posts by tag", testPostsByTag},
		{"future and draft posts are hidden", testFuturePostsHidden},
		{"search ranks title matches first, with snippets", testSearch},
		{"search survives hostile queries", testHostileSearch},
		{"only approved comments are shown", testComments},
		{"save author creates then updates", testSaveAuthor},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, db := range storetest.Each(t) {
				t.Run(db.Name, func(t *testing.T) { c.run(t, db) })
			}
		})
	}
}

func ctx() context.Context { return context.Background() }

func author(t *testing.T, s *store.Store) store.Author {
	t.Helper()
	a, err := s.SaveAuthor(ctx(), store.Author{Email: "Ada@Example.com", Name: "Ada", PasswordHash: "x", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func post(t *testing.T, s *store.Store, a store.Author, title, body string, published time.Time, tags ...string) store.Post {
	t.Helper()
	p, err := s.CreatePost(ctx(), store.PostInput{
		AuthorID: a.ID, Title: title, Slug: store.TagSlug(title), Body: body,
		Tags: tags, Status: store.StatusPublished, PublishedAt: &published,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testMigrateFromEmpty(t *testing.T, db storetest.DB) {
	s := db.Open(t)
	applied, err := s.Migrate(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 {
		t.Fatal("no migration applied to an empty database")
	}
	again, err := s.Migrate(ctx())
	if err != nil || len(again) != 0 {
		t.Fatalf("second run: applied %v, err %v; want nothing", again, err)
	}
	if _, _, err := s.Posts(ctx(), store.PostFilter{Limit: 10}); err != nil {
		t.Fatalf("schema unusable after migration: %v", err)
	}
}

func testConcurrentMigrators(t *testing.T, db storetest.DB) {
	const n = 4
	stores := make([]*store.Store, n)
	for i := range stores {
		stores[i] = db.Open(t)
	}
	var wg sync.WaitGroup
	results := make([][]string, n)
	errs := make([]error, n)
	for i, s := range stores {
		wg.Go(func() { results[i], errs[i] = s.Migrate(ctx()) })
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		total += len(results[i])
	}
	if want := len(mustMigrateNames(t, db)); total != want {
		t.Fatalf("migrations applied %d times in all, want each once (%d)", total, want)
	}
}

// mustMigrateNames migrates a fresh database of the same kind to count the migrations.
func mustMigrateNames(t *testing.T, db storetest.DB) []string {
	t.Helper()
	fresh := storetest.SQLite(t)
	if db.Name == "postgres" {
		fresh = storetest.Postgres(t)
	}
	names, err := fresh.Open(t).Migrate(ctx())
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func testCreatePost(t *testing.T, db storetest.DB) {
	s := db.MustOpen(t)
	a := author(t, s)
	body := "## Setup\n\nInstall **Go** first, then run it.\n\n```go\nfmt.Println(1)\n```\n"
	p := post(t, s, a, "Hello World", body, time.Now().Add(-time.Hour), "Go", "go", " Web Dev ")
	got, err := s.PostBySlug(ctx(), "hello-world")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != p.ID || got.Title != "Hello World" || got.Author == nil || got.Author.Name != "Ada" {
		t.Fatalf("got %+v", got)
	}
	if !strings.Contains(got.HTML, `<strong>Go</strong>`) || !strings.Contains(got.HTML, `class="chroma"`) {
		t.Errorf("HTML not rendered on save: %s", got.HTML)
	}
	if got.Excerpt != "Install Go first, then run it." || got.ReadingMinutes != 1 {
		t.Errorf("excerpt %q, reading %d", got.Excerpt, got.ReadingMinutes)
	}
	var tags []string
	for _, tg := range got.Tags {
		tags = append(tags, tg.Slug)
	}
	if strings.Join(tags, ",") != "go,web-dev" {
		t.Errorf("tags %v, want go,web-dev (deduplicated by slug)", tags)
	}
	if _, err := s.PostBySlug(ctx(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown slug: %v, want ErrNotFound", err)
	}
}

func testDuplicateSlug(t *testing.T, db storetest.DB) {
	s := db.MustOpen(t)
	a := author(t, s)
	post(t, s, a, "Same", "one", time.Now())
	_, err := s.CreatePost(ctx(), store.PostInput{AuthorID: a.ID, Title: "Same", Slug: "same", Body: "two", Status: store.StatusDraft})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("got %v, want ErrConflict", err)
	}
}

func testConcurrentSlug(t *testing.T, db storetest.DB) {
	s := db.MustOpen(t)
	a := author(t, s)
	const n = 8
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		go func() {
			<-start
			_, err := s.CreatePost(ctx(), store.PostInput{
				AuthorID: a.ID, Title: fmt.Sprintf("Racer %d", i), Slug: "the-slug", Body: "b",
				Tags: []string{"Shared new tag", fmt.Sprintf("own %d", i)}, Status: store.StatusDraft,
			})
			errs <- err
		}()
	}
	close(start)
	won := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("a losing create: %v, want ErrConflict", err)
		}
	}
	if won != 1 {
		t.Errorf("%d creates won, want 1", won)
	}
}

// testUniqueViolationMapped reaches the database's own unique violation
// (the race that the early checks cannot see) by inserting a duplicate
// email directly: each driver's error must map to ErrConflict.
func testUniqueViolationMapped(t *testing.T, db storetest.DB) {
	s := db.MustOpen(t)
	a := author(t, s)
	p := post(t, s, a, "First", "b", time.Now())
	_, err := s.UpdatePost(ctx(), p.ID, store.PostInput{AuthorID: a.ID, Title: "First", Slug: "first", Body: "b", Status: store.StatusDraft, Version: p.Version})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SaveAuthor(ctx(), store.Author{Email: "ADA@example.com ", Name: "Twin", PasswordHash: "x", Role: store.RoleAuthor})
	if err != nil {
		t.Fatalf("saving an existing email in another case updates it: %v", err)
	}
	err = store.InsertAuthorForTest(s, store.Author{Email: "ada@example.com", Name: "Dup", PasswordHash: "x", Role: store.RoleAuthor})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("a duplicate email insert: %v, want ErrConflict", err)
	}
}

func testPagination(t *testing.T, db storetest.DB) {
	s := db.MustOpen(t)
	a := author(t, s)
	base := time.Now().Add(-48 * time.Hour)
	for i := range 7 {
		post(t, s, a, fmt.Sprintf("Post %d", i), "body", base.Add(time.Duration(i)*time.Hour))
	}
	page1, total, err := s.Posts(ctx(), store.PostFilter{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	page3, _, err := s.Posts(ctx(), store.PostFilter{Limit: 3, Offset: 6})
	if err != nil {
		t.Fatal(err)
	}
	if total != 7 || len(page1) != 3 || page1[0].Title != "Post 6" || page1[2].Title != "Post 4" {
		t.Fatalf("page 1: total %d, %v", total, titles(page1))
	}
	if len(page3) != 1 || page3[0].Title != "Post 0" {
		t.Fatalf("page 3: %v", titles(page3))
	}
}

func testPostsByTag(t *testing.T, db storetest.DB) {
	s := db.MustOpen(t)
	a := author(t, s)
	now := time.Now().Add(-time.Hour)
	post(t, s, a, "Tagged one", "b", now, "go")
	post(t, s, a, "Tagged two", "b", now.Add(time.Minute), "go", "sql")
	post(t, s, a, "Untagged", "b", now)
	posts, total, err := s.Posts(ctx(), store.PostFilter{TagSlug: "go", Limit: 10})
	if err != nil || total != 2 || titles(posts) != "Tagged two,Tagged one" {
		t.Fatalf("tag go: %v (%d), err %v", titles(posts), total, err)
	}
	if len(posts[0].Tags) != 2 {
		t.Errorf("all of a post's tags are loaded, got %v", posts[0].Tags)
	}
	tag, err := s.TagBySlug(ctx(), "sql")
	if err != nil || tag.Name != "sql" {
		t.Fatalf("TagBySlug: %+v %v", tag, err)
	}
	counts, err := s.Tags(ctx())
	if err != nil || len(counts) != 2 || counts[0].Slug != "go" || counts[0].Posts != 2 {
		t.Fatalf("Tags: %+v %v", counts, err)
	}
}

func testFuturePostsHidden(t *testing.T, db storetest.DB) {
	s := db.MustOpen(t)
	a := author(t, s)
	now := time.Now()
	post(t, s, a, "Visible", "the keyword", now.Add(-time.Minute))
	post(t, s, a, "Scheduled", "the keyword", now.Add(time.Hour))
	if _, err := s.CreatePost(ctx(), store.PostInput{AuthorID: a.ID, Title: "Draft", Slug: "draft", Body: "the keyword", Status: store.StatusDraft}); err != nil {
		t.Fatal(err)
	}
	check := func(wantTitles string) {
		t.Helper()
		posts, total, err := s.Posts(ctx(), store.PostFilter{Limit: 10})
		if err != nil || titles(posts) != wantTitles || total != len(posts) {
			t.Fatalf("posts %v (%d), err %v; want %s", titles(posts), total, err, wantTitles)
		}
		found, _, err := s.Search(ctx(), "keyword", 10, 0)
		if err != nil || len(found) != len(posts) {
			t.Fatalf("search found %d, want %d (err %v)", len(found), len(posts), err)
		}
		entries, err := s.Sitemap(ctx())
		if err != nil || len(entries) != len(posts) {
			t.Fatalf("sitemap %d entries, want %d (err %v)", len(entries), len(posts), err)
		}
	}
	check("Visible")
	if _, err := s.PostBySlug(ctx(), "scheduled"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("scheduled post readable: %v", err)
	}
	// Time passes: the scheduled post appears with no job running.
	s.Now = func() time.Time { return now.Add(2 * time.Hour) }
	check("Scheduled,Visible")
}

func testSearch(t *testing.T, db storetest.DB) {
	s := db.MustOpen(t)
	a := author(t, s)
	now := time.Now().Add(-time.Hour)
	post(t, s, a, "Cooking pasta", "Boil water. Mention of databases once at the end.", now)
	post(t, s, a, "Databases explained", "Indexes make databases fast; databases store rows.", now.Add(-time.Hour))
	post(t, s, a, "Gardening", "Nothing relevant here.", now)
	results, total, err := s.Search(ctx(), "databases", 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 || len(results) != 2 || results[0].Title != "Databases explained" {
		t.Fatalf("results %+v (total %d), want the title match first", results, total)
	}
	if !strings.Contains(results[0].Snippet, store.MarkStart+"databases"+store.MarkEnd) &&
		!strings.Contains(results[0].Snippet, store.MarkStart+"Databases"+store.MarkEnd) {
		t.Errorf("snippet %q does not mark the match", results[0].Snippet)
	}
	if results[0].Slug != "databases-explained" || results[0].PublishedAt.IsZero() {
		t.Errorf("result fields: %+v", results[0])
	}
	page2, total2, err := s.Search(ctx(), "databases", 1, 1)
	if err != nil || total2 != 2 || len(page2) != 1 || page2[0].Title != "Cooking pasta" {
		t.Fatalf("second page: %+v %d %v", page2, total2, err)
	}
}

func testHostileSearch(t *testing.T, db storetest.DB) {
	s := db.MustOpen(t)
	a := author(t, s)
	post(t, s, a, "Quotes", `He said "hello" -- and left; DROP TABLE posts`, time.Now().Add(-time.Minute))
	for _, q := range []string{
		`"`, `'`, `*`, `NEAR(`, `a AND OR NOT`, `"unbalanced`, `'; DROP TABLE posts; --`,
		`title:hello`, `^hello`, `hello)`, `()`, `-`, `!!!`, `\`, `%_`, `the`, strings.Repeat("x", 10_000),
		"null\x00byte",
	} {
		if _, _, err := s.Search(ctx(), q, 10, 0); err != nil {
			t.Errorf("Search(%.20q): %v", q, err)
		}
	}
	if res, _, err := s.Search(ctx(), `"hello"`, 10, 0); err != nil || len(res) != 1 {
		t.Errorf("quoted word: %v %v", res, err)
	}
}

func testComments(t *testing.T, db storetest.DB) {
	s := db.MustOpen(t)
	p := post(t, s, author(t, s), "With comments", "b", time.Now())
	for _, c := range []store.Comment{
		{PostID: p.ID, Name: "A", Body: "approved", Status: store.CommentApproved},
		{PostID: p.ID, Name: "B", Body: "pending"},
	} {
		if _, err := s.CreateComment(ctx(), c); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := s.ApprovedComments(ctx(), p.ID)
	if err != nil || len(cs) != 1 || cs[0].Body != "approved" {
		t.Fatalf("comments %+v %v", cs, err)
	}
}

func testSaveAuthor(t *testing.T, db storetest.DB) {
	s := db.MustOpen(t)
	a := author(t, s)
	b, err := s.SaveAuthor(ctx(), store.Author{Email: " ada@example.COM", Name: "Ada L", PasswordHash: "y", Role: store.RoleAuthor})
	if err != nil || b.ID != a.ID {
		t.Fatalf("update: %+v %v", b, err)
	}
	got, err := s.AuthorByEmail(ctx(), "ADA@example.com")
	if err != nil || got.Name != "Ada L" || got.PasswordHash != "y" || got.Role != store.RoleAuthor {
		t.Fatalf("got %+v %v", got, err)
	}
	if n, err := s.AuthorCount(ctx()); err != nil || n != 1 {
		t.Fatalf("count %d %v", n, err)
	}
}

func titles(ps []store.Post) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Title)
	}
	return strings.Join(out, ",")
}
