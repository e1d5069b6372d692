package store

import (
	"context"
	"fmt"
	"strings"
)

// Search finds published posts matching a reader's query, best first. The
// query is passed to the database as a parameter and parsed by a forgiving
// parser (websearch_to_tsquery, or quoted FTS5 terms), so no input is a
// syntax error.
func (s *Store) Search(ctx context.Context, q string, limit, offset int) ([]SearchResult, int, error) {
	// NUL cannot be stored or sent in a PostgreSQL string, and no word
	// contains it.
	q = strings.ReplaceAll(q, "\x00", " ")
	results, total, err := s.dialect.search(ctx, s.db, q, s.now(), limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	return results, total, nil
}
