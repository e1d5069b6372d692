package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// The deploy's order on RDS: blog migrate --grant-to as the owner, on
// every deploy, then the app's commands as the granted role.
func TestMigrateGrantTo(t *testing.T) {
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	role := "blogtest_app_" + hex.EncodeToString(buf)
	// Registered first, so it runs after the test database is dropped.
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", os.Getenv("TEST_DATABASE_URL")); err == nil {
			_, _ = db.Exec("DROP ROLE IF EXISTS " + role)
			db.Close()
		}
	})
	pg := storetest.Postgres(t)
	dir := t.TempDir()
	var out bytes.Buffer
	for range 2 {
		env := envOf(map[string]string{"BLOG_DATA_DIR": dir, "DATABASE_URL": pg.DatabaseURL})
		if err := run(context.Background(), []string{"migrate", "--grant-to", role}, env, nil, &out, &out); err != nil {
			t.Fatalf("migrate --grant-to: %v\n%s", err, out.String())
		}
	}
	u, _ := url.Parse(pg.DatabaseURL)
	u.User = url.User(role)
	env := envOf(map[string]string{"BLOG_DATA_DIR": dir, "DATABASE_URL": u.String(), "BLOG_ADMIN_PASSWORD": "correct horse battery"})
	if err := run(context.Background(), []string{"user", "create", "--email", "writer@example.com"}, env, nil, &out, &out); err != nil {
		t.Fatalf("user create as the app's role: %v", err)
	}
	// seed ends with ANALYZE: the role may from PostgreSQL 17 (MAINTAIN);
	// before, the command says why it cannot.
	err := run(context.Background(), []string{"seed", "--posts", "3"}, env, nil, &out, &out)
	if err != nil && !strings.Contains(err.Error(), "may not ANALYZE") {
		t.Errorf("seed as the app's role: %v", err)
	}
	t.Logf("seed as the app's role: %v", err)
}
