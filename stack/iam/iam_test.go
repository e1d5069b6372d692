package iam_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// notPlaceholders are capitalized words policies hold that are values, not
// placeholders: a DNS record type.
var notPlaceholders = map[string]bool{"CNAME": true}

// The managed policy size limit, counted without white space.
const managedPolicyLimit = 6144

func TestPolicyFilesFitAndUseOnlyKnownPlaceholders(t *testing.T) {
	leftover := regexp.MustCompile(`\b[A-Z][A-Z_]{3,}\b`)
	for _, name := range append(permissionFiles(), trustPolicies...) {
		text, doc := readPolicy(t, name, longest)
		if doc["Version"] != "2012-10-17" {
			t.Errorf("%s: Version %v, want 2012-10-17", name, doc["Version"])
		}
		sample, _ := readPolicy(t, name, placeholders)
		for _, word := range leftover.FindAllString(sample, -1) {
			if !notPlaceholders[word] {
				t.Errorf("%s: %s is not a placeholder the README fills in", name, word)
			}
		}
		size := len(strings.Join(strings.Fields(text), ""))
		if size > managedPolicyLimit {
			t.Errorf("%s: %d characters with the longest values, over the managed policy limit %d", name, size, managedPolicyLimit)
		}
	}
}

func TestTrustPoliciesNameOnlyTheirSubjects(t *testing.T) {
	// The preview role also serves the sweep, which runs on a schedule in
	// the `previews` environment (limited to main, like `production`).
	want := map[string]any{
		"deploy/trust.json":  "repo:acme/blog:environment:production",
		"preview/trust.json": []any{"repo:acme/blog:pull_request", "repo:acme/blog:environment:previews"},
	}
	for name, sub := range want {
		_, doc := readPolicy(t, name, placeholders)
		var got struct {
			Statement []struct {
				Effect    string
				Principal map[string]string
				Action    string
				Condition map[string]map[string]any
			}
		}
		b, _ := json.Marshal(doc)
		if err := json.Unmarshal(b, &got); err != nil || len(got.Statement) != 1 {
			t.Fatalf("%s: want exactly one statement with a single action and string conditions (%v)", name, err)
		}
		st := got.Statement[0]
		wantCond := map[string]map[string]any{"StringEquals": {
			"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
			"token.actions.githubusercontent.com:sub": sub,
		}}
		if st.Effect != "Allow" || st.Action != "sts:AssumeRoleWithWebIdentity" ||
			st.Principal["Federated"] != "arn:aws:iam::"+account+":oidc-provider/token.actions.githubusercontent.com" ||
			!reflect.DeepEqual(st.Condition, wantCond) {
			t.Errorf("%s: trusts %+v, want only %s (StringEquals, no wildcard) for audience sts.amazonaws.com", name, st, sub)
		}
	}
}

// policies returns every policy the simulations may name: the files, and
// the host role's policy as the program writes it for prod and pr-12.
func policies() (map[string]any, error) {
	out := map[string]any{}
	for _, name := range permissionFiles() {
		_, doc, err := loadPolicy(name, placeholders)
		if err != nil {
			return nil, err
		}
		out[name] = doc
	}
	for name, doc := range hostPolicies() {
		out[name] = doc
	}
	// What a pull request could make the host's inline policy say: the
	// boundary must still hold.
	out["anything"] = map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"},
	}}
	out["bad"] = badPolicy
	return out, nil
}

// functionToken matches the token of a function (an invoke), e.g.
// aws:ec2/getVpc:getVpc, as opposed to a resource type.
var functionToken = regexp.MustCompile(`:get[A-Z][A-Za-z]*$`)

var (
	checkOnce sync.Once
	checked   checkOutput
	missing   string
	checkErr  error
)

// check asks check.mjs, once for the whole file, everything the tests below
// want to know: the audit, the provider calls and the simulations.
func check(t *testing.T) checkOutput {
	t.Helper()
	checkOnce.Do(func() {
		var in checkInput
		if in, checkErr = checkRequests(); checkErr == nil {
			checked, missing, checkErr = runNode(in)
		}
	})
	if checkErr != nil {
		t.Fatal(checkErr)
	}
	if missing != "" {
		unavailable(t, missing)
	}
	return checked
}

func checkRequests() (checkInput, error) {
	all, err := policies()
	if err != nil {
		return checkInput{}, err
	}
	types, err := programTypes()
	if err != nil {
		return checkInput{}, err
	}
	in := checkInput{Account: account, Policies: all, Audit: append(append(permissionFiles(), stackPolicyNames...), "bad")}
	in.Coverage = append(coverage(types, "prod", "deploy", deployPolicies, nil), coverage(types, "pr-12", "preview", previewPolicies, previewLacks)...)
	// A pull request's pulumi preview of prod runs prod's function calls
	// with the preview role.
	var prodCalls []string
	for _, typ := range types["prod"] {
		if functionToken.MatchString(typ) {
			prodCalls = append(prodCalls, typ)
		}
	}
	in.Coverage = append(in.Coverage, coverage(map[string][]string{"prod": prodCalls}, "prod", "preview", previewPolicies, nil)...)
	in.Simulations = simulations()
	return in, nil
}

func TestEveryStatementFitsTheServiceAuthorizationReference(t *testing.T) {
	for _, f := range check(t).Audit {
		if f.Policy != "bad" {
			t.Errorf("%s: statement %s: %s: %s", f.Policy, f.Sid, f.Action, f.Problem)
		}
	}
}

// TestAuditCatchesKnownMistakes proves the audit above can fail: each of
// these statements is a mistake the Service Authorization Reference shows.
func TestAuditCatchesKnownMistakes(t *testing.T) {
	found := map[string]bool{}
	for _, f := range check(t).Audit {
		if f.Policy == "bad" {
			found[f.Sid] = true
		}
	}
	for _, sid := range []string{"Dlm", "Describe", "WrongType", "Key", "Typo"} {
		if !found[sid] {
			t.Errorf("the audit did not flag statement %s", sid)
		}
	}
}

// badPolicy holds one mistake per statement that the audit must flag.
var badPolicy = map[string]any{"Version": "2012-10-17", "Statement": []any{
	// dlm:CreateLifecyclePolicy supports no resource type (issue 8).
	map[string]any{"Sid": "Dlm", "Effect": "Allow", "Action": []string{"dlm:CreateLifecyclePolicy"}, "Resource": "arn:aws:dlm:eu-west-1:123456789012:policy/*"},
	// ec2:DescribeSnapshots supports no resource type.
	map[string]any{"Sid": "Describe", "Effect": "Allow", "Action": "ec2:DescribeSnapshots", "Resource": "arn:aws:ec2:eu-west-1::snapshot/*"},
	// A volume ARN for an action on instances.
	map[string]any{"Sid": "WrongType", "Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "arn:aws:ec2:eu-west-1:123456789012:volume/*"},
	// route53:GetChange knows no tags.
	map[string]any{"Sid": "Key", "Effect": "Allow", "Action": "route53:GetChange", "Resource": "arn:aws:route53:::change/*",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/blog:stack": "prod"}}},
	// No such action.
	map[string]any{"Sid": "Typo", "Effect": "Allow", "Action": "s3:GetObjects", "Resource": "*"},
}}

var (
	typesOnce sync.Once
	types     map[string][]string
	typesErr  error
)

// programTypes are the resource types and functions infra.Program uses for
// prod and for pr-12, in host mode and in fargate mode (either can be any
// stack's, and a move has both at once).
func programTypes() (map[string][]string, error) {
	typesOnce.Do(func() {
		types = map[string][]string{}
		for _, stack := range []string{"prod", "pr-12"} {
			seen := map[string]bool{}
			for _, mode := range []string{"host", "fargate"} {
				var list []string
				if list, typesErr = declaredTypes(stack, mode); typesErr != nil {
					return
				}
				for _, typ := range list {
					if !seen[typ] {
						seen[typ] = true
						types[stack] = append(types[stack], typ)
					}
				}
			}
			sort.Strings(types[stack])
		}
	})
	return types, typesErr
}

func TestEveryResourceTypeOfTheProgramIsTabled(t *testing.T) {
	types, err := programTypes()
	if err != nil {
		t.Fatal(err)
	}
	for stack, list := range types {
		for _, typ := range list {
			if strings.HasPrefix(typ, "blogstack:") {
				continue // the program's own components: no API calls
			}
			if _, ok := providerActions[typ]; !ok {
				t.Errorf("%s declares %s, which providerActions does not list: add the API actions pulumi-aws calls for it (and grant them)", stack, typ)
			}
		}
	}
}

// stackValues are the sample ARN parts and request context for a stack's
// resources, as the program names and tags them.
func stackValues(stack string) (map[string]string, map[string]any) {
	prefix := "blog-" + stack
	repo, zone, record := "blog", "Z0PRODZONE", "blog.example.com"
	if stack != "prod" {
		repo, zone, record = "blog-previews", "Z0PREVIEWZONE", stack+".previews.example.com"
	}
	samples := map[string]string{
		"Partition": "aws", "Region": region, "Account": account,
		"InstanceId": "i-0123456789abcdef0", "VolumeId": "vol-0123456789abcdef0", "SnapshotId": "snap-0123456789abcdef0",
		"SecurityGroupId": "sg-0123456789abcdef0", "SecurityGroupRuleId": "sgr-0123456789abcdef0",
		"AllocationId": "eipalloc-0123456789abcdef0", "SubnetId": "subnet-0aaaaaaaa", "VpcId": "vpc-0abc",
		"ImageId": "ami-0123456789abcdef0", "NetworkInterfaceId": "eni-0123456789abcdef0",
		"RoleNameWithPath": prefix + "-host-role-1a2b3c4", "InstanceProfileNameWithPath": prefix + "-host-profile-1a2b3c4",
		"RepositoryName": repo, "BucketName": prefix + "-data-backups-1a2b3c4", "ObjectName": "backups/" + stack + "/20260102T021733Z.dump",
		"DocumentName": prefix + "-deploy", "ParameterNameWithoutLeadingSlash": "blog/" + stack + "/db-password",
		"AssociationId": "0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6", "ResourceName": "policy-0123456789abcdef0",
		"LogGroupName": prefix + "-app", "AlarmName": prefix + "-backup", "DashboardName": prefix,
		"TopicName": prefix + "-alerts", "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
		"SubscriptionId": "0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6",
		"Id":             zone,
		// Fargate mode's, as the program and AWS name them.
		"RouteTableId":     "rtb-0123456789abcdef0",
		"LoadBalancerName": prefix + "-lb-1a2b3c4", "LoadBalancerId": "50dc6c495c0c9188", "ListenerId": "f2f7dc8efc522ab2",
		"TargetGroupName": prefix + "-lb-app-1a2b3c4", "TargetGroupId": "73e2d6bc24d8a067",
		"CertificateId": "12345678-1234-1234-1234-123456789012",
		"ClusterName":   prefix + "-service-cluster-1a2b3c4", "ServiceName": prefix + "-service-1a2b3c4",
		"TaskDefinitionFamilyName": prefix + "-app", "TaskDefinitionRevisionNumber": "3",
		"TaskId": "0123456789abcdef0123456789abcdef", "ResourceId": "0ec9c5a1b2c3d4e5f6a7b8c9d0e1f2a3",
		"DbInstanceName": prefix + "-db", "ParameterGroupName": prefix + "-db-params-1a2b3c4",
		"SubnetGroupName": prefix + "-db-subnets-1a2b3c4", "SecretId": "rds!db-0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6-AbCdEf",
		"LogStreamName": "migrate/migrate/0123456789abcdef0123456789abcdef",
	}
	context := map[string]any{
		"aws:RequestTag/blog:stack":  stack,
		"aws:ResourceTag/blog:stack": stack,
		"ssm:resourceTag/blog:stack": stack,
		"aws:TagKeys":                []string{"Name", "blog:stack", "blog:project", "blog:managed-by"},
		"aws:RequestedRegion":        region,
		"iam:PermissionsBoundary":    boundary,
		"iam:PassedToService":        "ec2.amazonaws.com",
		"iam:PolicyARN":              "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole",
		"route53:ChangeResourceRecordSetsNormalizedRecordNames": []string{record},
		"route53:ChangeResourceRecordSetsRecordTypes":           []string{"A"},
		"route53:ChangeResourceRecordSetsActions":               []string{"UPSERT"},
		"ecs:cluster": "arn:aws:ecs:" + region + ":" + account + ":cluster/" + samples["ClusterName"],
		"application-autoscaling:service-namespace": "ecs",
		// RDS tags the secret it keeps the master password in.
		"aws:ResourceTag/aws:rds:primaryDBInstanceArn": "arn:aws:rds:" + region + ":" + account + ":db:" + prefix + "-db",
	}
	return samples, context
}

// previewLacks are the resource types previews do not declare (CONTRACT.md:
// no Elastic IP, no DLM policy; Object Lock and the registries are prod's).
var previewLacks = map[string]bool{
	"aws:ec2/eip:Eip":                                                        true,
	"aws:ec2/eipAssociation:EipAssociation":                                  true,
	"aws:dlm/lifecyclePolicy:LifecyclePolicy":                                true,
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment":                      true, // only the DLM role has one
	"aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2": true,
	"aws:ecr/repository:Repository":                                          true,
	"aws:ecr/lifecyclePolicy:LifecyclePolicy":                                true,
}

// coverage builds one request per tabled action of every type a stack
// declares, for the role that manages that stack.
func coverage(types map[string][]string, stack, role string, roleFiles []string, skip map[string]bool) []request {
	samples, context := stackValues(stack)
	var reqs []request
	typeList := append([]string{}, types[stack]...)
	if stack == "prod" && role == "deploy" {
		// Types the stack helper adds; listed so they are checked before
		// the program declares them.
		typeList = append(typeList, "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2")
	}
	words := strings.NewReplacer("PREFIX", "blog-"+stack, "DOMAIN", strings.Join(context["route53:ChangeResourceRecordSetsNormalizedRecordNames"].([]string), ""),
		"REGION", region, "app/LB", "app/"+samples["LoadBalancerName"]+"/"+samples["LoadBalancerId"],
		"CLUSTER", samples["ClusterName"], "SERVICE", samples["ServiceName"])
	for _, typ := range typeList {
		if skip[typ] {
			continue
		}
		for _, entry := range providerActions[typ] {
			entry = words.Replace(entry)
			if only, rest, ok := strings.Cut(entry, ":"); ok && (only == "prod" || only == "preview") {
				if only != role {
					continue
				}
				entry = rest
			}
			fields := strings.Fields(entry)
			req := request{Name: role + " on " + stack + ": " + typ + " " + entry, Policies: roleFiles, Action: fields[0],
				Samples: copyMap(samples), Context: copyAny(context),
				Principal: "arn:aws:sts::" + account + ":assumed-role/blogstack-" + role + "/run"}
			for _, f := range fields[1:] {
				k, v, ok := strings.Cut(f, "=")
				switch {
				case !ok:
					req.ResourceType = f
				case strings.Contains(k, ":") && v == "":
					delete(req.Context, k)
				case strings.Contains(k, ":"):
					if multiValued[k] {
						req.Context[k] = strings.Split(v, ",")
					} else {
						req.Context[k] = v
					}
				default:
					req.Samples[k] = v
				}
			}
			reqs = append(reqs, req)
		}
	}
	return reqs
}

// multiValued are the condition keys of providerActions entries that hold
// a list (comma-separated in an entry).
var multiValued = map[string]bool{
	"aws:TagKeys": true, "aws:CalledVia": true,
	"route53:ChangeResourceRecordSetsRecordTypes": true, "route53:ChangeResourceRecordSetsNormalizedRecordNames": true,
}

func copyMap(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func copyAny(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestRolesCanDoWhatTheProviderDoesForTheirStack(t *testing.T) {
	out := check(t)
	if len(out.Coverage) == 0 {
		t.Fatal("check.mjs answered no provider call")
	}
	for _, d := range out.Coverage {
		if d.Result != "Allowed" {
			t.Errorf("%s on %s: %s %s", d.Name, d.Resource, d.Result, d.Detail)
		}
	}
}

// sim is one simulated request and the decision it must get.
type sim struct {
	name     string
	allow    bool
	action   string
	resource string
	context  map[string]any
}

func arn(service, resource string) string {
	switch service {
	case "s3":
		return "arn:aws:s3:::" + resource
	case "iam":
		return "arn:aws:iam::" + account + ":" + resource
	case "route53":
		return "arn:aws:route53:::" + resource
	}
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, account, resource)
}

func tagged(stack string) map[string]any {
	return map[string]any{"aws:ResourceTag/blog:stack": stack, "ssm:resourceTag/blog:stack": stack}
}

func requestTagged(stack string, extra map[string]any) map[string]any {
	c := map[string]any{"aws:RequestTag/blog:stack": stack, "aws:TagKeys": []string{"Name", "blog:stack"}}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// Fargate mode's names and tags, as in stackValues.
var (
	prodSecretTag  = map[string]any{"aws:ResourceTag/aws:rds:primaryDBInstanceArn": arn("rds", "db:blog-prod-db")}
	prSecretTag    = map[string]any{"aws:ResourceTag/aws:rds:primaryDBInstanceArn": arn("rds", "db:blog-pr-12-db")}
	appDBUser      = arn("rds-db", "dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXY0/blog")
	prodCluster    = arn("ecs", "cluster/blog-prod-service-cluster-1a2b3c4")
	prCluster      = arn("ecs", "cluster/blog-pr-12-service-cluster-1a2b3c4")
	prodService    = arn("ecs", "service/blog-prod-service-cluster-1a2b3c4/blog-prod-service-1a2b3c4")
	prodTask       = arn("ecs", "task/blog-prod-service-cluster-1a2b3c4/0123456789abcdef0123456789abcdef")
	prodLB         = arn("elasticloadbalancing", "loadbalancer/app/blog-prod-lb-1a2b3c4/50dc6c495c0c9188")
	prodListener   = arn("elasticloadbalancing", "listener/app/blog-prod-lb-1a2b3c4/50dc6c495c0c9188/f2f7dc8efc522ab2")
	prodTarget     = arn("elasticloadbalancing", "targetgroup/blog-prod-lb-app-1a2b3c4/73e2d6bc24d8a067")
	prodDB         = arn("rds", "db:blog-prod-db")
	prodExecRole   = arn("iam", "role/blog-prod-service-exec-role-1a2b3c4")
	prodMediaRole  = arn("iam", "role/blog-prod-media-role-1a2b3c4")
	prExecRole     = arn("iam", "role/blog-pr-12-service-exec-role-1a2b3c4")
	toEcsTasks     = map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}
	viaRDS         = map[string]any{"aws:CalledVia": []string{"rds.amazonaws.com"}}
	scalableTarget = arn("application-autoscaling", "scalable-target/0ec9c5a1b2c3d4e5f6a7b8c9d0e1f2a3")
)

func inCluster(cluster string) map[string]any { return map[string]any{"ecs:cluster": cluster} }

func with(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range []map[string]any{a, b} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

const (
	prodBackups  = "blog-prod-data-backups-1a2b3c4"
	prodMedia    = "blog-prod-media-files-1a2b3c4"
	prodInstance = "instance/i-0aaaaaaaaaaaaaaaa"
	prInstance   = "instance/i-0bbbbbbbbbbbbbbbb"
	stateKey     = "acme-blogstack-state/.pulumi/"
)

// previewCases: what a pull request's credentials may and may not do.
var previewCases = []sim{
	// It stands up, changes and destroys pr-* stacks.
	{"launch a pr instance", true, "ec2:RunInstances", arn("ec2", "instance/*"), requestTagged("pr-12", nil)},
	{"terminate a pr instance", true, "ec2:TerminateInstances", arn("ec2", prInstance), tagged("pr-12")},
	{"create a pr role under the boundary", true, "iam:CreateRole", arn("iam", "role/blog-pr-12-host-role-1"), requestTagged("pr-12", map[string]any{"iam:PermissionsBoundary": boundary})},
	{"write a pr role's policy under the boundary", true, "iam:PutRolePolicy", arn("iam", "role/blog-pr-12-host-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"create a pr media role under the boundary", true, "iam:CreateRole", arn("iam", "role/blog-pr-12-media-role-1"), requestTagged("pr-12", map[string]any{"iam:PermissionsBoundary": boundary})},
	{"write a pr media role's policy under the boundary", true, "iam:PutRolePolicy", arn("iam", "role/blog-pr-12-media-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"trust a pr host with a pr media role", true, "iam:UpdateAssumeRolePolicy", arn("iam", "role/blog-pr-12-media-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"tag a pr media role", true, "iam:TagRole", arn("iam", "role/blog-pr-12-media-role-1"), requestTagged("pr-12", nil)},
	{"delete a pr media role", true, "iam:DeleteRole", arn("iam", "role/blog-pr-12-media-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"deploy to a pr instance", true, "ssm:CreateAssociation", arn("ec2", prInstance), tagged("pr-12")},
	{"read prod's state", true, "s3:GetObject", arn("s3", stateKey+"stacks/blogstack/prod.json"), nil},
	{"write a pr stack's state", true, "s3:PutObject", arn("s3", stateKey+"stacks/blogstack/pr-12.json"), nil},
	{"push a preview image", true, "ecr:PutImage", arn("ecr", "repository/blog-previews"), nil},
	{"empty a preview bucket", true, "s3:DeleteObjectVersion", arn("s3", "blog-pr-12-data-backups-1a2b3c4/backups/x.dump"), nil},
	{"point a pr record", true, "route53:ChangeResourceRecordSets", arn("route53", "hostedzone/Z0PREVIEWZONE"), map[string]any{
		"route53:ChangeResourceRecordSetsNormalizedRecordNames": []string{"pr-12.previews.example.com"}, "route53:ChangeResourceRecordSetsRecordTypes": []string{"A"}}},

	// It never touches prod's resources.
	{"terminate prod's instance", false, "ec2:TerminateInstances", arn("ec2", prodInstance), tagged("prod")},
	{"stop prod's instance", false, "ec2:StopInstances", arn("ec2", prodInstance), tagged("prod")},
	{"detach prod's volume", false, "ec2:DetachVolume", arn("ec2", "volume/vol-0aaaaaaaaaaaaaaaa"), tagged("prod")},
	{"delete prod's volume", false, "ec2:DeleteVolume", arn("ec2", "volume/vol-0aaaaaaaaaaaaaaaa"), tagged("prod")},
	{"snapshot prod's volume", false, "ec2:CreateSnapshot", arn("ec2", "volume/vol-0aaaaaaaaaaaaaaaa"), tagged("prod")},
	{"open prod's firewall", false, "ec2:AuthorizeSecurityGroupIngress", arn("ec2", "security-group/sg-0aaaaaaaaaaaaaaaa"), tagged("prod")},
	{"retag prod's instance", false, "ec2:CreateTags", arn("ec2", prodInstance), map[string]any{"aws:ResourceTag/blog:stack": "prod", "aws:RequestTag/blog:stack": "pr-12", "aws:TagKeys": []string{"blog:stack"}}},
	{"retag a pr instance as prod", false, "ec2:CreateTags", arn("ec2", prInstance), map[string]any{"aws:ResourceTag/blog:stack": "pr-12", "aws:RequestTag/blog:stack": "prod", "aws:TagKeys": []string{"blog:stack"}}},
	{"claim prod's volume", false, "ec2:CreateTags", arn("ec2", "volume/vol-0aaaaaaaaaaaaaaaa"), map[string]any{"aws:ResourceTag/blog:stack": "prod", "aws:RequestTag/blog:stack": "pr-12", "aws:TagKeys": []string{"blog:stack"}}},
	{"launch an instance tagged prod", false, "ec2:RunInstances", arn("ec2", "instance/*"), requestTagged("prod", nil)},
	{"launch into prod's security group", false, "ec2:RunInstances", arn("ec2", "security-group/sg-0aaaaaaaaaaaaaaaa"), tagged("prod")},
	{"release prod's address", false, "ec2:ReleaseAddress", arn("ec2", "elastic-ip/eipalloc-0aaaaaaaaaaaaaaaa"), tagged("prod")},
	{"delete prod's snapshot policy", false, "dlm:DeleteLifecyclePolicy", arn("dlm", "policy/policy-0aaaaaaaaaaaaaaaa"), nil},
	{"change prod's record", false, "route53:ChangeResourceRecordSets", arn("route53", "hostedzone/Z0PRODZONE"), map[string]any{
		"route53:ChangeResourceRecordSetsNormalizedRecordNames": []string{"blog.example.com"}, "route53:ChangeResourceRecordSetsRecordTypes": []string{"A"}}},
	{"change a non-preview name in the preview zone", false, "route53:ChangeResourceRecordSets", arn("route53", "hostedzone/Z0PREVIEWZONE"), map[string]any{
		"route53:ChangeResourceRecordSetsNormalizedRecordNames": []string{"previews.example.com"}, "route53:ChangeResourceRecordSetsRecordTypes": []string{"A"}}},
	{"delete prod's log group", false, "logs:DeleteLogGroup", arn("logs", "log-group:blog-prod-app"), nil},
	{"shorten prod's log retention", false, "logs:PutRetentionPolicy", arn("logs", "log-group:blog-prod-app"), nil},
	{"delete prod's alarm", false, "cloudwatch:DeleteAlarms", arn("cloudwatch", "alarm:blog-prod-backup"), nil},
	{"silence prod's alarm", false, "cloudwatch:PutMetricAlarm", arn("cloudwatch", "alarm:blog-prod-readyz"), nil},
	{"delete prod's alert topic", false, "sns:DeleteTopic", arn("sns", "blog-prod-alerts"), nil},
	{"subscribe to prod's alerts", false, "sns:Subscribe", arn("sns", "blog-prod-alerts"), nil},
	{"replace prod's dashboard", false, "cloudwatch:PutDashboard", "arn:aws:cloudwatch::" + account + ":dashboard/blog-prod", nil},
	{"delete a health check", false, "route53:DeleteHealthCheck", arn("route53", "healthcheck/abcdef01-2345-6789-abcd-ef0123456789"), nil},
	{"schedule the deletion of a KMS key", false, "kms:ScheduleKeyDeletion", arn("kms", "key/mrk-1234abcd12ab34cd56ef1234567890ab"), nil},
	{"create a pr alarm", true, "cloudwatch:PutMetricAlarm", arn("cloudwatch", "alarm:blog-pr-12-backup"), nil},
	{"read prod's secrets", false, "ssm:GetParameter", arn("ssm", "parameter/blog/prod/db-password"), nil},
	{"overwrite prod's secrets", false, "ssm:PutParameter", arn("ssm", "parameter/blog/prod/secret-key"), nil},
	{"change prod's deploy document", false, "ssm:UpdateDocument", arn("ssm", "document/blog-prod-deploy"), nil},
	{"write prod's state", false, "s3:PutObject", arn("s3", stateKey+"stacks/blogstack/prod.json"), nil},
	{"delete prod's state", false, "s3:DeleteObject", arn("s3", stateKey+"stacks/blogstack/prod.json"), nil},
	{"lock prod's stack", false, "s3:PutObject", arn("s3", stateKey+"locks/organization/blogstack/prod/x.json"), nil},
	{"delete prod's bucket", false, "s3:DeleteBucket", arn("s3", prodBackups), nil},

	// It never reads prod's backups or deletes them.
	{"read prod's backups", false, "s3:GetObject", arn("s3", prodBackups+"/backups/prod/20260102T021733Z.dump"), nil},
	{"list prod's backups", false, "s3:ListBucket", arn("s3", prodBackups), nil},
	{"delete a backup version", false, "s3:DeleteObjectVersion", arn("s3", prodBackups+"/backups/prod/20260102T021733Z.dump"), nil},
	{"bypass the backups' retention", false, "s3:BypassGovernanceRetention", arn("s3", prodBackups+"/backups/prod/20260102T021733Z.dump"), nil},
	{"shorten the backups' lock", false, "s3:PutBucketObjectLockConfiguration", arn("s3", prodBackups), nil},
	{"change the backups' lifecycle", false, "s3:PutLifecycleConfiguration", arn("s3", prodBackups), nil},

	// It never pushes to the release repository.
	{"push to the release repository", false, "ecr:PutImage", arn("ecr", "repository/blog"), nil},
	{"upload a layer to the release repository", false, "ecr:InitiateLayerUpload", arn("ecr", "repository/blog"), nil},
	{"change the preview repository's rules", false, "ecr:PutLifecyclePolicy", arn("ecr", "repository/blog-previews"), nil},
	{"delete the preview repository", false, "ecr:DeleteRepository", arn("ecr", "repository/blog-previews"), nil},

	// It changes no role or policy outside pr-*, and none without the boundary.
	{"write prod's host role policy", false, "iam:PutRolePolicy", arn("iam", "role/blog-prod-host-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"create prod's media role", false, "iam:CreateRole", arn("iam", "role/blog-prod-media-role-1"), requestTagged("prod", map[string]any{"iam:PermissionsBoundary": boundary})},
	{"create prod's media role tagged as a pr", false, "iam:CreateRole", arn("iam", "role/blog-prod-media-role-1"), requestTagged("pr-12", map[string]any{"iam:PermissionsBoundary": boundary})},
	{"write prod's media role policy", false, "iam:PutRolePolicy", arn("iam", "role/blog-prod-media-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"trust a pr host with prod's media role", false, "iam:UpdateAssumeRolePolicy", arn("iam", "role/blog-prod-media-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"delete prod's media role", false, "iam:DeleteRole", arn("iam", "role/blog-prod-media-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"retag prod's media role", false, "iam:TagRole", arn("iam", "role/blog-prod-media-role-1"), requestTagged("pr-12", nil)},
	{"drop prod's media role's boundary", false, "iam:DeleteRolePermissionsBoundary", arn("iam", "role/blog-prod-media-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"write its own policy", false, "iam:PutRolePolicy", arn("iam", "role/blogstack-preview"), nil},
	{"attach a policy to itself", false, "iam:AttachRolePolicy", arn("iam", "role/blogstack-preview"), map[string]any{"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}},

	// Fargate mode: a pr-* stack's, never prod's.
	{"create a pr cluster", true, "ecs:CreateCluster", prCluster, requestTagged("pr-12", nil)},
	{"create a cluster named as prod's", false, "ecs:CreateCluster", prodCluster, requestTagged("pr-12", nil)},
	{"run a pr migrate task", true, "ecs:RunTask", arn("ecs", "task-definition/blog-pr-12-migrate:1"), inCluster(prCluster)},
	{"pass a pr ECS role to ECS", true, "iam:PassRole", prExecRole, toEcsTasks},
	{"create a pr database", true, "rds:CreateDBInstance", arn("rds", "db:blog-pr-12-db"), requestTagged("pr-12", nil)},
	{"have RDS delete a pr database secret", true, "secretsmanager:DeleteSecret", databaseSecret, with(prSecretTag, viaRDS)},
	{"point a pr certificate validation record", true, "route53:ChangeResourceRecordSets", arn("route53", "hostedzone/Z0PREVIEWZONE"), map[string]any{
		"route53:ChangeResourceRecordSetsNormalizedRecordNames": []string{"_0123456789abcdef.pr-12.previews.example.com"}, "route53:ChangeResourceRecordSetsRecordTypes": []string{"CNAME"}}},
	{"create prod's database", false, "rds:CreateDBInstance", prodDB, requestTagged("pr-12", nil)},
	{"modify prod's database", false, "rds:ModifyDBInstance", prodDB, nil},
	{"delete prod's database", false, "rds:DeleteDBInstance", prodDB, nil},
	{"change prod's database parameters", false, "rds:ModifyDBParameterGroup", arn("rds", "pg:blog-prod-db-params-1a2b3c4"), nil},
	{"have RDS delete prod's database secret", false, "secretsmanager:DeleteSecret", databaseSecret, with(prodSecretTag, viaRDS)},
	{"read prod's database secret", false, "secretsmanager:GetSecretValue", databaseSecret, prodSecretTag},
	{"update prod's service", false, "ecs:UpdateService", prodService, inCluster(prodCluster)},
	{"delete prod's service", false, "ecs:DeleteService", prodService, inCluster(prodCluster)},
	{"delete prod's cluster", false, "ecs:DeleteCluster", prodCluster, tagged("prod")},
	{"run a task in prod's cluster", false, "ecs:RunTask", arn("ecs", "task-definition/blog-pr-12-migrate:1"), inCluster(prodCluster)},
	{"run prod's migrate task", false, "ecs:RunTask", arn("ecs", "task-definition/blog-prod-migrate:3"), inCluster(prodCluster)},
	{"stop prod's task", false, "ecs:StopTask", prodTask, inCluster(prodCluster)},
	{"pass prod's ECS role to ECS", false, "iam:PassRole", prodExecRole, toEcsTasks},
	{"pass prod's app role to ECS", false, "iam:PassRole", prodMediaRole, toEcsTasks},
	{"pass the deploy role to ECS", false, "iam:PassRole", arn("iam", "role/blogstack-deploy"), toEcsTasks},
	{"delete prod's load balancer", false, "elasticloadbalancing:DeleteLoadBalancer", prodLB, tagged("prod")},
	{"change prod's load balancer", false, "elasticloadbalancing:ModifyLoadBalancerAttributes", prodLB, tagged("prod")},
	{"change prod's HTTPS listener", false, "elasticloadbalancing:ModifyListener", prodListener, tagged("prod")},
	{"delete prod's target group", false, "elasticloadbalancing:DeleteTargetGroup", prodTarget, tagged("prod")},
	{"delete prod's certificate", false, "acm:DeleteCertificate", arn("acm", "certificate/12345678-1234-1234-1234-123456789012"), tagged("prod")},
	{"stop prod's autoscaling", false, "application-autoscaling:DeregisterScalableTarget", scalableTarget, tagged("prod")},
	{"delete prod's database subnet", false, "ec2:DeleteSubnet", arn("ec2", "subnet/subnet-0cccccccc"), tagged("prod")},
	{"read prod's migrate task's logs", false, "logs:GetLogEvents", arn("logs", "log-group:blog-prod-ecs:log-stream:migrate/migrate/x"), nil},
	{"delete prod's scaling alarm", false, "cloudwatch:DeleteAlarms", arn("cloudwatch", "alarm:TargetTracking-service/blog-prod-service-cluster-1a2b3c4/blog-prod-service-1a2b3c4-AlarmHigh-x"), nil},
	{"change prod's certificate validation record", false, "route53:ChangeResourceRecordSets", arn("route53", "hostedzone/Z0PRODZONE"), map[string]any{
		"route53:ChangeResourceRecordSetsNormalizedRecordNames": []string{"_0123456789abcdef.blog.example.com"}, "route53:ChangeResourceRecordSetsRecordTypes": []string{"CNAME"}}},
	{"add a CNAME outside pr-* in the preview zone", false, "route53:ChangeResourceRecordSets", arn("route53", "hostedzone/Z0PREVIEWZONE"), map[string]any{
		"route53:ChangeResourceRecordSetsNormalizedRecordNames": []string{"_x.previews.example.com"}, "route53:ChangeResourceRecordSetsRecordTypes": []string{"CNAME"}}},
	{"create another service's linked role", false, "iam:CreateServiceLinkedRole", arn("iam", "role/aws-service-role/lambda.amazonaws.com/AWSServiceRoleForLambda"), map[string]any{"iam:AWSServiceName": "lambda.amazonaws.com"}},
	{"trust someone else with the deploy role", false, "iam:UpdateAssumeRolePolicy", arn("iam", "role/blogstack-deploy"), nil},
	{"create a role without the boundary", false, "iam:CreateRole", arn("iam", "role/blog-pr-12-host-role-1"), requestTagged("pr-12", nil)},
	{"create a role under another boundary", false, "iam:CreateRole", arn("iam", "role/blog-pr-12-host-role-1"), requestTagged("pr-12", map[string]any{"iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"})},
	{"create a role tagged prod", false, "iam:CreateRole", arn("iam", "role/blog-pr-12-host-role-1"), requestTagged("prod", map[string]any{"iam:PermissionsBoundary": boundary})},
	{"create a role outside pr-*", false, "iam:CreateRole", arn("iam", "role/admin"), requestTagged("pr-12", map[string]any{"iam:PermissionsBoundary": boundary})},
	{"attach administrator to a pr role", false, "iam:AttachRolePolicy", arn("iam", "role/blog-pr-12-host-role-1"), map[string]any{"iam:PermissionsBoundary": boundary, "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}},
	{"drop a pr role's boundary", false, "iam:DeleteRolePermissionsBoundary", arn("iam", "role/blog-pr-12-host-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"rewrite the boundary", false, "iam:CreatePolicyVersion", arn("iam", "policy/blogstack-boundary"), nil},
	{"pass prod's host role", false, "iam:PassRole", arn("iam", "role/blog-prod-host-role-1"), map[string]any{"iam:PassedToService": "ec2.amazonaws.com"}},
	{"pass a pr role to another service", false, "iam:PassRole", arn("iam", "role/blog-pr-12-host-role-1"), map[string]any{"iam:PassedToService": "lambda.amazonaws.com"}},
	{"untag a pr role's stack", false, "iam:UntagRole", arn("iam", "role/blog-pr-12-host-role-1"), map[string]any{"aws:TagKeys": []string{"blog:stack"}}},

	// It runs nothing on an instance that is not a preview's.
	{"run a command on prod", false, "ssm:SendCommand", arn("ec2", prodInstance), tagged("prod")},
	{"run a command on a pr instance", false, "ssm:SendCommand", arn("ec2", prInstance), tagged("pr-12")},
	{"associate with prod's instance", false, "ssm:CreateAssociation", arn("ec2", prodInstance), tagged("prod")},
	{"associate prod's document", false, "ssm:CreateAssociation", arn("ssm", "document/blog-prod-deploy"), nil},
	{"associate AWS-RunShellScript", false, "ssm:CreateAssociation", arn("ssm", "document/AWS-RunShellScript"), nil},
	{"start a session on prod", false, "ssm:StartSession", arn("ec2", prodInstance), tagged("prod")},
}

// deployCases: what the production environment's credentials may not do.
var deployCases = []sim{
	{"read prod's backups", false, "s3:GetObject", arn("s3", prodBackups+"/backups/prod/20260102T021733Z.dump"), nil},
	{"delete a backup version", false, "s3:DeleteObjectVersion", arn("s3", prodBackups+"/backups/prod/20260102T021733Z.dump"), nil},
	{"delete a backup", false, "s3:DeleteObject", arn("s3", prodBackups+"/backups/prod/20260102T021733Z.dump"), nil},
	{"bypass the backups' retention", false, "s3:BypassGovernanceRetention", arn("s3", prodBackups+"/backups/prod/20260102T021733Z.dump"), nil},
	{"shorten a backup's retention", false, "s3:PutObjectRetention", arn("s3", prodBackups+"/backups/prod/20260102T021733Z.dump"), nil},
	{"write its own policy", false, "iam:PutRolePolicy", arn("iam", "role/blogstack-deploy"), nil},
	{"write the preview role's policy", false, "iam:PutRolePolicy", arn("iam", "role/blogstack-preview"), nil},
	{"create prod's media role under the boundary", true, "iam:CreateRole", arn("iam", "role/blog-prod-media-role-1"), requestTagged("prod", map[string]any{"iam:PermissionsBoundary": boundary})},
	{"write prod's media role policy under the boundary", true, "iam:PutRolePolicy", arn("iam", "role/blog-prod-media-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"tag prod's media role", true, "iam:TagRole", arn("iam", "role/blog-prod-media-role-1"), requestTagged("prod", nil)},
	{"delete prod's media role", true, "iam:DeleteRole", arn("iam", "role/blog-prod-media-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"create prod's media role without the boundary", false, "iam:CreateRole", arn("iam", "role/blog-prod-media-role-1"), requestTagged("prod", nil)},
	{"create a pr media role", false, "iam:CreateRole", arn("iam", "role/blog-pr-12-media-role-1"), requestTagged("pr-12", map[string]any{"iam:PermissionsBoundary": boundary})},
	{"create a role without the boundary", false, "iam:CreateRole", arn("iam", "role/blog-prod-host-role-1"), requestTagged("prod", nil)},
	{"drop a role's boundary", false, "iam:DeleteRolePermissionsBoundary", arn("iam", "role/blog-prod-host-role-1"), map[string]any{"iam:PermissionsBoundary": boundary}},
	{"attach administrator", false, "iam:AttachRolePolicy", arn("iam", "role/blog-prod-host-role-1"), map[string]any{"iam:PermissionsBoundary": boundary, "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}},
	{"rewrite the boundary", false, "iam:CreatePolicyVersion", arn("iam", "policy/blogstack-boundary"), nil},
	{"run a command on prod", false, "ssm:SendCommand", arn("ec2", prodInstance), tagged("prod")},
	{"associate with a pr instance", false, "ssm:CreateAssociation", arn("ec2", prInstance), tagged("pr-12")},
	{"terminate a pr instance", false, "ec2:TerminateInstances", arn("ec2", prInstance), tagged("pr-12")},
	{"push to the preview repository", false, "ecr:PutImage", arn("ecr", "repository/blog-previews"), nil},
	{"push a release", true, "ecr:PutImage", arn("ecr", "repository/blog"), nil},
	{"read a deploy's output", true, "s3:GetObject", arn("s3", prodBackups+"/deploy-logs/3f2a9c1/100-1/stdout"), nil},
	{"create prod's snapshot policy", true, "dlm:CreateLifecyclePolicy", "*", requestTagged("prod", nil)},

	// Fargate mode: prod's resources, and only prod's.
	{"create prod's cluster", true, "ecs:CreateCluster", prodCluster, requestTagged("prod", nil)},
	{"update prod's service", true, "ecs:UpdateService", prodService, inCluster(prodCluster)},
	{"delete prod's service", true, "ecs:DeleteService", prodService, inCluster(prodCluster)},
	{"register prod's task definition", true, "ecs:RegisterTaskDefinition", arn("ecs", "task-definition/blog-prod-app:3"), requestTagged("prod", nil)},
	{"run prod's migrate task", true, "ecs:RunTask", arn("ecs", "task-definition/blog-prod-migrate:3"), inCluster(prodCluster)},
	{"watch prod's migrate task", true, "ecs:DescribeTasks", prodTask, inCluster(prodCluster)},
	{"stop prod's migrate task", true, "ecs:StopTask", prodTask, inCluster(prodCluster)},
	{"read prod's migrate task's logs", true, "logs:GetLogEvents", arn("logs", "log-group:blog-prod-ecs:log-stream:migrate/migrate/x"), nil},
	{"pass prod's ECS role to ECS", true, "iam:PassRole", prodExecRole, toEcsTasks},
	{"pass prod's app role to ECS", true, "iam:PassRole", prodMediaRole, toEcsTasks},
	{"pass prod's ECS role to Lambda", false, "iam:PassRole", prodExecRole, map[string]any{"iam:PassedToService": "lambda.amazonaws.com"}},
	{"pass a pr ECS role to ECS", false, "iam:PassRole", prExecRole, toEcsTasks},
	{"pass itself to ECS", false, "iam:PassRole", arn("iam", "role/blogstack-deploy"), toEcsTasks},
	{"run a pr task", false, "ecs:RunTask", arn("ecs", "task-definition/blog-pr-12-migrate:1"), inCluster(prCluster)},
	{"run prod's task in a pr cluster", false, "ecs:RunTask", arn("ecs", "task-definition/blog-prod-migrate:3"), inCluster(prCluster)},
	{"create prod's database", true, "rds:CreateDBInstance", prodDB, requestTagged("prod", nil)},
	{"take prod's final snapshot", true, "rds:CreateDBSnapshot", arn("rds", "snapshot:blog-prod-db-final"), nil},
	{"delete prod's database", true, "rds:DeleteDBInstance", prodDB, nil},
	{"have RDS rotate prod's database secret", true, "secretsmanager:RotateSecret", databaseSecret, with(prodSecretTag, viaRDS)},
	{"delete prod's database secret itself", false, "secretsmanager:DeleteSecret", databaseSecret, prodSecretTag},
	{"read prod's database secret", false, "secretsmanager:GetSecretValue", databaseSecret, prodSecretTag},
	{"have RDS delete a pr database secret", false, "secretsmanager:DeleteSecret", databaseSecret, with(prSecretTag, viaRDS)},
	{"delete a pr database", false, "rds:DeleteDBInstance", arn("rds", "db:blog-pr-12-db"), nil},
	{"create prod's load balancer", true, "elasticloadbalancing:CreateLoadBalancer", prodLB, requestTagged("prod", nil)},
	{"change prod's HTTPS listener", true, "elasticloadbalancing:ModifyListener", prodListener, tagged("prod")},
	{"delete prod's load balancer", true, "elasticloadbalancing:DeleteLoadBalancer", prodLB, tagged("prod")},
	{"delete a pr load balancer", false, "elasticloadbalancing:DeleteLoadBalancer", arn("elasticloadbalancing", "loadbalancer/app/blog-pr-12-lb-1a2b3c4/50dc6c495c0c9188"), tagged("pr-12")},
	{"scale prod's service", true, "application-autoscaling:PutScalingPolicy", scalableTarget, tagged("prod")},
	{"stop a pr service's autoscaling", false, "application-autoscaling:DeregisterScalableTarget", scalableTarget, tagged("pr-12")},
	{"create ECS's service-linked role", true, "iam:CreateServiceLinkedRole", arn("iam", "role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"), map[string]any{"iam:AWSServiceName": "ecs.amazonaws.com"}},
	{"create another service's linked role", false, "iam:CreateServiceLinkedRole", arn("iam", "role/aws-service-role/lambda.amazonaws.com/AWSServiceRoleForLambda"), map[string]any{"iam:AWSServiceName": "lambda.amazonaws.com"}},
	{"create prod's /readyz alarm for fargate", true, "cloudwatch:PutMetricAlarm", "arn:aws:cloudwatch:us-east-1:" + account + ":alarm:blog-prod-ecs-readyz", nil},
	{"create its topic", true, "sns:CreateTopic", "arn:aws:sns:us-east-1:" + account + ":blog-prod-ecs-readyz-alerts", nil},
}

// hostCases: the boundary holds whatever a host role's or a media role's
// inline policy says. The principal is the stack's host role, or its media
// role for a policy named media-* and for role "media".
type hostCase struct {
	sim
	stack, policy string
	role          string
}

// principalRole is the role of the stack a case runs as: "host", "media"
// (also for a policy named connect-*) or "service-exec" (for exec-*).
func (c hostCase) principalRole() string {
	switch {
	case c.role != "":
		return c.role
	case strings.HasPrefix(c.policy, "media-"), strings.HasPrefix(c.policy, "connect-"):
		return "media"
	case strings.HasPrefix(c.policy, "exec-"):
		return "service-exec"
	}
	return "host"
}

// stackPolicyNames name the policies of hostPolicies.
var stackPolicyNames = []string{"host-prod", "host-pr-12", "media-prod", "media-pr-12", "exec-prod", "exec-pr-12", "connect-prod", "connect-pr-12"}

var hostCases = []hostCase{
	{sim{"prod's host reads its secrets", true, "ssm:GetParameter", arn("ssm", "parameter/blog/prod/db-password"), nil}, "prod", "host-prod", ""},
	{sim{"prod's host writes a backup", true, "s3:PutObject", arn("s3", prodBackups+"/backups/prod/x.dump"), nil}, "prod", "host-prod", ""},
	// The media are the media role's: the app holds its credentials, which
	// only its own stack's host may get.
	{sim{"prod's media role stores a picture", true, "s3:PutObject", arn("s3", prodMedia+"/media/0123456789abcdef-1600x900.jpg"), nil}, "prod", "media-prod", ""},
	{sim{"prod's media role serves a picture", true, "s3:GetObject", arn("s3", prodMedia+"/media/0123456789abcdef-1600x900.jpg"), nil}, "prod", "media-prod", ""},
	{sim{"prod's media role deletes a picture", true, "s3:DeleteObject", arn("s3", prodMedia+"/media/0123456789abcdef-1600x900.jpg"), nil}, "prod", "media-prod", ""},
	{sim{"prod's media role deletes a picture's old version", false, "s3:DeleteObjectVersion", arn("s3", prodMedia+"/media/0123456789abcdef-1600x900.jpg"), nil}, "prod", "media-prod", ""},
	{sim{"prod's media role changes the media bucket's policy", false, "s3:PutBucketPolicy", arn("s3", prodMedia), nil}, "prod", "media-prod", ""},
	{sim{"prod's media role reads a backup", false, "s3:GetObject", arn("s3", prodBackups+"/backups/prod/x.dump"), nil}, "prod", "media-prod", ""},
	{sim{"prod's media role reads prod's secrets", false, "ssm:GetParameter", arn("ssm", "parameter/blog/prod/db-password"), nil}, "prod", "media-prod", ""},
	{sim{"prod's media role assumes itself", false, "sts:AssumeRole", arn("iam", "role/blog-prod-media-role-1a2b3c4"), nil}, "prod", "media-prod", ""},
	{sim{"prod's media role allowed anything assumes itself", false, "sts:AssumeRole", arn("iam", "role/blog-prod-media-role-1a2b3c4"), nil}, "prod", "anything", "media"},
	{sim{"prod's media role allowed anything deletes a backup as media", false, "s3:DeleteObject", arn("s3", prodBackups+"/media/x"), nil}, "prod", "anything", "media"},
	{sim{"a pr media role allowed anything reads prod's media", false, "s3:GetObject", arn("s3", prodMedia+"/media/0123456789abcdef-1600x900.jpg"), nil}, "pr-12", "anything", "media"},
	{sim{"prod's host stores a picture itself", false, "s3:PutObject", arn("s3", prodMedia+"/media/0123456789abcdef-1600x900.jpg"), nil}, "prod", "host-prod", ""},
	{sim{"prod's host serves a picture itself", false, "s3:GetObject", arn("s3", prodMedia+"/media/0123456789abcdef-1600x900.jpg"), nil}, "prod", "host-prod", ""},
	{sim{"prod's host allowed anything deletes a picture itself", false, "s3:DeleteObject", arn("s3", prodMedia+"/media/0123456789abcdef-1600x900.jpg"), nil}, "prod", "anything", ""},
	{sim{"prod's host assumes its media role", true, "sts:AssumeRole", arn("iam", "role/blog-prod-media-role-1a2b3c4"), nil}, "prod", "host-prod", ""},
	{sim{"prod's host assumes pr-12's media role", false, "sts:AssumeRole", arn("iam", "role/blog-pr-12-media-role-1a2b3c4"), nil}, "prod", "host-prod", ""},
	{sim{"a pr host allowed anything assumes prod's media role", false, "sts:AssumeRole", arn("iam", "role/blog-prod-media-role-1a2b3c4"), nil}, "pr-12", "anything", ""},
	{sim{"a pr-1 host allowed anything assumes pr-12's media role", false, "sts:AssumeRole", arn("iam", "role/blog-pr-12-media-role-1a2b3c4"), nil}, "pr-1", "anything", ""},
	{sim{"a host allowed anything assumes the deploy role", false, "sts:AssumeRole", arn("iam", "role/blogstack-deploy"), nil}, "prod", "anything", ""},
	{sim{"a host allowed anything assumes its own host role", false, "sts:AssumeRole", arn("iam", "role/blog-prod-host-role-1a2b3c4"), nil}, "prod", "anything", ""},
	{sim{"prod's host pulls a release", true, "ecr:BatchGetImage", arn("ecr", "repository/blog"), nil}, "prod", "host-prod", ""},
	{sim{"a pr host reads its secrets", true, "ssm:GetParameter", arn("ssm", "parameter/blog/pr-12/db-password"), nil}, "pr-12", "host-pr-12", ""},
	{sim{"a pr host allowed anything reads prod's secrets", false, "ssm:GetParameter", arn("ssm", "parameter/blog/prod/db-password"), nil}, "pr-12", "anything", ""},
	{sim{"a pr host allowed anything reads prod's backups", false, "s3:GetObject", arn("s3", prodBackups+"/backups/prod/x.dump"), nil}, "pr-12", "anything", ""},
	{sim{"a pr host allowed anything writes prod's document", false, "ssm:UpdateDocument", arn("ssm", "document/blog-prod-deploy"), nil}, "pr-12", "anything", ""},
	{sim{"a pr host allowed anything deletes prod's snapshots", false, "ec2:DeleteSnapshot", "arn:aws:ec2:" + region + "::snapshot/snap-0aaaaaaaaaaaaaaaa", tagged("prod")}, "pr-12", "anything", ""},
	{sim{"a pr host allowed anything runs commands", false, "ssm:SendCommand", arn("ec2", prodInstance), tagged("prod")}, "pr-12", "anything", ""},
	{sim{"a pr host allowed anything creates roles", false, "iam:CreateRole", arn("iam", "role/blog-pr-12-x"), nil}, "pr-12", "anything", ""},
	{sim{"a pr host allowed anything pushes images", false, "ecr:PutImage", arn("ecr", "repository/blog"), nil}, "pr-12", "anything", ""},
	{sim{"a pr host allowed anything writes prod's logs", false, "logs:PutLogEvents", arn("logs", "log-group:blog-prod-app:log-stream:x"), nil}, "pr-12", "anything", ""},
	{sim{"a pr host allowed anything writes prod's metrics", false, "cloudwatch:PutMetricData", "*", map[string]any{"cloudwatch:namespace": "blog/prod"}}, "pr-12", "anything", ""},
	{sim{"a host allowed anything writes AWS's metrics", false, "cloudwatch:PutMetricData", "*", map[string]any{"cloudwatch:namespace": "AWS/EC2"}}, "prod", "anything", ""},
	{sim{"a host allowed anything deletes its log group", false, "logs:DeleteLogGroup", arn("logs", "log-group:blog-prod-app"), nil}, "prod", "anything", ""},
	{sim{"a host allowed anything shortens its logs' retention", false, "logs:PutRetentionPolicy", arn("logs", "log-group:blog-prod-app"), nil}, "prod", "anything", ""},
	{sim{"a DLM role snapshots its own stack's volume", true, "ec2:CreateSnapshot", arn("ec2", "volume/vol-0bbbbbbbbbbbbbbbb"), tagged("prod")}, "prod", "anything", ""},
	{sim{"a pr DLM role snapshots prod's volume", false, "ec2:CreateSnapshot", arn("ec2", "volume/vol-0aaaaaaaaaaaaaaaa"), tagged("prod")}, "pr-12", "anything", ""},

	// Fargate mode: ECS's execution role reads its own stack's database
	// secret, the app's (media) role connects as the app's user; no one else.
	{sim{"prod's ECS role reads prod's database secret", true, "secretsmanager:GetSecretValue", databaseSecret, prodSecretTag}, "prod", "exec-prod", ""},
	{sim{"a pr ECS role allowed anything reads prod's database secret", false, "secretsmanager:GetSecretValue", databaseSecret, prodSecretTag}, "pr-12", "anything", "service-exec"},
	{sim{"prod's app role allowed anything reads prod's database secret", false, "secretsmanager:GetSecretValue", databaseSecret, prodSecretTag}, "prod", "anything", "media"},
	{sim{"prod's host allowed anything reads prod's database secret", false, "secretsmanager:GetSecretValue", databaseSecret, prodSecretTag}, "prod", "anything", ""},
	{sim{"prod's ECS role allowed anything reads another secret", false, "secretsmanager:GetSecretValue", arn("secretsmanager", "secret:blog-prod-x-AbCdEf"), nil}, "prod", "anything", "service-exec"},
	{sim{"prod's ECS role reads prod's secret key", true, "ssm:GetParameters", arn("ssm", "parameter/blog/prod/secret-key"), nil}, "prod", "exec-prod", ""},
	{sim{"a pr ECS role allowed anything reads prod's secret key", false, "ssm:GetParameters", arn("ssm", "parameter/blog/prod/secret-key"), nil}, "pr-12", "anything", "service-exec"},
	{sim{"a pr ECS role allowed anything writes prod's task logs", false, "logs:PutLogEvents", arn("logs", "log-group:blog-prod-ecs:log-stream:app/app/x"), nil}, "pr-12", "anything", "service-exec"},
	{sim{"prod's app role connects as the app", true, "rds-db:connect", appDBUser, nil}, "prod", "connect-prod", ""},
	{sim{"prod's app role allowed anything connects as the admin", false, "rds-db:connect", arn("rds-db", "dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXY0/blog_admin"), nil}, "prod", "anything", "media"},
	{sim{"prod's ECS role allowed anything connects as the app", false, "rds-db:connect", appDBUser, nil}, "prod", "anything", "service-exec"},
	{sim{"prod's host allowed anything connects as the app", false, "rds-db:connect", appDBUser, nil}, "prod", "anything", ""},
	{sim{"prod's app role stores a picture", true, "s3:PutObject", arn("s3", prodMedia+"/media/0123456789abcdef-1600x900.jpg"), nil}, "prod", "media-prod", ""},
}

// simulations are the requests of previewCases, deployCases and hostCases.
func simulations() []request {
	var reqs []request
	add := func(role string, files []string, cases []sim) {
		for _, c := range cases {
			reqs = append(reqs, request{
				Name: role + ": " + c.name, Policies: files, Action: c.action, Resource: c.resource, Context: orEmpty(c.context),
				Principal: "arn:aws:sts::" + account + ":assumed-role/blogstack-" + role + "/run",
			})
		}
	}
	add("preview", previewPolicies, previewCases)
	add("deploy", deployPolicies, deployCases)
	for _, c := range allHostCases() {
		ctx := map[string]any{"aws:PrincipalTag/blog:stack": c.stack}
		for k, v := range c.context {
			ctx[k] = v
		}
		role := "blog-" + c.stack + "-" + c.principalRole() + "-role-1"
		ctx["aws:PrincipalArn"] = "arn:aws:iam::" + account + ":role/" + role
		reqs = append(reqs, request{
			Name: "host: " + c.name, Policies: []string{c.policy}, Boundary: []string{boundaryPolicy},
			Action: c.action, Resource: c.resource, Context: ctx,
			Principal: "arn:aws:sts::" + account + ":assumed-role/" + role + "/i-0123456789abcdef0",
		})
	}
	return reqs
}

// allHostCases are hostCases and, so that the boundary never breaks a real
// host, every grant of the host policy the program writes (each action on
// each resource, wildcards as "x", string conditions met), which the
// boundary must let through for the host's own stack.
func allHostCases() []hostCase {
	cases := append([]hostCase{}, hostCases...)
	policies := hostPolicies()
	for _, name := range stackPolicyNames {
		_, stack, _ := strings.Cut(name, "-")
		for _, st := range policies[name].Statement {
			// RDS tags the secret it keeps the stack's master password in.
			context := map[string]any{"aws:ResourceTag/aws:rds:primaryDBInstanceArn": arn("rds", "db:blog-"+stack+"-db")}
			for _, keys := range st.Condition {
				for k, v := range keys {
					if values, ok := v.([]string); ok && len(values) > 0 {
						v = values[0]
					}
					if s, ok := v.(string); ok {
						context[k] = strings.ReplaceAll(s, "*", "x")
					}
				}
			}
			for _, action := range st.Action {
				for _, r := range st.Resource {
					if r != "*" {
						r = strings.ReplaceAll(r, "*", "x")
					}
					cases = append(cases, hostCase{sim{fmt.Sprintf("%s may %s on %s", name, action, r), true, action, r, context}, stack, name, ""})
				}
			}
		}
	}
	return cases
}

func TestRolesAreLimitedToTheirStack(t *testing.T) {
	want := map[string]bool{}
	for _, c := range previewCases {
		want["preview: "+c.name] = c.allow
	}
	for _, c := range deployCases {
		want["deploy: "+c.name] = c.allow
	}
	for _, c := range allHostCases() {
		want["host: "+c.name] = c.allow
	}
	out := check(t)
	if len(out.Simulations) != len(want) {
		t.Fatalf("check.mjs answered %d of %d simulations", len(out.Simulations), len(want))
	}
	var wrong []string
	for _, d := range out.Simulations {
		allowed := d.Result == "Allowed"
		if d.Result == "Error" || allowed != want[d.Name] {
			wrong = append(wrong, fmt.Sprintf("%s: %s (want allowed=%v) %s", d.Name, d.Result, want[d.Name], d.Detail))
		}
	}
	sort.Strings(wrong)
	for _, w := range wrong {
		t.Error(w)
	}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// TestLogsKeyPolicy checks the key policy the one-time setup gives the logs
// key: CloudWatch Logs may use it only for the blog's log groups, and
// CloudWatch only for this account's alarms (publishing to the alert
// topics); the account's IAM policies decide the rest, as with any key.
func TestLogsKeyPolicy(t *testing.T) {
	_, doc := readPolicy(t, "logs-key.json", placeholders)
	byService := map[string]map[string]any{}
	for _, st := range doc["Statement"].([]any) {
		st := st.(map[string]any)
		p := st["Principal"].(map[string]any)
		if svc, ok := p["Service"].(string); ok {
			byService[svc] = st
		} else if p["AWS"] != "arn:aws:iam::"+account+":root" {
			t.Errorf("key policy trusts %v", p)
		}
	}
	logs := byService["logs."+region+".amazonaws.com"]
	cond := fmt.Sprint(logs["Condition"])
	if logs == nil || !strings.Contains(cond, "kms:EncryptionContext:aws:logs:arn:arn:aws:logs:"+region+":"+account+":log-group:blog-*") {
		t.Errorf("CloudWatch Logs' statement %v: want it limited to the blog's log groups", logs)
	}
	cw := byService["cloudwatch.amazonaws.com"]
	if cw == nil || !strings.Contains(fmt.Sprint(cw["Condition"]), account) || fmt.Sprint(cw["Action"]) != "[kms:Decrypt kms:GenerateDataKey]" {
		t.Errorf("CloudWatch's statement %v", cw)
	}
	if len(byService) != 2 {
		t.Errorf("services trusted: %v", byService)
	}
}
