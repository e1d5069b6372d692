package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun/migrate"
)

// MigrationLockTimeout bounds how long a migrator waits for another one.
const MigrationLockTimeout = 2 * time.Minute

// Migrate applies pending migrations under the dialect's cross-process
// lock, so that two processes starting at once apply each migration once.
// It returns the names of the migrations it applied.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	lockCtx, cancel := context.WithTimeout(ctx, MigrationLockTimeout)
	defer cancel()
	release, err := s.dialect.lock(lockCtx, s.db)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer release()

	migrations := migrate.NewMigrations()
	if err := migrations.Discover(s.dialect.migrations()); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	m := migrate.NewMigrator(s.db, migrations, migrate.WithMarkAppliedOnSuccess(true))
	// The migrations table is created only when it cannot be read: a user
	// that may not change the schema (the app's own, see GrantApp) reads
	// it and, with nothing pending, is done. Init's CREATE TABLE IF NOT
	// EXISTS would fail for that user, as PostgreSQL checks the right to
	// create before whether the table exists.
	all, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		if err := m.Init(ctx); err != nil {
			return nil, fmt.Errorf("migrate: create the migrations table: %w", mayNotMigrate(err))
		}
	} else if len(all.Unapplied()) == 0 {
		return nil, nil
	}
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", mayNotMigrate(err))
	}
	var names []string
	for _, mig := range group.Migrations {
		names = append(names, mig.Name+"_"+mig.Comment)
	}
	return names, nil
}
