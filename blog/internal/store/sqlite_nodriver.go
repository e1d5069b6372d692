//go:build nosqlite

package store

// sqliteBuiltIn is false in builds made with -tags nosqlite: the production
// image runs on PostgreSQL only, and the SQLite engine is most of the size
// of the binary that it would not use.
const sqliteBuiltIn = false
