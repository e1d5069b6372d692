package blogstack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The host scripts' CloudWatch calls (host/cloudwatch.sh, host/monitor),
// against the fakes of host_test.go.

// logEvents returns the JSON records the scripts wrote to a stream of the
// host's log group, in order.
func logEvents(t *testing.T, calls []string, stream string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, c := range matching(calls, "aws logs put-log-events ") {
		if !strings.Contains(c, " --region eu-west-1 --log-group-name blog-prod-host --log-stream-name "+stream+" ") {
			continue
		}
		_, arg, _ := strings.Cut(c, " --log-events ")
		var events []struct {
			Timestamp int64
			Message   string
		}
		if err := json.Unmarshal([]byte(arg), &events); err != nil || len(events) != 1 || events[0].Timestamp < 1e12 {
			t.Fatalf("log events %q: %v", arg, err)
		}
		var record map[string]any
		if err := json.Unmarshal([]byte(events[0].Message), &record); err != nil {
			t.Fatalf("record %q is not JSON: %v", events[0].Message, err)
		}
		out = append(out, record)
	}
	return out
}

func metric(name, value, unit string) string {
	return "aws cloudwatch put-metric-data --region eu-west-1 --namespace blog/prod --metric-name " + name + " --value " + value + " --unit " + unit
}

func TestDeployRecordsEveryDeployInTheLogGroup(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	out, ok := h.run("deploy", []string{"BLOG_DEPLOY_ID=12345-1"}, "v1")
	mustOK(t, out, ok)
	calls := h.calls()
	records := logEvents(t, calls, "deploys")
	if len(records) != 1 {
		t.Fatalf("deploy records %v, want one", records)
	}
	r := records[0]
	if r["event"] != "deploy" || r["tag"] != "v1" || r["result"] != "succeeded" || r["deployId"] != "12345-1" || r["reason"] != "" {
		t.Errorf("record %v", r)
	}
	if _, ok := r["seconds"].(float64); !ok || r["started"] == "" || r["commit"] == nil || r["host"] == "" {
		t.Errorf("record lacks when, how long, what or where: %v", r)
	}
	if len(matching(calls, metric("DeployFailed", "0", "Count"))) != 1 || len(matching(calls, "--metric-name DeploySeconds")) != 1 {
		t.Errorf("deploy metrics: %v", matching(calls, "cloudwatch"))
	}
	// The output is kept for the agent too.
	if log := h.read("var/log/blog/deploy.log"); !strings.Contains(log, "deploy: v1 is live") {
		t.Errorf("deploy.log:\n%s", log)
	}

	// A failed deploy is a record with its reason and a DeployFailed of 1.
	out, ok = h.run("deploy", []string{"FAKE_UNHEALTHY_TAGS=v2"}, "v2")
	mustFail(t, out, ok, "keeps serving")
	calls = h.calls()
	records = logEvents(t, calls, "deploys")
	if len(records) != 1 || records[0]["result"] != "failed" || records[0]["tag"] != "v2" ||
		!strings.Contains(records[0]["reason"].(string), "keeps serving") || records[0]["deployId"] != "by hand" {
		t.Errorf("failed deploy's record %v", records)
	}
	if len(matching(calls, metric("DeployFailed", "1", "Count"))) != 1 {
		t.Errorf("no DeployFailed=1: %v", matching(calls, "cloudwatch"))
	}
}

func TestDeployGoesOnWhenCloudWatchFails(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	out, ok := h.run("deploy", []string{"FAKE_FAIL_CLOUDWATCH=1"}, "v1")
	mustOK(t, out, ok)
	if !strings.Contains(out, "WARNING: could not report DeployFailed=0 to CloudWatch") || !strings.Contains(out, "WARNING: could not write to the log group blog-prod-host") {
		t.Errorf("no warning about CloudWatch:\n%s", out)
	}
	if h.read("var/lib/blog/last-good-tag") != "v1\n" {
		t.Error("the deploy was not recorded as good")
	}
}

func TestBackupReportsEachSuccess(t *testing.T) {
	h := deployed(t)
	out, ok := h.run("backup", nil)
	mustOK(t, out, ok)
	calls := h.calls()
	if len(matching(calls, metric("BackupSucceeded", "1", "Count"))) != 1 {
		t.Errorf("backup did not report its success: %v", matching(calls, "aws "))
	}
	records := logEvents(t, calls, "backups")
	if len(records) != 1 || records[0]["result"] != "succeeded" || !strings.HasPrefix(records[0]["object"].(string), "s3://"+bucket+"/backups/prod/") || records[0]["bytes"].(float64) <= 0 {
		t.Errorf("backup records %v", records)
	}
	inOrder(t, calls, "aws s3 cp", "--metric-name BackupSucceeded")
	if log := h.read("var/log/blog/backup.log"); !strings.Contains(log, "backup: backed up to s3://") {
		t.Errorf("backup.log:\n%s", log)
	}

	// A failed backup reports nothing: the alarm notices the silence.
	out, ok = h.run("backup", []string{"FAKE_FAIL_UPLOAD=1"})
	mustFail(t, out, ok, "upload")
	if m := matching(h.calls(), "cloudwatch"); len(m) != 0 {
		t.Errorf("a failed backup reported %v", m)
	}
}

// fakeAgent installs a CloudWatch agent whose ctl logs its calls; status
// says running once fetch-config has run.
func (h *host) fakeAgent() {
	h.t.Helper()
	h.write("opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl", `#!/usr/bin/env bash
echo "agent-ctl $*" >>"$FAKE_DIR/calls.log"
case " $* " in
  *" -a status "*) if [[ -f $FAKE_DIR/agent-running ]]; then echo '{"status": "running"}'; else echo '{"status": "stopped"}'; fi ;;
  *" fetch-config "*) touch "$FAKE_DIR/agent-running" ;;
esac
`)
	if err := os.Chmod(h.path("opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"), 0o755); err != nil {
		h.t.Fatal(err)
	}
}

func TestMonitorConfiguresTheAgentAfterEachDeploy(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	// Without the agent (a machine that is not the EC2 host) it only says so.
	h.deployOK("v1")
	if out, ok := h.run("monitor", nil); !ok || !strings.Contains(out, "no CloudWatch agent") {
		t.Fatalf("monitor without an agent: %v\n%s", ok, out)
	}
	h.calls()

	h.fakeAgent()
	h.deployOK("v2")
	calls := h.calls()
	cfgPath := h.path("opt/aws/amazon-cloudwatch-agent/etc/blog.json")
	inOrder(t, calls, "docker compose", "agent-ctl -a fetch-config -m ec2 -s -c file:"+cfgPath)
	var cfg struct {
		Metrics struct {
			Namespace        string
			MetricsCollected map[string]map[string]any `json:"metrics_collected"`
		}
		Logs struct {
			LogsCollected struct {
				Files struct {
					CollectList []struct {
						F string `json:"file_path"`
						G string `json:"log_group_name"`
						S string `json:"log_stream_name"`
					} `json:"collect_list"`
				}
				Prometheus struct {
					ConfigPath   string `json:"prometheus_config_path"`
					LogGroupName string `json:"log_group_name"`
					EMF          struct {
						Namespace string `json:"metric_namespace"`
					} `json:"emf_processor"`
				}
			} `json:"logs_collected"`
		}
	}
	if err := json.Unmarshal([]byte(h.read("opt/aws/amazon-cloudwatch-agent/etc/blog.json")), &cfg); err != nil {
		t.Fatalf("agent config is not JSON: %v", err)
	}
	if cfg.Metrics.Namespace != "blog/prod" || cfg.Logs.LogsCollected.Prometheus.EMF.Namespace != "blog/prod" {
		t.Errorf("namespaces %q, %q", cfg.Metrics.Namespace, cfg.Logs.LogsCollected.Prometheus.EMF.Namespace)
	}
	disks := cfg.Metrics.MetricsCollected["disk"]["resources"]
	if !strings.Contains(toString(disks), `"`+h.path("srv/blog")+`"`) {
		t.Errorf("disk metrics of %v, want the data volume", disks)
	}
	var streams []string
	for _, f := range cfg.Logs.LogsCollected.Files.CollectList {
		if f.G != "blog-prod-host" || filepath.Dir(f.F) != h.path("var/log/blog") {
			t.Errorf("ships %s to %s", f.F, f.G)
		}
		streams = append(streams, f.S)
	}
	if strings.Join(streams, " ") != "{instance_id}/deploy {instance_id}/backup {instance_id}/bootstrap" {
		t.Errorf("log streams %v", streams)
	}
	// The scrape target is the container the proxy sends traffic to.
	if got := h.read("var/lib/blog/metrics-targets.json"); !strings.Contains(got, `"172.16.30.12:9090"`) {
		t.Errorf("targets %s, want blog-app-2's edge address", got)
	}
	if p := h.read("opt/aws/amazon-cloudwatch-agent/etc/blog-prometheus.yaml"); !strings.Contains(p, h.path("var/lib/blog/metrics-targets.json")) {
		t.Errorf("prometheus config:\n%s", p)
	}

	// The next deploy changes only the target: the agent keeps running.
	h.deployOK("v3")
	calls = h.calls()
	if m := matching(calls, "fetch-config"); len(m) != 0 {
		t.Errorf("agent restarted for an unchanged config: %v", m)
	}
	if got := h.read("var/lib/blog/metrics-targets.json"); !strings.Contains(got, `"172.16.30.13:9090"`) {
		t.Errorf("targets %s after the next cut-over, want blog-app-3's", got)
	}
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
