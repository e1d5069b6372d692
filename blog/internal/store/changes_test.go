package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// TestHungInstanceCostsAWriteTheWait: an instance that listens but never
// acknowledges (hung, or gone without its connection closing) makes a
// write wait the announce bound and say so in the store's own log; once
// its session ends, writes wait for it no more.
func TestHungInstanceCostsAWriteTheWait(t *testing.T) {
	db := storetest.Postgres(t)
	s := db.MustOpen(t)
	logs := &lockedBuffer{}
	s.Log = slog.New(slog.NewTextHandler(logs, nil))
	startListener(t, s)
	a := author(t, s)

	// The hung instance: a session named as listeners name theirs, which
	// hears every change and answers none.
	cfg, err := pgx.ParseConfig(db.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = "blog change listener"
	hung, err := pgx.ConnectConfig(ctx(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close(ctx())
	if _, err := hung.Exec(ctx(), "LISTEN blog_changes"); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	post(t, s, a, "Written while one instance hangs", "body", time.Now())
	if took := time.Since(start); took < 2*time.Second || took > 5*time.Second {
		t.Errorf("the write took %s, want the 2s wait for the hung instance", took)
	}
	if got := logs.String(); !strings.Contains(got, "not every instance acknowledged a change in time") {
		t.Errorf("the store's log does not name the missing acknowledgement:\n%s", got)
	}

	if err := hung.Close(ctx()); err != nil {
		t.Fatal(err)
	}
	// Its backend leaves pg_stat_activity a moment after the client goes.
	watch, err := pgx.Connect(ctx(), db.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(ctx())
	for n := 2; n > 1; {
		if err := watch.QueryRow(ctx(), "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'blog change listener'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("%d listening sessions remain after the hung one closed", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := logs.String()
	start = time.Now()
	post(t, s, a, "Written once it is gone", "body", time.Now())
	if took := time.Since(start); took > time.Second {
		t.Errorf("the write took %s after the hung instance's session ended", took)
	}
	if after := logs.String(); after != before {
		t.Errorf("the store warned again:\n%s", strings.TrimPrefix(after, before))
	}
}

// startListener runs s's change listener until the test ends, and
// returns once it listens.
func startListener(t *testing.T, s *store.Store) {
	t.Helper()
	listenCtx, stop := context.WithCancel(ctx())
	ready, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); s.Listen(listenCtx, ready) }()
	t.Cleanup(func() { stop(); <-done })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the change listener did not connect")
	}
}

// lockedBuffer is a log destination safe for the listener's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestListenerAsksForKeepalives: the server applies the listener's
// keepalive settings to its session, so it drops a listener whose instance
// vanished within about a minute (see listenerConfig).
func TestListenerAsksForKeepalives(t *testing.T) {
	db := storetest.Postgres(t)
	cfg, err := store.ListenerConfig(db.MustOpen(t))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(ctx(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx())
	for name, want := range map[string]string{
		"tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3", "tcp_user_timeout": "60000",
	} {
		var got string
		if err := conn.QueryRow(ctx(), "SHOW "+name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("the listener's session has %s = %s, want %s", name, got, want)
		}
	}
}
