package infra

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-command/sdk/go/command/local"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ecsRelease is the script `pulumi up` runs for the two steps of a release
// the provider cannot express: the one-off migrate task, and the check
// that ECS kept the new deployment instead of rolling it back.
//
//go:embed ecs-release.sh
var ecsRelease string

// Fargate timing, in seconds.
const (
	// StopTimeout is how long ECS waits after SIGTERM before SIGKILL: the
	// app's drain (5 s) and shutdown (at most 15 s) fit.
	StopTimeout = 30
	// MigrateTimeout bounds the migrate task, start to stop.
	MigrateTimeout = 900
	// CPUTarget is the average CPU (percent) autoscaling keeps the tasks at.
	CPUTarget = 60
)

// Service runs the blog on ECS Fargate: a cluster, the app's and the
// migrate task's definitions, and, for a release, the migration and then
// the service, rolled with ECS's circuit breaker and scaled on CPU.
type Service struct {
	pulumi.ResourceState

	ClusterName, ServiceName pulumi.StringOutput
	// MigrateTaskDefinition is the migrate task's definition (for one-off
	// runs, e.g. after host/move-to-rds).
	MigrateTaskDefinition pulumi.StringOutput
	// ImageTag and DeployID resolve once ECS runs the release.
	ImageTag, DeployID pulumi.StringOutput
}

// ServiceArgs are what the service runs and where.
type ServiceArgs struct {
	Release     Release
	RegistryURL pulumi.StringOutput
	RegistryArn pulumi.StringOutput
	Network     *Network
	Database    *Database
	LB          *LoadBalancer
	// AppRoleName and AppRoleArn are the tasks' role: the media role
	// (see Media), which also gets the database connect grant here.
	AppRoleName, AppRoleArn pulumi.StringOutput
	MediaBucketName         pulumi.StringOutput
	// SecretKeyParam is the SSM parameter of BLOG_SECRET_KEY.
	SecretKeyParam string
	// LogGroup names the tasks' log group (both task definitions log
	// there), which the service makes.
	LogGroup           string
	Partition, Account string
	// Ready must exist before a task starts: the roles' policies.
	Ready []pulumi.Resource
}

// NewService declares the cluster, roles, task definitions and, for a
// release, the migration, the service, its scaling and the rollout check.
func NewService(ctx *pulumi.Context, name string, cfg Config, args ServiceArgs, opts ...pulumi.ResourceOption) (*Service, error) {
	s := &Service{}
	if err := ctx.RegisterComponentResource("blogstack:index:Service", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", args.Partition, service, cfg.Region, args.Account, resource)
	}
	logGroupArn := arn("logs", "log-group:"+args.LogGroup)
	paramArn := arn("ssm", "parameter"+args.SecretKeyParam)

	// The tasks' log group must exist before a task logs (ECS does not
	// create it).
	logs, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(args.LogGroup),
		RetentionInDays: pulumi.Int(LogRetentionDays(cfg)),
		KmsKeyId:        pulumi.String(LogsKeyArn(cfg, args.Partition, args.Account, cfg.Region)),
		Tags:            cfg.Tags(args.LogGroup),
	}, parent)
	if err != nil {
		return nil, err
	}
	cluster, err := ecs.NewCluster(ctx, name+"-cluster", &ecs.ClusterArgs{
		Settings: ecs.ClusterSettingArray{&ecs.ClusterSettingArgs{
			Name: pulumi.String("containerInsights"), Value: pulumi.String("enabled"),
		}},
		Tags: cfg.Tags(name + "-cluster"),
	}, parent)
	if err != nil {
		return nil, err
	}

	// The execution role is ECS's, not the app's: it pulls the image,
	// writes the logs and reads the two secrets into the containers.
	exec, err := iam.NewRole(ctx, name+"-exec-role", &iam.RoleArgs{
		Description:         pulumi.String("ECS starting the blog's tasks " + cfg.Prefix),
		AssumeRolePolicy:    pulumi.String(ecsTasksTrust(args.Account)),
		PermissionsBoundary: pulumi.String(cfg.PermissionsBoundary),
		Tags:                cfg.Tags(name + "-exec-role"),
	}, parent)
	if err != nil {
		return nil, err
	}
	execPolicy, err := iam.NewRolePolicy(ctx, name+"-exec-policy", &iam.RolePolicyArgs{
		Role: exec.Name,
		Policy: pulumi.All(args.RegistryArn, args.Database.SecretArn).ApplyT(func(v []any) string {
			return ExecutionPolicy(v[0].(string), logGroupArn, paramArn, v[1].(string)).JSON()
		}).(pulumi.StringOutput),
	}, parent)
	if err != nil {
		return nil, err
	}
	connect, err := iam.NewRolePolicy(ctx, name+"-db-connect", &iam.RolePolicyArgs{
		Role: args.AppRoleName,
		Policy: args.Database.ResourceID.ApplyT(func(id string) string {
			return DBConnectPolicy(arn("rds-db", "dbuser:"+id+"/"+AppDBUser)).JSON()
		}).(pulumi.StringOutput),
	}, parent)
	if err != nil {
		return nil, err
	}
	ready := append([]pulumi.Resource{logs, execPolicy, connect}, args.Ready...)
	if args.Release.ImageTag == "" {
		// First `pulumi up` into an empty account: no image yet, so no
		// task; the next `pulumi up` with an image tag deploys.
		s.ClusterName, s.ServiceName = cluster.Name, pulumi.String("").ToStringOutput()
		s.MigrateTaskDefinition = pulumi.String("").ToStringOutput()
		s.ImageTag, s.DeployID = pulumi.String("").ToStringOutput(), pulumi.String("").ToStringOutput()
		return s, ctx.RegisterResourceOutputs(s, pulumi.Map{"cluster": cluster.Name})
	}

	env := AppEnvironment{Domain: cfg.Domain, Region: cfg.Region, Preview: cfg.Preview, TrustedProxies: args.Network.VpcCidr,
		LogGroup: args.LogGroup, SecretKeyParam: paramArn}
	containers := func(migrate bool) pulumi.StringOutput {
		return pulumi.All(args.RegistryURL, args.Database.Address, args.Database.SecretArn, args.MediaBucketName).ApplyT(func(v []any) (string, error) {
			e := env
			e.Image = v[0].(string) + ":" + args.Release.ImageTag
			e.DBAddress, e.DBSecretArn, e.MediaURL = v[1].(string), v[2].(string), MediaURL(v[3].(string), cfg.Region)
			return e.Containers(migrate)
		}).(pulumi.StringOutput)
	}
	taskDef := func(kind string, migrate bool, role pulumi.StringPtrInput) (*ecs.TaskDefinition, error) {
		return ecs.NewTaskDefinition(ctx, name+"-"+kind, &ecs.TaskDefinitionArgs{
			Family:                  pulumi.String(cfg.Prefix + "-" + kind),
			RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
			NetworkMode:             pulumi.String("awsvpc"),
			Cpu:                     pulumi.String(fmt.Sprint(cfg.Fargate.TaskCPU)),
			Memory:                  pulumi.String(fmt.Sprint(cfg.Fargate.TaskMemory)),
			// Graviton: cheaper per vCPU, and the image is built for it.
			RuntimePlatform: &ecs.TaskDefinitionRuntimePlatformArgs{
				OperatingSystemFamily: pulumi.String("LINUX"), CpuArchitecture: pulumi.String("ARM64"),
			},
			// /tmp: the containers' scratch space under a read-only
			// root (the image declares the volume; see the Dockerfile).
			Volumes:              ecs.TaskDefinitionVolumeArray{&ecs.TaskDefinitionVolumeArgs{Name: pulumi.String("tmp")}},
			ExecutionRoleArn:     exec.Arn,
			TaskRoleArn:          role,
			ContainerDefinitions: containers(migrate),
			Tags:                 cfg.Tags(name + "-" + kind),
		}, parent)
	}
	appTask, err := taskDef("app", false, args.AppRoleArn)
	if err != nil {
		return nil, err
	}
	// The migrate task has no role: it needs only the database, which
	// it reaches with the admin's password.
	migrateTask, err := taskDef("migrate", true, nil)
	if err != nil {
		return nil, err
	}
	subnets := strings.Join(args.Network.PublicSubnetIDs, ",")
	migration, err := local.NewCommand(ctx, name+"-migrate-run", &local.CommandArgs{
		Create:      pulumi.String(ecsRelease),
		Interpreter: pulumi.ToStringArray([]string{"/bin/bash", "-c"}),
		Environment: pulumi.StringMap{
			"STEP": pulumi.String("migrate"), "AWS_REGION": pulumi.String(cfg.Region), "CLUSTER": cluster.Name, "TASK_DEFINITION": migrateTask.Arn,
			"SUBNETS": pulumi.String(subnets), "SECURITY_GROUP": args.Network.TaskSG,
			"LOG_GROUP": pulumi.String(args.LogGroup), "TIMEOUT": pulumi.String(fmt.Sprint(MigrateTimeout)),
		},
		// A new release is a new task definition: the migration runs
		// again, once.
		Triggers: pulumi.Array{migrateTask.Arn, pulumi.String(args.Release.DeployID)},
	}, parent, pulumi.DependsOn(ready))
	if err != nil {
		return nil, err
	}

	service, err := ecs.NewService(ctx, name, &ecs.ServiceArgs{
		Cluster:        cluster.Arn,
		TaskDefinition: appTask.Arn,
		LaunchType:     pulumi.String("FARGATE"),
		// Autoscaling owns the count after creation (ignored below).
		DesiredCount: pulumi.Int(cfg.Fargate.MinTasks),
		// A rolling deploy that starts new tasks before stopping old ones,
		// and undoes itself when new tasks keep failing.
		DeploymentMinimumHealthyPercent: pulumi.Int(100),
		DeploymentMaximumPercent:        pulumi.Int(200),
		DeploymentCircuitBreaker: &ecs.ServiceDeploymentCircuitBreakerArgs{
			Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true),
		},
		HealthCheckGracePeriodSeconds: pulumi.Int(30),
		// Tasks are spread over the zones and put back when a zone
		// recovers.
		AvailabilityZoneRebalancing: pulumi.String("ENABLED"),
		NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
			Subnets:        pulumi.ToStringArray(args.Network.PublicSubnetIDs),
			SecurityGroups: pulumi.StringArray{args.Network.TaskSG},
			AssignPublicIp: pulumi.Bool(true),
		},
		LoadBalancers: ecs.ServiceLoadBalancerArray{&ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: args.LB.TargetGroupArn, ContainerName: pulumi.String("app"), ContainerPort: pulumi.Int(AppPort),
		}},
		// Every deploy id redeploys: a retry after ECS rolled a release
		// back (the state still names its task definition, so nothing
		// else would differ) tries it again.
		ForceNewDeployment:   pulumi.Bool(true),
		Triggers:             pulumi.StringMap{"deployId": pulumi.String(args.Release.DeployID)},
		PropagateTags:        pulumi.String("SERVICE"),
		EnableEcsManagedTags: pulumi.Bool(true),
		EnableExecuteCommand: pulumi.Bool(false),
		WaitForSteadyState:   pulumi.Bool(true),
		Tags:                 cfg.Tags(name),
	}, parent, pulumi.DependsOn([]pulumi.Resource{migration, args.LB.Listener}),
		pulumi.IgnoreChanges([]string{"desiredCount"}))
	if err != nil {
		return nil, err
	}
	resourceID := pulumi.Sprintf("service/%s/%s", cluster.Name, service.Name)
	target, err := appautoscaling.NewTarget(ctx, name+"-scaling", &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("ecs"),
		ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
		ResourceId:        resourceID,
		MinCapacity:       pulumi.Int(cfg.Fargate.MinTasks),
		MaxCapacity:       pulumi.Int(cfg.Fargate.MaxTasks),
		Tags:              cfg.Tags(name + "-scaling"),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := appautoscaling.NewPolicy(ctx, name+"-cpu", &appautoscaling.PolicyArgs{
		PolicyType:        pulumi.String("TargetTrackingScaling"),
		ServiceNamespace:  target.ServiceNamespace,
		ScalableDimension: target.ScalableDimension,
		ResourceId:        target.ResourceId,
		TargetTrackingScalingPolicyConfiguration: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
			PredefinedMetricSpecification: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
				PredefinedMetricType: pulumi.String("ECSServiceAverageCPUUtilization"),
			},
			TargetValue:      pulumi.Float64(CPUTarget),
			ScaleOutCooldown: pulumi.Int(60),
			ScaleInCooldown:  pulumi.Int(300),
		},
	}, parent); err != nil {
		return nil, err
	}
	rollout, err := local.NewCommand(ctx, name+"-rollout-check", &local.CommandArgs{
		Create:      pulumi.String(ecsRelease),
		Interpreter: pulumi.ToStringArray([]string{"/bin/bash", "-c"}),
		Environment: pulumi.StringMap{
			"STEP": pulumi.String("verify"), "AWS_REGION": pulumi.String(cfg.Region), "CLUSTER": cluster.Name, "SERVICE": service.Name,
			"TASK_DEFINITION": appTask.Arn, "TIMEOUT": pulumi.String(fmt.Sprint(cfg.DeployTimeoutSecs)),
		},
		Triggers: pulumi.Array{appTask.Arn, pulumi.String(args.Release.DeployID)},
	}, parent, pulumi.DependsOn([]pulumi.Resource{service}))
	if err != nil {
		return nil, err
	}
	release := func(v string) pulumi.StringOutput {
		return rollout.Stdout.ApplyT(func(string) string { return v }).(pulumi.StringOutput)
	}
	s.ClusterName, s.ServiceName, s.MigrateTaskDefinition = cluster.Name, service.Name, migrateTask.Arn
	s.ImageTag, s.DeployID = release(args.Release.ImageTag), release(args.Release.DeployID)
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{"cluster": cluster.Name, "service": service.Name})
}

// ecsTasksTrust lets ECS tasks of this account (and no other's, through
// the confused-deputy condition) assume a role.
func ecsTasksTrust(account string) string {
	return PolicyDocument{Version: "2012-10-17", Statement: []Statement{{
		Effect:    "Allow",
		Principal: map[string]any{"Service": "ecs-tasks.amazonaws.com"},
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string]any{"StringEquals": {"aws:SourceAccount": account}},
	}}}.JSON()
}

// ExecutionPolicy is ECS's for starting the tasks: pull the image, write
// to the app's log group, read BLOG_SECRET_KEY and the database admin's
// secret (the migrate task's only).
func ExecutionPolicy(repositoryArn, logGroupArn, paramArn, dbSecretArn string) PolicyDocument {
	return PolicyDocument{Version: "2012-10-17", Statement: []Statement{
		{Sid: "RegistryToken", Effect: "Allow", Action: []string{"ecr:GetAuthorizationToken"}, Resource: []string{"*"}},
		{Sid: "PullTheImage", Effect: "Allow", Action: []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"}, Resource: []string{repositoryArn}},
		{Sid: "WriteLogs", Effect: "Allow", Action: []string{"logs:CreateLogStream", "logs:PutLogEvents"}, Resource: []string{logGroupArn + ":log-stream:*"}},
		{Sid: "ReadSecretKey", Effect: "Allow", Action: []string{"ssm:GetParameters"}, Resource: []string{paramArn}},
		{Sid: "ReadDatabaseAdmin", Effect: "Allow", Action: []string{"secretsmanager:GetSecretValue"}, Resource: []string{dbSecretArn}},
	}}
}

// DBConnectPolicy lets the app's role connect to the database as the app's
// user with an IAM token, and as no one else.
func DBConnectPolicy(dbUserArn string) PolicyDocument {
	return PolicyDocument{Version: "2012-10-17", Statement: []Statement{{
		Sid: "ConnectAsTheApp", Effect: "Allow", Action: []string{"rds-db:connect"}, Resource: []string{dbUserArn},
	}}}
}

// AppEnvironment is what the task definitions are made of.
type AppEnvironment struct {
	Image, Domain, Region  string
	Preview                bool
	TrustedProxies         string
	DBAddress, DBSecretArn string
	MediaURL, LogGroup     string
	SecretKeyParam         string
}

// Containers renders the task definition's container list: the app (or,
// with migrate, the migrate task) locked down as in compose: read-only
// root, non-root user, no capabilities.
func (e AppEnvironment) Containers(migrate bool) (string, error) {
	type kv struct {
		Name  string `json:"name"`
		Value string `json:"value,omitempty"`
		From  string `json:"valueFrom,omitempty"`
	}
	dbURL := func(user string) string {
		return fmt.Sprintf("postgres://%s@%s:5432/%s?sslmode=require", user, e.DBAddress, DBName)
	}
	common := []kv{{Name: "BLOG_LOG_FORMAT", Value: "json"}, {Name: "AWS_REGION", Value: e.Region}}
	c := map[string]any{
		"essential":              true,
		"image":                  e.Image,
		"readonlyRootFilesystem": true,
		"user":                   "65532:65532",
		// Fargate never runs a container privileged and takes neither
		// the privileged flag nor Docker security options: dropping
		// every capability is what a task definition can say.
		"linuxParameters": map[string]any{
			"capabilities":       map[string]any{"drop": []string{"ALL"}},
			"initProcessEnabled": true,
		},
		"stopTimeout": StopTimeout,
		"mountPoints": []map[string]any{{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": false}},
	}
	logs := func(prefix string) map[string]any {
		return map[string]any{"logDriver": "awslogs", "options": map[string]string{
			"awslogs-group": e.LogGroup, "awslogs-region": e.Region, "awslogs-stream-prefix": prefix,
			"mode": "non-blocking", "max-buffer-size": "4m",
		}}
	}
	if migrate {
		c["name"] = "migrate"
		c["command"] = []string{"migrate", "--grant-to", AppDBUser}
		c["environment"] = append(common, kv{Name: "DATABASE_URL", Value: dbURL(AdminDBUser)})
		// pgx reads PGPASSWORD when the URL carries none.
		c["secrets"] = []kv{{Name: "PGPASSWORD", From: e.DBSecretArn + ":password::"}}
		c["logConfiguration"] = logs("migrate")
	} else {
		preview := ""
		if e.Preview {
			preview = "1"
		}
		c["name"] = "app"
		c["command"] = []string{"serve"}
		c["environment"] = append(common,
			kv{Name: "BLOG_ADDR", Value: fmt.Sprintf(":%d", AppPort)},
			kv{Name: "BLOG_BASE_URL", Value: "https://" + e.Domain},
			kv{Name: "BLOG_PREVIEW", Value: preview},
			// The load balancer's nodes have addresses of the VPC.
			kv{Name: "BLOG_TRUSTED_PROXIES", Value: e.TrustedProxies},
			kv{Name: "DATABASE_URL", Value: dbURL(AppDBUser)},
			kv{Name: "BLOG_DATABASE_AUTH", Value: "iam"},
			kv{Name: "BLOG_MEDIA_URL", Value: e.MediaURL},
			kv{Name: "BLOG_SHUTDOWN_DELAY", Value: "5s"},
		)
		c["secrets"] = []kv{{Name: "BLOG_SECRET_KEY", From: e.SecretKeyParam}}
		c["portMappings"] = []map[string]any{{"containerPort": AppPort, "protocol": "tcp", "name": "http"}}
		c["healthCheck"] = map[string]any{
			"command": []string{"CMD", "/blog", "healthcheck"}, "interval": 10, "timeout": 3, "retries": 3, "startPeriod": 20,
		}
		c["logConfiguration"] = logs("app")
	}
	b, err := json.Marshal([]any{c})
	return string(b), err
}
