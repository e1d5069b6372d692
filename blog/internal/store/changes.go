package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// changesChannel is the PostgreSQL NOTIFY channel on which every process
// announces a write that changes what readers see, so that each app
// instance drops the pages it rendered from the old data.
const changesChannel = "blog_changes"

// Each instance acknowledges on acksChannel every change it heard of, once
// it has dropped its pages; the writer waits for every listener's (see
// announce). listenerName is the application_name of listening sessions,
// by which the writer counts them.
const (
	acksChannel  = "blog_changes_acks"
	listenerName = "blog change listener"
)

// changeHooks are the functions called after a write that readers see.
type changeHooks struct {
	mu  sync.Mutex
	fns []func()
	// instance names this process in notifications, so that it does not
	// act twice on its own writes.
	instance string

	// listening is whether the change listener holds a connection; only
	// then can a writer hear the acknowledgements it waits for.
	listening bool
	seq       uint64             // numbers this process's notifications
	waiting   map[uint64]*waiter // writers waiting for acknowledgements
}

// waiter is a writer waiting until want listeners (itself included) have
// acknowledged its change; acknowledgements may come before want is known.
type waiter struct {
	acks, want int
	done       chan struct{}
}

func newChangeHooks() *changeHooks {
	buf := make([]byte, 8)
	_, _ = rand.Read(buf)
	return &changeHooks{instance: hex.EncodeToString(buf), waiting: map[uint64]*waiter{}}
}

// expect numbers a notification about to be sent and returns the waiter
// for its acknowledgements, nil when no listener runs to hear them.
func (h *changeHooks) expect() (uint64, *waiter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	if !h.listening {
		return h.seq, nil
	}
	w := &waiter{done: make(chan struct{})}
	h.waiting[h.seq] = w
	return h.seq, w
}

// expectAcks sets how many acknowledgements notification seq needs.
func (h *changeHooks) expectAcks(seq uint64, want int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w, ok := h.waiting[seq]; ok {
		w.want = want
		h.checkLocked(seq, w)
	}
}

// acked counts one acknowledgement of notification seq (a number as text).
func (h *changeHooks) acked(seq string) {
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if w, ok := h.waiting[n]; ok {
		w.acks++
		h.checkLocked(n, w)
	}
}

func (h *changeHooks) checkLocked(seq uint64, w *waiter) {
	if w.want > 0 && w.acks >= w.want {
		close(w.done)
		delete(h.waiting, seq)
	}
}

// forget drops the wait for seq (done or given up).
func (h *changeHooks) forget(seq uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.waiting, seq)
}

// setListening records whether the listener holds a connection; losing
// it releases every waiting writer, since what it would hear is lost.
func (h *changeHooks) setListening(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.listening = on
	if !on {
		for seq, w := range h.waiting {
			close(w.done)
			delete(h.waiting, seq)
		}
	}
}

// OnChange registers fn to be called after every write of this process
// that changes a public page (posts, their tags and redirects, approved
// comments, authors' names), once the write is committed. Listen calls it
// for other processes' writes. fn must be quick: it runs on the writer's
// request.
func (s *Store) OnChange(fn func()) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.fns = append(s.hooks.fns, fn)
}

// announceWait bounds how long a write waits for the other instances.
const announceWait = 2 * time.Second

// announce tells of a committed write: to this process's hooks at once,
// and on PostgreSQL to every other process through NOTIFY. A write path
// that readers see must call it; one that forgets leaves pages stale.
//
// On PostgreSQL it then waits, at most announceWait, until every instance
// listening when the change was sent has acknowledged it: each one drops
// its pages, then answers on acksChannel. So once a write's response has
// left, the very next request to any instance sees the write. Instances
// are counted by their listening sessions in pg_stat_activity; one that
// stops answering (hung, or gone without closing its connection) costs a
// write the full wait and a warning, and the write goes on. Notifications
// are cheap and writes rare, so the wait is a few milliseconds. Without
// a listener of its own (blog import, blog seed) a process waits for
// nothing: it cannot hear the acknowledgements.
func (s *Store) announce(ctx context.Context) {
	s.runHooks()
	if s.dialect.name() != "postgres" {
		return
	}
	// A fresh context: the write is done even if the request was cancelled
	// just after, and the other instances must still hear of it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	seq, w := s.hooks.expect()
	defer s.hooks.forget(seq)
	// Counted before sending: a session listed here has its LISTEN
	// committed (it names itself after), so it hears what is sent next.
	var listeners int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = ?", listenerName).Scan(&listeners)
	if err == nil {
		_, err = s.db.ExecContext(ctx, "SELECT pg_notify(?, ?)", changesChannel, s.hooks.instance+" "+strconv.FormatUint(seq, 10))
	}
	if err != nil {
		// The other instances' listeners lost their connection too if the
		// database went away, and they drop everything when they reconnect.
		s.Log.Warn("could not announce a change to other instances", "err", err)
		return
	}
	if w == nil {
		return
	}
	s.hooks.expectAcks(seq, listeners)
	select {
	case <-w.done:
	case <-time.After(announceWait):
		s.Log.Warn("not every instance acknowledged a change in time; one may serve pages from before it a little longer", "waited", announceWait)
	}
}

// announced announces the write when err is nil, and returns err.
func (s *Store) announced(ctx context.Context, err error) error {
	if err == nil {
		s.announce(ctx)
	}
	return err
}

func (s *Store) runHooks() {
	s.hooks.mu.Lock()
	fns := append([]func(){}, s.hooks.fns...)
	s.hooks.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// Listen calls the OnChange hooks whenever another process changes what
// readers see, until ctx ends. On PostgreSQL it LISTENs on a connection of
// its own and reconnects when that drops; after every (re)connection it
// calls the hooks once, since notifications sent meanwhile are lost. On
// SQLite it polls PRAGMA data_version every second, which changes when
// another connection commits. ready, when not nil, is closed once the
// first listening connection is up.
func (s *Store) Listen(ctx context.Context, ready chan<- struct{}) {
	if s.dialect.name() != "postgres" {
		s.pollDataVersion(ctx, ready)
		return
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, &ready)
		if ctx.Err() != nil {
			return
		}
		s.Log.Warn("change listener lost its database connection; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// listenerConfig is the change listener's connection: the app's, with
// keepalives. Writers wait for every listening session, so one whose
// instance is gone without closing it (a host or task lost, a network
// cut) costs each write the whole wait until the server drops it: with
// these, the server finds out within about a minute (an idle connection
// after 30 s and three unanswered probes 10 s apart; one with unsent
// notifications after 60 s), not after the system's two hours.
func (s *Store) listenerConfig() (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(s.databaseURL)
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]string{
		"tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3",
		"tcp_user_timeout": "60000", // milliseconds
	} {
		cfg.RuntimeParams[k] = v
	}
	return cfg, nil
}

// listenOnce holds one listening connection until it fails.
func (s *Store) listenOnce(ctx context.Context, ready *chan<- struct{}) error {
	cfg, err := s.listenerConfig()
	if err != nil {
		return err
	}
	// The pool's hook, so that this connection signs in like the others.
	connectCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	var conn *pgx.Conn
	if err = beforeConnect(s.password)(connectCtx, cfg); err == nil {
		conn, err = pgx.ConnectConfig(connectCtx, cfg)
	}
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+acksChannel); err != nil {
		return err
	}
	// Named only now that it listens: writers count these sessions.
	if _, err := conn.Exec(ctx, "SET application_name = '"+listenerName+"'"); err != nil {
		return err
	}
	s.hooks.setListening(true)
	defer s.hooks.setListening(false)
	s.runHooks() // whatever changed while no connection listened
	if *ready != nil {
		close(*ready)
		*ready = nil
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		// A change's payload is "<instance> <number>" (the instance alone
		// from an instance of the previous release, during a rolling
		// deploy); an acknowledgement's names the change it answers.
		from, seq, _ := strings.Cut(n.Payload, " ")
		switch {
		case n.Channel == acksChannel:
			if from == s.hooks.instance {
				s.hooks.acked(seq)
			}
		case from == s.hooks.instance:
			s.hooks.acked(seq) // this instance dropped its pages before sending
		default:
			s.runHooks()
			if seq != "" {
				if _, err := conn.Exec(ctx, "SELECT pg_notify($1, $2)", acksChannel, n.Payload); err != nil {
					return err
				}
			}
		}
	}
}

// pollDataVersion watches a SQLite file for commits by other processes
// (blog import, blog seed) on a connection of its own: data_version is per
// connection, and changes when any other connection commits.
func (s *Store) pollDataVersion(ctx context.Context, ready chan<- struct{}) {
	var (
		conn *sql.Conn
		last int64 = -1
	)
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		var err error
		if conn == nil {
			conn, err = s.db.DB.Conn(ctx)
		}
		var v int64
		if err == nil {
			err = conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
		}
		switch {
		case err == nil:
			if last >= 0 && v != last {
				s.runHooks()
			}
			last = v
		case ctx.Err() == nil:
			s.Log.Warn("change poll failed", "err", err)
			if conn != nil {
				conn.Close()
				conn, last = nil, -1
			}
			s.runHooks() // what changed meanwhile is unknown
		}
		if ready != nil {
			close(ready)
			ready = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Archive is what post lists need to know about all published posts. It
// changes only on writes and when a scheduled post's time comes, so the
// web layer reads it once per change instead of once per request.
type Archive struct {
	Published int        // published posts whose time has come
	Tags      []TagCount // tags of those posts, most used first
	// NextPublication is when the next scheduled post goes out (zero when
	// none is scheduled): what was read before is stale from then on.
	NextPublication time.Time
}

// Archive counts the published posts and their tags.
func (s *Store) Archive(ctx context.Context) (Archive, error) {
	now := s.now()
	var row struct {
		Published int
		Next      time.Time // bun parses SQLite's text; NULL stays zero
	}
	err := s.db.NewSelect().TableExpr("posts AS post").
		ColumnExpr("count(*) FILTER (WHERE post.published_at <= ?) AS published", now).
		ColumnExpr("min(post.published_at) FILTER (WHERE post.published_at > ?) AS next", now).
		Where("post.status = ?", StatusPublished).Scan(ctx, &row)
	if err != nil {
		return Archive{}, fmt.Errorf("archive: %w", err)
	}
	a := Archive{Published: row.Published, NextPublication: row.Next}
	if a.Tags, err = s.Tags(ctx); err != nil {
		return Archive{}, err
	}
	return a, nil
}

// Analyze refreshes the planner's statistics. Run it after a bulk load
// (seed, import): until autovacuum gets to it, the planner would otherwise
// guess from an empty table and sort instead of using indexes.
func (s *Store) Analyze(ctx context.Context) error {
	if s.dialect.name() == "postgres" {
		if err := s.mayAnalyze(ctx); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	if _, err := s.db.ExecContext(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// Unavailable reports whether err means the database cannot be reached
// right now (down, restarting, refusing connections, too slow), as
// opposed to a bad query: the caller should answer "try again soon".
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// Class 08: connection exceptions; 57P0x: the server is shutting
		// down, crashed or not accepting connections yet.
		return strings.HasPrefix(pg.Code, "08") || strings.HasPrefix(pg.Code, "57P")
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) && lite.Code()&0xff == 5 { // SQLITE_BUSY and its extended codes
		return true
	}
	return pgconn.SafeToRetry(err)
}

// mayAnalyze fails when ANALYZE would skip some of the blog's tables, as
// PostgreSQL does with a mere warning for a user that may not maintain
// them: the app's own role (GrantApp) before PostgreSQL 17, which has no
// MAINTAIN privilege. A silent skip would leave the planner guessing.
func (s *Store) mayAnalyze(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return err
	}
	maintain := "false"
	if version >= 170000 {
		maintain = "has_table_privilege(format('%I.%I', schemaname, tablename), 'MAINTAIN')"
	}
	var user, table string
	err := s.db.QueryRowContext(ctx, `SELECT current_user, tablename FROM pg_tables
		WHERE schemaname = current_schema() AND NOT pg_has_role(tableowner, 'USAGE') AND NOT `+maintain+` LIMIT 1`).Scan(&user, &table)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("database user %s may not ANALYZE table %s (only its owner may before PostgreSQL 17's MAINTAIN privilege); the data is saved: run ANALYZE as the owner", user, table)
}
