package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/uptrace/bun"
)

// sqlite uses FTS5 search and an OS file lock beside the database file for
// migrations.
type sqlite struct{ path string }

func (sqlite) name() string      { return "sqlite" }
func (sqlite) migrations() fs.FS { return subFS("sqlite") }

// lock takes an exclusive flock on "<db>.migrate.lock". The kernel releases
// it when the process exits, so a crash never leaves it held.
func (d sqlite) lock(ctx context.Context, _ *bun.DB) (func(), error) {
	f, err := os.OpenFile(d.path+".migrate.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for the migration lock (another migrator holds it): %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var ftsWord = regexp.MustCompile(`[\p{L}\p{N}]+`)

// ftsQuery turns whatever a reader typed into a safe FTS5 query: every word
// quoted (so FTS5 syntax is never interpreted) and all of them required; the
// last one is a prefix so that results follow typing.
func ftsQuery(q string) string {
	words := ftsWord.FindAllString(q, 32)
	if len(words) == 0 {
		return ""
	}
	for i, w := range words {
		words[i] = `"` + w + `"`
	}
	return strings.Join(words, " ") + "*"
}

func (sqlite) search(ctx context.Context, db *bun.DB, q string, now time.Time, limit, offset int) ([]SearchResult, int, error) {
	match := ftsQuery(q)
	if match == "" {
		return nil, 0, nil
	}
	var total int
	err := db.NewRaw(`
		SELECT count(*) FROM posts_fts CROSS JOIN posts p ON p.id = posts_fts.rowid
		WHERE posts_fts MATCH ? AND p.status = 'published' AND p.published_at <= ?`,
		match, now).Scan(ctx, &total)
	if err != nil || total == 0 {
		return nil, 0, err
	}
	var results []SearchResult
	// CROSS JOIN keeps the full-text index as the outer loop (SQLite would
	// otherwise probe it once per post). Snippets are costly: rank first,
	// then make snippets for the page only.
	err = db.NewRaw(`
		WITH page AS (
			SELECT posts_fts.rowid AS id, bm25(posts_fts, 10.0, 1.0) AS rank, p.published_at
			FROM posts_fts CROSS JOIN posts p ON p.id = posts_fts.rowid
			WHERE posts_fts MATCH ? AND p.status = 'published' AND p.published_at <= ?
			ORDER BY rank, p.published_at DESC
			LIMIT ? OFFSET ?
		)
		SELECT p.id, p.slug, p.title, p.excerpt, p.published_at,
		       snippet(posts_fts, 1, ?, ?, ' … ', 28) AS snippet
		FROM page
		JOIN posts_fts ON posts_fts.rowid = page.id
		JOIN posts p ON p.id = page.id
		WHERE posts_fts MATCH ?
		ORDER BY page.rank, page.published_at DESC`,
		match, now, limit, offset, MarkStart, MarkEnd, match).Scan(ctx, &results)
	return results, total, err
}

// tagsJSON aggregates a subquery already in name order: SQLite's
// json_group_array keeps the order rows arrive in.
func (sqlite) tagsJSON(postID string) string {
	return `(SELECT coalesce(json_group_array(json_object('id', t.id, 'name', t.name, 'slug', t.slug)), '[]')
		FROM (SELECT t.id, t.name, t.slug FROM post_tags AS pt JOIN tags AS t ON t.id = pt.tag_id
		      WHERE pt.post_id = ` + postID + ` ORDER BY t.name) AS t)`
}
