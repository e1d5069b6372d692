package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// InsertAuthorForTest inserts an author row directly, bypassing SaveAuthor's
// lookup, so that tests can reach the database's unique violation.
func InsertAuthorForTest(s *Store, a Author) error {
	_, err := s.db.NewInsert().Model(&a).Exec(context.Background())
	return uniqueViolation(err)
}

// BeforeConnect is the hook every new PostgreSQL connection runs.
var BeforeConnect = beforeConnect

// ListenerConfig is the change listener's connection settings.
func ListenerConfig(s *Store) (*pgx.ConnConfig, error) { return s.listenerConfig() }
