//go:build !nosqlite

package store

import _ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver

// sqliteBuiltIn reports whether this binary can open SQLite files.
const sqliteBuiltIn = true
