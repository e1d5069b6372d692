package blogstack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// host/move-to-rds against the fakes of host_test.go: fake docker keeps
// "RDS's database" in $FAKE_DIR/rds (what pg_restore was fed) and answers the
// client's queries from FAKE_RDS_* variables; fake aws answers
// get-secret-value with RDS's master secret.

const (
	rdsEndpoint  = "blog-prod-db.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com"
	rdsSecretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0a1b2c3d-4e5f-6789-abcd-ef0123456789-AbCdEf"
	rdsPassword  = "Rds-Pa55word;x" // fake aws's secret
)

func TestMoveToRDSArgumentErrors(t *testing.T) {
	h := deployed(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage: move-to-rds [--replace] <rds-endpoint[:port]> <master-secret-arn>"},
		{[]string{rdsEndpoint}, "usage: move-to-rds"},
		{[]string{rdsEndpoint, rdsSecretArn, "extra"}, "usage: move-to-rds"},
		{[]string{"--force", rdsEndpoint, rdsSecretArn}, "usage: move-to-rds"},
		{[]string{"postgres://blog_admin@" + rdsEndpoint + "/blog", rdsSecretArn}, "is not an RDS endpoint (host name, optionally :port): use the stack's databaseEndpoint output"},
		{[]string{rdsEndpoint + ":port", rdsSecretArn}, "is not an RDS endpoint"},
		{[]string{rdsEndpoint, "blog-prod-db-secret"}, "'blog-prod-db-secret' is not a Secrets Manager secret ARN: use the stack's databaseSecretArn output"},
		{[]string{rdsSecretArn, rdsEndpoint}, "is not an RDS endpoint"},
	} {
		out, ok := h.run("move-to-rds", nil, tc.args...)
		mustFail(t, out, ok, tc.want)
		if calls := h.calls(); len(calls) != 1 || calls[0] != "" {
			t.Errorf("%q: touched the host or AWS: %v", tc.args, calls)
		}
	}
}

// The copy: the secret read once, the host's database dumped through the db
// container and fed to pg_restore in a client container of the db's image,
// with the password in its environment only, the temporary dump removed,
// the counts of both sides printed.
func TestMoveToRDSCopiesTheHostsDatabase(t *testing.T) {
	h := deployed(t)
	h.write("../fake/database", "PGDMP the host's posts")
	out, ok := h.run("move-to-rds", nil, rdsEndpoint, rdsSecretArn)
	mustOK(t, out, ok)
	if got := h.read("../fake/rds"); got != "PGDMP the host's posts" {
		t.Errorf("RDS got %q", got)
	}
	calls := h.calls()
	inOrder(t, calls, "secretsmanager get-secret-value --region eu-west-1 --secret-id "+rdsSecretArn,
		"to_regclass", "exec -T db pg_dump -U blog -Fc blog", "exec -T db pg_restore --list",
		"--entrypoint pg_restore postgres:18.6-alpine --dbname=blog --clean --if-exists --no-owner --no-privileges --single-transaction",
		"has_table_privilege", "UNION ALL")
	for _, c := range matching(calls, "docker run") {
		if strings.Contains(c, rdsPassword) {
			t.Errorf("the password is on a command line: %s", c)
		}
		for _, want := range []string{" --rm ", " --network host ", " -e PGPASSWORD ", " -e PGSSLMODE ", " --read-only ", " --cap-drop ALL "} {
			if !strings.Contains(c, want) {
				t.Errorf("client container without %q: %s", want, c)
			}
		}
	}
	if got := h.read("../fake/rds-password"); got != rdsPassword {
		t.Errorf("the client got password %q, want the secret's", got)
	}
	if left := h.leftovers(); len(left) != 0 {
		t.Errorf("left on the data volume: %v", left)
	}
	for _, want := range []string{
		"connecting to RDS at " + rdsEndpoint + ":5432 as blog_admin",
		"posts             3        3",
		"the counts match",
		"the app's role blog can read the restored tables",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The output is kept for the host's log group, as deploy's and backup's.
	if log := h.read("var/log/blog/move-to-rds.log"); !strings.Contains(log, "the counts match") {
		t.Errorf("move-to-rds.log: %q", log)
	}
}

// A database with posts is replaced only when asked to.
func TestMoveToRDSRefusesADatabaseWithPostsWithoutReplace(t *testing.T) {
	h := deployed(t)
	h.write("../fake/database", "PGDMP the host's posts")
	h.write("../fake/rds", "already there")
	env := []string{"FAKE_RDS_POSTS=7"}
	out, ok := h.run("move-to-rds", env, rdsEndpoint+":5433", rdsSecretArn)
	mustFail(t, out, ok, "refusing: RDS's blog database already has 7 posts")
	mustFail(t, out, ok, "run again with --replace")
	calls := h.calls()
	for _, never := range []string{"pg_dump", "pg_restore"} {
		if m := matching(calls, never); len(m) != 0 {
			t.Errorf("ran %s without --replace: %v", never, m)
		}
	}
	if got := h.read("../fake/rds"); got != "already there" {
		t.Errorf("RDS holds %q", got)
	}
	if left := h.leftovers(); len(left) != 0 {
		t.Errorf("left on the data volume: %v", left)
	}

	out, ok = h.run("move-to-rds", env, "--replace", rdsEndpoint+":5433", rdsSecretArn)
	mustOK(t, out, ok)
	if !strings.Contains(out, "at "+rdsEndpoint+":5433") || !strings.Contains(out, "replacing what is there") {
		t.Errorf("output:\n%s", out)
	}
	if got := h.read("../fake/rds"); got != "PGDMP the host's posts" {
		t.Errorf("RDS got %q", got)
	}
}

// Each failure before the restore copies nothing and says so; a failed
// restore says RDS is as it was. No failure leaves a dump behind.
func TestMoveToRDSFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"secret unreadable", []string{"FAKE_FAIL_SECRET=1"}, "cannot read the secret " + rdsSecretArn},
		{"not RDS's secret", []string{"FAKE_SECRET=sk-0123"}, "is not RDS's master secret (JSON with username and password)"},
		{"RDS unreachable", []string{"FAKE_RDS_DOWN=1"}, "cannot connect to RDS's blog database at " + rdsEndpoint + ":5432"},
		{"dump fails", []string{"FAKE_FAIL_PG_DUMP=1"}, "pg_dump of the host's blog database failed; nothing was copied"},
		{"restore fails", []string{"FAKE_FAIL_RDS_RESTORE=1"}, "it ran in one transaction, so RDS's database is as it was"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := deployed(t)
			out, ok := h.run("move-to-rds", tc.env, rdsEndpoint, rdsSecretArn)
			mustFail(t, out, ok, tc.want)
			if _, err := os.Stat(filepath.Join(h.fake, "rds")); !os.IsNotExist(err) {
				t.Errorf("RDS was written: %v", err)
			}
			if left := h.leftovers(); len(left) != 0 {
				t.Errorf("left on the data volume: %v", left)
			}
		})
	}
}

// Writes on the host after the dump show as counts that differ.
func TestMoveToRDSCountsThatDiffer(t *testing.T) {
	h := deployed(t)
	out, ok := h.run("move-to-rds", []string{`FAKE_HOST_COUNTS=authors 1\nposts 3\ntags 2\ncomments 5\nmedia 0\n`}, rdsEndpoint, rdsSecretArn)
	mustOK(t, out, ok)
	for _, want := range []string{"comments          5        4", "WARNING: the counts differ ( comments ): the host took writes after the dump"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
