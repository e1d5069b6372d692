package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
)

// rdsIAMRole is the role RDS creates for IAM database authentication: a
// login role that is a member of it signs in with IAM tokens only.
const rdsIAMRole = "rds_iam"

// plainRoleName is a lowercase PostgreSQL identifier that needs no quoting.
var plainRoleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CheckRoleName accepts the name of the app's database role: a plain
// lowercase identifier that PostgreSQL does not reserve.
func CheckRoleName(name string) error {
	if !plainRoleName.MatchString(name) {
		return fmt.Errorf("%q is not a plain lowercase role name (a-z, 0-9 and _, not starting with a digit, at most 63 characters)", name)
	}
	switch {
	case strings.HasPrefix(name, "pg_"), strings.HasPrefix(name, "rds_"), name == "rdsadmin",
		name == "public", name == "none", name == "current_user", name == "current_role", name == "session_user":
		return fmt.Errorf("%q is reserved by PostgreSQL or RDS; choose another name, such as blog", name)
	}
	return nil
}

// GrantApp makes sure the login role exists and may use the blog's tables
// and nothing more: it connects to this database, reads and writes every
// table and sequence of the schema, now and after future migrations run by
// the current user (ALTER DEFAULT PRIVILEGES), and may maintain (ANALYZE)
// them from PostgreSQL 17, but may not create or alter anything. It is
// created without a password; when the server has RDS's rds_iam role it is
// made a member, so that it signs in with IAM tokens. Running it again
// changes nothing; the migrations lock keeps two runs apart.
func (s *Store) GrantApp(ctx context.Context, role string) error {
	if s.dialect.name() != "postgres" {
		return errors.New("database roles are for PostgreSQL; SQLite has none")
	}
	if err := CheckRoleName(role); err != nil {
		return err
	}
	lockCtx, cancel := context.WithTimeout(ctx, MigrationLockTimeout)
	defer cancel()
	release, err := s.dialect.lock(lockCtx, s.db)
	if err != nil {
		return err
	}
	defer release()
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return grantApp(ctx, tx, role)
	})
}

func grantApp(ctx context.Context, tx bun.Tx, role string) error {
	var me, schema, database string
	var version int
	if err := tx.QueryRowContext(ctx, "SELECT current_user, current_schema(), current_database(), current_setting('server_version_num')::int").
		Scan(&me, &schema, &database, &version); err != nil {
		return err
	}
	if role == me {
		return fmt.Errorf("%s is the user running the migrations; name the app's own role", role)
	}
	q := pgx.Identifier{role}.Sanitize()
	var canLogin, super bool
	switch err := tx.QueryRowContext(ctx, "SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = ?0", role).Scan(&canLogin, &super); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, "CREATE ROLE "+q+" LOGIN"); err != nil {
			return fmt.Errorf("create the role: %w", err)
		}
	case err != nil:
		return err
	case super:
		return fmt.Errorf("%s is a superuser, which may change anything; the app needs a role of its own", role)
	case !canLogin:
		if _, err := tx.ExecContext(ctx, "ALTER ROLE "+q+" LOGIN"); err != nil {
			return fmt.Errorf("let the role log in: %w", err)
		}
	}
	var iam bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = ?0) AND NOT pg_has_role(?1, ?0, 'MEMBER')", rdsIAMRole, role).
		Scan(&iam); err != nil {
		return err
	}
	tables := "SELECT, INSERT, UPDATE, DELETE"
	if version >= 170000 {
		tables += ", MAINTAIN" // ANALYZE after seed and import; no DDL
	}
	const sequences = "USAGE, SELECT, UPDATE"
	qs := pgx.Identifier{schema}.Sanitize()
	stmts := []string{
		"GRANT CONNECT ON DATABASE " + pgx.Identifier{database}.Sanitize() + " TO " + q,
		"GRANT USAGE ON SCHEMA " + qs + " TO " + q,
		"GRANT " + tables + " ON ALL TABLES IN SCHEMA " + qs + " TO " + q,
		"GRANT " + sequences + " ON ALL SEQUENCES IN SCHEMA " + qs + " TO " + q,
		// Tables and sequences that later migrations create, as this user.
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + qs + " GRANT " + tables + " ON TABLES TO " + q,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + qs + " GRANT " + sequences + " ON SEQUENCES TO " + q,
	}
	if iam {
		stmts = append(stmts, "GRANT "+rdsIAMRole+" TO "+q)
	}
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	// What it must not have, whoever granted it: a role that owns the
	// schema or a table, or may create in the schema, could change it.
	var create, owner bool
	if err := tx.QueryRowContext(ctx, `SELECT has_schema_privilege(?0, ?1, 'CREATE'),
		EXISTS (SELECT FROM pg_namespace WHERE nspname = ?1 AND pg_has_role(?0, nspowner, 'USAGE'))
		OR EXISTS (SELECT FROM pg_tables WHERE schemaname = ?1 AND pg_has_role(?0, tableowner, 'USAGE'))`, role, schema).
		Scan(&create, &owner); err != nil {
		return err
	}
	switch {
	case owner:
		return fmt.Errorf("%s owns (or is a member of the owner of) schema %s or one of its tables, so it could change the schema; the app needs a role of its own", role, schema)
	case create:
		return fmt.Errorf("%s may create objects in schema %s (through PUBLIC, as before PostgreSQL 15?); revoke that first: REVOKE CREATE ON SCHEMA %s FROM PUBLIC", role, schema, qs)
	}
	return nil
}

// mayNotMigrate explains a permission error from a migration: the user
// (the app's own role, see GrantApp) may not change the schema.
func mayNotMigrate(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "42501" { // insufficient_privilege
		return fmt.Errorf("%w: migrations are pending and this database user may not change the schema; run blog migrate as the schema's owner first", err)
	}
	return err
}
