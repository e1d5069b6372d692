# cloudwatch.sh: what host/deploy and host/backup tell CloudWatch. Sourced,
# not run. The names come from /etc/blog/stack.env (written by each deploy
# from the stack): BLOG_METRICS_NAMESPACE (blog/<stack>) and
# BLOG_LOG_GROUP_PREFIX (blog-<stack>; the host's group is <prefix>-host).
#
# Reporting never fails the caller: a deploy or a backup that worked is not
# undone because CloudWatch could not be told. The alarms notice silence
# (a missing backup report breaches), so nothing is lost by going on.

BLOG_LOG_DIR=${BLOG_LOG_DIR:-/var/log/blog}

# keep_output NAME appends everything the script prints from here on to
# $BLOG_LOG_DIR/NAME.log (stdout and stderr stay apart for the caller), which
# the CloudWatch agent ships to the host's log group (host/monitor). Without
# a writable log directory it changes nothing.
keep_output() {
  local file=$BLOG_LOG_DIR/$1.log
  { install -d -m 0755 "$BLOG_LOG_DIR" && : >>"$file"; } 2>/dev/null || return 0
  exec > >(tee -a "$file") 2> >(tee -a "$file" >&2)
}

# json_string prints $1 as a JSON string.
json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

# put_metric NAME VALUE UNIT sends one datapoint to the stack's namespace.
put_metric() {
  [[ -n ${BLOG_METRICS_NAMESPACE:-} ]] || return 0
  aws cloudwatch put-metric-data --region "$AWS_REGION" --namespace "$BLOG_METRICS_NAMESPACE" \
    --metric-name "$1" --value "$2" --unit "$3" >/dev/null ||
    echo "${0##*/}: WARNING: could not report $1=$2 to CloudWatch (the alarms will see no data)" >&2
}

# put_record STREAM JSON writes one event, a JSON object, to the host's log
# group, in STREAM (created on first use): the deploy and backup history an
# owner reads in the console or with Logs Insights, without the host.
put_record() {
  [[ -n ${BLOG_LOG_GROUP_PREFIX:-} ]] || return 0
  local group=$BLOG_LOG_GROUP_PREFIX-host now
  now=$(($(date +%s) * 1000))
  aws logs create-log-stream --region "$AWS_REGION" --log-group-name "$group" --log-stream-name "$1" >/dev/null 2>&1 || true
  aws logs put-log-events --region "$AWS_REGION" --log-group-name "$group" --log-stream-name "$1" \
    --log-events "[{\"timestamp\":$now,\"message\":$(json_string "$2")}]" >/dev/null ||
    echo "${0##*/}: WARNING: could not write to the log group $group: $2" >&2
}

# report_deploy, host/deploy's EXIT trap, records how the deploy of
# $deploy_tag ended: one JSON line in the host log group's "deploys" stream
# (tag, commit, deploy id, host, result, reason, start, seconds) and the
# DeployFailed metric (1 or 0), which the deploy-failed alarm watches. The
# commit is the image's revision label (the Dockerfile sets it); the deploy
# id names the workflow run, and so who asked.
report_deploy() {
  local status=$? result=succeeded failed=0 commit seconds record
  if ((status != 0)); then result=failed failed=1; fi
  seconds=$(($(date +%s) - deploy_started))
  commit=$(docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$BLOG_REGISTRY:$deploy_tag" 2>/dev/null) || commit=""
  record="{\"event\":\"deploy\",\"tag\":$(json_string "$deploy_tag"),\"commit\":$(json_string "${commit:-unknown}")"
  record+=",\"deployId\":$(json_string "${BLOG_DEPLOY_ID:-by hand}"),\"host\":$(json_string "$(hostname)")"
  record+=",\"result\":\"$result\",\"reason\":$(json_string "${failure_reason:-}")"
  record+=",\"started\":\"$(date -u -d "@$deploy_started" +%Y-%m-%dT%H:%M:%SZ)\",\"seconds\":$seconds}"
  put_record deploys "$record"
  put_metric DeployFailed "$failed" Count
  put_metric DeploySeconds "$seconds" Seconds
}
