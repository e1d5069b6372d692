package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// archiveSQL fills a PostgreSQL database with n posts the way a real blog
// looks (94% published over ten years, a few drafts and scheduled posts,
// twelve tags of uneven use, comments), fast, in SQL, then ANALYZEs it.
const archiveSQL = `
INSERT INTO authors (email, name, password_hash, role) VALUES ('a@example.com', 'A', 'x', 'admin');
INSERT INTO posts (author_id, slug, title, body, html, text, excerpt, status, published_at)
SELECT 1, 'post-' || i, 'Post ' || i, 'body ' || i, '<p>body ' || i || '</p>', 'body ' || i, 'excerpt ' || i,
       CASE WHEN i % 50 = 0 THEN 'draft' ELSE 'published' END,
       CASE WHEN i % 50 = 0 THEN NULL
            WHEN i % 97 = 0 THEN now() + (i % 30) * interval '1 day'
            ELSE now() - (i * interval '8 hours') END
FROM generate_series(1, $1) AS i;
INSERT INTO tags (name, slug) SELECT 'Tag ' || t, 'tag-' || t FROM generate_series(1, 12) AS t;
INSERT INTO post_tags (post_id, tag_id)
SELECT p.id, t.id FROM posts p JOIN tags t ON (p.id * 7 + t.id * 13) % (t.id + 2) = 0;
INSERT INTO comments (post_id, name, body, status, created_at)
SELECT p.id, 'Reader', 'Nice post', 'approved', now() FROM posts p, generate_series(1, 5);
ANALYZE;
`

// planNode is the part of EXPLAIN (FORMAT JSON) the test reads.
type planNode struct {
	NodeType  string     `json:"Node Type"`
	IndexName string     `json:"Index Name"`
	Plans     []planNode `json:"Plans"`
}

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// captureQueries keeps the SQL of every statement s runs.
type captureQueries struct {
	mu  sync.Mutex
	sql []string
}

func (c *captureQueries) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sql = append(c.sql, e.Query)
	return ctx
}
func (c *captureQueries) AfterQuery(context.Context, *bun.QueryEvent) {}

func (c *captureQueries) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.sql
	c.sql = nil
	return out
}

// TestListPlans proves with EXPLAIN, on PostgreSQL with 10,000 posts and
// fresh statistics, that the reader's lists walk the list index and stop
// after a page: no sort of every published post, on the first page, the
// fiftieth, and a tag's first.
func TestListPlans(t *testing.T) {
	db := storetest.Postgres(t)
	s := db.MustOpen(t)
	ctx := context.Background()
	raw, err := sql.Open("pgx", db.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, stmt := range strings.Split(strings.TrimSpace(archiveSQL), ";\n") {
		if strings.Contains(stmt, "$1") {
			_, err = raw.ExecContext(ctx, stmt, 10000)
		} else {
			_, err = raw.ExecContext(ctx, stmt)
		}
		if err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	capture := &captureQueries{}
	s.AddQueryHook(capture)

	for _, tc := range []struct {
		name string
		f    store.PostFilter
	}{
		{"home page 1", store.PostFilter{Limit: 10}},
		{"home page 50", store.PostFilter{Limit: 10, Offset: 490}},
		{"tag page 1", store.PostFilter{Limit: 10, TagSlug: "tag-3"}},
		// Deeper tag pages are left to the planner: it hashes the tag's
		// posts and sorts them only when its estimate says that is cheaper
		// than walking the index, whose cost does not grow with the archive.
	} {
		posts, err := s.PostList(ctx, tc.f)
		if err != nil || len(posts) != 10 {
			t.Fatalf("%s: %d posts, %v", tc.name, len(posts), err)
		}
		queries := capture.take()
		if len(queries) != 1 {
			t.Fatalf("%s ran %d queries, want 1 (tags and author in the same query)", tc.name, len(queries))
		}
		var plan string
		if err := raw.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) "+queries[0]).Scan(&plan); err != nil {
			t.Fatalf("%s: explain: %v", tc.name, err)
		}
		var out []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(plan), &out); err != nil {
			t.Fatal(err)
		}
		// The page is chosen under a Limit, which must walk the index in
		// order and sort nothing; sorting the ten rows of the page after
		// it is fine.
		var nodes []string
		usesIndex, sorts, limited := false, false, false
		out[0].Plan.walk(func(n planNode) {
			nodes = append(nodes, n.NodeType+" "+n.IndexName)
			if n.NodeType != "Limit" {
				return
			}
			limited = true
			n.walk(func(n planNode) {
				if n.IndexName == "posts_published_list_idx" {
					usesIndex = true
				}
				if n.NodeType == "Sort" || n.NodeType == "Incremental Sort" {
					sorts = true
				}
			})
		})
		if !limited || !usesIndex || sorts {
			t.Errorf("%s: the plan does not walk posts_published_list_idx without sorting:\n%s", tc.name, strings.Join(nodes, "\n"))
		}
	}
}
