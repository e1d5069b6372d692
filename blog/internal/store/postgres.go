package store

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/uptrace/bun"
)

// postgres uses tsvector search and a session advisory lock for migrations.
type postgres struct{}

// migrationLockKey identifies the blog's migration advisory lock.
const migrationLockKey = 0x626c6f67 // "blog"

func (postgres) name() string      { return "postgres" }
func (postgres) migrations() fs.FS { return subFS("postgres") }

// lock holds a session-level advisory lock on a dedicated connection. The
// server drops it if the process dies, so a crash never leaves it held.
func (postgres) lock(ctx context.Context, db *bun.DB) (func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", migrationLockKey); err != nil {
		conn.Close()
		return nil, fmt.Errorf("wait for the migration lock (another migrator holds it): %w", err)
	}
	return func() {
		// A fresh context: the caller's may be done, and the unlock must
		// still happen before the connection goes back to the pool.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock(?)", migrationLockKey)
		conn.Close()
	}, nil
}

func (postgres) search(ctx context.Context, db *bun.DB, q string, now time.Time, limit, offset int) ([]SearchResult, int, error) {
	var total int
	err := db.NewRaw(`
		SELECT count(*) FROM posts
		WHERE search @@ websearch_to_tsquery('english', ?) AND status = 'published' AND published_at <= ?`,
		q, now).Scan(ctx, &total)
	if err != nil || total == 0 {
		return nil, 0, err
	}
	var results []SearchResult
	// The headline is computed only for the page of rows, not every match.
	err = db.NewRaw(`
		SELECT p.id, p.slug, p.title, p.excerpt, p.published_at,
		       ts_headline('english', p.text, m.q, ?) AS snippet
		FROM (
			SELECT id, ts_rank(search, q) AS rank, q
			FROM posts, websearch_to_tsquery('english', ?) AS q
			WHERE search @@ q AND status = 'published' AND published_at <= ?
			ORDER BY rank DESC, published_at DESC
			LIMIT ? OFFSET ?
		) AS m JOIN posts p ON p.id = m.id
		ORDER BY m.rank DESC, p.published_at DESC`,
		`StartSel="`+MarkStart+`", StopSel="`+MarkEnd+`", MaxFragments=2, MaxWords=28, MinWords=12, FragmentDelimiter=" … "`,
		q, now, limit, offset).Scan(ctx, &results)
	return results, total, err
}

func (postgres) tagsJSON(postID string) string {
	return `(SELECT coalesce(json_agg(json_build_object('id', t.id, 'name', t.name, 'slug', t.slug) ORDER BY t.name), '[]')
		FROM post_tags AS pt JOIN tags AS t ON t.id = pt.tag_id WHERE pt.post_id = ` + postID + `)`
}
