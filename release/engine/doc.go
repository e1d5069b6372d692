// Package engine holds the real-engine tests of the deploy path: the
// production compose file, host/deploy, host/backup, host/restore,
// host/move-to-rds and host/Caddyfile, run by the real scripts on a real
// Docker engine with images built here from the repository's Dockerfile. Only `aws` (and the
// ECR credential helper and systemctl, which stand beside it on a host) is
// faked. The tests live in *_test.go files; this file only names the
// package. See the README's "Real-engine tests" section for how to run them
// and what differs from production.
package engine
