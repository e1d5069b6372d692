package infra

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ServiceLogGroup is fargate mode's log group, apart from the host's app
// group so that both live side by side during a move.
func ServiceLogGroup(prefix string) string { return LogGroupName(prefix, "ecs") }

// ServiceMonitoring watches fargate mode: alarms from the load balancer's,
// RDS's and ECS's own metrics to a topic of its own, and a dashboard.
type ServiceMonitoring struct {
	pulumi.ResourceState
}

// ServiceMonitoringArgs name what is watched.
type ServiceMonitoringArgs struct {
	Account, Partition string
	LB                 *LoadBalancer
	DatabaseID         pulumi.StringOutput
	// ClusterName and ServiceName, when the service exists, add its CPU
	// and memory to the dashboard.
	ClusterName, ServiceName pulumi.StringOutput
}

// NewServiceMonitoring declares the topic, alarms and dashboard, and in
// full stacks the /readyz check from outside.
func NewServiceMonitoring(ctx *pulumi.Context, name string, cfg Config, args ServiceMonitoringArgs, opts ...pulumi.ResourceOption) (*ServiceMonitoring, error) {
	m := &ServiceMonitoring{}
	if err := ctx.RegisterComponentResource("blogstack:index:ServiceMonitoring", name, m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)
	key := pulumi.String(LogsKeyArn(cfg, args.Partition, args.Account, cfg.Region))
	topic, err := newAlertTopic(ctx, name+"-alerts", cfg.Prefix+"-ecs-alerts", cfg, key, parent)
	if err != nil {
		return nil, err
	}
	notify := pulumi.Array{topic.Arn}
	lbDim := pulumi.StringMap{"LoadBalancer": args.LB.Suffix}
	alb := func(id, metric string) *cloudwatch.MetricAlarmMetricQueryArgs {
		return &cloudwatch.MetricAlarmMetricQueryArgs{
			Id: pulumi.String(id),
			Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{
				Namespace: pulumi.String("AWS/ApplicationELB"), MetricName: pulumi.String(metric), Dimensions: lbDim,
				Stat: pulumi.String("Sum"), Period: pulumi.Int(300),
			},
		}
	}
	db := pulumi.StringMap{"DBInstanceIdentifier": args.DatabaseID}
	alarms := []struct {
		name string
		args *cloudwatch.MetricAlarmArgs
	}{
		// As the host's: over 5% 5xx (the tasks' and the load balancer's
		// own, which include "no healthy task") over at least 20 requests.
		{"5xx-rate", &cloudwatch.MetricAlarmArgs{
			AlarmDescription:   pulumi.String("More than 5% of requests answered 5xx at the load balancer (the tasks' and its own), over at least 20 requests in 5 minutes."),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(5),
			EvaluationPeriods: pulumi.Int(3), DatapointsToAlarm: pulumi.Int(2),
			TreatMissingData: pulumi.String("notBreaching"),
			MetricQueries: cloudwatch.MetricAlarmMetricQueryArray{
				alb("target", "HTTPCode_Target_5XX_Count"),
				alb("lb", "HTTPCode_ELB_5XX_Count"),
				alb("requests", "RequestCount"),
				&cloudwatch.MetricAlarmMetricQueryArgs{
					Id: pulumi.String("rate"), Label: pulumi.String("5xx %"), ReturnData: pulumi.Bool(true),
					Expression: pulumi.String("IF(requests >= 20, 100 * (FILL(target, 0) + FILL(lb, 0)) / requests, 0)"),
				},
			},
			AlarmActions: notify, OkActions: notify,
		}},
		{"latency-p99", &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String("The slowest 1% of requests took the tasks over 2 s for 15 minutes."),
			Namespace:        pulumi.String("AWS/ApplicationELB"), MetricName: pulumi.String("TargetResponseTime"), Dimensions: lbDim,
			ExtendedStatistic: pulumi.String("p99"), Period: pulumi.Int(300), EvaluationPeriods: pulumi.Int(3),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(2),
			TreatMissingData: pulumi.String("notBreaching"),
			AlarmActions:     notify, OkActions: notify,
		}},
		// Fewer healthy tasks than the minimum for 5 minutes: one zone or
		// a bad release; none at all is an outage, which /readyz reports.
		{"healthy-tasks", &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String("Fewer healthy tasks behind the load balancer than blogstack:minTasks for 5 minutes."),
			Namespace:        pulumi.String("AWS/ApplicationELB"), MetricName: pulumi.String("HealthyHostCount"),
			Dimensions: pulumi.StringMap{"LoadBalancer": args.LB.Suffix, "TargetGroup": args.LB.TargetGroupSuffix},
			Statistic:  pulumi.String("Minimum"), Period: pulumi.Int(60), EvaluationPeriods: pulumi.Int(5),
			ComparisonOperator: pulumi.String("LessThanThreshold"), Threshold: pulumi.Float64(float64(cfg.Fargate.MinTasks)),
			// The load balancer reports every minute; silence is trouble.
			TreatMissingData: pulumi.String("breaching"),
			AlarmActions:     notify, OkActions: notify,
		}},
		{"db-storage", &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String("The database has under 2 GiB free (storage grows by itself up to blogstack:dbMaxStorage)."),
			Namespace:        pulumi.String("AWS/RDS"), MetricName: pulumi.String("FreeStorageSpace"), Dimensions: db,
			Statistic: pulumi.String("Minimum"), Period: pulumi.Int(300), EvaluationPeriods: pulumi.Int(2),
			ComparisonOperator: pulumi.String("LessThanThreshold"), Threshold: pulumi.Float64(2 << 30),
			TreatMissingData: pulumi.String("breaching"),
			AlarmActions:     notify, OkActions: notify,
		}},
		{"db-cpu", &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.String("The database's CPU is over 80% for 15 minutes (a burstable class may be out of credits)."),
			Namespace:        pulumi.String("AWS/RDS"), MetricName: pulumi.String("CPUUtilization"), Dimensions: db,
			Statistic: pulumi.String("Average"), Period: pulumi.Int(300), EvaluationPeriods: pulumi.Int(3),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(80),
			TreatMissingData: pulumi.String("missing"),
			AlarmActions:     notify, OkActions: notify,
		}},
	}
	var alarmArns []string
	for _, a := range alarms {
		a.args.Name = pulumi.String(cfg.Prefix + "-ecs-" + a.name)
		a.args.Tags = cfg.Tags(cfg.Prefix + "-ecs-" + a.name)
		if _, err := cloudwatch.NewMetricAlarm(ctx, name+"-"+a.name, a.args, parent); err != nil {
			return nil, err
		}
		alarmArns = append(alarmArns, fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:%s-ecs-%s", args.Partition, cfg.Region, args.Account, cfg.Prefix, a.name))
	}
	body := pulumi.All(args.LB.Suffix, args.LB.TargetGroupSuffix, args.DatabaseID, args.ClusterName, args.ServiceName).ApplyT(func(v []any) string {
		str := func(i int) string { s, _ := v[i].(string); return s }
		return ServiceDashboardBody(cfg.Region, str(0), str(1), str(2), str(3), str(4), alarmArns)
	}).(pulumi.StringOutput)
	if _, err := cloudwatch.NewDashboard(ctx, name+"-dashboard", &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(cfg.Prefix + "-ecs"),
		DashboardBody: body,
	}, parent); err != nil {
		return nil, err
	}
	if !cfg.Preview {
		if _, err := newReadyzCheck(ctx, name, "ecs-readyz", cfg, MonitoringArgs{Account: args.Account, Partition: args.Partition}, parent); err != nil {
			return nil, err
		}
	}
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{"topicArn": topic.Arn})
}

// ServiceDashboardBody is fargate mode's CloudWatch dashboard: what readers
// get (requests, 5xx, latency at the load balancer), the tasks (healthy
// count, CPU and memory), the database, and every alarm's state.
func ServiceDashboardBody(region, lb, targetGroup, db, cluster, service string, alarms []string) string {
	type widget = map[string]any
	metric := func(title string, metrics ...[]any) widget {
		return widget{"type": "metric", "width": 8, "height": 6, "properties": map[string]any{
			"title": title, "region": region, "view": "timeSeries", "stat": "Sum", "period": 300, "metrics": metrics,
		}}
	}
	alb := func(name string, extra ...any) []any {
		return append([]any{"AWS/ApplicationELB", name, "LoadBalancer", lb}, extra...)
	}
	widgets := []widget{
		metric("Requests and 5xx (load balancer)",
			alb("RequestCount"), alb("HTTPCode_Target_5XX_Count"), alb("HTTPCode_ELB_5XX_Count")),
		metric("Target response time p50 / p99, seconds",
			alb("TargetResponseTime", map[string]any{"stat": "p50"}), alb("TargetResponseTime", map[string]any{"stat": "p99"})),
		metric("Healthy tasks",
			alb("HealthyHostCount", "TargetGroup", targetGroup, map[string]any{"stat": "Minimum", "period": 60}),
			alb("UnHealthyHostCount", "TargetGroup", targetGroup, map[string]any{"stat": "Maximum", "period": 60})),
		metric("Database: CPU %, connections",
			[]any{"AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", db, map[string]any{"stat": "Average"}},
			[]any{"AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", db, map[string]any{"stat": "Maximum"}}),
		metric("Database: free storage, bytes",
			[]any{"AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", db, map[string]any{"stat": "Minimum"}}),
	}
	if service != "" {
		widgets = append(widgets, metric("Tasks: CPU and memory, % of reserved",
			[]any{"AWS/ECS", "CPUUtilization", "ClusterName", cluster, "ServiceName", service, map[string]any{"stat": "Average"}},
			[]any{"AWS/ECS", "MemoryUtilization", "ClusterName", cluster, "ServiceName", service, map[string]any{"stat": "Maximum"}}))
	}
	widgets = append(widgets, widget{"type": "alarm", "width": 8, "height": 6, "properties": map[string]any{
		"title": "Alarms", "alarms": alarms,
	}})
	b, err := json.Marshal(map[string]any{"widgets": widgets})
	if err != nil {
		panic(err) // unreachable: plain values
	}
	return string(b)
}
