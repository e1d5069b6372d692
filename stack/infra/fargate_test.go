package infra_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/blogstack/blogstack"
	"github.com/blogstack/blogstack/stack/infra"
)

// fargateStacks are prod and pr-12 in fargate mode: prod with a standby
// database, the preview by its own setting (previews copy prod's config
// and stay in host mode unless previewMode says otherwise).
var fargateStacks = []stackCase{
	{"prod", fargateProdConfig()},
	{"pr-12", fargatePRConfig()},
}

func fargateProdConfig() map[string]string {
	c := prodConfig()
	c["blogstack:mode"] = "fargate"
	c["blogstack:multiAz"] = "true"
	return c
}

func fargatePRConfig() map[string]string {
	c := fargateProdConfig()
	c["blogstack:previewMode"] = "fargate"
	c["blogstack:imageTag"] = "pr-12-3f2a9c1"
	return c
}

// eachFargateStack runs a check against prod and pr-12 in fargate mode.
func eachFargateStack(t *testing.T, check func(t *testing.T, stack string, rs []res)) {
	eachStackOf(t, fargateStacks, check)
}

// containers is a task definition's container list, decoded.
func containers(t *testing.T, td res) []map[string]any {
	t.Helper()
	var cs []map[string]any
	if err := json.Unmarshal([]byte(td.Inputs["containerDefinitions"].(string)), &cs); err != nil {
		t.Fatalf("%s: container definitions: %v", td.Name, err)
	}
	return cs
}

func env(c map[string]any) map[string]string {
	out := map[string]string{}
	for _, e := range c["environment"].([]any) {
		m := e.(map[string]any)
		v, _ := m["value"].(string)
		out[m["name"].(string)] = v
	}
	return out
}

func TestCKV_AWS_16_RDSEncrypted(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, _ string, rs []res) {
		db := one(t, rs, "aws:rds/instance:Instance")
		if db.Inputs["storageEncrypted"] != true {
			t.Errorf("storage not encrypted: %v", db.Inputs["storageEncrypted"])
		}
		if db.Inputs["engine"] != "postgres" || db.Inputs["engineVersion"] != infra.PostgresMajor {
			t.Errorf("engine %v %v, want postgres %s", db.Inputs["engine"], db.Inputs["engineVersion"], infra.PostgresMajor)
		}
		// TLS only, with the certificate authority pinned.
		pg := one(t, rs, "aws:rds/parameterGroup:ParameterGroup")
		found := false
		for _, p := range pg.Inputs["parameters"].([]any) {
			if m := p.(map[string]any); m["name"] == "rds.force_ssl" && m["value"] == "1" {
				found = true
			}
		}
		if !found || db.Inputs["caCertIdentifier"] == nil {
			t.Errorf("TLS not forced (%v) or no CA pinned (%v)", pg.Inputs["parameters"], db.Inputs["caCertIdentifier"])
		}
	})
}

func TestCKV_AWS_17_RDSNotPublic(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, _ string, rs []res) {
		db := one(t, rs, "aws:rds/instance:Instance")
		if db.Inputs["publiclyAccessible"] != false {
			t.Errorf("publiclyAccessible %v", db.Inputs["publiclyAccessible"])
		}
		// In the stack's private subnets, whose route table has no route
		// out (no routes at all but the VPC's local one).
		group := one(t, rs, "aws:rds/subnetGroup:SubnetGroup")
		if db.Inputs["dbSubnetGroupName"] == nil || len(group.Inputs["subnetIds"].([]any)) != 2 {
			t.Errorf("subnet group %v", group.Inputs)
		}
		rt := one(t, rs, "aws:ec2/routeTable:RouteTable")
		if routes, ok := rt.Inputs["routes"].([]any); ok && len(routes) > 0 {
			t.Errorf("the private route table has routes: %v", routes)
		}
		if len(ofType(rs, "aws:ec2/route:Route")) != 0 || len(ofType(rs, "aws:ec2/natGateway:NatGateway")) != 0 {
			t.Error("routes or NAT gateways declared")
		}
		zones := map[any]bool{}
		for _, s := range ofType(rs, "aws:ec2/subnet:Subnet") {
			if s.Inputs["mapPublicIpOnLaunch"] != false {
				t.Errorf("%s maps public addresses", s.Name)
			}
			zones[s.Inputs["availabilityZone"]] = true
		}
		if len(zones) != 2 {
			t.Errorf("private subnets in zones %v, want two", zones)
		}
		if n := len(ofType(rs, "aws:ec2/routeTableAssociation:RouteTableAssociation")); n != 2 {
			t.Errorf("%d route table associations, want the two private subnets", n)
		}
	})
}

// RDS's exported logs go to groups the stack makes first, with the stack's
// retention (RDS's own would keep them forever).
func TestRDSLogsKeptAsLongAsTheStacksOthers(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, stack string, rs []res) {
		db := one(t, rs, "aws:rds/instance:Instance")
		if !reflect.DeepEqual(db.Inputs["enabledCloudwatchLogsExports"], []any{"postgresql", "upgrade"}) {
			t.Errorf("exports %v", db.Inputs["enabledCloudwatchLogsExports"])
		}
		days := map[string]float64{"prod": 30, "pr-12": 3}[stack]
		for _, kind := range []string{"postgresql", "upgrade"} {
			g := named(t, rs, "aws:cloudwatch/logGroup:LogGroup", "-db-logs-"+kind)
			if g.Inputs["name"] != "/aws/rds/instance/blog-"+stack+"-db/"+kind || g.Inputs["retentionInDays"] != days {
				t.Errorf("log group %v", g.Inputs)
			}
			if !dependsOnName(db, g.Name) {
				t.Errorf("the instance does not wait for %s", g.Name)
			}
		}
	})
}

func TestCKV_AWS_133_RDSBackupsRetained(t *testing.T) {
	for _, s := range fargateStacks {
		t.Run(s.name, func(t *testing.T) {
			db := one(t, mustRun(t, s.name, s.config), "aws:rds/instance:Instance")
			want := 14.0 // the default
			if s.name != "prod" {
				want = 1 // previews are throwaway, but still restorable for a day
			}
			if db.Inputs["backupRetentionPeriod"] != want || db.Inputs["copyTagsToSnapshot"] != true {
				t.Errorf("backupRetentionPeriod %v (want %v), copyTagsToSnapshot %v", db.Inputs["backupRetentionPeriod"], want, db.Inputs["copyTagsToSnapshot"])
			}
		})
	}
	c := fargateProdConfig()
	c["blogstack:dbBackupDays"] = "35"
	if db := one(t, mustRun(t, "prod", c), "aws:rds/instance:Instance"); db.Inputs["backupRetentionPeriod"] != 35.0 {
		t.Errorf("dbBackupDays 35: %v", db.Inputs["backupRetentionPeriod"])
	}
}

func TestCKV_AWS_293_RDSDeletionProtectionInProd(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, stack string, rs []res) {
		db := one(t, rs, "aws:rds/instance:Instance")
		prod := stack == "prod"
		if db.Inputs["deletionProtection"] != prod || db.Protect != prod || db.Inputs["skipFinalSnapshot"] != !prod {
			t.Errorf("deletionProtection %v, protect %v, skipFinalSnapshot %v", db.Inputs["deletionProtection"], db.Protect, db.Inputs["skipFinalSnapshot"])
		}
		if prod && db.Inputs["finalSnapshotIdentifier"] != "blog-prod-db-final" {
			t.Errorf("final snapshot %v", db.Inputs["finalSnapshotIdentifier"])
		}
	})
}

func TestCKV_AWS_157_RDSMultiAZWhenSet(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, stack string, rs []res) {
		// multiAz is set in prod's config; a preview copies it and
		// stays single-AZ.
		if got := one(t, rs, "aws:rds/instance:Instance").Inputs["multiAz"]; got != (stack == "prod") {
			t.Errorf("multiAz %v", got)
		}
	})
	c := fargateProdConfig()
	delete(c, "blogstack:multiAz")
	if got := one(t, mustRun(t, "prod", c), "aws:rds/instance:Instance").Inputs["multiAz"]; got != false {
		t.Errorf("multiAz unset: %v", got)
	}
}

// The database's credentials: RDS keeps the admin's password (never in
// config, state or outputs); the app signs in with IAM.
func TestRDSCredentialsNeverInState(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, _ string, rs []res) {
		db := one(t, rs, "aws:rds/instance:Instance")
		if db.Inputs["manageMasterUserPassword"] != true || db.Inputs["password"] != nil {
			t.Errorf("manageMasterUserPassword %v, password %v", db.Inputs["manageMasterUserPassword"], db.Inputs["password"])
		}
		if db.Inputs["iamDatabaseAuthenticationEnabled"] != true {
			t.Error("IAM database authentication is off")
		}
	})
}

func TestCKV_AWS_131_ALBDropsInvalidHeaders(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, stack string, rs []res) {
		lb := one(t, rs, "aws:lb/loadBalancer:LoadBalancer")
		if lb.Inputs["dropInvalidHeaderFields"] != true || lb.Inputs["internal"] != false {
			t.Errorf("dropInvalidHeaderFields %v internal %v", lb.Inputs["dropInvalidHeaderFields"], lb.Inputs["internal"])
		}
		if lb.Inputs["enableDeletionProtection"] != (stack == "prod") {
			t.Errorf("deletion protection %v", lb.Inputs["enableDeletionProtection"])
		}
		if subnets := lb.Inputs["subnets"].([]any); len(subnets) < 2 {
			t.Errorf("the load balancer spans %d subnets", len(subnets))
		}
	})
}

func listener(t *testing.T, rs []res, port float64) res {
	t.Helper()
	for _, l := range ofType(rs, "aws:lb/listener:Listener") {
		if l.Inputs["port"] == port {
			return l
		}
	}
	t.Fatalf("no listener on %v", port)
	return res{}
}

func TestCKV_AWS_103_HTTPSListenerTLS12Plus(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, _ string, rs []res) {
		if n := len(ofType(rs, "aws:lb/listener:Listener")); n != 2 {
			t.Errorf("%d listeners, want HTTPS and the redirect", n)
		}
		l := listener(t, rs, 443)
		policy, _ := l.Inputs["sslPolicy"].(string)
		if l.Inputs["protocol"] != "HTTPS" || !strings.HasPrefix(policy, "ELBSecurityPolicy-TLS13-1-2-") {
			t.Errorf("protocol %v, policy %q: want HTTPS with a TLS 1.3/1.2 policy", l.Inputs["protocol"], policy)
		}
		if get(l.Inputs, "defaultActions", "type") != "forward" || l.Inputs["certificateArn"] == nil {
			t.Errorf("HTTPS listener: %v", l.Inputs)
		}
		// The certificate is ACM's, for the site's name, proven in DNS.
		cert := one(t, rs, "aws:acm/certificate:Certificate")
		if cert.Inputs["validationMethod"] != "DNS" {
			t.Errorf("certificate %v", cert.Inputs)
		}
		one(t, rs, "aws:acm/certificateValidation:CertificateValidation")
	})
}

func TestCKV_AWS_2_HTTPRedirectsToHTTPS(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, _ string, rs []res) {
		l := listener(t, rs, 80)
		if get(l.Inputs, "defaultActions", "type") != "redirect" ||
			get(l.Inputs, "defaultActions", "redirect", "protocol") != "HTTPS" ||
			get(l.Inputs, "defaultActions", "redirect", "statusCode") != "HTTP_301" {
			t.Errorf("HTTP listener does not redirect to HTTPS: %v", l.Inputs["defaultActions"])
		}
	})
}

func TestCKV_AWS_91_ALBAccessLogs(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, _ string, rs []res) {
		lb := one(t, rs, "aws:lb/loadBalancer:LoadBalancer")
		if get(lb.Inputs, "accessLogs", "enabled") != true || get(lb.Inputs, "accessLogs", "bucket") == nil {
			t.Fatalf("access logs %v", lb.Inputs["accessLogs"])
		}
		// The log bucket: private like the others, S3-managed keys (the
		// only ones ALBs write to), writable by Elastic Load Balancing
		// under the account's prefix only.
		bucket := get(lb.Inputs, "accessLogs", "bucket")
		enc := named(t, rs, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "-lb-logs")
		if get(enc.Inputs, "rules", "applyServerSideEncryptionByDefault", "sseAlgorithm") != "AES256" {
			t.Errorf("log bucket encryption %v", enc.Inputs)
		}
		pol := named(t, rs, "aws:s3/bucketPolicy:BucketPolicy", "-lb-logs")
		var doc infra.PolicyDocument
		if err := json.Unmarshal([]byte(pol.Inputs["policy"].(string)), &doc); err != nil {
			t.Fatal(err)
		}
		var allow []infra.Statement
		for _, s := range doc.Statement {
			if s.Effect == "Allow" {
				allow = append(allow, s)
			}
		}
		if len(allow) != 1 || !slices.Equal(allow[0].Action, []string{"s3:PutObject"}) ||
			!slices.Equal(allow[0].Resource, []string{"arn:aws:s3:::" + bucket.(string) + "/alb/AWSLogs/" + account + "/*"}) {
			t.Errorf("log bucket policy allows %+v", allow)
		}
		named(t, rs, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "-lb-logs")
	})
}

func TestTargetGroupMatchesTheAppsDrain(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, _ string, rs []res) {
		tg := one(t, rs, "aws:lb/targetGroup:TargetGroup")
		if tg.Inputs["targetType"] != "ip" || tg.Inputs["port"] != float64(infra.AppPort) || get(tg.Inputs, "healthCheck", "path") != "/readyz" {
			t.Errorf("target group %v", tg.Inputs)
		}
		// The app drains in BLOG_SHUTDOWN_DELAY (5 s) then up to 15 s;
		// ECS stops a task only after the deregistration delay.
		td := named(t, rs, "aws:ecs/taskDefinition:TaskDefinition", "-app")
		c := containers(t, td)[0]
		delay := tg.Inputs["deregistrationDelay"].(float64)
		if delay < 10 || delay > 30 || env(c)["BLOG_SHUTDOWN_DELAY"] != "5s" || c["stopTimeout"].(float64) < 5+15 {
			t.Errorf("deregistration delay %v, shutdown delay %q, stop timeout %v", delay, env(c)["BLOG_SHUTDOWN_DELAY"], c["stopTimeout"])
		}
	})
}

func TestCKV_AWS_336_TasksReadOnlyRoot(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, _ string, rs []res) {
		tds := ofType(rs, "aws:ecs/taskDefinition:TaskDefinition")
		if len(tds) != 2 {
			t.Fatalf("%d task definitions, want app and migrate", len(tds))
		}
		for _, td := range tds {
			for _, c := range containers(t, td) {
				if c["readonlyRootFilesystem"] != true {
					t.Errorf("%s: %s has a writable root", td.Name, c["name"])
				}
				// Only /tmp is writable: the task's own scratch volume.
				if !reflect.DeepEqual(c["mountPoints"], []any{map[string]any{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": false}}) ||
					!reflect.DeepEqual(td.Inputs["volumes"], []any{map[string]any{"name": "tmp"}}) {
					t.Errorf("%s: mounts %v, volumes %v", td.Name, c["mountPoints"], td.Inputs["volumes"])
				}
			}
		}
	})
}

// CKV_AWS_97's spirit: no privileged containers, no root, no capabilities,
// and no host namespaces.
func TestCKV_AWS_97_TasksNotPrivileged(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, _ string, rs []res) {
		for _, td := range ofType(rs, "aws:ecs/taskDefinition:TaskDefinition") {
			if td.Inputs["networkMode"] != "awsvpc" || td.Inputs["pidMode"] != nil || td.Inputs["ipcMode"] != nil {
				t.Errorf("%s: network %v pid %v ipc %v", td.Name, td.Inputs["networkMode"], td.Inputs["pidMode"], td.Inputs["ipcMode"])
			}
			for _, c := range containers(t, td) {
				drop := get(c, "linuxParameters", "capabilities", "drop")
				// Fargate refuses privileged and dockerSecurityOptions:
				// neither may appear, even as false.
				_, privileged := c["privileged"]
				_, options := c["dockerSecurityOptions"]
				if privileged || options || c["user"] != "65532:65532" || !reflect.DeepEqual(drop, []any{"ALL"}) ||
					get(c, "linuxParameters", "capabilities", "add") != nil {
					t.Errorf("%s: privileged %v, user %v, drop %v, security options %v", td.Name, c["privileged"], c["user"], drop, c["dockerSecurityOptions"])
				}
			}
		}
	})
}

// CKV_AWS_249: the execution role (ECS's) is not the task role (the
// app's); secrets come from Secrets Manager or SSM only, never as plain
// environment values.
func TestCKV_AWS_249_SecretsFromSecretsManagerOrSSMOnly(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, stack string, rs []res) {
		for _, td := range ofType(rs, "aws:ecs/taskDefinition:TaskDefinition") {
			if td.Inputs["executionRoleArn"] == nil || td.Inputs["executionRoleArn"] == td.Inputs["taskRoleArn"] {
				t.Errorf("%s: execution role %v, task role %v", td.Name, td.Inputs["executionRoleArn"], td.Inputs["taskRoleArn"])
			}
			for _, c := range containers(t, td) {
				for name, value := range env(c) {
					if strings.Contains(name, "PASSWORD") || strings.Contains(name, "SECRET") || strings.Contains(value, "@") && strings.Contains(strings.SplitN(value, "@", 2)[0], ":") &&
						strings.Count(strings.SplitN(value, "@", 2)[0], ":") > 1 {
						t.Errorf("%s: %s=%q looks like a secret in plain text", td.Name, name, value)
					}
				}
				for _, s := range c["secrets"].([]any) {
					from := s.(map[string]any)["valueFrom"].(string)
					if !strings.HasPrefix(from, "arn:aws:secretsmanager:") && !strings.HasPrefix(from, "arn:aws:ssm:") {
						t.Errorf("%s: secret from %q", td.Name, from)
					}
				}
			}
		}
		app := containers(t, named(t, rs, "aws:ecs/taskDefinition:TaskDefinition", "-app"))[0]
		migrate := containers(t, named(t, rs, "aws:ecs/taskDefinition:TaskDefinition", "-migrate"))[0]
		// Only the migrate task gets the admin's password; the app signs
		// in as the app's user with an IAM token.
		if got := app["secrets"]; !reflect.DeepEqual(got, []any{map[string]any{"name": "BLOG_SECRET_KEY", "valueFrom": "arn:aws:ssm:eu-west-1:" + account + ":parameter/blog/" + stack + "/secret-key"}}) {
			t.Errorf("app secrets %v", got)
		}
		if e := env(app); e["BLOG_DATABASE_AUTH"] != "iam" || !strings.HasPrefix(e["DATABASE_URL"], "postgres://blog@") || !strings.HasSuffix(e["DATABASE_URL"], "/blog?sslmode=require") {
			t.Errorf("app database settings %q %q", e["BLOG_DATABASE_AUTH"], e["DATABASE_URL"])
		}
		if got := migrate["secrets"]; !reflect.DeepEqual(got, []any{map[string]any{"name": "PGPASSWORD", "valueFrom": dbSecretArn + ":password::"}}) {
			t.Errorf("migrate secrets %v", got)
		}
		if !reflect.DeepEqual(migrate["command"], []any{"migrate", "--grant-to", "blog"}) {
			t.Errorf("migrate command %v", migrate["command"])
		}
		// The app's role may connect as the app's user only.
		for _, p := range ofType(rs, "aws:iam/rolePolicy:RolePolicy") {
			if strings.HasSuffix(p.Name, "-db-connect") {
				if !strings.Contains(p.Inputs["policy"].(string), `"arn:aws:rds-db:eu-west-1:`+account+`:dbuser:db-ABCDEFGHIJKLMNOP/blog"`) {
					t.Errorf("db connect policy %v", p.Inputs["policy"])
				}
			}
		}
	})
}

// sgRules is every separate rule, as "group <- peer:port" (ingress) or
// "group -> peer:port" (egress), groups named by their role (the mocks make
// a group's id "sg-<name>", e.g. sg-blog-prod-network-lb-sg is "lb").
func sgRules(rs []res) []string {
	role := func(v any) string {
		s, _ := v.(string)
		s = strings.TrimSuffix(strings.TrimPrefix(s, "sg-"), "-sg")
		return s[strings.LastIndex(s, "-")+1:]
	}
	var out []string
	for typ, arrow := range map[string]string{
		"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": " <- ",
		"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   " -> ",
	} {
		for _, r := range ofType(rs, typ) {
			peer := role(r.Inputs["referencedSecurityGroupId"])
			for _, k := range []string{"cidrIpv4", "cidrIpv6"} {
				if c, ok := r.Inputs[k].(string); ok {
					peer = c
				}
			}
			out = append(out, fmt.Sprintf("%s%s%s:%v", role(r.Inputs["securityGroupId"]), arrow, peer, r.Inputs["fromPort"]))
		}
	}
	slices.Sort(out)
	return out
}

func TestSecurityGroupsChainLoadBalancerTasksDatabase(t *testing.T) {
	want := []string{
		"db <- task:5432",
		"lb -> task:8080",
		"lb <- 0.0.0.0/0:443", "lb <- 0.0.0.0/0:80", "lb <- ::/0:443", "lb <- ::/0:80",
		"task -> 0.0.0.0/0:443",
		"task -> db:5432",
		"task <- lb:8080",
	}
	slices.Sort(want)
	eachFargateStack(t, func(t *testing.T, _ string, rs []res) {
		if got := sgRules(rs); !slices.Equal(got, want) {
			t.Errorf("rules\n got %q\nwant %q", got, want)
		}
		// No inline rules: AWS's default allow-all egress is removed by
		// the provider only when the group declares none itself.
		for _, sg := range ofType(rs, "aws:ec2/securityGroup:SecurityGroup") {
			if sg.Inputs["ingress"] != nil || sg.Inputs["egress"] != nil {
				t.Errorf("%s has inline rules", sg.Name)
			}
		}
		// The database and the tasks sit behind exactly these groups.
		db := one(t, rs, "aws:rds/instance:Instance")
		if ids := db.Inputs["vpcSecurityGroupIds"].([]any); len(ids) != 1 || !strings.HasSuffix(ids[0].(string), "-db-sg") {
			t.Errorf("database groups %v", ids)
		}
		svc := one(t, rs, "aws:ecs/service:Service")
		if ids := get(svc.Inputs, "networkConfiguration", "securityGroups").([]any); len(ids) != 1 || !strings.HasSuffix(ids[0].(string), "-task-sg") {
			t.Errorf("task groups %v", ids)
		}
	})
}

func TestServiceRollsSafelyAcrossZones(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, _ string, rs []res) {
		svc := one(t, rs, "aws:ecs/service:Service")
		in := svc.Inputs
		if in["launchType"] != "FARGATE" || in["desiredCount"] != 2.0 || in["deploymentMinimumHealthyPercent"] != 100.0 ||
			get(in, "deploymentCircuitBreaker", "enable") != true || get(in, "deploymentCircuitBreaker", "rollback") != true ||
			in["waitForSteadyState"] != true || in["availabilityZoneRebalancing"] != "ENABLED" {
			t.Errorf("service %v", in)
		}
		if subnets := get(in, "networkConfiguration", "subnets").([]any); len(subnets) < 2 {
			t.Errorf("tasks in %d subnets, want two zones at least", len(subnets))
		}
		// A new deploy id redeploys, so a retry after a rollback is tried.
		if in["forceNewDeployment"] != true || get(in, "triggers", "deployId") != "9876543210-1" {
			t.Errorf("forceNewDeployment %v, triggers %v", in["forceNewDeployment"], in["triggers"])
		}
		if !slices.Contains(svc.Ignore, "desiredCount") {
			t.Errorf("desiredCount not left to autoscaling: ignore %v", svc.Ignore)
		}
		target := one(t, rs, "aws:appautoscaling/target:Target")
		if target.Inputs["minCapacity"] != 2.0 || target.Inputs["maxCapacity"] != 4.0 {
			t.Errorf("scaling %v..%v", target.Inputs["minCapacity"], target.Inputs["maxCapacity"])
		}
		policy := one(t, rs, "aws:appautoscaling/policy:Policy")
		if get(policy.Inputs, "targetTrackingScalingPolicyConfiguration", "predefinedMetricSpecification", "predefinedMetricType") != "ECSServiceAverageCPUUtilization" {
			t.Errorf("scaling policy %v", policy.Inputs)
		}
		app := containers(t, named(t, rs, "aws:ecs/taskDefinition:TaskDefinition", "-app"))[0]
		if !reflect.DeepEqual(get(app, "healthCheck", "command"), []any{"CMD", "/blog", "healthcheck"}) {
			t.Errorf("health check %v", app["healthCheck"])
		}
		if get(app, "logConfiguration", "logDriver") != "awslogs" {
			t.Errorf("logs %v", app["logConfiguration"])
		}
	})
}

// dependsOnName says whether r depends on the resource called name.
func dependsOnName(r res, name string) bool {
	for _, d := range r.DependsOn {
		if strings.HasSuffix(d, "::"+name) {
			return true
		}
	}
	return false
}

// A release migrates first, in a one-off task, and only then moves the
// service; then `pulumi up` checks ECS kept the new deployment.
func TestMigrationRunsBeforeTheServiceMoves(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, stack string, rs []res) {
		var migrate, check res
		for _, c := range ofType(rs, "command:local:Command") {
			switch get(c.Inputs, "environment", "STEP") {
			case "migrate":
				migrate = c
			case "verify":
				check = c
			}
		}
		if migrate.Name == "" || check.Name == "" {
			t.Fatalf("commands %v", ofType(rs, "command:local:Command"))
		}
		svc := one(t, rs, "aws:ecs/service:Service")
		if !dependsOnName(svc, migrate.Name) || !dependsOnName(check, svc.Name) {
			t.Errorf("service depends on %v, check on %v", svc.DependsOn, check.DependsOn)
		}
		migrateTD := named(t, rs, "aws:ecs/taskDefinition:TaskDefinition", "-migrate")
		if get(migrate.Inputs, "environment", "TASK_DEFINITION") != "arn:aws:ecs:eu-west-1:"+account+":task-definition/"+migrateTD.Inputs["family"].(string)+":7" {
			t.Errorf("migration runs %v", get(migrate.Inputs, "environment", "TASK_DEFINITION"))
		}
		// A new task definition (a new image) runs the migration again.
		if triggers := migrate.Inputs["triggers"].([]any); len(triggers) != 2 {
			t.Errorf("triggers %v", triggers)
		}
		if !reflect.DeepEqual(migrate.Inputs["interpreter"], []any{"/bin/bash", "-c"}) || !strings.Contains(migrate.Inputs["create"].(string), "aws ecs run-task") {
			t.Errorf("migration command %v", migrate.Inputs["interpreter"])
		}
	})
}

// The first `pulumi up` into an empty account has no image yet: no task
// runs, and the release outputs stay empty.
func TestFargateWithoutAnImageDeclaresNoTask(t *testing.T) {
	c := fargateProdConfig()
	delete(c, "blogstack:imageTag")
	delete(c, "blogstack:deployId")
	rs := mustRun(t, "prod", c)
	for _, typ := range []string{"aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition", "command:local:Command", "aws:appautoscaling/target:Target"} {
		if n := len(ofType(rs, typ)); n != 0 {
			t.Errorf("%d %s without an image", n, typ)
		}
	}
	one(t, rs, "aws:ecs/cluster:Cluster")
	one(t, rs, "aws:rds/instance:Instance")
}

// Fargate mode has no host, and host mode is untouched by fargate's
// settings: previews copy prod's config and stay in host mode.
func TestModeChangesOnlyWhatItShould(t *testing.T) {
	hostOnly := []string{"aws:ec2/instance:Instance", "aws:ebs/volume:Volume", "aws:ssm/association:Association", "aws:ec2/eip:Eip"}
	fargateOnly := []string{"aws:rds/instance:Instance", "aws:ecs/service:Service", "aws:lb/loadBalancer:LoadBalancer"}
	rs := mustRun(t, "prod", fargateProdConfig())
	for _, typ := range hostOnly {
		if n := len(ofType(rs, typ)); n != 0 {
			t.Errorf("fargate prod declares %d %s", n, typ)
		}
	}
	// A preview of a fargate prod, without previewMode: a host.
	pr := fargateProdConfig()
	pr["blogstack:imageTag"] = "pr-12-3f2a9c1"
	rs = mustRun(t, "pr-12", pr)
	for _, typ := range fargateOnly {
		if n := len(ofType(rs, typ)); n != 0 {
			t.Errorf("pr-12 of a fargate prod declares %d %s", n, typ)
		}
	}
	one(t, rs, "aws:ec2/instance:Instance")

	// Host mode with every fargate setting given is host mode exactly.
	for _, s := range stacks {
		plain := mustRun(t, s.name, s.config)
		c := maps.Clone(s.config)
		for k, v := range map[string]string{"multiAz": "true", "dbInstanceClass": "db.m7g.large", "minTasks": "3", "taskCpu": "512", "taskMemory": "1024"} {
			c["blogstack:"+k] = v
		}
		if !reflect.DeepEqual(resourcesByName(plain), resourcesByName(mustRun(t, s.name, c))) {
			t.Errorf("%s: fargate settings changed host mode's resources", s.name)
		}
	}
}

func resourcesByName(rs []res) map[string]res {
	out := map[string]res{}
	for _, r := range rs {
		out[r.Type+"::"+r.Name] = r
	}
	return out
}

// A move keeps the host's resources as host mode has them (but for the
// host's one egress rule to the database and its read of the database
// admin's secret, for host/move-to-rds, the media role's trust and the DNS
// record), adds Fargate's beside them, and points DNS at the host until
// it is switched.
func TestMoveKeepsTheHostUntilDone(t *testing.T) {
	host := resourcesByName(mustRun(t, "prod", prodConfig()))
	move := func(step string) []res {
		c := fargateProdConfig()
		c["blogstack:move"] = step
		return mustRun(t, "prod", c)
	}
	prepared := move("prepared")
	changed := map[string]bool{}
	got := resourcesByName(prepared)
	for k, r := range host {
		g, ok := got[k]
		if !ok {
			t.Errorf("moving drops %s", k)
			continue
		}
		if !reflect.DeepEqual(r.Inputs, g.Inputs) {
			changed[k] = true
		}
	}
	want := map[string]bool{
		"aws:ec2/securityGroup:SecurityGroup::blog-prod-host-sg":    true, // out to RDS
		"aws:iam/role:Role::blog-prod-media-role":                   true, // ECS tasks may assume it too
		"aws:iam/rolePolicy:RolePolicy::blog-prod-host-role-policy": true, // reads RDS's admin secret
	}
	if !reflect.DeepEqual(changed, want) {
		t.Errorf("moving changes %v, want %v", slices.Sorted(maps.Keys(changed)), slices.Sorted(maps.Keys(want)))
	}
	one(t, prepared, "aws:rds/instance:Instance")
	rec := func(rs []res) res { return named(t, rs, "aws:route53/record:Record", "-dns-a") }
	if r := rec(prepared); r.Inputs["records"] == nil || r.Inputs["aliases"] != nil {
		t.Errorf("prepared: DNS %v", r.Inputs)
	}
	switched := move("switched")
	if r := rec(switched); r.Inputs["records"] != nil || get(r.Inputs, "aliases", "name") != "blog-prod-lb-1234567890.eu-west-1.elb.amazonaws.com" {
		t.Errorf("switched: DNS %v", r.Inputs)
	}
	// The host may read the database admin's secret while it moves.
	for _, r := range prepared {
		if r.Name == "blog-prod-host-role-policy" && !strings.Contains(r.Inputs["policy"].(string), `"Action":["secretsmanager:GetSecretValue"],"Resource":["`+dbSecretArn+`"]`) {
			t.Errorf("the host cannot read the database's secret while moving: %v", r.Inputs["policy"])
		}
	}
	// The database admits the host while it moves, and only then.
	if !slices.Contains(sgRules(prepared), "db <- host:5432") || slices.Contains(sgRules(mustRun(t, "prod", fargateProdConfig())), "db <- host:5432") {
		t.Errorf("rules while moving: %q", sgRules(prepared))
	}
}

func TestFargateConfigErrors(t *testing.T) {
	cases := []struct{ key, value, want string }{
		{"mode", "kubernetes", `blogstack:mode: "kubernetes" is not a mode`},
		{"move", "halfway", `blogstack:move: "halfway" is not a step`},
		{"taskCpu", "300", "blogstack:taskCpu: 300 is not a Fargate CPU size"},
		{"taskMemory", "4096", "blogstack:taskMemory: 4096 MiB does not go with blogstack:taskCpu 256"},
		{"minTasks", "1", `blogstack:minTasks: "1" is not a whole number from 2 to 100`},
		{"maxTasks", "3", "blogstack:maxTasks: 3 is below"},
		{"dbInstanceClass", "t4g.micro", "is not an RDS instance class"},
		{"dbStorage", "200", "blogstack:dbMaxStorage: 100 must be above blogstack:dbStorage (200)"},
		{"dbStorage", "100", "blogstack:dbMaxStorage: 100 must be above blogstack:dbStorage (100)"},
		{"multiAz", "yes", `blogstack:multiAz: "yes" is not true or false`},
		{"dbSubnetCidrs", "10.0.0.0/24,10.0.1.0/24", "inside the default VPC's 172.31.0.0/16"},
		{"dbSubnetCidrs", "172.31.240.0/24", "want two different CIDR blocks"},
	}
	for _, c := range cases {
		cfg := fargateProdConfig()
		cfg["blogstack:"+c.key] = c.value
		if c.key == "minTasks" || c.key == "maxTasks" {
			cfg["blogstack:minTasks"], cfg["blogstack:maxTasks"] = c.value, c.value
			if c.key == "maxTasks" {
				cfg["blogstack:minTasks"] = "4"
			}
		}
		_, err := run(t, "prod", cfg, "ami-1")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%q: %v, want %q", c.key, c.value, err, c.want)
		}
	}
	c := prodConfig()
	c["blogstack:move"] = "prepared"
	if _, err := run(t, "prod", c, "ami-1"); err == nil || !strings.Contains(err.Error(), "a move goes from host to fargate") {
		t.Errorf("move in host mode: %v", err)
	}
}

// Both modes run the same PostgreSQL major version, so a move is a dump
// and a restore, never an upgrade.
func TestRDSRunsTheComposeFilesPostgreSQL(t *testing.T) {
	m := regexp.MustCompile(`(?m)^\s+image: \$\{BLOG_DB_IMAGE:-postgres:(\d+)\.`).FindSubmatch(blogstack.ComposeFile)
	if m == nil {
		t.Fatal("no postgres image in docker-compose.prod.yml")
	}
	if string(m[1]) != infra.PostgresMajor {
		t.Errorf("compose runs PostgreSQL %s, RDS %s", m[1], infra.PostgresMajor)
	}
}

func TestFargateOutputs(t *testing.T) {
	got := outputs(t, "prod", fargateProdConfig(), &mocks{ami: "ami-1"})
	want := map[string]string{
		"url":                   "https://blog.example.com",
		"registryUrl":           registryURL,
		"previewRegistryUrl":    previewRegistryURL,
		"mediaBucket":           "blog-prod-media-files-a1b2c3d",
		"imageTag":              "3f2a9c1",
		"deployId":              "9876543210-1",
		"loadBalancerDns":       "blog-prod-lb-1234567890.eu-west-1.elb.amazonaws.com",
		"clusterName":           "blog-prod-service-cluster-x",
		"serviceName":           "blog-prod-service-x",
		"migrateTaskDefinition": "arn:aws:ecs:eu-west-1:" + account + ":task-definition/blog-prod-migrate:7",
		"databaseEndpoint":      "blog-prod-db.c0abc.eu-west-1.rds.amazonaws.com:5432",
		"databaseSecretArn":     dbSecretArn,
		"taskSecurityGroupId":   "sg-blog-prod-network-task-sg",
		"taskSubnetIds":         "[subnet-0aaaaaaaa subnet-0bbbbbbbb]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outputs\n got %v\nwant %v", got, want)
	}
}

func TestFargateNamesTagsAndParentsDistinctPerStack(t *testing.T) {
	names := map[string]string{}
	for _, s := range fargateStacks {
		namedAfterStack(t, s.name, mustRun(t, s.name, s.config), names)
	}
}

// The dashboard shows the load balancer, the tasks, the database and every
// alarm fargate mode declares.
func TestFargateDashboard(t *testing.T) {
	eachFargateStack(t, func(t *testing.T, stack string, rs []res) {
		d := one(t, rs, "aws:cloudwatch/dashboard:Dashboard")
		body, _ := d.Inputs["dashboardBody"].(string)
		if d.Inputs["dashboardName"] != "blog-"+stack+"-ecs" {
			t.Errorf("dashboard %v", d.Inputs["dashboardName"])
		}
		for _, want := range []string{
			`"LoadBalancer","app/blog-` + stack + `-lb/50dc6c495c0c9188"`,
			`"TargetGroup","targetgroup/blog-` + stack + `-lb-app/6d0ecf831eec9f09"`,
			`"DBInstanceIdentifier","blog-` + stack + `-db"`,
			`"ClusterName","blog-` + stack + `-service-cluster-x","ServiceName","blog-` + stack + `-service-x"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("dashboard lacks %s", want)
			}
		}
		for _, a := range ofType(rs, "aws:cloudwatch/metricAlarm:MetricAlarm") {
			name := a.Inputs["name"].(string)
			if strings.HasSuffix(name, "-ecs-readyz") {
				continue // in us-east-1, with its own topic
			}
			if !strings.Contains(body, ":alarm:"+name+`"`) {
				t.Errorf("dashboard lacks alarm %s", name)
			}
		}
	})
}
