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

# summary appends markdown to the job's summary page (GITHUB_STEP_SUMMARY);
# outside a workflow it goes nowhere.
summary() {
	if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then cat >>"$GITHUB_STEP_SUMMARY"; else cat >/dev/null; fi
}

# deploy_id is this run's deploy id, <run id>-<run attempt>: a re-run is a
# new attempt, so it gets a new id, the stack replaces the deploy association
# and `pulumi up` waits for host/deploy again. Same rule as the stack's
# blogstack:deployId.
deploy_id() {
	local id="${GITHUB_RUN_ID:-}-${GITHUB_RUN_ATTEMPT:-}"
	[[ -n ${GITHUB_RUN_ID:-} && -n ${GITHUB_RUN_ATTEMPT:-} && $id =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,39}$ ]] ||
		die "GITHUB_RUN_ID and GITHUB_RUN_ATTEMPT must be set (deploy id '$id' must match ^[A-Za-z0-9][A-Za-z0-9-]{0,39}\$)"
	printf '%s' "$id"
}

# print_deploy_logs STACK TAG DEPLOY_ID prints what the deploy association
# wrote under s3://<backupBucket>/deploy-logs/<tag>/<deployId>/: the listing,
# then the last lines of every stdout and stderr object (host/deploy's own
# output), each in a collapsible group of the workflow log. It prints the
# reason (host/deploy's "FAILED" line, else the last stderr line) on stdout
# for the job summary. It never fails: it runs when a deploy already has.
print_deploy_logs() {
	local stack=$1 tag=$2 id=$3 bucket listing keys key reason="" lines=${DEPLOY_LOG_LINES:-80}
	bucket=$(pulumi stack output backupBucket --stack "$stack" --non-interactive 2>/dev/null) || bucket=
	if [[ -z $bucket ]]; then
		log "stack $stack has no backupBucket output: no deploy output to show"
		return 0
	fi
	local prefix="deploy-logs/$tag/$id/"
	log "deploy output under s3://$bucket/$prefix:"
	# aws s3 ls exits 1 when nothing matches the prefix: the association
	# never ran on the host (for example the instance was not registered with
	# SSM) or could not write there.
	if ! listing=$(aws s3 ls "s3://$bucket/$prefix" --recursive 2>&1) || [[ -z $listing ]]; then
		if [[ -n $listing ]]; then
			log "  cannot list it: $listing"
		else
			log "  nothing there: the host never ran or never reported this deploy; see the association in Systems Manager > State Manager"
		fi
		return 0
	fi
	log "$listing"
	# --recursive lines are "<date> <time> <size> <key>" with the full key.
	keys=$(sed -nE 's#^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} +[0-9]+ (.*/std(out|err))$#\1#p' <<<"$listing")
	while read -r key; do
		[[ -n $key ]] || continue
		local body
		body=$(aws s3 cp "s3://$bucket/$key" - 2>&1 | tail -n "$lines") || true
		if [[ -n ${GITHUB_ACTIONS:-} ]]; then echo "::group::$key (last $lines lines)" >&2; else log "--- $key (last $lines lines)"; fi
		log "$body"
		if [[ -n ${GITHUB_ACTIONS:-} ]]; then echo "::endgroup::" >&2; fi
		if [[ $key == */stderr && -n $body ]]; then
			reason=$(grep -E 'FAILED:' <<<"$body" | tail -n 1) || reason=$(tail -n 1 <<<"$body")
		fi
	done <<<"$keys"
	printf '%s' "$reason"
}
