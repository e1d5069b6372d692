// Package pipeline holds the tests of the GitHub Actions pipeline in
// .github/: actionlint (with shellcheck) over the workflows, structural rules
// read from the parsed YAML (actions pinned by the commit SHAs in pins.md,
// least-privilege permissions, fork guards, concurrency, triggers), and the
// .github/scripts run against fakes of pulumi, aws, gh, git and docker on
// PATH.
//
// Nothing here reaches GitHub, AWS or a Pulumi backend: the fakes record
// their command lines and fail when a test tells them to.
package pipeline
