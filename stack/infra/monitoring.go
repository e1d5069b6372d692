package infra

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// LogServices are the stack's log groups, one per service: the compose
// services app (with migrate), proxy and db log there through Docker's
// awslogs driver, and host gets the host's own deploy, backup and bootstrap
// output.
var LogServices = []string{"app", "proxy", "db", "host"}

// LogGroupName is the log group of one service of a stack: named like every
// other resource, so the host's and the pipeline roles' policies scope it by
// the stack's prefix.
func LogGroupName(prefix, service string) string { return prefix + "-" + service }

// MetricsNamespace is where a stack's own metrics go (the proxy's metric
// filters, the CloudWatch agent, the host scripts): one namespace per stack,
// which is what the host role's cloudwatch:PutMetricData is limited to.
func MetricsNamespace(stack string) string { return "blog/" + stack }

// LogRetentionDays is how long a stack's logs are kept: a month in full
// stacks, three days on previews, which are throwaway.
func LogRetentionDays(cfg Config) int {
	if cfg.Preview {
		return 3
	}
	return 30
}

// HealthCheckRegion is where Route 53 publishes its health checks' metrics,
// whatever the stack's region: the alarm on /readyz lives there.
const HealthCheckRegion = "us-east-1"

// The metrics host/deploy and host/backup report, and the ones the
// proxy's access log is turned into.
const (
	MetricBackupSucceeded = "BackupSucceeded"
	MetricDeployFailed    = "DeployFailed"
	MetricRequests        = "Requests"
	Metric5xx             = "Errors5xx"
	MetricLatency         = "Latency"
)

// Monitoring is what tells the owner about trouble: encrypted log groups,
// metrics from the proxy's access log, alarms to an SNS topic (with an email
// subscription in full stacks), a health check of /readyz from outside, and
// a dashboard.
type Monitoring struct {
	pulumi.ResourceState

	TopicArn pulumi.StringOutput
}

// MonitoringArgs connect monitoring to the host it watches.
type MonitoringArgs struct {
	Account, Partition string
	InstanceID         pulumi.StringOutput
}

// LogsKeyArn is the ARN of the account's logs-and-alerts KMS key in a
// region. The one-time setup creates it as a multi-Region key (README), so
// its id is the same in the stack's region and in us-east-1; the stack only
// uses it: a pipeline role that could create and tag keys could also claim
// and delete the state's key, which IAM cannot tell apart by name.
func LogsKeyArn(cfg Config, partition, account, region string) string {
	return fmt.Sprintf("arn:%s:kms:%s:%s:key/%s", partition, region, account, cfg.LogsKmsKeyID)
}

// NewMonitoring declares the stack's logs, alarms and dashboard.
func NewMonitoring(ctx *pulumi.Context, name string, cfg Config, args MonitoringArgs, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	m := &Monitoring{}
	if err := ctx.RegisterComponentResource("blogstack:index:Monitoring", name, m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)
	ns := MetricsNamespace(cfg.Stack)

	key := pulumi.String(LogsKeyArn(cfg, args.Partition, args.Account, cfg.Region))
	groups := map[string]*cloudwatch.LogGroup{}
	for _, svc := range LogServices {
		g, err := cloudwatch.NewLogGroup(ctx, name+"-logs-"+svc, &cloudwatch.LogGroupArgs{
			Name:            pulumi.String(LogGroupName(cfg.Prefix, svc)),
			RetentionInDays: pulumi.Int(LogRetentionDays(cfg)),
			KmsKeyId:        key,
			Tags:            cfg.Tags(LogGroupName(cfg.Prefix, svc)),
		}, parent)
		if err != nil {
			return nil, err
		}
		groups[svc] = g
	}

	// Caddy's JSON access log (one line per request, host/Caddyfile) is
	// what readers saw, including the 502s of an app that is down: the
	// request, error and latency metrics come from it.
	filters := []struct{ metric, pattern, value, unit, def string }{
		{MetricRequests, `{ $.status > 0 }`, "1", "Count", "0"},
		{Metric5xx, `{ $.status >= 500 }`, "1", "Count", "0"},
		{MetricLatency, `{ $.status > 0 }`, "$.duration", "Seconds", ""},
	}
	for _, f := range filters {
		t := &cloudwatch.LogMetricFilterMetricTransformationArgs{
			Name: pulumi.String(f.metric), Namespace: pulumi.String(ns), Value: pulumi.String(f.value), Unit: pulumi.String(f.unit),
		}
		if f.def != "" {
			t.DefaultValue = pulumi.String(f.def)
		}
		if _, err := cloudwatch.NewLogMetricFilter(ctx, name+"-metric-"+f.metric, &cloudwatch.LogMetricFilterArgs{
			Name:                 pulumi.String(cfg.Prefix + "-" + f.metric),
			LogGroupName:         groups["proxy"].Name,
			Pattern:              pulumi.String(f.pattern),
			MetricTransformation: t,
		}, parent); err != nil {
			return nil, err
		}
	}

	topic, err := newAlertTopic(ctx, name+"-alerts", cfg.Prefix+"-alerts", cfg, key, parent)
	if err != nil {
		return nil, err
	}
	m.TopicArn = topic.Arn
	notify := pulumi.Array{topic.Arn}
	ec2Action := func(action string) pulumi.String {
		return pulumi.String(fmt.Sprintf("arn:%s:automate:%s:ec2:%s", args.Partition, cfg.Region, action))
	}
	instance := pulumi.StringMap{"InstanceId": args.InstanceID}
	alarms := []struct {
		name string
		args *cloudwatch.MetricAlarmArgs
	}{
		// A failed system check is AWS's hardware or network: recover moves
		// the instance to new hardware with its id, addresses, volumes and
		// role.
		{"system-check", statusCheckAlarm("StatusCheckFailed_System", 2, ec2Action("recover"), topic.Arn, instance,
			"The host's system status check failed (AWS hardware or network): EC2 recovers it onto new hardware, same address and volume.")},
		// A failed instance check is the host's own OS (out of memory, a
		// full root disk, a kernel hang): a reboot is what helps.
		{"instance-check", statusCheckAlarm("StatusCheckFailed_Instance", 3, ec2Action("reboot"), topic.Arn, instance,
			"The host's instance status check failed (its OS does not answer): EC2 reboots it.")},
		// More than 5% of answers are 5xx for two of three 5-minute
		// periods, counted only when at least 20 requests came (one 502 of
		// three requests at night is not an outage; /readyz catches those).
		{"5xx-rate", &cloudwatch.MetricAlarmArgs{
			AlarmDescription:   pulumi.String("More than 5% of requests answered 5xx at the proxy (Caddy's access log), over at least 20 requests in 5 minutes."),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(5),
			EvaluationPeriods: pulumi.Int(3), DatapointsToAlarm: pulumi.Int(2),
			TreatMissingData: pulumi.String("notBreaching"),
			MetricQueries: cloudwatch.MetricAlarmMetricQueryArray{
				metricQuery("errors", ns, Metric5xx, "Sum"),
				metricQuery("requests", ns, MetricRequests, "Sum"),
				&cloudwatch.MetricAlarmMetricQueryArgs{
					Id: pulumi.String("rate"), Label: pulumi.String("5xx %"), ReturnData: pulumi.Bool(true),
					Expression: pulumi.String("IF(requests >= 20, 100 * errors / requests, 0)"),
				},
			},
			AlarmActions: notify, OkActions: notify,
		}},
		{"latency-p99", &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String("The slowest 1% of requests took over 2 s at the proxy for 15 minutes."),
			Namespace:        pulumi.String(ns), MetricName: pulumi.String(MetricLatency), ExtendedStatistic: pulumi.String("p99"),
			Period: pulumi.Int(300), EvaluationPeriods: pulumi.Int(3),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(2),
			// No requests, no latency: quiet nights are not an alarm.
			TreatMissingData: pulumi.String("notBreaching"),
			AlarmActions:     notify, OkActions: notify,
		}},
		// The CloudWatch agent reports the data volume's use every minute;
		// no report means the agent or the host is gone, which is trouble
		// too.
		{"data-volume", &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String("The data volume (/srv/blog: PostgreSQL, Caddy's certificates) is over 80% full, or the host stopped reporting it."),
			Namespace:        pulumi.String(ns), MetricName: pulumi.String("disk_used_percent"), Dimensions: pulumi.StringMap{"path": pulumi.String(DataMount)},
			Statistic: pulumi.String("Maximum"), Period: pulumi.Int(300), EvaluationPeriods: pulumi.Int(2),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(80),
			TreatMissingData: pulumi.String("breaching"),
			AlarmActions:     notify, OkActions: notify,
		}},
		{"memory", &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String("The host's memory is over 90% used for 15 minutes."),
			Namespace:        pulumi.String(ns), MetricName: pulumi.String("mem_used_percent"),
			Statistic: pulumi.String("Average"), Period: pulumi.Int(300), EvaluationPeriods: pulumi.Int(3),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(90),
			// The data-volume alarm already says when the agent is silent.
			TreatMissingData: pulumi.String("missing"),
			AlarmActions:     notify, OkActions: notify,
		}},
		// host/backup reports 1 after each uploaded, checked dump; a day
		// and two hours without one (the timer runs daily at 02:00-03:00)
		// is an alarm, and so is silence: missing data breaches.
		{"backup", &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String("No successful backup in 26 hours (host/backup reports each success)."),
			Namespace:        pulumi.String(ns), MetricName: pulumi.String(MetricBackupSucceeded),
			Statistic: pulumi.String("Sum"), Period: pulumi.Int(3600), EvaluationPeriods: pulumi.Int(26), DatapointsToAlarm: pulumi.Int(26),
			ComparisonOperator: pulumi.String("LessThanThreshold"), Threshold: pulumi.Float64(1),
			TreatMissingData: pulumi.String("breaching"),
			AlarmActions:     notify, OkActions: notify,
		}},
		// host/deploy reports 1 when a deploy fails and 0 when one
		// succeeds; no deploy is no news.
		{"deploy-failed", &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String("A deploy failed on the host; the previous release keeps serving (see the host log group, stream deploy)."),
			Namespace:        pulumi.String(ns), MetricName: pulumi.String(MetricDeployFailed),
			Statistic: pulumi.String("Maximum"), Period: pulumi.Int(300), EvaluationPeriods: pulumi.Int(1),
			ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"), Threshold: pulumi.Float64(1),
			TreatMissingData: pulumi.String("notBreaching"),
			AlarmActions:     notify,
		}},
	}
	for _, a := range alarms {
		a.args.Name = pulumi.String(cfg.Prefix + "-" + a.name)
		a.args.Tags = cfg.Tags(cfg.Prefix + "-" + a.name)
		if _, err := cloudwatch.NewMetricAlarm(ctx, name+"-"+a.name, a.args, parent); err != nil {
			return nil, err
		}
	}

	// Previews are watched from inside only: a health check has no tag or
	// name IAM could limit the preview role to, so pull requests' stacks
	// neither create nor can touch one.
	checkID := pulumi.String("").ToStringOutput()
	if !cfg.Preview {
		check, err := newReadyzCheck(ctx, name, "readyz", cfg, args, parent)
		if err != nil {
			return nil, err
		}
		checkID = check.ID().ToStringOutput()
	}

	body := pulumi.All(args.InstanceID, checkID).ApplyT(func(v []any) (string, error) {
		return DashboardBody(cfg, args.Partition, args.Account, v[0].(string), v[1].(string)), nil
	}).(pulumi.StringOutput)
	if _, err := cloudwatch.NewDashboard(ctx, name+"-dashboard", &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(cfg.Prefix),
		DashboardBody: body,
	}, parent); err != nil {
		return nil, err
	}
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{"topicArn": topic.Arn})
}

// statusCheckAlarm alarms on one of EC2's status checks failing for
// minutes in a row, runs action (an EC2 alarm action) and notifies topic.
// Missing data (a stopped instance) changes nothing.
func statusCheckAlarm(metric string, minutes int, action pulumi.String, topic pulumi.StringOutput, instance pulumi.StringMap, description string) *cloudwatch.MetricAlarmArgs {
	return &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.String(description),
		Namespace:        pulumi.String("AWS/EC2"), MetricName: pulumi.String(metric), Dimensions: instance,
		Statistic: pulumi.String("Maximum"), Period: pulumi.Int(60), EvaluationPeriods: pulumi.Int(minutes),
		ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"), Threshold: pulumi.Float64(1),
		TreatMissingData: pulumi.String("missing"),
		AlarmActions:     pulumi.Array{action, topic}, OkActions: pulumi.Array{topic},
	}
}

// DataMount is where the host mounts the data volume (host/bootstrap).
const DataMount = "/srv/blog"

func metricQuery(id, ns, metric, stat string) *cloudwatch.MetricAlarmMetricQueryArgs {
	return &cloudwatch.MetricAlarmMetricQueryArgs{
		Id: pulumi.String(id),
		Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{
			Namespace: pulumi.String(ns), MetricName: pulumi.String(metric), Stat: pulumi.String(stat), Period: pulumi.Int(300),
		},
	}
}

// newAlertTopic is the SNS topic the alarms publish to, encrypted with
// key; full stacks subscribe blogstack:alertEmail to it, previews nobody.
func newAlertTopic(ctx *pulumi.Context, name, topicName string, cfg Config, key pulumi.StringPtrInput, opts ...pulumi.ResourceOption) (*sns.Topic, error) {
	topic, err := sns.NewTopic(ctx, name, &sns.TopicArgs{
		Name:           pulumi.String(topicName),
		KmsMasterKeyId: key,
		Tags:           cfg.Tags(topicName),
	}, opts...)
	if err != nil {
		return nil, err
	}
	if !cfg.Preview && cfg.AlertEmail != "" {
		// AWS mails a confirmation link first; nothing arrives until it
		// is clicked.
		if _, err := sns.NewTopicSubscription(ctx, name+"-email", &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(cfg.AlertEmail),
		}, opts...); err != nil {
			return nil, err
		}
	}
	return topic, nil
}

// newReadyzCheck asks https://<domain>/readyz from Route 53's checkers
// around the world every 30 s, and alarms when it fails: the one alarm that
// sees what a reader sees when the host, Docker, Caddy or DNS is down. Route
// 53 publishes the check's metric in us-east-1 only, so the alarm, its topic
// and that topic's key live there.
// Its AWS names start with cfg.Prefix+"-"+label, so that a host and Fargate
// each keep their own during a move.
func newReadyzCheck(ctx *pulumi.Context, name, label string, cfg Config, args MonitoringArgs, opts ...pulumi.ResourceOption) (*route53.HealthCheck, error) {
	check, err := route53.NewHealthCheck(ctx, name+"-readyz", &route53.HealthCheckArgs{
		Type:             pulumi.String("HTTPS"),
		Fqdn:             pulumi.String(cfg.Domain),
		Port:             pulumi.Int(443),
		ResourcePath:     pulumi.String("/readyz"),
		EnableSni:        pulumi.Bool(true),
		RequestInterval:  pulumi.Int(30),
		FailureThreshold: pulumi.Int(3),
		Tags:             cfg.Tags(cfg.Prefix + "-" + label),
	}, opts...)
	if err != nil {
		return nil, err
	}
	// In us-east-1 a topic of its own (named apart, so that a stack in
	// us-east-1 has two topics, not one declared twice), encrypted with
	// the key's replica there.
	provider, err := aws.NewProvider(ctx, name+"-"+HealthCheckRegion, &aws.ProviderArgs{Region: pulumi.String(HealthCheckRegion)}, opts...)
	if err != nil {
		return nil, err
	}
	regional := append(append([]pulumi.ResourceOption{}, opts...), pulumi.Provider(provider))
	key := pulumi.String(LogsKeyArn(cfg, args.Partition, args.Account, HealthCheckRegion))
	topic, err := newAlertTopic(ctx, name+"-alerts-"+HealthCheckRegion, cfg.Prefix+"-"+label+"-alerts", cfg, key, regional...)
	if err != nil {
		return nil, err
	}
	notify := pulumi.Array{topic.Arn}
	_, err = cloudwatch.NewMetricAlarm(ctx, name+"-readyz", &cloudwatch.MetricAlarmArgs{
		Name:             pulumi.String(cfg.Prefix + "-" + label),
		AlarmDescription: pulumi.String("https://" + cfg.Domain + "/readyz fails from outside (Route 53 health checkers): readers cannot reach the blog."),
		Namespace:        pulumi.String("AWS/Route53"), MetricName: pulumi.String("HealthCheckStatus"),
		Dimensions: pulumi.StringMap{"HealthCheckId": check.ID()},
		Statistic:  pulumi.String("Minimum"), Period: pulumi.Int(60), EvaluationPeriods: pulumi.Int(2),
		ComparisonOperator: pulumi.String("LessThanThreshold"), Threshold: pulumi.Float64(1),
		// A check that stops reporting tells nothing good.
		TreatMissingData: pulumi.String("breaching"),
		AlarmActions:     notify, OkActions: notify,
		Tags: cfg.Tags(cfg.Prefix + "-" + label),
	}, regional...)
	return check, err
}

// DashboardBody is the stack's CloudWatch dashboard: what readers get
// (requests, 5xx, p99, /readyz), the host (status checks, CPU, memory,
// disks) and the operations (backups, deploys).
func DashboardBody(cfg Config, partition, account, instanceID, healthCheckID string) string {
	ns := MetricsNamespace(cfg.Stack)
	type widget = map[string]any
	metric := func(title, region string, metrics ...[]any) widget {
		return widget{"type": "metric", "width": 8, "height": 6, "properties": map[string]any{
			"title": title, "region": region, "view": "timeSeries", "stat": "Sum", "period": 300, "metrics": metrics,
		}}
	}
	var widgets []widget
	if healthCheckID != "" {
		widgets = append(widgets, metric("/readyz from outside (1 = healthy)", HealthCheckRegion,
			[]any{"AWS/Route53", "HealthCheckStatus", "HealthCheckId", healthCheckID, map[string]any{"stat": "Minimum", "period": 60}}))
	}
	widgets = append(widgets, []widget{
		metric("Requests and 5xx (proxy)", cfg.Region,
			[]any{ns, MetricRequests}, []any{ns, Metric5xx}),
		metric("Latency p50 / p99, seconds (proxy)", cfg.Region,
			[]any{ns, MetricLatency, map[string]any{"stat": "p50"}}, []any{ns, MetricLatency, map[string]any{"stat": "p99"}}),
		metric("Status checks failed", cfg.Region,
			[]any{"AWS/EC2", "StatusCheckFailed_System", "InstanceId", instanceID, map[string]any{"stat": "Maximum"}},
			[]any{"AWS/EC2", "StatusCheckFailed_Instance", "InstanceId", instanceID, map[string]any{"stat": "Maximum"}}),
		metric("CPU %", cfg.Region,
			[]any{"AWS/EC2", "CPUUtilization", "InstanceId", instanceID, map[string]any{"stat": "Average"}}),
		metric("Memory and disks, % used", cfg.Region,
			[]any{ns, "mem_used_percent", map[string]any{"stat": "Maximum"}},
			[]any{ns, "disk_used_percent", "path", DataMount, map[string]any{"stat": "Maximum"}},
			[]any{ns, "disk_used_percent", "path", "/", map[string]any{"stat": "Maximum"}}),
		metric("Backups succeeded and deploys failed", cfg.Region,
			[]any{ns, MetricBackupSucceeded, map[string]any{"period": 3600}}, []any{ns, MetricDeployFailed, map[string]any{"stat": "Maximum"}}),
		metric("Database pool and page cache (app)", cfg.Region,
			[]any{ns, "go_sql_in_use_connections", "db_name", "blog", map[string]any{"stat": "Maximum"}},
			[]any{ns, "blog_cache_lookups_total", "result", "hit"}, []any{ns, "blog_cache_lookups_total", "result", "miss"}),
		{"type": "alarm", "width": 8, "height": 6, "properties": map[string]any{
			"title": "Alarms", "alarms": alarmArns(cfg, partition, account),
		}},
	}...)
	b, err := json.Marshal(map[string]any{"widgets": widgets})
	if err != nil {
		panic(err) // unreachable: plain values
	}
	return string(b)
}

// AlarmNames are a stack's alarms, by their suffix after the prefix; full
// stacks also have "readyz" (see newReadyzCheck).
var AlarmNames = []string{"system-check", "instance-check", "5xx-rate", "latency-p99", "data-volume", "memory", "backup", "deploy-failed"}

func alarmArns(cfg Config, partition, account string) []string {
	names := AlarmNames
	if !cfg.Preview {
		names = append(append([]string{}, names...), "readyz")
	}
	var out []string
	for _, n := range names {
		region := cfg.Region
		if n == "readyz" {
			region = HealthCheckRegion
		}
		out = append(out, fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:%s-%s", partition, region, account, cfg.Prefix, n))
	}
	return out
}
