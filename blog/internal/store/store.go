// Package store keeps the blog's data in PostgreSQL or SQLite through bun.
// One Store type serves both; what differs between the two databases
// (migrations, the migration lock, full-text search) sits behind the small
// dialect interface in dialect.go.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
)

// ErrNotFound means the requested row does not exist or is not visible.
var ErrNotFound = errors.New("not found")

// ErrConflict means a unique value (a slug, an email) is already taken.
var ErrConflict = errors.New("already exists")

// ErrStale means a row changed since the caller read it; see StaleError.
var ErrStale = errors.New("changed since it was read")

// uniqueViolation maps a unique-constraint violation of either database to
// ErrConflict, so that two writers racing for one value get the same answer
// as one who checked first. It is the one place that knows the drivers'
// codes: PostgreSQL's SQLSTATE 23505, SQLite's extended codes 2067
// (SQLITE_CONSTRAINT_UNIQUE) and 1555 (SQLITE_CONSTRAINT_PRIMARYKEY).
func uniqueViolation(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return fmt.Errorf("%s: %w", pg.ConstraintName, ErrConflict)
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) && (lite.Code() == 2067 || lite.Code() == 1555) {
		return fmt.Errorf("%v: %w", err, ErrConflict)
	}
	return err
}

// Store is the blog's data access, over one *bun.DB.
type Store struct {
	db      *bun.DB
	dialect dialect
	hooks   *changeHooks
	// databaseURL and password are kept for the change listener's own
	// connection.
	databaseURL string
	password    PasswordFunc
	// Now is the clock used for visibility of scheduled posts; tests move it.
	Now func() time.Time
	// Log is where the store reports what it works around: a lost change
	// listener, an instance slow to drop its pages. Open sets slog's
	// default; a command sets its own.
	Log *slog.Logger
}

// PasswordFunc returns the password for a new PostgreSQL connection to
// host:port as user: on RDS with IAM authentication, a fresh token
// (awsauth.RDSPassword).
type PasswordFunc func(ctx context.Context, host string, port uint16, user string) (string, error)

// Open connects to PostgreSQL when databaseURL is set, otherwise to the
// SQLite file at sqlitePath (created with its folder when missing), and
// checks that the database answers. On PostgreSQL, password, when not nil,
// gives every new connection its password; nil leaves it to databaseURL
// or PGPASSWORD.
func Open(ctx context.Context, databaseURL, sqlitePath string, password PasswordFunc) (*Store, error) {
	var (
		db *bun.DB
		d  dialect
	)
	if databaseURL != "" {
		cfg, err := pgx.ParseConfig(databaseURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqldb := stdlib.OpenDB(*cfg, stdlib.OptionBeforeConnect(beforeConnect(password)))
		sqldb.SetMaxOpenConns(20)
		sqldb.SetMaxIdleConns(10)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		db = bun.NewDB(sqldb, pgdialect.New())
		d = postgres{}
	} else {
		if !sqliteBuiltIn {
			return nil, errors.New("this build has no SQLite (built with -tags nosqlite): set DATABASE_URL to a postgres:// URL")
		}
		if err := os.MkdirAll(filepath.Dir(sqlitePath), 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		q := url.Values{}
		for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate") // writers queue on busy_timeout instead of failing mid-transaction
		sqldb, err := sql.Open("sqlite", "file:"+sqlitePath+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		db = bun.NewDB(sqldb, sqlitedialect.New())
		d = sqlite{path: sqlitePath}
	}
	db.RegisterModel((*PostTag)(nil))
	s := &Store{db: db, dialect: d, hooks: newChangeHooks(), databaseURL: databaseURL, password: password, Now: time.Now, Log: slog.Default()}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Ping(pingCtx); err != nil {
		db.Close()
		// Drivers may report each address tried on its own line; the
		// operator gets one line.
		return nil, fmt.Errorf("connect to %s: %s", d.name(), strings.Join(strings.Fields(err.Error()), " "))
	}
	return s, nil
}

// beforeConnect is the hook that runs before every new PostgreSQL
// connection, the pool's and the change listener's alike: it sets the
// connection's password from password, when not nil. An RDS IAM token is
// good for 15 minutes, but only to sign in: a connection lives on past
// that (the pool keeps one until idle for 5 minutes, the listener until
// it drops), and only a new one needs a fresh token.
func beforeConnect(password PasswordFunc) func(context.Context, *pgx.ConnConfig) error {
	return func(ctx context.Context, cc *pgx.ConnConfig) error {
		if password == nil {
			return nil
		}
		// One password for the host the URL names: IAM tokens are signed
		// per host, and the blog's URLs name one host (an RDS endpoint).
		p, err := password(ctx, cc.Host, cc.Port, cc.User)
		if err != nil {
			return err
		}
		cc.Password = p
		return nil
	}
}

// AddQueryHook runs h around every statement; tests count queries with
// it. Add hooks before the store is in use.
func (s *Store) AddQueryHook(h bun.QueryHook) { s.db.AddQueryHook(h) }

// DB is the database pool, for its statistics (the metrics read them).
func (s *Store) DB() *sql.DB { return s.db.DB }

// Close closes the database pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.NewRaw("SELECT 1").Scan(ctx, &one)
}

// Dialect names the database in use: "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect.name() }

// now is the store's clock, truncated to whole seconds so that times
// compare the same way on both databases.
func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Second) }

// Clock is the time as the store sees it: what decides whether a scheduled
// post is out yet.
func (s *Store) Clock() time.Time { return s.Now() }

// notFound maps sql.ErrNoRows to ErrNotFound and wraps other errors.
func notFound(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// changed wraps the error of a statement that must touch a row: none
// touched means the row does not exist.
func changed(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
