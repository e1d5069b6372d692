// Package storetest opens real, empty, migrated databases for tests: a
// private PostgreSQL database created on the server named by
// TEST_DATABASE_URL (and dropped afterwards), and a SQLite file in a
// temporary folder.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/uptrace/bun"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/blogstack/blogstack/blog/internal/store"
)

// DB is one database a test runs against.
type DB struct {
	Name        string // "postgres" or "sqlite"
	DatabaseURL string // empty for SQLite
	SQLitePath  string // empty for PostgreSQL
}

// Open connects a new Store to the database, without migrating it.
func (d DB) Open(tb testing.TB) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), d.DatabaseURL, d.SQLitePath, nil)
	if err != nil {
		tb.Fatalf("open %s: %v", d.Name, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// MustOpen opens the database and applies every migration.
func (d DB) MustOpen(tb testing.TB) *store.Store {
	tb.Helper()
	s := d.Open(tb)
	if _, err := s.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate %s: %v", d.Name, err)
	}
	return s
}

// Each returns a fresh, empty database of every kind: SQLite always, and
// PostgreSQL when TEST_DATABASE_URL answers. Without PostgreSQL the test
// is skipped for it, unless CI is set, where that is a failure.
func Each(tb testing.TB) []DB {
	tb.Helper()
	dbs := []DB{SQLite(tb)}
	if pg, ok := postgres(tb); ok {
		dbs = append(dbs, pg)
	}
	return dbs
}

// SQLite returns a fresh SQLite database file.
func SQLite(tb testing.TB) DB {
	tb.Helper()
	return DB{Name: "sqlite", SQLitePath: filepath.Join(tb.TempDir(), "blog.db")}
}

// Postgres returns a fresh PostgreSQL database, or ends the test: skipped
// when PostgreSQL is not available, failed when CI is set.
func Postgres(tb testing.TB) DB {
	tb.Helper()
	pg, ok := postgres(tb)
	if !ok {
		tb.SkipNow()
	}
	return pg
}

func postgres(tb testing.TB) (DB, bool) {
	tb.Helper()
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		missing(tb, "TEST_DATABASE_URL is not set")
		return DB{}, false
	}
	db, err := sql.Open("pgx", admin)
	if err == nil {
		err = db.PingContext(context.Background())
	}
	if err != nil {
		missing(tb, "PostgreSQL at TEST_DATABASE_URL does not answer: "+err.Error())
		return DB{}, false
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	name := "blogtest_" + hex.EncodeToString(buf)
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		db.Close()
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return DB{Name: "postgres", DatabaseURL: u.String()}, true
}

// missing reports a test service that is not there: a skip note on a
// developer's machine, a failure in CI, where every service must run.
func missing(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("CI is set and PostgreSQL is required: %s", why)
	}
	tb.Logf("PostgreSQL tests skipped: %s", why)
}

// CountQueries counts the statements s runs from now on, so that a test
// can hold a page to its number of queries (no N+1).
func CountQueries(s *store.Store) *atomic.Int64 {
	n := &atomic.Int64{}
	s.AddQueryHook(queryCounter{n})
	return n
}

type queryCounter struct{ n *atomic.Int64 }

func (q queryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	q.n.Add(1)
	return ctx
}

func (queryCounter) AfterQuery(context.Context, *bun.QueryEvent) {}
