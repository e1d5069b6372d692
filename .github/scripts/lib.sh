# shellcheck shell=bash
# Helpers the pipeline scripts source. Every script runs from the repository
# root (where Pulumi.yaml is) and talks to the backend in PULUMI_BACKEND_URL.

# die prints a message for the workflow log (as an error annotation when it
# runs in GitHub Actions) and exits.
die() {
	if [[ -n ${GITHUB_ACTIONS:-} ]]; then echo "::error::$*" >&2; else echo "error: $*" >&2; fi
	exit 1
}

log() { echo "$*" >&2; }

# output NAME VALUE hands a value to later workflow steps.
output() {
	if [[ -n ${GITHUB_OUTPUT:-} ]]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"; fi
}

# pr_number checks a pull request number (pr-<n> stacks: 1 to 7 digits, no
# leading zero, the same rule as stack/infra/config.go).
pr_number() {
	[[ ${1:-} =~ ^[1-9][0-9]{0,6}$ ]] || die "pull request number ${1:-<empty>} is not a number"
	printf '%s' "$1"
}

# stacks lists the project's stack names, one a line, short form (pr-12, not
# organization/blogstack/pr-12).
stacks() {
	local json
	json=$(pulumi stack ls --json --non-interactive) || die "pulumi stack ls failed (is PULUMI_BACKEND_URL set and reachable?)"
	jq -r '.[].name | split("/") | last' <<<"$json"
}

stack_exists() { stacks | grep -qxF -- "$1"; }

# ensure_stack_file STACK makes sure the local Pulumi.STACK.yaml names the
# secrets provider. pulumi stack init writes that file, but a fresh checkout
# of an existing preview stack does not have it, and without it a DIY
# backend falls back to the passphrase provider.
ensure_stack_file() {
	local file="Pulumi.$1.yaml"
	if [[ ! -f $file ]] || ! grep -q '^secretsprovider:' "$file"; then
		[[ -n ${PULUMI_SECRETS_PROVIDER:-} ]] || die "PULUMI_SECRETS_PROVIDER is not set (e.g. awskms://alias/blogstack-state?region=eu-west-1): preview stacks need the state's KMS key"
		printf 'secretsprovider: %s\n' "$PULUMI_SECRETS_PROVIDER" >>"$file"
	fi
}

# require_prod_secrets_provider fails early, with the fix, when the committed
# Pulumi.prod.yaml lacks the lines `pulumi stack init prod --secrets-provider`
# wrote; without them pulumi asks for a passphrase nobody set.
require_prod_secrets_provider() {
	grep -q '^secretsprovider:' Pulumi.prod.yaml 2>/dev/null ||
		die "Pulumi.prod.yaml has no secretsprovider line: commit the secretsprovider and encryptedkey lines that 'pulumi stack init prod --secrets-provider awskms://...' added to it"
}
