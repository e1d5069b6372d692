package infra_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmespath/go-jmespath"
)

// The fake aws CLI: this test binary, started through a script named aws on
// PATH. It answers each call with the next whole API response the test
// queued for that command (shaped as the ECS and CloudWatch Logs API
// references document them) and applies the call's --query with a real
// JMESPath engine, so ecs-release.sh's queries are checked against the
// API's shapes, not against answers made to fit them.
func TestMain(m *testing.M) {
	if dir := os.Getenv("FAKE_AWS_DIR"); dir != "" {
		os.Exit(fakeAWS(dir, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeAWS(dir string, args []string) int {
	log, _ := os.OpenFile(filepath.Join(dir, "calls"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	fmt.Fprintln(log, strings.Join(args, " "))
	log.Close()
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "fake aws: no command")
		return 2
	}
	cmd := args[0] + "-" + args[1]
	var query string
	for i, a := range args {
		if a == "--query" && i+1 < len(args) {
			query = args[i+1]
		}
	}
	// Answers are files cmd.1, cmd.2, ...; the last one repeats.
	n := 1
	if b, err := os.ReadFile(filepath.Join(dir, cmd+".n")); err == nil {
		fmt.Sscan(string(b), &n)
	}
	answer, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s.%d", cmd, n)))
	if err == nil {
		os.WriteFile(filepath.Join(dir, cmd+".n"), []byte(fmt.Sprint(n+1)), 0o600)
	} else if answer, err = os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s.%d", cmd, n-1))); err != nil {
		fmt.Fprintf(os.Stderr, "fake aws: nothing queued for %s\n", cmd)
		return 254
	}
	var v any
	if err := json.Unmarshal(answer, &v); err != nil {
		fmt.Fprintf(os.Stderr, "fake aws: %s: %v\n", cmd, err)
		return 255
	}
	if query != "" {
		if v, err = jmespath.Search(query, v); err != nil {
			fmt.Fprintf(os.Stderr, "fake aws: bad --query %q: %v\n", query, err)
			return 255
		}
	}
	if text := strings.Contains(strings.Join(args, " "), "--output text"); text {
		if list, ok := v.([]any); ok {
			for _, x := range list {
				fmt.Println(x)
			}
			return 0
		}
	}
	out, _ := json.Marshal(v)
	fmt.Println(string(out))
	return 0
}

const (
	testTask    = "arn:aws:ecs:eu-west-1:123456789012:task/blog-prod-cluster/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	testTD      = "arn:aws:ecs:eu-west-1:123456789012:task-definition/blog-prod-migrate:8"
	testAppTD   = "arn:aws:ecs:eu-west-1:123456789012:task-definition/blog-prod-app:8"
	testOldTD   = "arn:aws:ecs:eu-west-1:123456789012:task-definition/blog-prod-app:7"
	runTaskOK   = `{"tasks": [{"taskArn": "` + testTask + `", "lastStatus": "PROVISIONING", "containers": [{"name": "migrate", "lastStatus": "PENDING"}]}], "failures": []}`
	taskRunning = `{"tasks": [{"taskArn": "` + testTask + `", "lastStatus": "RUNNING", "containers": [{"name": "migrate", "lastStatus": "RUNNING"}]}], "failures": []}`
)

func taskStopped(exit int, reason string) string {
	return fmt.Sprintf(`{"tasks": [{"taskArn": %q, "lastStatus": "STOPPED", "stopCode": "EssentialContainerExited", "stoppedReason": %q,
		"containers": [{"name": "migrate", "lastStatus": "STOPPED", "exitCode": %d}]}], "failures": []}`, testTask, reason, exit)
}

func deployments(ds ...string) string {
	return `{"services": [{"serviceName": "blog-prod-service", "deployments": [` + strings.Join(ds, ",") + `]}], "failures": []}`
}

func deployment(td, state, reason string) string {
	return fmt.Sprintf(`{"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": %q, "rolloutState": %q, "rolloutStateReason": %q}`, td, state, reason)
}

// runRelease runs ecs-release.sh STEP with the fake aws answering from
// answers (command -> its answers in turn) and returns the output, the
// calls made and whether it succeeded.
func runRelease(t *testing.T, step string, env map[string]string, answers map[string][]string) (string, []string, bool) {
	t.Helper()
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; CI must install it", tool)
			}
			t.Skipf("%s is not installed; CI fails here instead", tool)
		}
	}
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("#!/bin/sh\nFAKE_AWS_DIR=%q exec %q \"$@\"\n", dir, self)
	if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for cmd, list := range answers {
		for i, a := range list {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s.%d", cmd, i+1)), []byte(a), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := exec.Command("bash", "ecs-release.sh", step)
	c.Env = []string{"PATH=" + dir + ":" + os.Getenv("PATH"), "POLL=0", "AWS_REGION=eu-west-1", "CLUSTER=blog-prod-cluster", "TIMEOUT=30"}
	for k, v := range env {
		c.Env = append(c.Env, k+"="+v)
	}
	out, err := c.CombinedOutput()
	calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
	return string(out), strings.Split(strings.TrimSpace(string(calls)), "\n"), err == nil
}

var migrateEnv = map[string]string{
	"TASK_DEFINITION": testTD, "SUBNETS": "subnet-0aaaaaaaa,subnet-0bbbbbbbb", "SECURITY_GROUP": "sg-0123",
	"LOG_GROUP": "blog-prod-ecs",
}

func TestECSReleaseMigrate(t *testing.T) {
	logs := `{"events": [{"timestamp": 1, "message": "{\"level\":\"ERROR\",\"msg\":\"migration 0042 failed: relation exists\"}"}], "nextForwardToken": "f/1"}`
	cases := []struct {
		name    string
		answers map[string][]string
		env     map[string]string
		ok      bool
		want    []string // in the output
		calls   []string // among the calls
	}{
		{
			name:    "applied",
			answers: map[string][]string{"ecs-run-task": {runTaskOK}, "ecs-describe-tasks": {taskRunning, taskRunning, taskStopped(0, "Essential container in task exited")}},
			ok:      true,
			want:    []string{"migrate task " + testTask + " started", "migrations applied"},
			calls: []string{"ecs run-task --region eu-west-1 --cluster blog-prod-cluster --task-definition " + testTD + " --launch-type FARGATE --count 1 --started-by blogstack-migrate " +
				"--network-configuration awsvpcConfiguration={subnets=[subnet-0aaaaaaaa,subnet-0bbbbbbbb],securityGroups=[sg-0123],assignPublicIp=ENABLED}"},
		},
		{
			name: "failed",
			answers: map[string][]string{"ecs-run-task": {runTaskOK}, "ecs-describe-tasks": {taskStopped(1, "Essential container in task exited")},
				"logs-get-log-events": {logs}},
			want:  []string{"exit code 1", "Essential container in task exited", "migration 0042 failed: relation exists", "the service keeps the old release"},
			calls: []string{"logs get-log-events --region eu-west-1 --log-group-name blog-prod-ecs --log-stream-name migrate/migrate/0f1e2d3c4b5a69788796a5b4c3d2e1f0"},
		},
		{
			name:    "never started",
			answers: map[string][]string{"ecs-run-task": {`{"tasks": [], "failures": [{"arn": "arn:aws:ecs:eu-west-1:123456789012:container-instance/x", "reason": "RESOURCE:MEMORY"}]}`}},
			want:    []string{"ECS did not start the migrate task", "RESOURCE:MEMORY"},
		},
		{
			name:    "no container exit code",
			answers: map[string][]string{"ecs-run-task": {runTaskOK}, "ecs-describe-tasks": {`{"tasks": [{"taskArn": "` + testTask + `", "lastStatus": "STOPPED", "stopCode": "TaskFailedToStart", "stoppedReason": "CannotPullContainerError: pull access denied", "containers": [{"name": "migrate", "lastStatus": "STOPPED", "reason": "CannotPullContainerError"}]}]}`}, "logs-get-log-events": {`{"events": []}`}},
			want:    []string{"exit code none", "CannotPullContainerError: pull access denied", "migrations failed"},
		},
		{
			name:    "timed out",
			answers: map[string][]string{"ecs-run-task": {runTaskOK}, "ecs-describe-tasks": {taskRunning}, "ecs-stop-task": {`{"task": {"taskArn": "` + testTask + `", "lastStatus": "RUNNING"}}`}},
			env:     map[string]string{"TIMEOUT": "1", "POLL": "0.2"},
			want:    []string{"did not finish within 1s; stopped it"},
			calls:   []string{"ecs stop-task --region eu-west-1 --cluster blog-prod-cluster --task " + testTask + " --reason migration timed out"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range migrateEnv {
				env[k] = v
			}
			for k, v := range c.env {
				env[k] = v
			}
			out, calls, ok := runRelease(t, "migrate", env, c.answers)
			if ok != c.ok {
				t.Errorf("succeeded %v, want %v:\n%s", ok, c.ok, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.calls {
				if !containsLine(calls, w) {
					t.Errorf("no call %q among\n%s", w, strings.Join(calls, "\n"))
				}
			}
		})
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, want) {
			return true
		}
	}
	return false
}

func TestECSReleaseVerify(t *testing.T) {
	env := map[string]string{"SERVICE": "blog-prod-service", "TASK_DEFINITION": testAppTD}
	cases := []struct {
		name    string
		answers []string
		ok      bool
		want    string
	}{
		{"completed after a while", []string{
			deployments(deployment(testAppTD, "IN_PROGRESS", "ECS deployment in progress."), deployment(testOldTD, "COMPLETED", "")),
			deployments(deployment(testAppTD, "COMPLETED", "ECS deployment completed.")),
		}, true, "the service runs " + testAppTD},
		{"circuit breaker", []string{
			deployments(deployment(testAppTD, "FAILED", "ECS deployment circuit breaker: tasks failed to start."), deployment(testOldTD, "IN_PROGRESS", "")),
		}, false, "tasks failed to start.. The old release keeps serving"},
		{"rolled back and gone", []string{
			deployments(deployment(testOldTD, "COMPLETED", "ECS deployment completed.")),
		}, false, "the deployment is gone"},
		{"never done", []string{
			deployments(deployment(testAppTD, "IN_PROGRESS", "")),
		}, false, "did not complete within"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			if !c.ok {
				e["TIMEOUT"], e["POLL"] = "1", "0.2"
			}
			out, _, ok := runRelease(t, "verify", e, map[string][]string{"ecs-describe-services": c.answers})
			if ok != c.ok || !strings.Contains(out, c.want) {
				t.Errorf("succeeded %v (want %v), output lacks %q:\n%s", ok, c.ok, c.want, out)
			}
		})
	}
}

func TestECSReleaseUsage(t *testing.T) {
	out, _, ok := runRelease(t, "", nil, nil)
	if ok || !strings.Contains(out, "usage: ecs-release.sh migrate|verify") {
		t.Errorf("no step: succeeded %v:\n%s", ok, out)
	}
	out, _, ok = runRelease(t, "migrate", map[string]string{"CLUSTER": ""}, nil)
	if ok || !strings.Contains(out, "CLUSTER is not set") {
		t.Errorf("no cluster: succeeded %v:\n%s", ok, out)
	}
}

func TestECSReleaseIsShellcheckClean(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("shellcheck is not installed; CI must install it (apt-get install -y shellcheck)")
		}
		t.Skip("shellcheck not installed; CI fails here instead")
	}
	if out, err := exec.Command(shellcheck, "ecs-release.sh").CombinedOutput(); err != nil {
		t.Errorf("shellcheck ecs-release.sh: %v\n%s", err, out)
	}
}
