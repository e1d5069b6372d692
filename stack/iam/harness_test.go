package iam_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/blogstack/blogstack/stack/infra"
)

// Sample values for the placeholders of the policy files (see the README's
// one-time setup, which fills in the real ones).
const (
	account  = "123456789012"
	region   = "eu-west-1"
	boundary = "arn:aws:iam::" + account + ":policy/blogstack-boundary"
)

var placeholders = map[string]string{
	"ACCOUNT_ID":             account,
	"REGION":                 region,
	"GITHUB_REPOSITORY":      "acme/blog",
	"STATE_BUCKET":           "acme-blogstack-state",
	"STATE_KMS_KEY_ID":       "1234abcd-12ab-34cd-56ef-1234567890ab",
	"PREVIEW_HOSTED_ZONE_ID": "Z0PREVIEWZONE",
	"HOSTED_ZONE_ID":         "Z0PRODZONE",
	"PREVIEW_ZONE":           "previews.example.com",
}

// databaseSecret is a secret RDS keeps a master password in (its own name).
const databaseSecret = "arn:aws:secretsmanager:" + region + ":" + account + ":secret:rds!db-0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6-AbCdEf"

// longest are the longest values a placeholder can take, for the size limits.
var longest = map[string]string{
	"ACCOUNT_ID":             "123456789012",
	"REGION":                 "ap-southeast-2",
	"GITHUB_REPOSITORY":      strings.Repeat("o", 39) + "/" + strings.Repeat("r", 100),
	"STATE_BUCKET":           strings.Repeat("b", 63),
	"STATE_KMS_KEY_ID":       "1234abcd-12ab-34cd-56ef-1234567890ab",
	"PREVIEW_HOSTED_ZONE_ID": strings.Repeat("Z", 32),
	"HOSTED_ZONE_ID":         strings.Repeat("Z", 32),
	"PREVIEW_ZONE":           strings.Repeat("p", 63) + "." + strings.Repeat("e", 63) + ".com",
}

// placeholder matches every placeholder; longer names first, so
// PREVIEW_HOSTED_ZONE_ID is not read as PREVIEW_ + HOSTED_ZONE_ID.
var placeholder = regexp.MustCompile(`PREVIEW_HOSTED_ZONE_ID|HOSTED_ZONE_ID|PREVIEW_ZONE|STATE_KMS_KEY_ID|STATE_BUCKET|GITHUB_REPOSITORY|ACCOUNT_ID|REGION`)

// Policy files: each role's trust policy and its managed permission
// policies, and the permissions boundary of every role the stack creates.
var (
	deployPolicies  = []string{"deploy/core.json", "deploy/ec2.json", "deploy/ssm.json", "deploy/iam-s3.json", "deploy/monitoring.json", "deploy/network.json", "deploy/fargate.json"}
	previewPolicies = []string{"preview/core.json", "preview/ec2.json", "preview/ssm.json", "preview/iam-s3.json", "preview/monitoring.json", "preview/network.json", "preview/fargate.json"}
	trustPolicies   = []string{"deploy/trust.json", "preview/trust.json"}
	boundaryPolicy  = "boundary.json"
)

func permissionFiles() []string {
	return append(append(append([]string{}, deployPolicies...), previewPolicies...), boundaryPolicy)
}

// readPolicy reads a policy file with its placeholders filled from values.
func readPolicy(t *testing.T, name string, values map[string]string) (string, map[string]any) {
	t.Helper()
	text, doc, err := loadPolicy(name, values)
	if err != nil {
		t.Fatal(err)
	}
	return text, doc
}

func loadPolicy(name string, values map[string]string) (string, map[string]any, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", nil, err
	}
	text := placeholder.ReplaceAllStringFunc(string(b), func(p string) string { return values[p] })
	var doc map[string]any
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return "", nil, fmt.Errorf("%s: %v", name, err)
	}
	return text, doc, nil
}

// hostPolicies are the policies the program writes for a stack's roles, as
// prod and pr-12 would get them: the host role's ("host-<stack>"), the
// media role's ("media-<stack>"), and in fargate mode ECS's execution
// role's ("exec-<stack>") and the media role's database grant
// ("connect-<stack>": the media role is the app tasks' role).
func hostPolicies() map[string]infra.PolicyDocument {
	out := map[string]infra.PolicyDocument{}
	for _, stack := range []string{"prod", "pr-12"} {
		prefix := "blog-" + stack
		repository := "arn:aws:ecr:" + region + ":" + account + ":repository/" + map[bool]string{true: "blog", false: "blog-previews"}[stack == "prod"]
		out["exec-"+stack] = infra.ExecutionPolicy(repository, "arn:aws:logs:"+region+":"+account+":log-group:"+infra.ServiceLogGroup(prefix),
			"arn:aws:ssm:"+region+":"+account+":parameter/blog/"+stack+"/secret-key", databaseSecret)
		out["connect-"+stack] = infra.DBConnectPolicy("arn:aws:rds-db:" + region + ":" + account + ":dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXY0/" + infra.AppDBUser)
		out["host-"+stack] = infra.HostPolicy(infra.HostPolicyArgs{
			Partition: "aws", Region: region, Account: account,
			RepositoryArn:   "arn:aws:ecr:" + region + ":" + account + ":repository/" + map[bool]string{true: "blog", false: "blog-previews"}[stack == "prod"],
			ParameterPrefix: "/blog/" + stack, DocumentName: infra.DocumentName(prefix),
			BucketArn:      "arn:aws:s3:::" + prefix + "-data-backups-1a2b3c4",
			LogGroupPrefix: prefix, MetricsNamespace: infra.MetricsNamespace(stack),
			MediaRoleArn: "arn:aws:iam::" + account + ":role/" + prefix + "-media-role-1a2b3c4",
		})
		out["media-"+stack] = infra.MediaPolicy("arn:aws:s3:::" + prefix + "-media-files-1a2b3c4")
	}
	return out
}

// checkInput is what check.mjs reads; checkOutput what it answers.
type checkInput struct {
	Account     string         `json:"account"`
	Policies    map[string]any `json:"policies"`
	Audit       []string       `json:"audit"`
	Simulations []request      `json:"simulations"`
	Coverage    []request      `json:"coverage"`
}

type request struct {
	Name         string            `json:"name"`
	Principal    string            `json:"principal,omitempty"`
	Policies     []string          `json:"policies"`
	Boundary     []string          `json:"boundary,omitempty"`
	Action       string            `json:"action"`
	Resource     string            `json:"resource,omitempty"`
	ResourceType string            `json:"resourceType,omitempty"`
	Samples      map[string]string `json:"samples,omitempty"`
	Context      map[string]any    `json:"context"`
}

type finding struct {
	Policy, Sid, Action, Problem string
}

type decision struct {
	Name, Resource, Result, Detail string
}

type checkOutput struct {
	Audit       []finding
	Simulations []decision
	Coverage    []decision
}

// runNode runs check.mjs on in. It returns why it could not run (no node,
// no npm packages) instead of an answer, or the error it failed with.
func runNode(in checkInput) (out checkOutput, missing string, err error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return out, "node is not installed", nil
	}
	if _, err := os.Stat(filepath.Join("..", "..", "node_modules", "@cloud-copilot", "iam-simulate")); err != nil {
		return out, "the npm packages are not installed (run npm ci at the repository root)", nil
	}
	body, err := json.Marshal(in)
	if err != nil {
		return out, "", err
	}
	cmd := exec.Command(node, "check.mjs")
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		return out, "", fmt.Errorf("check.mjs: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		return out, "", fmt.Errorf("check.mjs answered %q: %v", stdout, err)
	}
	return out, "", nil
}

// unavailable skips a test that needs node, unless CI is set: then it fails.
func unavailable(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s, and CI is set: the IAM checks must run", why)
	}
	t.Skipf("%s: IAM checks skipped", why)
}

// mocks runs the program with made-up provider answers and records every
// resource type it declares and every function it invokes.
type mocks struct {
	mu    sync.Mutex
	types map[string]bool
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	m.types[args.TypeToken] = true
	m.mu.Unlock()
	out := args.Inputs.Copy()
	set := func(k string, v any) { out[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	id := args.Name + "-id"
	switch args.TypeToken {
	case "pulumi:pulumi:StackReference":
		registry := account + ".dkr.ecr." + region + ".amazonaws.com/"
		set("outputs", map[string]any{
			"registryUrl": registry + "blog", "previewRegistryUrl": registry + "blog-previews",
			"logsKeyArn": "arn:aws:kms:" + region + ":" + account + ":key/1234abcd-12ab-34cd-56ef-1234567890ab",
			"imageTag":   "3f2a9c1", "deployId": "100-1",
		})
	case "aws:ecr/repository:Repository":
		name := args.Inputs["name"].StringValue()
		set("repositoryUrl", account+".dkr.ecr."+region+".amazonaws.com/"+name)
		set("arn", "arn:aws:ecr:"+region+":"+account+":repository/"+name)
	case "aws:s3/bucketV2:BucketV2":
		id = args.Name + "-a1b2c3d"
		set("bucket", id)
		set("arn", "arn:aws:s3:::"+id)
	case "aws:ebs/volume:Volume":
		id = "vol-0123456789abcdef0"
	case "aws:ec2/instance:Instance":
		id = "i-0123456789abcdef0"
		set("publicIp", "203.0.113.10")
	case "aws:ec2/eip:Eip":
		set("publicIp", "203.0.113.10")
		set("allocationId", "eipalloc-0123")
	case "aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile":
		set("name", args.Name+"-x")
		set("arn", "arn:aws:iam::"+account+":role/"+args.Name+"-x")
	case "aws:ssm/document:Document":
		set("latestVersion", "1")
	// Fargate mode's resources: what the program reads of them.
	case "aws:acm/certificate:Certificate":
		set("arn", "arn:aws:acm:"+region+":"+account+":certificate/"+id)
		set("domainValidationOptions", []any{map[string]any{
			"domainName": "blog.example.com", "resourceRecordName": "_x.blog.example.com.",
			"resourceRecordType": "CNAME", "resourceRecordValue": "_y.acm-validations.aws.",
		}})
	case "aws:rds/instance:Instance":
		set("address", "blog-db.abc.eu-west-1.rds.amazonaws.com")
		set("resourceId", "db-ABCDEFGHIJKLMNOPQRSTUVWXY0")
		set("masterUserSecrets", []any{map[string]any{"secretArn": databaseSecret}})
	case "aws:ecs/cluster:Cluster":
		set("name", args.Name)
		set("arn", "arn:aws:ecs:"+region+":"+account+":cluster/"+args.Name)
	case "aws:ecs/service:Service":
		set("name", args.Name)
	case "random:index/randomPassword:RandomPassword":
		out["result"] = resource.MakeSecret(resource.NewPropertyValue("MockSecretValue0123456789abcdef"))
	}
	return id, out, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	m.types[args.Token] = true
	m.mu.Unlock()
	str := func(k string) string {
		if v, ok := args.Args[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	var out map[string]any
	switch args.Token {
	case "aws:ec2/getVpc:getVpc":
		out = map[string]any{"id": "vpc-0abc", "cidrBlock": "172.31.0.0/16"}
	case "aws:ec2/getSubnets:getSubnets":
		out = map[string]any{"ids": []any{"subnet-0bbbbbbbb", "subnet-0aaaaaaaa"}}
	case "aws:ec2/getSubnet:getSubnet":
		id := or(str("id"), "subnet-0aaaaaaaa")
		zone := map[bool]string{true: "b", false: "a"}[id == "subnet-0bbbbbbbb"]
		out = map[string]any{"id": id, "vpcId": "vpc-0abc", "availabilityZone": region + zone, "availabilityZoneId": "euw1-az1"}
	case "aws:ssm/getParameter:getParameter":
		out = map[string]any{"name": str("name"), "value": "ami-0123456789abcdef0"}
	case "aws:route53/getZone:getZone":
		out = map[string]any{"zoneId": "Z0ZONE", "name": str("name")}
	case "aws:index/getCallerIdentity:getCallerIdentity":
		out = map[string]any{"accountId": account, "arn": "arn:aws:iam::" + account + ":user/ci", "userId": "AIDA"}
	case "aws:elb/getServiceAccount:getServiceAccount":
		out = map[string]any{"id": "156460612806", "arn": "arn:aws:iam::156460612806:root"}
	case "aws:index/getPartition:getPartition":
		out = map[string]any{"partition": "aws", "dnsSuffix": "amazonaws.com"}
	default:
		out = map[string]any{}
	}
	return resource.NewPropertyMapFromMap(out), nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// declaredTypes runs infra.Program for a stack in a mode (host or fargate)
// under mocks and returns the resource types and invoke tokens it uses.
func declaredTypes(stack, mode string) ([]string, error) {
	m := &mocks{types: map[string]bool{}}
	config := map[string]string{
		"aws:region":                    region,
		"blogstack:domain":              "blog.example.com",
		"blogstack:hostedZone":          "example.com",
		"blogstack:previewZone":         "previews.example.com",
		"blogstack:imageTag":            "3f2a9c1",
		"blogstack:deployId":            "100-1",
		"blogstack:permissionsBoundary": boundary,
		"blogstack:logsKms":             "mrk-1234abcd12ab34cd56ef1234567890ab",
		"blogstack:alertEmail":          "oncall@example.com",
	}
	if stack != "prod" {
		config["blogstack:imageTag"] = stack + "-3f2a9c1"
	}
	// Previews copy prod's config: previewMode is what puts them in fargate mode.
	config["blogstack:mode"] = mode
	config["blogstack:previewMode"] = mode
	err := pulumi.RunErr(infra.Program, pulumi.WithMocks("blogstack", stack, m), func(info *pulumi.RunInfo) {
		info.Config = config
	})
	if err != nil {
		return nil, fmt.Errorf("program failed for %s in %s mode: %v", stack, mode, err)
	}
	var types []string
	for typ := range m.types {
		types = append(types, typ)
	}
	sort.Strings(types)
	return types, nil
}
