// Package release holds the tests of the release artifacts at the root of
// the repository: the Dockerfile (parsed and linted with BuildKit's own
// parser, and its build reproduced with the same flags), the production
// compose file (loaded with compose-go) and host/Caddyfile (validated and run
// with the Caddy version the compose file pins, in front of a real blog).
//
// These machines have no Docker engine, so the tests check the artifacts
// with the libraries and binaries that Docker, compose and Caddy use.
package release
