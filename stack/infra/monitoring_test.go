package infra_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/blogstack/blogstack/stack/infra"
)

func TestLogGroupsKeptAndEncrypted(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		days := 30.0
		if stack != "prod" {
			days = 3
		}
		var names []string
		key := "arn:aws:kms:eu-west-1:" + account + ":key/" + logsKeyID
		for _, g := range ofType(rs, "aws:cloudwatch/logGroup:LogGroup") {
			names = append(names, g.Inputs["name"].(string))
			if g.Inputs["retentionInDays"] != days {
				t.Errorf("%s keeps logs %v days, want %v", g.Name, g.Inputs["retentionInDays"], days)
			}
			// The one-time setup's key: no pipeline role manages keys.
			if k, _ := g.Inputs["kmsKeyId"].(string); k != key {
				t.Errorf("%s is encrypted with %q, want the logs key %s", g.Name, k, key)
			}
			if g.Inputs["tags"].(map[string]any)["blog:stack"] != stack {
				t.Errorf("%s tags %v", g.Name, g.Inputs["tags"])
			}
		}
		sort.Strings(names)
		p := "blog-" + stack
		if want := []string{p + "-app", p + "-db", p + "-host", p + "-proxy"}; !slices.Equal(names, want) {
			t.Errorf("log groups %v, want %v", names, want)
		}
		if ks := ofType(rs, "aws:kms/key:Key"); len(ks) != 0 {
			t.Errorf("the stack declares %d KMS keys; the one-time setup makes the only one", len(ks))
		}
	})
}

// alarm is one alarm by its name's suffix after the stack's prefix.
func alarms(t *testing.T, stack string, rs []res) map[string]res {
	t.Helper()
	out := map[string]res{}
	for _, a := range ofType(rs, "aws:cloudwatch/metricAlarm:MetricAlarm") {
		out[strings.TrimPrefix(a.Inputs["name"].(string), "blog-"+stack+"-")] = a
	}
	return out
}

func TestAlarmsWatchTheRightMetricsAndReachSomeone(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		got := alarms(t, stack, rs)
		ns := "blog/" + stack
		want := map[string]struct {
			namespace, metric, stat, op string
			threshold                   float64
			missing                     string
		}{
			"system-check":   {"AWS/EC2", "StatusCheckFailed_System", "Maximum", "GreaterThanOrEqualToThreshold", 1, "missing"},
			"instance-check": {"AWS/EC2", "StatusCheckFailed_Instance", "Maximum", "GreaterThanOrEqualToThreshold", 1, "missing"},
			"readyz":         {"AWS/Route53", "HealthCheckStatus", "Minimum", "LessThanThreshold", 1, "breaching"},
			"5xx-rate":       {"", "", "", "GreaterThanThreshold", 5, "notBreaching"},
			"latency-p99":    {ns, "Latency", "p99", "GreaterThanThreshold", 2, "notBreaching"},
			"data-volume":    {ns, "disk_used_percent", "Maximum", "GreaterThanThreshold", 80, "breaching"},
			"memory":         {ns, "mem_used_percent", "Average", "GreaterThanThreshold", 90, "missing"},
			"backup":         {ns, "BackupSucceeded", "Sum", "LessThanThreshold", 1, "breaching"},
			"deploy-failed":  {ns, "DeployFailed", "Maximum", "GreaterThanOrEqualToThreshold", 1, "notBreaching"},
		}
		if stack != "prod" {
			// Previews get no health check (see newReadyzCheck).
			delete(want, "readyz")
		}
		if len(got) != len(want) || len(infra.AlarmNames)+1 != len(alarms(t, "prod", mustRun(t, "prod", prodConfig()))) {
			t.Errorf("alarms %v, want the %d of the issue", keysOf(got), len(want))
		}
		for name, w := range want {
			a, ok := got[name]
			if !ok {
				t.Errorf("no %s alarm", name)
				continue
			}
			in := a.Inputs
			stat := in["statistic"]
			if stat == nil {
				stat = in["extendedStatistic"]
			}
			if w.metric != "" && (in["namespace"] != w.namespace || in["metricName"] != w.metric || stat != w.stat) {
				t.Errorf("%s watches %v %v %v, want %s %s %s", name, in["namespace"], in["metricName"], stat, w.namespace, w.metric, w.stat)
			}
			if in["comparisonOperator"] != w.op || in["threshold"] != w.threshold {
				t.Errorf("%s: %v %v, want %s %v", name, in["comparisonOperator"], in["threshold"], w.op, w.threshold)
			}
			if in["treatMissingData"] != w.missing {
				t.Errorf("%s treats missing data as %v, want %s (set on purpose)", name, in["treatMissingData"], w.missing)
			}
			actions, _ := in["alarmActions"].([]any)
			topic := false
			for _, act := range actions {
				topic = topic || strings.Contains(fmt.Sprint(act), "alerts")
			}
			if !topic {
				t.Errorf("%s notifies nobody: actions %v", name, actions)
			}
		}

		// EC2 recovers the host onto new hardware only for AWS's own
		// failures; the host's own failures get a reboot.
		region := "eu-west-1"
		if acts := fmt.Sprint(got["system-check"].Inputs["alarmActions"]); !strings.Contains(acts, "arn:aws:automate:"+region+":ec2:recover") {
			t.Errorf("system check alarm does not recover the host: %s", acts)
		}
		if acts := fmt.Sprint(got["instance-check"].Inputs["alarmActions"]); strings.Contains(acts, "recover") || !strings.Contains(acts, ":ec2:reboot") {
			t.Errorf("instance check alarm actions %s, want reboot and no recover", acts)
		}
		if get(got["system-check"].Inputs, "dimensions", "InstanceId") != "i-0123456789abcdef0" {
			t.Errorf("system check watches %v", got["system-check"].Inputs["dimensions"])
		}
		if get(got["data-volume"].Inputs, "dimensions", "path") != "/srv/blog" {
			t.Errorf("data volume alarm watches %v", got["data-volume"].Inputs["dimensions"])
		}
		// 26 hours without a successful backup, every hour of it.
		b := got["backup"].Inputs
		if b["period"].(float64)*b["evaluationPeriods"].(float64) != 26*3600 || b["datapointsToAlarm"] != b["evaluationPeriods"] {
			t.Errorf("backup alarm window: period %v x %v (%v to alarm)", b["period"], b["evaluationPeriods"], b["datapointsToAlarm"])
		}
		// The 5xx rate is errors over requests of the proxy's log.
		var exprs []string
		for _, q := range got["5xx-rate"].Inputs["metricQueries"].([]any) {
			q := q.(map[string]any)
			if e, ok := q["expression"].(string); ok {
				exprs = append(exprs, e)
			} else if m := q["metric"].(map[string]any); m["namespace"] != ns {
				t.Errorf("5xx rate reads %v", m)
			}
		}
		if len(exprs) != 1 || !strings.Contains(exprs[0], "errors / requests") {
			t.Errorf("5xx rate expression %v", exprs)
		}

		// The readyz alarm lives where Route 53 publishes, on the check of
		// this stack's domain; previews have neither.
		checks := ofType(rs, "aws:route53/healthCheck:HealthCheck")
		if stack != "prod" {
			if len(checks) != 0 {
				t.Errorf("a preview declares a health check")
			}
			return
		}
		hc := one(t, rs, "aws:route53/healthCheck:HealthCheck")
		if hc.Inputs["fqdn"] != "blog.example.com" || hc.Inputs["resourcePath"] != "/readyz" || hc.Inputs["type"] != "HTTPS" {
			t.Errorf("health check %v", hc.Inputs)
		}
		var east string
		for _, p := range ofType(rs, "pulumi:providers:aws") {
			if p.Inputs["region"] == "us-east-1" {
				east = p.Name
			}
		}
		if east == "" {
			t.Errorf("no us-east-1 provider for the readyz alarm")
		}
		if get(got["readyz"].Inputs, "dimensions", "HealthCheckId") != hc.Name+"-id" {
			t.Errorf("readyz alarm watches %v, want the check %s", got["readyz"].Inputs["dimensions"], hc.Name)
		}
	})
}

func keysOf(m map[string]res) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestAlertsEmailProdOnly(t *testing.T) {
	for _, s := range stacks {
		t.Run(s.name, func(t *testing.T) {
			c := map[string]string{}
			for k, v := range s.config {
				c[k] = v
			}
			c["blogstack:alertEmail"] = "oncall@example.com"
			rs := mustRun(t, s.name, c)
			topics := ofType(rs, "aws:sns/topic:Topic")
			if want := map[string]int{"prod": 2, "pr-12": 1}[s.name]; len(topics) != want {
				t.Errorf("%d topics, want %d (prod's readyz alarm has one in us-east-1)", len(topics), want)
			}
			for _, topic := range topics {
				// The key's replica in us-east-1 has the same id.
				if k, _ := topic.Inputs["kmsMasterKeyId"].(string); !strings.HasSuffix(k, ":key/"+logsKeyID) {
					t.Errorf("%s is encrypted with %q, want the logs key", topic.Name, k)
				}
			}
			subs := ofType(rs, "aws:sns/topicSubscription:TopicSubscription")
			if s.name != "prod" {
				if len(subs) != 0 {
					t.Errorf("a preview pages someone: %v", subs)
				}
				return
			}
			if len(subs) != len(topics) {
				t.Fatalf("%d subscriptions for %d topics", len(subs), len(topics))
			}
			for _, sub := range subs {
				if sub.Inputs["protocol"] != "email" || sub.Inputs["endpoint"] != "oncall@example.com" {
					t.Errorf("subscription %v", sub.Inputs)
				}
			}
		})
	}
	c := prodConfig()
	c["blogstack:alertEmail"] = "nobody"
	if _, err := run(t, "prod", c, "ami-1"); err == nil || !strings.Contains(err.Error(), "blogstack:alertEmail") {
		t.Errorf("bad alert email: %v", err)
	}
}

func TestHostWritesOnlyItsOwnLogsAndMetrics(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		host := statements(t, named(t, rs, "aws:iam/rolePolicy:RolePolicy", "-host-role-policy").Inputs["policy"].(string))
		var logs, metrics []infra.Statement
		for _, s := range host {
			for _, a := range s.Action {
				switch {
				case strings.HasPrefix(a, "logs:"):
					logs = append(logs, s)
				case strings.HasPrefix(a, "cloudwatch:"):
					metrics = append(metrics, s)
				}
			}
		}
		if len(logs) == 0 || len(metrics) != 1 {
			t.Fatalf("host policy: %d log and %d metric statements", len(logs), len(metrics))
		}
		for _, s := range logs {
			for _, a := range s.Action {
				if !slices.Contains([]string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}, a) {
					t.Errorf("host may %s", a)
				}
			}
			for _, r := range s.Resource {
				if !strings.HasPrefix(r, "arn:aws:logs:eu-west-1:"+account+":log-group:blog-"+stack+"-") {
					t.Errorf("host may write log group %s", r)
				}
			}
		}
		m := metrics[0]
		if !slices.Equal(m.Action, []string{"cloudwatch:PutMetricData"}) || m.Condition["StringEquals"]["cloudwatch:namespace"] != "blog/"+stack {
			t.Errorf("metrics statement %+v", m)
		}
	})
}

func TestDashboardShowsTheAlarmsAndNumbers(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		d := one(t, rs, "aws:cloudwatch/dashboard:Dashboard")
		if d.Inputs["dashboardName"] != "blog-"+stack {
			t.Errorf("dashboard %v", d.Inputs["dashboardName"])
		}
		var body struct{ Widgets []map[string]any }
		if err := json.Unmarshal([]byte(d.Inputs["dashboardBody"].(string)), &body); err != nil {
			t.Fatal(err)
		}
		all := d.Inputs["dashboardBody"].(string)
		if strings.Contains(d.Inputs["dashboardBody"].(string), "HealthCheckStatus") != (stack == "prod") {
			t.Errorf("the /readyz widget belongs on full stacks' dashboards only")
		}
		for _, want := range []string{"Latency", "Errors5xx", "StatusCheckFailed_System", "disk_used_percent", "mem_used_percent", "BackupSucceeded", "DeployFailed", "i-0123456789abcdef0"} {
			if !strings.Contains(all, want) {
				t.Errorf("dashboard lacks %s", want)
			}
		}
		got := alarms(t, stack, rs)
		for name := range got {
			if !strings.Contains(all, ":alarm:blog-"+stack+"-"+name+`"`) {
				t.Errorf("dashboard's alarm widget lacks %s", name)
			}
		}
	})
}

// The request metrics come from Caddy's JSON access log, whose lines carry
// status and duration (seconds) at the top level.
func TestProxyLogBecomesRequestMetrics(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		got := map[string]string{}
		for _, f := range ofType(rs, "aws:cloudwatch/logMetricFilter:LogMetricFilter") {
			tr := f.Inputs["metricTransformation"].(map[string]any)
			if f.Inputs["logGroupName"] != "blog-"+stack+"-proxy" || tr["namespace"] != "blog/"+stack {
				t.Errorf("%s reads %v into %v", f.Name, f.Inputs["logGroupName"], tr["namespace"])
			}
			got[tr["name"].(string)] = f.Inputs["pattern"].(string) + " -> " + tr["value"].(string)
		}
		want := map[string]string{
			"Requests":  "{ $.status > 0 } -> 1",
			"Errors5xx": "{ $.status >= 500 } -> 1",
			"Latency":   "{ $.status > 0 } -> $.duration",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("metric filters %v, want %v", got, want)
		}
	})
}
