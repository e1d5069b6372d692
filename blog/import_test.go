package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blogstack/blogstack/blog/internal/store"
)

// TestImportCommand runs `blog import` as a user would, on SQLite, with a
// mapping file for a project whose models are not the tutorial's.
func TestImportCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	env := envOf(map[string]string{"BLOG_DATA_DIR": dir, "BLOG_LOG_FORMAT": "json"})
	testdata := filepath.Join("internal", "importer", "testdata")
	args := []string{"import", "--map", filepath.Join(testdata, "custom-map.json"), "django", filepath.Join(testdata, "custom.json")}
	importRun := func(extra ...string) string {
		t.Helper()
		var out, logs bytes.Buffer
		if err := run(ctx, append(args, extra...), env, nil, &out, &logs); err != nil {
			t.Fatalf("blog %s: %v\n%s", strings.Join(append(args, extra...), " "), err, logs.String())
		}
		return out.String()
	}
	if out := importRun("--dry-run"); !strings.Contains(out, "dry run, nothing written") || !strings.Contains(out, "posts: 2") {
		t.Errorf("dry run printed:\n%s", out)
	}
	st, err := store.Open(ctx, "", filepath.Join(dir, "blog.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, n, err := st.Posts(ctx, store.PostFilter{Drafts: true, Limit: 1}); err != nil || n != 0 {
		t.Fatalf("after a dry run: %d posts, %v", n, err)
	}
	if out := importRun(); !strings.Contains(out, "posts: 2") || !strings.Contains(out, "comments: 1") || !strings.Contains(out, "redirects from old addresses: 2") {
		t.Errorf("import printed:\n%s", out)
	}
	if out := importRun(); !strings.Contains(out, "posts: 0") || !strings.Contains(out, "redirects from old addresses: 0") {
		t.Errorf("a second import printed:\n%s", out)
	}
	p, err := st.PostBySlug(ctx, "custom-shape")
	if err != nil {
		t.Fatal(err)
	}
	if p.Body != "An *HTML* body.\n" || strings.Contains(p.HTML, "bad()") {
		t.Errorf("HTML body became %q -> %q, want markdown without the script", p.Body, p.HTML)
	}
	if slug, err := st.RedirectPath(ctx, "/articles/2012/02/custom-shape.html"); err != nil || slug != "custom-shape" {
		t.Errorf("old URL leads to %q, %v", slug, err)
	}
	a, err := st.AuthorByID(ctx, p.AuthorID)
	if err != nil || a.Name != "ivan" || a.DisabledAt == nil {
		t.Errorf("author %+v, %v: want ivan (by natural key), disabled", a, err)
	}

	for _, bad := range [][]string{
		{"import", "django"},
		{"import", "django", "a.json", "b.json"},
		{"import", "typepad", "x.json"},
		{"import", "wordpress", filepath.Join(testdata, "wordpress.xml"), "--map", "m.json"},
		{"import", "django", filepath.Join(testdata, "django-truncated.json")},
		{"import", "ghost", filepath.Join(testdata, "ghost.json"), "--old-url", "old.example.net"},
	} {
		if err := run(ctx, bad, env, nil, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("blog %s: no error", strings.Join(bad, " "))
		}
	}
}
