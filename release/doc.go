// Package release holds the tests of the release artifacts at the root of
// the repository: the Dockerfile (parsed and linted with BuildKit's own
// parser, and its build reproduced with the same flags), the production
// compose file (loaded with compose-go) and host/Caddyfile (validated and run
// with the Caddy version the compose file pins, in front of a real blog).
//
// They need no Docker engine and run in seconds. The same artifacts run
// together on a real engine, with host/deploy, host/backup and host/restore,
// in release/engine.
package release
