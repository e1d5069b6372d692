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
		SELECT count(*) FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid
		WHERE posts_fts MATCH ? AND p.status = 'published' AND p.published_at <= ?`,
		match, now).Scan(ctx, &total)
	if err != nil || total == 0 {
		return nil, 0, err
	}
	var results []SearchResult
	err = db.NewRaw(`
		SELECT p.id, p.slug, p.title, p.excerpt, p.published_at,
		       snippet(posts_fts, 1, ?, ?, ' … ', 28) AS snippet
		FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid
		WHERE posts_fts MATCH ? AND p.status = 'published' AND p.published_at <= ?
		ORDER BY bm25(posts_fts, 10.0, 1.0), p.published_at DESC
		LIMIT ? OFFSET ?`,
		MarkStart, MarkEnd, match, now, limit, offset).Scan(ctx, &results)
	return results, total, err
}
