// Package pipeline holds the tests of the GitHub Actions pipeline in
// .github/:
//
//   - lint_test.go: actionlint (with shellcheck) over the workflows and
//     shellcheck over .github/scripts;
//   - workflows_test.go: rules read from the parsed YAML: actions pinned by
//     the commit SHAs in pins.md, least-privilege permissions, which role and
//     environment each job uses (and so its OIDC subject), which registry it
//     pushes to, fork guards, concurrency, triggers and time limits;
//   - scripts_test.go and deploy_test.go: the .github/scripts run against
//     fakes of pulumi, aws, gh, git and docker on PATH (deploy_test.go: the
//     deploy and rollback path).
//
// Nothing here reaches GitHub, AWS or a Pulumi backend: the fakes record
// their command lines, answer in the real tools' output formats and fail
// when a test tells them to.
package pipeline
