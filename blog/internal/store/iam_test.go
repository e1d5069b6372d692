package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/blogstack/blogstack/blog/internal/awsauth"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// The hook gives a connection an RDS IAM token for its host:port, user
// and region as its password: a presigned rds-db:connect request.
func TestIAMTokenHook(t *testing.T) {
	cc, err := pgx.ParseConfig("postgres://blog@db.abc.eu-west-1.rds.amazonaws.com:5432/blog?sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "session")
	if err := store.BeforeConnect(awsauth.RDSPassword("eu-west-1", creds))(ctx(), cc); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse("https://" + cc.Password)
	if err != nil {
		t.Fatalf("token %q: %v", cc.Password, err)
	}
	q := u.Query()
	cred := strings.Split(q.Get("X-Amz-Credential"), "/")
	if u.Host != "db.abc.eu-west-1.rds.amazonaws.com:5432" || q.Get("Action") != "connect" || q.Get("DBUser") != "blog" ||
		len(cred) != 5 || cred[0] != "AKIDTEST" || cred[2] != "eu-west-1" || cred[3] != "rds-db" ||
		q.Get("X-Amz-Expires") != "900" || q.Get("X-Amz-Security-Token") != "session" || q.Get("X-Amz-Signature") == "" {
		t.Errorf("token %q: want a presigned rds-db connect for blog at the endpoint in eu-west-1", cc.Password)
	}
	// Without a password function the URL's password (or PGPASSWORD) stays.
	cc, _ = pgx.ParseConfig("postgres://blog:pw@db:5432/blog")
	if err := store.BeforeConnect(nil)(ctx(), cc); err != nil || cc.Password != "pw" {
		t.Errorf("password auth: %q %v", cc.Password, err)
	}
}

// Every new connection, the pool's and the change listener's, signs in
// with a fresh password from the function. The test server trusts every
// local connection, so a proxy in front of it asks for the password,
// accepts only one the function issued for this host, port and user and
// not used before, and then hands the connection to the real server.
func TestPasswordFuncSignsInEveryConnection(t *testing.T) {
	pg := storetest.Postgres(t)
	real, err := pgx.ParseConfig(pg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		issued   = map[string]bool{} // token: used
		accepted int
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	check := func(password string) bool {
		mu.Lock()
		defer mu.Unlock()
		used, ok := issued[password]
		if !ok || used {
			return false
		}
		issued[password] = true
		accepted++
		return true
	}
	go serveCheckingPasswords(t, ln, fmt.Sprintf("%s:%d", real.Host, real.Port), check)

	n := 0
	password := func(_ context.Context, host string, p uint16, user string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if host != "127.0.0.1" || p != port || user != real.User {
			return "", fmt.Errorf("asked for %s@%s:%d", user, host, p)
		}
		n++
		tok := fmt.Sprintf("token-%d", n)
		issued[tok] = false
		return tok, nil
	}
	via := fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", real.User, port, real.Database)
	s, err := store.Open(ctx(), via, "", password)
	if err != nil {
		t.Fatalf("open through the password-checking proxy: %v", err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx()); err != nil {
		t.Fatal(err)
	}
	startListener(t, s)
	mu.Lock()
	got := accepted
	mu.Unlock()
	if got < 2 {
		t.Errorf("%d connections signed in with a fresh password, want the pool's and the listener's", got)
	}

	// The proxy does refuse: no password, or the function's error.
	if s, err := store.Open(ctx(), via, "", nil); err == nil {
		s.Close()
		t.Error("a connection without the password was let in")
	}
	failing := func(context.Context, string, uint16, string) (string, error) { return "", errors.New("no credentials") }
	if s, err := store.Open(ctx(), via, "", failing); err == nil || !strings.Contains(err.Error(), "no credentials") {
		if err == nil {
			s.Close()
		}
		t.Errorf("a failing password function: %v", err)
	}
}

// serveCheckingPasswords asks each client for a cleartext password and,
// when check accepts it, relays the connection to the server at upstream.
func serveCheckingPasswords(t *testing.T, ln net.Listener, upstream string, check func(string) bool) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			b := pgproto3.NewBackend(c, c)
			msg, err := b.ReceiveStartupMessage()
			startup, ok := msg.(*pgproto3.StartupMessage)
			if err != nil || !ok {
				return
			}
			b.Send(&pgproto3.AuthenticationCleartextPassword{})
			if b.Flush() != nil {
				return
			}
			if err := b.SetAuthType(pgproto3.AuthTypeCleartextPassword); err != nil {
				return
			}
			msg, err = b.Receive()
			pw, ok := msg.(*pgproto3.PasswordMessage)
			if err != nil || !ok || !check(pw.Password) {
				b.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: "password authentication failed"})
				_ = b.Flush()
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				t.Errorf("proxy: %v", err)
				return
			}
			defer up.Close()
			raw, err := startup.Encode(nil)
			if err == nil {
				_, err = up.Write(raw)
			}
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			_, _ = io.Copy(c, up)
		}()
	}
}

// blog migrate --grant-to: the app's role reads and writes everything the
// blog does at run time, cannot change the schema, and says so clearly
// when migrations are pending. The migrations run as on RDS: as a role
// that owns the database and may create roles but is no superuser
// (RDS's master user), with rds_iam to hand on.
func TestGrantApp(t *testing.T) {
	admin := adminDB(t)
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	role := "blogtest_app_" + hex.EncodeToString(buf)
	ownerRole := "blogtest_owner_" + hex.EncodeToString(buf)
	// Registered before the test database's cleanup, so it runs after it:
	// the roles go once nothing of them is left in any database.
	t.Cleanup(func() {
		for _, r := range []string{role, ownerRole} {
			if _, err := admin.Exec("DROP ROLE IF EXISTS " + r); err != nil {
				t.Errorf("drop role %s: %v", r, err)
			}
		}
	})
	if _, err := admin.Exec("CREATE ROLE " + ownerRole + " LOGIN CREATEROLE"); err != nil {
		t.Fatal(err)
	}
	// RDS's role for IAM sign-in; a local server has none, so the test
	// makes one when missing, and leaves no trace.
	var hadIAM bool
	if err := admin.QueryRow("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam')").Scan(&hadIAM); err != nil {
		t.Fatal(err)
	}
	if !hadIAM {
		if _, err := admin.Exec("CREATE ROLE rds_iam"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = admin.Exec("DROP ROLE IF EXISTS rds_iam") })
	}
	if _, err := admin.Exec("GRANT rds_iam TO " + ownerRole + " WITH ADMIN OPTION"); err != nil {
		t.Fatal(err)
	}
	pg := storetest.Postgres(t)
	u, _ := url.Parse(pg.DatabaseURL)
	if _, err := admin.Exec("ALTER DATABASE " + strings.TrimPrefix(u.Path, "/") + " OWNER TO " + ownerRole); err != nil {
		t.Fatal(err)
	}
	u.User = url.User(ownerRole)
	owner := storetest.DB{Name: "postgres", DatabaseURL: u.String()}.MustOpen(t)
	for i := range 2 { // idempotent: every deploy runs it
		if err := owner.GrantApp(ctx(), role); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	var member, login bool
	if err := admin.QueryRow("SELECT pg_has_role($1, 'rds_iam', 'MEMBER'), rolcanlogin FROM pg_roles WHERE rolname = $1", role).Scan(&member, &login); err != nil || !member || !login {
		t.Errorf("role %s: rds_iam member %v, login %v, %v", role, member, login, err)
	}

	u.User = url.User(role)
	app, err := store.Open(ctx(), u.String(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	// What blog serve does first: nothing pending, so it only reads.
	if applied, err := app.Migrate(ctx()); err != nil || len(applied) != 0 {
		t.Fatalf("migrate as the app with nothing pending: %v %v", applied, err)
	}
	startListener(t, app)

	// The app's writes: authors, posts with tags, versions and redirects,
	// comments, media, sessions, comment nonces.
	a := author(t, app)
	p := post(t, app, a, "Hello", "First words.", time.Now().Add(-time.Hour), "go")
	published := time.Now().Add(-time.Hour)
	if _, err := app.UpdatePost(ctx(), p.ID, store.PostInput{AuthorID: a.ID, Title: "Hello again", Slug: "hello-again", Body: "More.",
		Tags: []string{"web"}, Status: store.StatusPublished, PublishedAt: &published, Version: p.Version}); err != nil {
		t.Errorf("update post: %v", err)
	}
	c, err := app.CreateComment(ctx(), store.Comment{PostID: p.ID, Name: "Bo", Body: "Nice.", Status: store.CommentPending})
	if err == nil {
		err = app.ApproveComment(ctx(), c.ID, a.ID)
	}
	if err != nil {
		t.Errorf("comment: %v", err)
	}
	if _, err := app.SaveMedia(ctx(), store.Media{AuthorID: a.ID, Hash: "abc123", Ext: "jpg", Width: 10, Height: 10, Files: "abc123-10.jpg", Bytes: 1}); err != nil {
		t.Errorf("media: %v", err)
	}
	if err := app.CreateSession(ctx(), store.Session{ID: "s1", AuthorID: a.ID}, time.Hour); err != nil {
		t.Errorf("session: %v", err)
	}
	if _, err := app.DeleteExpiredSessions(ctx(), time.Hour); err != nil {
		t.Errorf("sweep sessions: %v", err)
	}
	if err := app.UseCommentNonce(ctx(), "n1", time.Now().Add(time.Hour)); err != nil {
		t.Errorf("comment nonce: %v", err)
	}
	if _, _, err := app.Search(ctx(), "more", 10, 0); err != nil {
		t.Errorf("search: %v", err)
	}
	if err := app.DeletePost(ctx(), p.ID); err != nil {
		t.Errorf("delete post: %v", err)
	}

	// ANALYZE after seed and import: the app may from PostgreSQL 17
	// (MAINTAIN); before, it is told plainly instead of skipping tables.
	var version int
	if err := admin.QueryRow("SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		t.Fatal(err)
	}
	err = app.Analyze(ctx())
	if version >= 170000 && err != nil {
		t.Errorf("analyze as the app on PostgreSQL %d: %v", version, err)
	}
	if version < 170000 && (err == nil || !strings.Contains(err.Error(), "may not ANALYZE")) {
		t.Errorf("analyze as the app on PostgreSQL %d: %v, want a clear refusal", version, err)
	}

	// No schema changes.
	for _, ddl := range []string{"CREATE TABLE sneaky (id int)", "ALTER TABLE posts ADD COLUMN sneaky int", "DROP TABLE comments",
		"CREATE INDEX sneaky ON posts (title)", "TRUNCATE sessions"} {
		if _, err := app.DB().ExecContext(ctx(), ddl); err == nil || !strings.Contains(err.Error(), "42501") {
			t.Errorf("%s as the app: %v, want permission denied", ddl, err)
		}
	}

	// A pending migration stops the app's start with a clear error, at
	// once. The last one is undone by hand to make it pending again.
	if _, err := owner.DB().ExecContext(ctx(), `DROP INDEX posts_published_list_idx;
		CREATE INDEX posts_published_idx ON posts (published_at DESC) WHERE status = 'published';
		DELETE FROM bun_migrations WHERE name = '20261206110001'`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = app.Migrate(ctx())
	if err == nil || !strings.Contains(err.Error(), "20261206110001") || !strings.Contains(err.Error(), "may not change the schema") {
		t.Errorf("migrate as the app with a migration pending: %v, want a clear refusal", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the refusal took %s", d)
	}
	// The owner applies it again, and the grant still holds.
	if applied, err := owner.Migrate(ctx()); err != nil || len(applied) != 1 {
		t.Fatalf("migrate as the owner: %v %v", applied, err)
	}
	if err := owner.GrantApp(ctx(), role); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Migrate(ctx()); err != nil {
		t.Errorf("migrate as the app after the owner: %v", err)
	}
}

// A table a later migration creates is the app's to use at once: the
// default privileges cover it.
func TestGrantAppCoversFutureTables(t *testing.T) {
	admin := adminDB(t)
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	role := "blogtest_app_" + hex.EncodeToString(buf)
	t.Cleanup(func() { _, _ = admin.Exec("DROP ROLE IF EXISTS " + role) })
	pg := storetest.Postgres(t)
	owner := pg.MustOpen(t)
	if err := owner.GrantApp(ctx(), role); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.DB().ExecContext(ctx(), "CREATE TABLE later (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(pg.DatabaseURL)
	u.User = url.User(role)
	app, err := store.Open(ctx(), u.String(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.DB().ExecContext(ctx(), "INSERT INTO later (v) VALUES ('x'); UPDATE later SET v = 'y'; DELETE FROM later"); err != nil {
		t.Errorf("the app on a table created after the grant: %v", err)
	}
}

func TestGrantAppRefuses(t *testing.T) {
	for _, name := range []string{"", "Blog", "1blog", "blog-app", "blog; DROP TABLE posts", "pg_blog", "rds_iam", "public", strings.Repeat("a", 64)} {
		if err := store.CheckRoleName(name); err == nil {
			t.Errorf("role name %q accepted", name)
		}
	}
	if err := store.CheckRoleName("blog"); err != nil {
		t.Errorf("blog: %v", err)
	}
	sqlite := storetest.SQLite(t).MustOpen(t)
	if err := sqlite.GrantApp(ctx(), "blog"); err == nil || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Errorf("SQLite: %v", err)
	}
	pg := storetest.Postgres(t)
	owner := pg.MustOpen(t)
	me, _ := url.Parse(pg.DatabaseURL)
	if err := owner.GrantApp(ctx(), me.User.Username()); err == nil || !strings.Contains(err.Error(), "running the migrations") {
		t.Errorf("granting to the migrating user: %v", err)
	}
}

// adminDB is the test server as its superuser, for what outlives one test
// database: roles.
func adminDB(t *testing.T) *sql.DB {
	t.Helper()
	storetest.Postgres(t) // skips (or fails in CI) without PostgreSQL
	db, err := sql.Open("pgx", os.Getenv("TEST_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
