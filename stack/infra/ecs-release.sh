#!/usr/bin/env bash
# ecs-release.sh: the two steps of a fargate release that `pulumi up` runs
# where it runs (the deploy workflow's runner), with the aws CLI and the
# pipeline role's credentials.
#
#   ecs-release.sh migrate   run the migrate task once; fail unless it exits 0
#   ecs-release.sh verify    wait for the service's deployment of the new task
#                            definition; fail if ECS rolled it back
#
# (The program passes the step as STEP: the command provider runs the
# script's text with bash -c.)
#
# Settings come from the environment, set by the program (stack/infra/service.go):
#   AWS_REGION, CLUSTER, and for migrate: TASK_DEFINITION, SUBNETS (comma-
#   separated), SECURITY_GROUP, LOG_GROUP; for verify: SERVICE, TASK_DEFINITION;
#   TIMEOUT (seconds, both).
set -euo pipefail

die() { echo "ecs-release: $*" >&2; exit 1; }
need() { for v in "$@"; do [[ -n "${!v:-}" ]] || die "$v is not set"; done; }

# migrate runs the one-off task. The service still runs the old task
# definition while this runs, and stays on it if this fails: `pulumi up`
# stops here (expand/contract keeps the old release working on the new
# schema once this succeeds).
migrate() {
	need AWS_REGION CLUSTER TASK_DEFINITION SUBNETS SECURITY_GROUP LOG_GROUP TIMEOUT
	local out task failures
	out=$(aws ecs run-task --region "$AWS_REGION" --cluster "$CLUSTER" \
		--task-definition "$TASK_DEFINITION" --launch-type FARGATE --count 1 \
		--started-by blogstack-migrate \
		--network-configuration "awsvpcConfiguration={subnets=[$SUBNETS],securityGroups=[$SECURITY_GROUP],assignPublicIp=ENABLED}" \
		--query '{task: tasks[0].taskArn, failures: failures}' --output json)
	task=$(jq -r '.task // empty' <<<"$out")
	failures=$(jq -c '.failures // []' <<<"$out")
	[[ -n "$task" ]] || die "ECS did not start the migrate task: $failures"
	echo "ecs-release: migrate task $task started ($TASK_DEFINITION)"

	local deadline=$((SECONDS + TIMEOUT)) status="" desc
	while ((SECONDS < deadline)); do
		desc=$(aws ecs describe-tasks --region "$AWS_REGION" --cluster "$CLUSTER" --tasks "$task" \
			--query 'tasks[0].{status: lastStatus, exit: containers[0].exitCode, reason: stoppedReason, container: containers[0].reason}' --output json)
		status=$(jq -r '.status // "UNKNOWN"' <<<"$desc")
		[[ "$status" == STOPPED ]] && break
		sleep "${POLL:-6}"
	done
	if [[ "$status" != STOPPED ]]; then
		aws ecs stop-task --region "$AWS_REGION" --cluster "$CLUSTER" --task "$task" --reason "migration timed out" >/dev/null || true
		die "the migrate task did not finish within ${TIMEOUT}s; stopped it. The service keeps the old release."
	fi
	local code
	code=$(jq -r '.exit // "none"' <<<"$desc")
	if [[ "$code" == 0 ]]; then
		echo "ecs-release: migrations applied"
		return 0
	fi
	echo "ecs-release: the migrate task failed (exit code $code): $(jq -r '[.reason, .container] | map(select(. != null)) | join("; ")' <<<"$desc")" >&2
	# The task's own words: the last lines it logged.
	aws logs get-log-events --region "$AWS_REGION" --log-group-name "$LOG_GROUP" \
		--log-stream-name "migrate/migrate/${task##*/}" --limit 30 --query 'events[].message' --output text >&2 || true
	die "migrations failed; the service keeps the old release"
}

# verify waits for the service's deployment of TASK_DEFINITION. ECS's
# circuit breaker rolls a failing deployment back to the last one that
# worked, after which the service is stable again on the old release: the
# provider's wait counts that as success, so this looks at the deployment.
verify() {
	need AWS_REGION CLUSTER SERVICE TASK_DEFINITION TIMEOUT
	local deadline=$((SECONDS + TIMEOUT)) desc state=""
	while ((SECONDS < deadline)); do
		desc=$(aws ecs describe-services --region "$AWS_REGION" --cluster "$CLUSTER" --services "$SERVICE" \
			--query 'services[0].deployments[].{td: taskDefinition, state: rolloutState, reason: rolloutStateReason, status: status}' --output json)
		state=$(jq -r --arg td "$TASK_DEFINITION" 'map(select(.td == $td)) | first | .state // "GONE"' <<<"$desc")
		case "$state" in
		COMPLETED)
			echo "ecs-release: the service runs $TASK_DEFINITION"
			return 0
			;;
		FAILED | GONE)
			die "ECS rolled the deployment of $TASK_DEFINITION back: $(jq -r --arg td "$TASK_DEFINITION" 'map(select(.td == $td)) | first | .reason // "the deployment is gone"' <<<"$desc"). The old release keeps serving."
			;;
		esac
		sleep "${POLL:-10}"
	done
	die "the deployment of $TASK_DEFINITION did not complete within ${TIMEOUT}s (last state $state)"
}

case "${1:-${STEP:-}}" in
migrate) migrate ;;
verify) verify ;;
*) die "usage: ecs-release.sh migrate|verify" ;;
esac
