package engine

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The RDS stand-in: a second PostgreSQL container from the suite's db image,
// made to look like the stack's RDS instance where host/move-to-rds can
// tell: TLS only (rds.force_ssl=1: pg_hba admits hostssl alone), a master
// user blog_admin that is not a superuser but may create roles and owns the
// database blog (as RDS's rds_superuser member does), its password in a
// (fake) Secrets Manager secret, published on 127.0.0.1 where the script's
// client container, on the host's network, reaches it. What differs: the
// server is the suite's PostgreSQL 15, not RDS's 18, and the app's role
// `blog` logs in with a password, not IAM.
const (
	rdsSecretArn     = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-test-AbCdEf"
	rdsAdminPassword = "St4nd-in:pa55;word#" // URL-unsafe, as RDS's may be
	rdsAppPassword   = "app-Pa55word"
	testSecretKey    = "sk-test-0123456789abcdef0123456789abcdef" // fake aws's /secret-key
)

type rdsStandIn struct {
	name string
	addr string // 127.0.0.1:port
}

// startRDSStandIn starts the stand-in with an empty database blog and puts
// its master secret where fake aws finds it.
func (h *testHost) startRDSStandIn() *rdsStandIn {
	h.t.Helper()
	r := &rdsStandIn{name: fmt.Sprintf("blogtest-rds-%d", time.Now().UnixNano()), addr: freeAddr(h.t)}
	h.t.Cleanup(func() { _, _ = docker("rm", "-f", "-v", r.name) })
	// A self-signed certificate, made inside (openssl comes with
	// ca-certificates), and an hba file that admits TLS connections only.
	start := `set -e
d=/etc/rds
mkdir -p "$d"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rds-stand-in -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
printf 'local all all trust\nhostssl all all all scram-sha-256\n' >"$d/pg_hba.conf"
chown -R postgres:postgres "$d"
chmod 0600 "$d/key.pem"
exec /usr/local/bin/docker-entrypoint.sh postgres -c ssl=on -c ssl_cert_file="$d/cert.pem" -c ssl_key_file="$d/key.pem" -c hba_file="$d/pg_hba.conf"`
	if out, err := docker("run", "-d", "--name", r.name, "-p", r.addr+":5432",
		"-e", "PGDATA=/var/lib/postgresql/rds", "-e", "POSTGRES_USER=postgres", "-e", "POSTGRES_PASSWORD=unused-superuser",
		"--entrypoint", "bash", suite.set.db, "-c", start); err != nil {
		h.t.Fatalf("starting the RDS stand-in: %v\n%s", err, out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := docker("exec", r.name, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "postgres"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := docker("logs", "--tail", "30", r.name)
			h.t.Fatalf("the RDS stand-in did not get ready in 60s:\n%s", logs)
		}
		time.Sleep(500 * time.Millisecond)
	}
	r.sql(h.t, "postgres", "CREATE ROLE blog_admin LOGIN CREATEROLE CREATEDB PASSWORD '"+rdsAdminPassword+"'")
	r.sql(h.t, "postgres", "CREATE DATABASE blog OWNER blog_admin")
	h.write("fake/secrets/rds!db-test-AbCdEf", `{"username":"blog_admin","password":"`+rdsAdminPassword+`"}`)
	return r
}

// sql runs statements in database db of the stand-in, as user (the local
// socket trusts every user), and returns psql's unaligned output.
func (r *rdsStandIn) sql(t *testing.T, db, sql string, user ...string) string {
	t.Helper()
	u := "postgres"
	if len(user) > 0 {
		u = user[0]
	}
	out, err := docker("exec", r.name, "psql", "-X", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-q", "-U", u, "-d", db, "-c", sql)
	if err != nil {
		t.Fatalf("on the RDS stand-in: %v", err)
	}
	return strings.TrimSpace(out)
}

// url is a postgres:// URL of the stand-in's blog database, over TLS.
func (r *rdsStandIn) url(user, password string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: r.addr, Path: "/blog", RawQuery: "sslmode=require"}
	return u.String()
}

// blog runs the v1 image on the host's network with the stand-in as its
// database, as an ECS task would, and returns docker's output.
func (r *rdsStandIn) blog(t *testing.T, name string, detach bool, env []string, args ...string) string {
	t.Helper()
	cmd := []string{"run", "--name", name, "--network", "host", "--read-only", "--tmpfs", "/data:size=16m,uid=65532,gid=65532,mode=0700", "-e", "BLOG_DATA_DIR=/data"}
	if detach {
		cmd = append(cmd, "-d")
	} else {
		cmd = append(cmd, "--rm")
	}
	for _, e := range env {
		cmd = append(cmd, "-e", e)
	}
	cmd = append(cmd, suite.set.blog+":v1")
	out, err := docker(append(cmd, args...)...)
	if err != nil {
		t.Fatalf("blog %s on the RDS stand-in: %v", strings.Join(args, " "), err)
	}
	return out
}

// countsRE matches the script's lines "move-to-rds:   <table> <host> <RDS>".
var countsRE = regexp.MustCompile(`(?m)^move-to-rds:\s+([a-z_]+)\s+(\d+)\s+(\d+)$`)

// TestMoveToRDS: the database of a deployed host with content is copied by
// host/move-to-rds into a stand-in for the stack's RDS instance that the
// first fargate deploy has already migrated and granted to the app's role
// (as `blogstack:move: prepared` leaves it). The counts it prints match, on
// both sides and the host's own; a second run without --replace refuses;
// with it, it copies again; and a blog started on the stand-in as role
// `blog` serves the same posts as the host.
func TestMoveToRDS(t *testing.T) {
	h := newHost(t)
	h.deploy("v1")
	h.seed("blog-app-1", 6)
	hostCounts := h.rowCounts() // "n posts, n tags, n comments, n authors"

	r := h.startRDSStandIn()
	// What the prepared stack's first migrate task does on the empty RDS,
	// as blog_admin: the release's migrations, then role blog made and
	// granted every table and sequence, now and later (default privileges).
	// Here blog gets a password too, where RDS uses IAM.
	r.blog(t, "blogtest-rds-migrate", false, []string{"DATABASE_URL=" + r.url("blog_admin", rdsAdminPassword)}, "migrate", "--grant-to", "blog")
	r.sql(t, "blog", "ALTER ROLE blog PASSWORD '"+rdsAppPassword+"'")

	out, ok := h.run("move-to-rds", r.addr, rdsSecretArn)
	if !ok {
		t.Fatalf("move-to-rds failed:\n%s", out)
	}
	for _, want := range []string{"the counts match", "the app's role blog can read the restored tables"} {
		if !strings.Contains(out, want) {
			t.Errorf("move-to-rds output lacks %q", want)
		}
	}
	printed := map[string]string{}
	for _, m := range countsRE.FindAllStringSubmatch(out, -1) {
		if m[2] != m[3] {
			t.Errorf("%s: host %s, RDS %s", m[1], m[2], m[3])
		}
		printed[m[1]] = m[2]
	}
	var fromPrinted []string
	for _, table := range []string{"posts", "tags", "comments", "authors"} {
		fromPrinted = append(fromPrinted, printed[table]+" "+table)
	}
	if got := strings.Join(fromPrinted, ", "); got != hostCounts {
		t.Errorf("printed counts %q, the host's are %q", got, hostCounts)
	}
	// Ownership: what the master user restored is its own (--no-owner).
	if owners := r.sql(t, "blog", "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'"); owners != "blog_admin" {
		t.Errorf("tables on RDS owned by %q, want blog_admin", owners)
	}

	out, ok = h.run("move-to-rds", r.addr, rdsSecretArn)
	if ok || !strings.Contains(out, "refusing: RDS's blog database already has "+printed["posts"]+" posts") {
		t.Errorf("a second copy without --replace: ok=%v\n%s", ok, out)
	}
	out, ok = h.run("move-to-rds", "--replace", r.addr, rdsSecretArn)
	if !ok || !strings.Contains(out, "the counts match") {
		t.Fatalf("move-to-rds --replace: ok=%v\n%s", ok, out)
	}

	// The blog on RDS, as the fargate tasks run it (the same image, secret
	// key and base URL; the app's role, over TLS), serves the same posts.
	app := freeAddr(t)
	name := r.name + "-app"
	t.Cleanup(func() { _, _ = docker("rm", "-f", name) })
	r.blog(t, name, true, []string{
		"DATABASE_URL=" + r.url("blog", rdsAppPassword),
		"BLOG_ADDR=" + app,
		"BLOG_BASE_URL=https://" + testDomain,
		"BLOG_SECRET_KEY=" + testSecretKey,
	}, "serve")
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + app + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get("/readyz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := docker("logs", "--tail", "30", name)
			t.Fatalf("the blog on the RDS stand-in is not ready after 30s (%d %s):\n%s", code, body, logs)
		}
		time.Sleep(500 * time.Millisecond)
	}
	code, hostMap := h.get("/sitemap.xml")
	if code != http.StatusOK {
		t.Fatalf("the host's sitemap: %d", code)
	}
	code, rdsMap := get("/sitemap.xml")
	if code != http.StatusOK || rdsMap != hostMap {
		t.Errorf("the blog on RDS lists other posts (%d):\n%s\nthe host's:\n%s", code, rdsMap, hostMap)
	}
	locs := regexp.MustCompile(`<loc>https://`+regexp.QuoteMeta(testDomain)+`(/posts/[^<]+)</loc>`).FindAllStringSubmatch(hostMap, -1)
	if len(locs) == 0 {
		t.Fatalf("the host's sitemap lists no posts:\n%s", hostMap)
	}
	for _, m := range locs {
		_, want := h.get(m[1])
		code, got := get(m[1])
		wt, gt := titleRE.FindStringSubmatch(want), titleRE.FindStringSubmatch(got)
		if code != http.StatusOK || wt == nil || gt == nil || wt[1] != gt[1] {
			t.Errorf("%s on RDS: %d %v, on the host %v", m[1], code, gt, wt)
		}
	}
	t.Logf("the blog on the RDS stand-in serves the host's %d posts", len(locs))
}
