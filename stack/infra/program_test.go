package infra_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/blogstack/blogstack"
	"github.com/blogstack/blogstack/stack/infra"
)

const (
	account            = "123456789012"
	mockSecret         = "MockSecretValue0123456789abcdef"
	registryURL        = account + ".dkr.ecr.eu-west-1.amazonaws.com/blog"
	previewRegistryURL = account + ".dkr.ecr.eu-west-1.amazonaws.com/blog-previews"
	boundary           = "arn:aws:iam::" + account + ":policy/blogstack-boundary"
	instancePublicIP   = "198.51.100.7"
	eipPublicIP        = "203.0.113.10"
	logsKeyID          = "mrk-1234abcd12ab34cd56ef1234567890ab"
	dbSecretArn        = "arn:aws:secretsmanager:eu-west-1:" + account + ":secret:rds!db-0123-AbCdEf"
)

// res is one resource the program registered, with its inputs made plain
// (secret values wrapped as secret{...}) and the options it was given.
type res struct {
	Type, Name string
	Inputs     map[string]any
	Secret     map[string]bool // top-level inputs that were secret
	Protect    bool
	Ignore     []string
	Parent     string
	DependsOn  []string
	// DeleteBeforeReplace and ReplaceOnChanges are the replacement options.
	DeleteBeforeReplace bool
	ReplaceOnChanges    []string
}

type secret struct{ Value any }

type mocks struct {
	ami string
	// outputs are the last outputs of stacks a StackReference reads, by
	// fully qualified name; a stack without an entry has none (first
	// creation). Prod's preview registry is always there.
	outputs map[string]map[string]any

	mu        sync.Mutex
	resources []res
}

// subnetAZ is the availability zone of each subnet the mocked account has.
var subnetAZ = map[string]string{
	"subnet-0aaaaaaaa": "eu-west-1a",
	"subnet-0bbbbbbbb": "eu-west-1b",
	"subnet-0cccccccc": "eu-west-1a",
}

func plain(v resource.PropertyValue) any {
	return v.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
		if v.IsSecret() {
			return secret{plain(v.SecretValue().Element)}, true
		}
		return nil, false
	})
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := res{Type: args.TypeToken, Name: args.Name, Inputs: map[string]any{}, Secret: map[string]bool{}}
	for k, v := range args.Inputs {
		r.Inputs[string(k)] = plain(v)
		r.Secret[string(k)] = v.IsSecret()
	}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Protect, r.Ignore, r.Parent, r.DependsOn = rpc.GetProtect(), rpc.GetIgnoreChanges(), rpc.GetParent(), rpc.GetDependencies()
		r.DeleteBeforeReplace, r.ReplaceOnChanges = rpc.GetDeleteBeforeReplace(), rpc.GetReplaceOnChanges()
	}
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()

	out := args.Inputs.Copy()
	id := args.Name + "-id"
	set := func(k string, v any) { out[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	switch args.TypeToken {
	case "pulumi:pulumi:StackReference":
		outs := map[string]any{}
		if args.Name == "organization/blogstack/prod" {
			outs["registryUrl"], outs["previewRegistryUrl"] = registryURL, previewRegistryURL
		}
		for k, v := range m.outputs[args.Name] {
			outs[k] = v
		}
		set("outputs", outs)
	case "aws:ecr/repository:Repository":
		set("repositoryUrl", account+".dkr.ecr.eu-west-1.amazonaws.com/"+args.Inputs["name"].StringValue())
		set("arn", "arn:aws:ecr:eu-west-1:"+account+":repository/"+args.Inputs["name"].StringValue())
	case "aws:s3/bucketV2:BucketV2":
		id = args.Name + "-a1b2c3d"
		set("bucket", id)
		set("arn", "arn:aws:s3:::"+id)
	case "aws:ebs/volume:Volume":
		id = "vol-0123456789abcdef0"
	case "aws:ec2/instance:Instance":
		id = "i-0123456789abcdef0"
		set("publicIp", instancePublicIP)
	case "aws:ec2/eip:Eip":
		set("publicIp", eipPublicIP)
		set("allocationId", "eipalloc-0123")
	case "aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile":
		set("name", args.Name+"-x")
		set("arn", "arn:aws:iam::"+account+":role/"+args.Name+"-x")
	case "aws:sns/topic:Topic":
		set("arn", "arn:aws:sns:eu-west-1:"+account+":"+args.Inputs["name"].StringValue())
	case "aws:ssm/document:Document":
		set("latestVersion", "1")
	case "random:index/randomPassword:RandomPassword":
		out["result"] = resource.MakeSecret(resource.NewPropertyValue(mockSecret))
	case "aws:rds/instance:Instance":
		id = "db-ABCDEFGHIJKLMNOP"
		set("address", args.Inputs["identifier"].StringValue()+".c0abc.eu-west-1.rds.amazonaws.com")
		set("endpoint", args.Inputs["identifier"].StringValue()+".c0abc.eu-west-1.rds.amazonaws.com:5432")
		set("resourceId", "db-ABCDEFGHIJKLMNOP")
		set("masterUserSecrets", []any{map[string]any{"secretArn": dbSecretArn}})
	case "aws:lb/loadBalancer:LoadBalancer":
		set("arn", "arn:aws:elasticloadbalancing:eu-west-1:"+account+":loadbalancer/app/"+args.Name+"/50dc6c495c0c9188")
		set("arnSuffix", "app/"+args.Name+"/50dc6c495c0c9188")
		set("dnsName", args.Name+"-1234567890.eu-west-1.elb.amazonaws.com")
		set("zoneId", "Z32O12XQLNTSW2")
	case "aws:lb/targetGroup:TargetGroup":
		set("arn", "arn:aws:elasticloadbalancing:eu-west-1:"+account+":targetgroup/"+args.Name+"/6d0ecf831eec9f09")
		set("arnSuffix", "targetgroup/"+args.Name+"/6d0ecf831eec9f09")
	case "aws:acm/certificate:Certificate":
		set("arn", "arn:aws:acm:eu-west-1:"+account+":certificate/0b1c2d3e")
		set("domainValidationOptions", []any{map[string]any{
			"resourceRecordName": "_x1." + args.Inputs["domainName"].StringValue() + ".", "resourceRecordType": "CNAME", "resourceRecordValue": "_x2.acm-validations.aws.",
		}})
	case "aws:ecs/taskDefinition:TaskDefinition":
		set("arn", "arn:aws:ecs:eu-west-1:"+account+":task-definition/"+args.Inputs["family"].StringValue()+":7")
	case "aws:ecs/cluster:Cluster":
		set("name", args.Name+"-x")
		set("arn", "arn:aws:ecs:eu-west-1:"+account+":cluster/"+args.Name+"-x")
	case "aws:ecs/service:Service":
		set("name", args.Name+"-x")
	case "aws:ec2/securityGroup:SecurityGroup":
		id = "sg-" + args.Name
	case "command:local:Command":
		set("stdout", "ok")
	}
	return id, out, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "aws:ec2/getVpc:getVpc":
		return resource.NewPropertyMapFromMap(map[string]any{"id": "vpc-0abc", "cidrBlock": "172.31.0.0/16"}), nil
	case "aws:elb/getServiceAccount:getServiceAccount":
		return resource.NewPropertyMapFromMap(map[string]any{"id": "156460612806", "arn": "arn:aws:iam::156460612806:root"}), nil
	case "aws:ec2/getSubnets:getSubnets":
		return resource.NewPropertyMapFromMap(map[string]any{"ids": []any{"subnet-0bbbbbbbb", "subnet-0aaaaaaaa", "subnet-0cccccccc"}}), nil
	case "aws:ec2/getSubnet:getSubnet":
		id := args.Args["id"].StringValue()
		az, ok := subnetAZ[id]
		if !ok {
			return nil, fmt.Errorf("InvalidSubnetID.NotFound: %s", id)
		}
		return resource.NewPropertyMapFromMap(map[string]any{"id": id, "vpcId": "vpc-0abc", "availabilityZone": az}), nil
	case "aws:ssm/getParameter:getParameter":
		return resource.NewPropertyMapFromMap(map[string]any{"name": args.Args["name"].StringValue(), "value": m.ami + ":" + args.Args["name"].StringValue()}), nil
	case "aws:route53/getZone:getZone":
		return resource.NewPropertyMapFromMap(map[string]any{"zoneId": "Z" + strings.ToUpper(strings.ReplaceAll(args.Args["name"].StringValue(), ".", "")), "name": args.Args["name"].StringValue()}), nil
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{"accountId": account, "arn": "arn:aws:iam::" + account + ":user/ci", "userId": "AIDA"}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]any{"partition": "aws", "dnsSuffix": "amazonaws.com"}), nil
	}
	return nil, fmt.Errorf("unmocked call %s", args.Token)
}

// prodConfig is what the deploy workflow runs prod with: the committed
// settings plus the tag and deploy id it passes on the command line.
func prodConfig() map[string]string {
	return map[string]string{
		"aws:region":                    "eu-west-1",
		"blogstack:domain":              "blog.example.com",
		"blogstack:hostedZone":          "example.com",
		"blogstack:permissionsBoundary": boundary,
		"blogstack:logsKms":             logsKeyID,
		"blogstack:imageTag":            "3f2a9c1",
		"blogstack:deployId":            "9876543210-1",
	}
}

// run runs the very function stack/main.go runs, under mocks, as the first
// `pulumi up` of the stack (it has no outputs yet).
func run(t *testing.T, stack string, config map[string]string, ami string) ([]res, error) {
	t.Helper()
	return runWith(t, stack, config, &mocks{ami: ami})
}

func runWith(t *testing.T, stack string, config map[string]string, m *mocks) ([]res, error) {
	t.Helper()
	err := pulumi.RunErr(infra.Program, pulumi.WithMocks("blogstack", stack, m), func(info *pulumi.RunInfo) {
		info.Config = config
	})
	return m.resources, err
}

func mustRun(t *testing.T, stack string, config map[string]string) []res {
	t.Helper()
	rs, err := run(t, stack, config, "ami-1")
	if err != nil {
		t.Fatalf("program failed for %s: %v", stack, err)
	}
	return rs
}

// stackCase is a stack's name and its config.
type stackCase struct {
	name   string
	config map[string]string
}

var stacks = []stackCase{
	{"prod", prodConfig()},
	{"pr-12", prConfig()},
}

func prConfig() map[string]string {
	c := prodConfig()
	c["blogstack:imageTag"] = "pr-12-3f2a9c1"
	return c
}

func ofType(rs []res, typ string) []res {
	var out []res
	for _, r := range rs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

func one(t *testing.T, rs []res, typ string) res {
	t.Helper()
	got := ofType(rs, typ)
	if len(got) != 1 {
		t.Fatalf("want one %s, got %d", typ, len(got))
	}
	return got[0]
}

// named is the one resource of a type whose name contains part: the
// stack has two buckets (backups, media) with the same kinds of children.
func named(t *testing.T, rs []res, typ, part string) res {
	t.Helper()
	var got []res
	for _, r := range ofType(rs, typ) {
		if strings.Contains(r.Name, part) {
			got = append(got, r)
		}
	}
	if len(got) != 1 {
		t.Fatalf("want one %s named *%s*, got %d", typ, part, len(got))
	}
	return got[0]
}

func get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			if len(x) == 0 {
				return nil
			}
			v = x[0].(map[string]any)[p]
		case secret:
			v = get(x.Value, p)
		default:
			return nil
		}
	}
	return v
}

// eachStack runs a check against the prod and the pr-12 program.
func eachStack(t *testing.T, check func(t *testing.T, stack string, rs []res)) {
	eachStackOf(t, stacks, check)
}

// eachStackOf runs a check against each of a list of stacks.
func eachStackOf(t *testing.T, list []stackCase, check func(t *testing.T, stack string, rs []res)) {
	for _, s := range list {
		t.Run(s.name, func(t *testing.T) { check(t, s.name, mustRun(t, s.name, s.config)) })
	}
}

func TestCKV_AWS_79_IMDSv2Required(t *testing.T) {
	eachStack(t, func(t *testing.T, _ string, rs []res) {
		i := one(t, rs, "aws:ec2/instance:Instance")
		if get(i.Inputs, "metadataOptions", "httpTokens") != "required" {
			t.Errorf("metadata options: %v", i.Inputs["metadataOptions"])
		}
		if hop := get(i.Inputs, "metadataOptions", "httpPutResponseHopLimit"); hop != 1.0 {
			t.Errorf("hop limit %v: containers could reach the instance role", hop)
		}
	})
}

func TestCKV_AWS_8_CKV_AWS_3_VolumesEncrypted(t *testing.T) {
	eachStack(t, func(t *testing.T, _ string, rs []res) {
		i := one(t, rs, "aws:ec2/instance:Instance")
		if get(i.Inputs, "rootBlockDevice", "encrypted") != true {
			t.Errorf("root volume not encrypted: %v", i.Inputs["rootBlockDevice"])
		}
		v := one(t, rs, "aws:ebs/volume:Volume")
		if v.Inputs["encrypted"] != true || v.Inputs["type"] != "gp3" || v.Inputs["availabilityZone"] != "eu-west-1a" {
			t.Errorf("data volume: %v", v.Inputs)
		}
	})
}

func TestCKV_AWS_24_OnlyWebIngressNoSSH(t *testing.T) {
	eachStack(t, func(t *testing.T, _ string, rs []res) {
		sg := one(t, rs, "aws:ec2/securityGroup:SecurityGroup")
		var ports []string
		for _, rule := range sg.Inputs["ingress"].([]any) {
			r := rule.(map[string]any)
			from, to := r["fromPort"].(float64), r["toPort"].(float64)
			if from != to || r["description"] == nil {
				t.Errorf("ingress rule must be one described port: %v", r)
			}
			if from <= 22 && 22 <= to {
				t.Errorf("SSH open: %v", r)
			}
			// Every open port is open to IPv4 and IPv6 clients alike.
			if !slices.Equal(r["cidrBlocks"].([]any), []any{"0.0.0.0/0"}) || !slices.Equal(r["ipv6CidrBlocks"].([]any), []any{"::/0"}) {
				t.Errorf("rule %v is not open to all of IPv4 and IPv6", r)
			}
			ports = append(ports, fmt.Sprintf("%s/%v", r["protocol"], from))
		}
		// UDP 443: Caddy advertises HTTP/3 (Alt-Svc), which runs on QUIC.
		if !slices.Equal(ports, []string{"tcp/80", "tcp/443", "udp/443"}) {
			t.Errorf("ingress %v, want only tcp/80, tcp/443 and udp/443", ports)
		}
		for _, typ := range []string{"aws:ec2/securityGroupRule:SecurityGroupRule", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"} {
			if len(ofType(rs, typ)) != 0 {
				t.Errorf("extra %s outside the group", typ)
			}
		}
	})
}

func TestCKV_AWS_163_CKV_AWS_51_RegistryScannedImmutable(t *testing.T) {
	rs := mustRun(t, "prod", prodConfig())
	repos := map[string]res{}
	for _, repo := range ofType(rs, "aws:ecr/repository:Repository") {
		repos[repo.Inputs["name"].(string)] = repo
		if get(repo.Inputs, "imageScanningConfiguration", "scanOnPush") != true {
			t.Errorf("%s: scan on push off", repo.Name)
		}
		if repo.Inputs["imageTagMutability"] != "IMMUTABLE" {
			t.Errorf("%s: tags %v", repo.Name, repo.Inputs["imageTagMutability"])
		}
		if !repo.Protect {
			t.Errorf("%s: registry not protected", repo.Name)
		}
	}
	if len(repos) != 2 || repos["blog"].Name == "" || repos["blog-previews"].Name == "" {
		t.Fatalf("prod owns repositories %v, want blog and blog-previews", keys(func() map[string]string {
			m := map[string]string{}
			for k := range repos {
				m[k] = ""
			}
			return m
		}()))
	}
	type policy struct {
		Rules []struct {
			Priority  int `json:"rulePriority"`
			Selection struct {
				TagStatus   string   `json:"tagStatus"`
				TagPatterns []string `json:"tagPatternList"`
				CountType   string   `json:"countType"`
				CountNumber int      `json:"countNumber"`
			} `json:"selection"`
		} `json:"rules"`
	}
	// Which repository each lifecycle policy belongs to: the policy names
	// the repository through its logical name.
	policies := map[string]policy{}
	for _, lp := range ofType(rs, "aws:ecr/lifecyclePolicy:LifecyclePolicy") {
		var p policy
		if err := json.Unmarshal([]byte(lp.Inputs["policy"].(string)), &p); err != nil {
			t.Fatal(err)
		}
		for name, repo := range repos {
			if lp.Name == repo.Name+"-lifecycle" {
				policies[name] = p
			}
		}
	}
	expiresPR := func(p policy) bool {
		for _, r := range p.Rules {
			if slices.Equal(r.Selection.TagPatterns, []string{"pr-*"}) && r.Selection.CountType == "sinceImagePushed" {
				return true
			}
		}
		return false
	}
	keepsReleases := false
	for _, r := range policies["blog"].Rules {
		if r.Selection.TagStatus == "any" && r.Selection.CountType == "imageCountMoreThan" && r.Selection.CountNumber >= 10 {
			keepsReleases = r.Priority == len(policies["blog"].Rules) // "any" must be last
		}
	}
	if !keepsReleases || expiresPR(policies["blog"]) {
		t.Errorf("blog's lifecycle policy must keep >= 10 releases and has no pr-* images: %+v", policies["blog"])
	}
	if !expiresPR(policies["blog-previews"]) {
		t.Errorf("blog-previews' lifecycle policy must expire pr-* images: %+v", policies["blog-previews"])
	}

	pr := mustRun(t, "pr-12", stacks[1].config)
	if n := len(ofType(pr, "aws:ecr/repository:Repository")); n != 0 {
		t.Errorf("preview stack declares %d repositories; it must use prod's", n)
	}
	var refs []string
	for _, r := range ofType(pr, "pulumi:pulumi:StackReference") {
		refs = append(refs, r.Name)
	}
	sort.Strings(refs)
	// Prod's outputs (the preview registry) and its own last outputs.
	if !slices.Equal(refs, []string{"organization/blogstack/pr-12", "organization/blogstack/prod"}) {
		t.Errorf("preview reads stacks %v", refs)
	}
}

func TestCKV_AWS_126_DetailedMonitoring(t *testing.T) {
	eachStack(t, func(t *testing.T, _ string, rs []res) {
		if one(t, rs, "aws:ec2/instance:Instance").Inputs["monitoring"] != true {
			t.Error("detailed monitoring off")
		}
	})
}

func userData(t *testing.T, rs []res) string {
	t.Helper()
	return one(t, rs, "aws:ec2/instance:Instance").Inputs["userData"].(string)
}

func TestCKV_AWS_46_NoSecretsInUserDataAndUnder16KB(t *testing.T) {
	eachStack(t, func(t *testing.T, _ string, rs []res) {
		ud := userData(t, rs)
		t.Logf("user-data: %d bytes", len(ud))
		if len(ud) >= infra.MaxUserData {
			t.Errorf("user-data is %d bytes, EC2 allows %d", len(ud), infra.MaxUserData)
		}
		decoded := decodeHeredocs(ud)
		for _, s := range append([]string{ud}, decoded...) {
			for _, bad := range []string{mockSecret, "PASSWORD=", "SECRET_KEY=", "AKIA", "aws_secret_access_key"} {
				if strings.Contains(s, bad) {
					t.Errorf("user-data contains %q", bad)
				}
			}
		}
		bootstrap, _ := os.ReadFile("../../host/bootstrap")
		if len(decoded) != 1 || decoded[0] != string(bootstrap) {
			t.Error("user-data does not carry host/bootstrap byte for byte")
		}
		if !strings.Contains(ud, "exec /opt/blog/host/bootstrap --install 'vol-0123456789abcdef0'") {
			t.Errorf("user-data does not run bootstrap for the data volume:\n%s", ud)
		}
	})
}

var heredoc = regexp.MustCompile(`(?s)<<'EOF'\n(.*?)EOF\n`)

func decodeHeredocs(s string) []string {
	var out []string
	for _, m := range heredoc.FindAllStringSubmatch(s, -1) {
		b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(m[1], "\n", ""))
		if err != nil {
			panic(err)
		}
		out = append(out, string(b))
	}
	return out
}

func TestUserDataIsShellcheckClean(t *testing.T) {
	shellcheck := needShellcheck(t)
	rs := mustRun(t, "prod", prodConfig())
	doc := one(t, rs, "aws:ssm/document:Document")
	for name, script := range map[string]string{"user-data": userData(t, rs), "deploy-document": documentScript(t, doc)} {
		cmd := exec.Command(shellcheck, "--shell=bash", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s:\n%s", name, out)
		}
	}
}

func needShellcheck(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("shellcheck missing; CI must install it (apt-get install -y shellcheck)")
		}
		t.Skip("shellcheck not installed; CI fails here instead")
	}
	return p
}

func documentScript(t *testing.T, doc res) string {
	t.Helper()
	var d struct {
		Parameters map[string]struct {
			AllowedPattern string `json:"allowedPattern"`
		} `json:"parameters"`
		MainSteps []struct {
			Action string `json:"action"`
			Inputs struct {
				RunCommand []string `json:"runCommand"`
			} `json:"inputs"`
		} `json:"mainSteps"`
	}
	if err := json.Unmarshal([]byte(doc.Inputs["content"].(string)), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.MainSteps) != 1 || d.MainSteps[0].Action != "aws:runShellScript" {
		t.Fatalf("document steps: %+v", d.MainSteps)
	}
	for _, p := range []string{"imageTag", "deployId"} {
		if d.Parameters[p].AllowedPattern == "" {
			t.Errorf("%s parameter is not restricted by a pattern", p)
		}
	}
	return strings.Join(d.MainSteps[0].Inputs.RunCommand, "\n") + "\n"
}

var (
	payloadBlock = regexp.MustCompile(`(?s)\nbase64 -d <<'EOF' \| gzip -dc >"\$payload"\n(.*?)EOF\n# shellcheck source=/dev/null\n\. "\$payload"\n`)
	putLine      = regexp.MustCompile(`(?s)put (\S+) (\d+) <<'BLOG_PAYLOAD_END_OF_FILE'\n(.*?)\nBLOG_PAYLOAD_END_OF_FILE\n`)
)

// payloadFiles unpacks a deploy script's files: path -> mode and content.
func payloadFiles(t *testing.T, script string) map[string][2]string {
	t.Helper()
	block := payloadBlock.FindStringSubmatch(script)
	if block == nil {
		t.Fatalf("no payload in the deploy script:\n%.2000s", script)
	}
	b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(block[1], "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]string{}
	for _, m := range putLine.FindAllStringSubmatch(gunzip(t, b), -1) {
		got[m[1]] = [2]string{m[2], m[3] + "\n"}
	}
	return got
}

func TestDeployPayloadCarriesComposeAndHostByteForByte(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		script := documentScript(t, one(t, rs, "aws:ssm/document:Document"))
		got := map[string]string{}
		for path, f := range payloadFiles(t, script) {
			got[path] = f[1]
			if want := map[bool]string{true: "0755", false: "0644"}[strings.HasPrefix(f[1], "#!")]; f[0] != want {
				t.Errorf("%s has mode %s, want %s", path, f[0], want)
			}
		}
		if !strings.Contains(script, "put() { cat >\"$1.new\"; chmod \"$2\" \"$1.new\"; mv -f \"$1.new\" \"$1\"; }") {
			t.Error("the document does not unpack files the way they are packed")
		}
		want := map[string]string{}
		compose, err := os.ReadFile("../../docker-compose.prod.yml")
		if err != nil {
			t.Fatal(err)
		}
		want["/opt/blog/docker-compose.prod.yml"] = string(compose)
		entries, _ := os.ReadDir("../../host")
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join("../../host", e.Name()))
			want["/opt/blog/host/"+e.Name()] = string(b)
		}
		settings := got["/etc/blog/stack.env"]
		delete(got, "/etc/blog/stack.env")
		if len(got) != len(want) {
			t.Errorf("payload has %v, want %v", keys(got), keys(want))
		}
		for path, content := range want {
			if got[path] != content {
				t.Errorf("payload %s differs from the repository's file", path)
			}
		}
		preview, registry := "", registryURL
		if stack != "prod" {
			preview, registry = "1", previewRegistryURL
		}
		for _, line := range []string{
			"BLOG_REGISTRY='" + registry + "'",
			"BLOG_PREVIEW='" + preview + "'",
			"BLOG_SSM_PREFIX='/blog/" + stack + "'",
			"AWS_REGION='eu-west-1'",
			// host/backup uploads to this bucket, below the prefix the
			// host's role may write (see TestIAMNoWildcardsWhereNarrowerExists).
			"BLOG_BACKUP_BUCKET='blog-" + stack + "-data-backups-a1b2c3d'",
			"BLOG_BACKUP_PREFIX='backups/" + stack + "/'",
			"BLOG_LOG_GROUP_PREFIX='blog-" + stack + "'",
			"BLOG_METRICS_NAMESPACE='blog/" + stack + "'",
			// The blog keeps uploads below the prefix the media role may use,
			// with that role's credentials (host/media-credentials).
			"BLOG_MEDIA_URL='s3://blog-" + stack + "-media-files-a1b2c3d?prefix=media/&region=eu-west-1'",
			"BLOG_MEDIA_ROLE_ARN='arn:aws:iam::" + account + ":role/blog-" + stack + "-media-role-x'",
		} {
			if !strings.Contains(settings, line+"\n") {
				t.Errorf("stack.env lacks %s:\n%s", line, settings)
			}
		}
		if !strings.HasSuffix(script, "\nBLOG_DEPLOY_ID='{{ deployId }}' exec /opt/blog/host/deploy '{{ imageTag }}'\n") {
			t.Error("document does not end by running host/deploy with the tag and the deploy id")
		}
	})
}

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestDeployDocumentHasRoom keeps the document well under SSM's 64 KB, so
// a growing script fails here, with room to spare, before it fails a deploy.
func TestDeployDocumentHasRoom(t *testing.T) {
	eachStack(t, func(t *testing.T, _ string, rs []res) {
		n := len(one(t, rs, "aws:ssm/document:Document").Inputs["content"].(string))
		t.Logf("deploy document: %d bytes of %d", n, infra.MaxDocument)
		if n > infra.MaxDocument*3/4 {
			t.Errorf("deploy document is %d bytes, over three quarters of SSM's %d", n, infra.MaxDocument)
		}
	})
}

func keys(m map[string]string) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// documentTimeout is the deploy document's own limit on host/deploy.
func documentTimeout(t *testing.T, doc res) float64 {
	t.Helper()
	var d struct {
		MainSteps []struct {
			Inputs struct {
				TimeoutSeconds string `json:"timeoutSeconds"`
			} `json:"inputs"`
		} `json:"mainSteps"`
	}
	if err := json.Unmarshal([]byte(doc.Inputs["content"].(string)), &d); err != nil {
		t.Fatal(err)
	}
	var n float64
	if _, err := fmt.Sscan(d.MainSteps[0].Inputs.TimeoutSeconds, &n); err != nil || n <= 0 {
		t.Fatalf("document step timeout %q", d.MainSteps[0].Inputs.TimeoutSeconds)
	}
	return n
}

func TestDeployAssociationWaitsForTheTag(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		a := one(t, rs, "aws:ssm/association:Association")
		tag, id := prodConfig()["blogstack:imageTag"], prodConfig()["blogstack:deployId"]
		if stack != "prod" {
			tag = "pr-12-3f2a9c1"
		}
		if get(a.Inputs, "parameters", "imageTag") != tag || get(a.Inputs, "parameters", "deployId") != id {
			t.Errorf("parameters %v", a.Inputs["parameters"])
		}
		// The wait must outlast the document's own timeout, with room for
		// State Manager to start the run and the agent to upload its
		// output; else `pulumi up` gives up on a deploy still running.
		wait, _ := a.Inputs["waitForSuccessTimeoutSeconds"].(float64)
		if limit := documentTimeout(t, one(t, rs, "aws:ssm/document:Document")); wait < limit+120 {
			t.Errorf("association waits %vs, the document lets host/deploy run %vs: want at least 2 minutes more", wait, limit)
		}
		if !strings.Contains(a.Name, "-deploy-"+tag+"-"+id+"-") || a.Inputs["associationName"] != a.Name {
			t.Errorf("association name %q does not carry the tag and the deploy id", a.Name)
		}
		if get(a.Inputs, "targets", "key") != "InstanceIds" || !slices.Contains(get(a.Inputs, "targets", "values").([]any), any("i-0123456789abcdef0")) {
			t.Errorf("targets %v", a.Inputs["targets"])
		}
		// The workflow prints what is under this prefix when a deploy fails.
		out := a.Inputs["outputLocation"]
		if get(out, "s3BucketName") != "blog-"+stack+"-data-backups-a1b2c3d" || get(out, "s3KeyPrefix") != "deploy-logs/"+tag+"/"+id || get(out, "s3Region") != "eu-west-1" {
			t.Errorf("output location %v, want s3://<backupBucket>/deploy-logs/%s/%s", out, tag, id)
		}
		// An update in place is never waited for: any change replaces it,
		// a failed create (init errors) too, the old one going first.
		if !slices.Equal(a.ReplaceOnChanges, []string{"*"}) || !a.DeleteBeforeReplace {
			t.Errorf("association replaceOnChanges %v deleteBeforeReplace %v", a.ReplaceOnChanges, a.DeleteBeforeReplace)
		}
		// The volume, and the roles' policies: host/deploy hands the app
		// the media role's credentials before it starts it.
		for _, want := range []string{"-host-data-attachment", "-host-role-policy", "-media-role-policy"} {
			if !slices.ContainsFunc(a.DependsOn, func(d string) bool { return strings.HasSuffix(d, want) }) {
				t.Errorf("association does not depend on *%s: %v", want, a.DependsOn)
			}
		}
	})
}

func TestNoImageTagCreatesEverythingButTheDeploy(t *testing.T) {
	c := prodConfig()
	delete(c, "blogstack:imageTag")
	delete(c, "blogstack:deployId")
	rs := mustRun(t, "prod", c)
	if n := len(ofType(rs, "aws:ssm/association:Association")); n != 0 {
		t.Errorf("%d associations without an image tag", n)
	}
	one(t, rs, "aws:ec2/instance:Instance")
	one(t, rs, "aws:ssm/document:Document")
}

// diffRuns compares two runs of the program by URN-like key and returns
// what only the first and only the second declared, and what changed.
func diffRuns(before, after []res) (onlyBefore, onlyAfter, changed []string) {
	index := func(rs []res) map[string]res {
		m := map[string]res{}
		for _, r := range rs {
			m[r.Type+"::"+r.Name] = r
		}
		return m
	}
	x, y := index(before), index(after)
	for k, r := range x {
		other, ok := y[k]
		if !ok {
			onlyBefore = append(onlyBefore, k)
		} else if !sameInputs(r, other) {
			changed = append(changed, k)
		}
	}
	for k := range y {
		if _, ok := x[k]; !ok {
			onlyAfter = append(onlyAfter, k)
		}
	}
	sort.Strings(onlyBefore)
	sort.Strings(onlyAfter)
	sort.Strings(changed)
	return onlyBefore, onlyAfter, changed
}

func TestChangingOnlyImageTagReplacesOnlyTheAssociation(t *testing.T) {
	b := prodConfig()
	b["blogstack:imageTag"], b["blogstack:deployId"] = "9e8d7c6", "9876543299-1"
	onlyBefore, onlyAfter, changed := diffRuns(mustRun(t, "prod", prodConfig()), mustRun(t, "prod", b))
	if len(changed) != 0 {
		t.Errorf("%v changed with the image tag", changed)
	}
	if len(onlyBefore) != 1 || len(onlyAfter) != 1 ||
		!strings.HasPrefix(onlyBefore[0], "aws:ssm/association:Association::") ||
		!strings.Contains(onlyAfter[0], "-deploy-9e8d7c6-9876543299-1-") {
		t.Errorf("want only the association replaced: removed %v, added %v", onlyBefore, onlyAfter)
	}
}

func sameInputs(a, b res) bool {
	ja, _ := json.Marshal(a.Inputs)
	jb, _ := json.Marshal(b.Inputs)
	return bytes.Equal(ja, jb)
}

// TestNewAMIIsIgnored: on first creation the AMI is the current Amazon
// Linux 2023; afterwards the running host's AMI (its last output) is kept
// whatever the public parameter says, and both the AMI and user-data are
// ignored so nothing replaces or restarts the host by surprise.
func TestNewAMIIsIgnored(t *testing.T) {
	first, err := run(t, "prod", prodConfig(), "ami-old")
	if err != nil {
		t.Fatal(err)
	}
	i := one(t, first, "aws:ec2/instance:Instance")
	if i.Inputs["ami"] != "ami-old:"+infra.AmiParameter("arm64") {
		t.Errorf("AMI %v not resolved through the public SSM parameter for arm64", i.Inputs["ami"])
	}
	m := &mocks{ami: "ami-new", outputs: map[string]map[string]any{"organization/blogstack/prod": {
		"subnetId": "subnet-0aaaaaaaa", "availabilityZone": "eu-west-1a", "amiId": i.Inputs["ami"],
	}}}
	later, err := runWith(t, "prod", prodConfig(), m)
	if err != nil {
		t.Fatal(err)
	}
	j := one(t, later, "aws:ec2/instance:Instance")
	if j.Inputs["ami"] != i.Inputs["ami"] {
		t.Errorf("a new Amazon Linux release changed the host's AMI to %v", j.Inputs["ami"])
	}
	for _, r := range []res{i, j} {
		if !slices.Contains(r.Ignore, "ami") || !slices.Contains(r.Ignore, "userData") {
			t.Errorf("instance ignores %v; a new AMI or user-data edit would replace it", r.Ignore)
		}
		if r.Inputs["userDataReplaceOnChange"] != false {
			t.Error("user-data edits would replace the instance")
		}
	}
}

func TestArchitectureFollowsInstanceType(t *testing.T) {
	c := prodConfig()
	c["blogstack:instanceType"] = "t3.small"
	i := one(t, mustRun(t, "prod", c), "aws:ec2/instance:Instance")
	if !strings.HasSuffix(i.Inputs["ami"].(string), infra.AmiParameter("x86_64")) || i.Inputs["instanceType"] != "t3.small" {
		t.Errorf("t3.small got %v", i.Inputs)
	}
}

func statements(t *testing.T, doc string) []infra.Statement {
	t.Helper()
	var p infra.PolicyDocument
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy %s: %v", doc, err)
	}
	return p.Statement
}

func TestIAMNoWildcardsWhereNarrowerExists(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		var docs []string
		for _, r := range ofType(rs, "aws:iam/rolePolicy:RolePolicy") {
			docs = append(docs, r.Inputs["policy"].(string))
		}
		for _, r := range ofType(rs, "aws:iam/role:Role") {
			docs = append(docs, r.Inputs["assumeRolePolicy"].(string))
		}
		if len(docs) < 2 {
			t.Fatalf("found only %d policies", len(docs))
		}
		for _, doc := range docs {
			for _, s := range statements(t, doc) {
				if s.Effect != "Allow" {
					continue
				}
				for _, a := range s.Action {
					if strings.Contains(a, "*") {
						t.Errorf("wildcard action %q", a)
					}
				}
				if slices.Contains(s.Resource, "*") {
					for _, a := range s.Action {
						// PutMetricData has no resource: its scope is the namespace.
						if a == "cloudwatch:PutMetricData" && s.Condition["StringEquals"]["cloudwatch:namespace"] == "blog/"+stack {
							continue
						}
						if !slices.Contains(infra.UnscopableActions, a) {
							t.Errorf("%s allowed on * but can be scoped", a)
						}
					}
				}
			}
		}
		host := statements(t, named(t, rs, "aws:iam/rolePolicy:RolePolicy", "-host-role-policy").Inputs["policy"].(string))
		all := ""
		for _, s := range host {
			all += strings.Join(s.Resource, " ") + " "
		}
		// Prod's host pulls only images of main, a preview's only images of
		// pull requests.
		repo, other := "blog", "blog-previews"
		if stack != "prod" {
			repo, other = other, repo
		}
		var repos []string
		for _, s := range host {
			for _, r := range s.Resource {
				if strings.Contains(r, ":repository/") {
					repos = append(repos, r)
				}
			}
		}
		if want := []string{"arn:aws:ecr:eu-west-1:" + account + ":repository/" + repo}; !slices.Equal(repos, want) {
			t.Errorf("host may pull from %v, want only %v (never %s)", repos, want, other)
		}
		for _, want := range []string{
			"arn:aws:ssm:eu-west-1:" + account + ":parameter/blog/" + stack + "/*",
			"arn:aws:ssm:eu-west-1:" + account + ":document/blog-" + stack + "-deploy",
			"/backups/*",
		} {
			if !strings.Contains(all, want) {
				t.Errorf("host policy lacks %s: %s", want, all)
			}
		}
		for _, r := range ofType(rs, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
			if arn := r.Inputs["policyArn"]; arn != "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole" {
				t.Errorf("managed policy %v attached; only DLM's service role policy is expected", arn)
			}
		}
	})
}

func TestDataProtectedInProdDeletableInPreview(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		prod := stack == "prod"
		v := one(t, rs, "aws:ebs/volume:Volume")
		i := one(t, rs, "aws:ec2/instance:Instance")
		if v.Protect != prod {
			t.Errorf("protect: volume %v; want %v", v.Protect, prod)
		}
		for _, b := range ofType(rs, "aws:s3/bucketV2:BucketV2") {
			if b.Protect != prod || b.Inputs["forceDestroy"] != !prod {
				t.Errorf("bucket %s: protect %v, forceDestroy %v; want protected in prod, emptied on a preview's destroy", b.Name, b.Protect, b.Inputs["forceDestroy"])
			}
		}
		// The provider switches termination protection off before it
		// deletes, so it guards nothing; Pulumi's protect does.
		if _, ok := i.Inputs["disableApiTermination"]; ok || i.Protect != prod {
			t.Errorf("instance: disableApiTermination %v, protect %v; want no termination protection and protect %v",
				i.Inputs["disableApiTermination"], i.Protect, prod)
		}
		if v.Inputs["finalSnapshot"] != prod {
			t.Errorf("data volume finalSnapshot %v, want %v (a preview leaves no snapshot behind)", v.Inputs["finalSnapshot"], prod)
		}
		if !prod {
			for _, r := range rs {
				if r.Protect {
					t.Errorf("%s %s is protected in a preview stack", r.Type, r.Name)
				}
			}
		}
	})
}

func TestBackupsSnapshotsAndBucket(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		if stack == "prod" {
			p := one(t, rs, "aws:dlm/lifecyclePolicy:LifecyclePolicy")
			sched := get(p.Inputs, "policyDetails", "schedules").([]any)[0].(map[string]any)
			if get(sched, "createRule", "interval") != 24.0 || get(sched, "retainRule", "count") != 14.0 {
				t.Errorf("snapshot schedule %v", sched)
			}
			target := get(p.Inputs, "policyDetails", "targetTags", "blog:snapshots")
			if get(one(t, rs, "aws:ebs/volume:Volume").Inputs, "tags", "blog:snapshots") != target || target != "blog-"+stack {
				t.Errorf("DLM targets %v, not the data volume", target)
			}
		} else {
			// DLM's snapshots outlive their policy: a preview takes none.
			for _, typ := range []string{"aws:dlm/lifecyclePolicy:LifecyclePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"} {
				if n := len(ofType(rs, typ)); n != 0 {
					t.Errorf("preview declares %d %s", n, typ)
				}
			}
		}
		pab := named(t, rs, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "-backups")
		for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
			if pab.Inputs[k] != true {
				t.Errorf("%s off", k)
			}
		}
		if get(named(t, rs, "aws:s3/bucketVersioningV2:BucketVersioningV2", "-backups").Inputs, "versioningConfiguration", "status") != "Enabled" {
			t.Error("bucket not versioned")
		}
		if get(named(t, rs, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "-backups").Inputs, "rules", "applyServerSideEncryptionByDefault", "sseAlgorithm") != "aws:kms" {
			t.Error("bucket not encrypted")
		}
		// Dumps below backups/<stack>/ expire after backupExpireDays: 35 in
		// prod, 7 in previews (Pulumi.yaml); noncurrent versions too.
		wantDays := 35.0
		if stack != "prod" {
			wantDays = 7.0
		}
		var expiresBackups bool
		for _, rule := range named(t, rs, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "-backups").Inputs["rules"].([]any) {
			prefix, _ := get(rule, "filter", "prefix").(string)
			if get(rule, "status") != "Enabled" || !strings.HasPrefix(infra.BackupKeyPrefix(stack), prefix) {
				continue
			}
			if get(rule, "expiration", "days") != wantDays || get(rule, "noncurrentVersionExpiration", "noncurrentDays") != wantDays {
				t.Errorf("rule %v: want dumps and their old versions expired after %v days", rule, wantDays)
			}
			expiresBackups = true
		}
		if !expiresBackups {
			t.Error("backups never expire")
		}
		if !strings.Contains(named(t, rs, "aws:s3/bucketPolicy:BucketPolicy", "-backups").Inputs["policy"].(string), "aws:SecureTransport") {
			t.Error("bucket allows plain HTTP")
		}
	})
}

func TestSecretsOnlyInSecureStringParameters(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		params := ofType(rs, "aws:ssm/parameter:Parameter")
		var names []string
		for _, p := range params {
			names = append(names, p.Inputs["name"].(string))
			if p.Inputs["type"] != "SecureString" || !p.Secret["value"] {
				t.Errorf("%v is not a secret SecureString", p.Inputs["name"])
			}
		}
		sort.Strings(names)
		if want := []string{"/blog/" + stack + "/db-password", "/blog/" + stack + "/secret-key"}; !slices.Equal(names, want) {
			t.Errorf("parameters %v, want %v", names, want)
		}
		for _, p := range ofType(rs, "random:index/randomPassword:RandomPassword") {
			if p.Inputs["special"] != false {
				t.Errorf("%s may contain characters that break DATABASE_URL", p.Name)
			}
		}
		// The generated value appears nowhere but in those parameters.
		for _, r := range rs {
			for k, v := range r.Inputs {
				if r.Secret[k] {
					continue
				}
				if b, _ := json.Marshal(v); bytes.Contains(b, []byte(mockSecret)) {
					t.Errorf("%s %s input %s carries the secret in plain text", r.Type, r.Name, k)
				}
			}
		}
	})
}

// namedAfterStack checks that a stack's resources are named after it and
// after no other stack in names (name -> stack, filled in), tagged with
// it, and parented to a component.
func namedAfterStack(t *testing.T, stack string, rs []res, names map[string]string) {
	t.Helper()
	for _, r := range rs {
		if r.Type == "pulumi:pulumi:StackReference" {
			continue
		}
		if !strings.HasPrefix(r.Name, "blog-"+stack+"-") {
			t.Errorf("%s: resource %s %q is not named after the stack", stack, r.Type, r.Name)
		}
		if other, ok := names[r.Name]; ok && other != stack {
			t.Errorf("%q used by both %s and %s", r.Name, other, stack)
		}
		names[r.Name] = stack
		if tags, ok := r.Inputs["tags"].(map[string]any); ok && tags["blog:stack"] != stack {
			t.Errorf("%s %s tagged %v", r.Type, r.Name, tags)
		}
		if r.Parent == "" || strings.HasSuffix(r.Parent, "pulumi:pulumi:Stack::blogstack-"+stack) && !strings.HasPrefix(r.Type, "blogstack:") {
			t.Errorf("%s %s is not parented to a component (parent %q)", r.Type, r.Name, r.Parent)
		}
	}
}

func TestNamesTagsAndRecordsDistinctPerStack(t *testing.T) {
	names := map[string]string{}
	for _, s := range stacks {
		rs := mustRun(t, s.name, s.config)
		namedAfterStack(t, s.name, rs, names)
		for _, typ := range []string{"aws:ec2/instance:Instance", "aws:ebs/volume:Volume", "aws:ec2/securityGroup:SecurityGroup", "aws:s3/bucketV2:BucketV2", "aws:iam/role:Role", "aws:ec2/eip:Eip", "aws:ssm/parameter:Parameter", "aws:ssm/document:Document"} {
			for _, r := range ofType(rs, typ) {
				if _, ok := r.Inputs["tags"]; !ok {
					t.Errorf("%s %s has no tags", typ, r.Name)
				}
			}
		}
		rec := one(t, rs, "aws:route53/record:Record")
		wantName, wantZone := "blog.example.com", "ZEXAMPLECOM"
		if s.name == "pr-12" {
			wantName = "pr-12.example.com"
		}
		if rec.Inputs["name"] != wantName || rec.Inputs["zoneId"] != wantZone || rec.Inputs["ttl"] != 60.0 || rec.Inputs["type"] != "A" {
			t.Errorf("%s record %v", s.name, rec.Inputs)
		}
		wantIP := eipPublicIP
		if s.name != "prod" {
			wantIP = instancePublicIP
		}
		if !slices.Equal(rec.Inputs["records"].([]any), []any{wantIP}) {
			t.Errorf("record points at %v, want %s", rec.Inputs["records"], wantIP)
		}
	}
}

func TestPreviewStackDerivesFromItsName(t *testing.T) {
	c := prConfig()
	c["blogstack:previewZone"] = "preview.example.com"
	rs := mustRun(t, "pr-12", c)
	if got := one(t, rs, "aws:route53/record:Record").Inputs["name"]; got != "pr-12.preview.example.com" {
		t.Errorf("record %v", got)
	}
	if got := one(t, rs, "aws:ec2/instance:Instance").Inputs["instanceType"]; got != "t4g.micro" {
		t.Errorf("preview instance %v, want the smaller t4g.micro", got)
	}
	if got := one(t, mustRun(t, "prod", prodConfig()), "aws:ec2/instance:Instance").Inputs["instanceType"]; got != "t4g.small" {
		t.Errorf("prod instance %v", got)
	}
}

// runOutputs runs Stack (Program without the exports) under mocks and
// fills got with its outputs as strings.
func runOutputs(stack string, config map[string]string, m *mocks, got map[string]string) ([]res, error) {
	var mu sync.Mutex
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		out, err := infra.Stack(ctx)
		if err != nil {
			return err
		}
		for k, v := range out {
			pulumi.ToOutput(v).ApplyT(func(x any) any {
				mu.Lock()
				got[k] = fmt.Sprint(x)
				mu.Unlock()
				return nil
			})
		}
		return nil
	}, pulumi.WithMocks("blogstack", stack, m), func(i *pulumi.RunInfo) { i.Config = config })
	return m.resources, err
}

func TestOutputs(t *testing.T) {
	got := outputs(t, "prod", prodConfig(), &mocks{ami: "ami-1"})
	want := map[string]string{
		"url":                "https://blog.example.com",
		"registryUrl":        registryURL,
		"previewRegistryUrl": previewRegistryURL,
		"instanceId":         "i-0123456789abcdef0",
		"publicIp":           eipPublicIP,
		"dataVolumeId":       "vol-0123456789abcdef0",
		"backupBucket":       "blog-prod-data-backups-a1b2c3d",
		"mediaBucket":        "blog-prod-media-files-a1b2c3d",
		"imageTag":           "3f2a9c1",
		"deployId":           "9876543210-1",
		// What the next run reads back (see release_test.go).
		"subnetId":         "subnet-0aaaaaaaa",
		"availabilityZone": "eu-west-1a",
		"amiId":            "ami-1:" + infra.AmiParameter("arm64"),
		"dataSnapshotId":   "",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outputs\n got %v\nwant %v", got, want)
	}
}

func TestInvalidConfigNamesTheSetting(t *testing.T) {
	cases := []struct {
		name, stack string
		edit        func(map[string]string)
		want        string
	}{
		{"missing domain", "prod", func(c map[string]string) { delete(c, "blogstack:domain") }, "blogstack:domain is required"},
		{"domain outside zone", "prod", func(c map[string]string) { c["blogstack:domain"] = "blog.other.org" }, "blogstack:domain"},
		{"missing zone", "prod", func(c map[string]string) { delete(c, "blogstack:hostedZone") }, "blogstack:hostedZone is required"},
		{"missing region", "prod", func(c map[string]string) { delete(c, "aws:region") }, "aws:region is required"},
		{"unknown instance type", "prod", func(c map[string]string) { c["blogstack:instanceType"] = "t3.gigantic" }, `blogstack:instanceType: unknown instance type "t3.gigantic"`},
		{"not nitro", "prod", func(c map[string]string) { c["blogstack:instanceType"] = "t2.micro" }, "blogstack:instanceType: instance type \"t2.micro\" is not a Nitro"},
		{"unknown preview type", "pr-12", func(c map[string]string) { c["blogstack:previewInstanceType"] = "banana" }, "blogstack:previewInstanceType: unknown instance type"},
		{"malformed pr name", "pr-abc", func(map[string]string) {}, `stack name "pr-abc": preview stacks must be named pr-<number>`},
		{"pr with leading zero", "pr-012", func(map[string]string) {}, "preview stacks must be named pr-<number>"},
		{"bad image tag", "prod", func(c map[string]string) { c["blogstack:imageTag"] = "v1;reboot" }, "blogstack:imageTag"},
		{"bad volume size", "prod", func(c map[string]string) { c["blogstack:dataVolumeSize"] = "lots" }, "blogstack:dataVolumeSize"},
		{"bad subnet", "prod", func(c map[string]string) { c["blogstack:subnetId"] = "sn-1" }, "blogstack:subnetId"},
		{"bad deploy id", "prod", func(c map[string]string) { c["blogstack:deployId"] = "run 1" }, "blogstack:deployId"},
		{"long deploy id", "prod", func(c map[string]string) { c["blogstack:deployId"] = strings.Repeat("1", 41) }, "blogstack:deployId"},
		{"deploy id without tag", "prod", func(c map[string]string) { delete(c, "blogstack:imageTag") }, "blogstack:deployId is set without blogstack:imageTag"},
		{"pr image on prod", "prod", func(c map[string]string) { c["blogstack:imageTag"] = "pr-12-3f2a9c1" }, "deploys only images built from main"},
		{"other pr's image", "pr-12", func(c map[string]string) { c["blogstack:imageTag"] = "pr-13-3f2a9c1" }, "not an image of this pull request"},
		{"main image on preview", "pr-12", func(c map[string]string) { c["blogstack:imageTag"] = "3f2a9c1" }, "not an image of this pull request"},
		{"no boundary", "prod", func(c map[string]string) { delete(c, "blogstack:permissionsBoundary") }, "blogstack:permissionsBoundary is required"},
		{"boundary not a policy", "prod", func(c map[string]string) {
			c["blogstack:permissionsBoundary"] = "arn:aws:iam::" + account + ":role/blogstack-boundary"
		}, "blogstack:permissionsBoundary"},
		{"bad ami", "prod", func(c map[string]string) { c["blogstack:amiId"] = "al2023" }, "blogstack:amiId"},
		{"no logs key", "prod", func(c map[string]string) { delete(c, "blogstack:logsKms") }, "blogstack:logsKms is required"},
		{"single-region logs key", "prod", func(c map[string]string) { c["blogstack:logsKms"] = "1234abcd-12ab-34cd-56ef-1234567890ab" }, "blogstack:logsKms"},
		{"bad snapshot", "prod", func(c map[string]string) { c["blogstack:dataSnapshotId"] = "vol-0123456789abcdef0" }, "blogstack:dataSnapshotId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := prodConfig()
			tc.edit(c)
			rs, err := run(t, tc.stack, c, "ami-1")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if len(rs) > 0 {
				t.Errorf("declared %d resources before rejecting the config", len(rs))
			}
		})
	}
}

func TestEmbeddedFilesMatchTheRepository(t *testing.T) {
	compose, err := os.ReadFile("../../docker-compose.prod.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(compose, blogstack.ComposeFile) {
		t.Error("embedded compose file differs from docker-compose.prod.yml")
	}
}

// The media bucket is private (public access blocked, ACLs off), versioned
// with old versions kept as long as backups, KMS-encrypted, TLS only, and
// only the media role reads or writes its objects: the role may use
// objects below media/ (and list, for 404s), nothing else of the bucket,
// and the bucket policy refuses object reads and writes to anyone else.
func TestMediaBucketPrivateAndOnlyForTheMediaRole(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		pab := named(t, rs, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "-media")
		for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
			if pab.Inputs[k] != true {
				t.Errorf("media bucket: %s off", k)
			}
		}
		if get(named(t, rs, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "-media").Inputs, "rule", "objectOwnership") != "BucketOwnerEnforced" {
			t.Error("media bucket: ACLs still apply")
		}
		if get(named(t, rs, "aws:s3/bucketVersioningV2:BucketVersioningV2", "-media").Inputs, "versioningConfiguration", "status") != "Enabled" {
			t.Error("media bucket not versioned")
		}
		if get(named(t, rs, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "-media").Inputs, "rules", "applyServerSideEncryptionByDefault", "sseAlgorithm") != "aws:kms" {
			t.Error("media bucket not encrypted")
		}
		wantDays := 35.0
		if stack != "prod" {
			wantDays = 7.0
		}
		rule := named(t, rs, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "-media").Inputs["rules"].([]any)[0]
		if get(rule, "expiration") != nil || get(rule, "noncurrentVersionExpiration", "noncurrentDays") != wantDays {
			t.Errorf("media lifecycle %v: current files must never expire, old versions after %v days", rule, wantDays)
		}
		bucketArn := "arn:aws:s3:::blog-" + stack + "-media-files-a1b2c3d"
		mediaRoles := "arn:aws:iam::" + account + ":role/blog-" + stack + "-media-role-*"
		var denyHTTP, onlyMediaRole bool
		for _, s := range statements(t, named(t, rs, "aws:s3/bucketPolicy:BucketPolicy", "-media").Inputs["policy"].(string)) {
			if s.Effect != "Deny" {
				t.Errorf("the media bucket policy allows %v: access comes from the media role's policy only", s.Action)
			}
			if s.Condition["Bool"]["aws:SecureTransport"] == "false" && slices.Contains(s.Action, "s3:*") {
				denyHTTP = true
			}
			if s.Condition["ArnNotLike"]["aws:PrincipalArn"] == mediaRoles && slices.Equal(s.Action, []string{"s3:GetObject", "s3:PutObject"}) &&
				slices.Equal(s.Resource, []string{bucketArn + "/*"}) {
				onlyMediaRole = true
			}
		}
		if !denyHTTP || !onlyMediaRole {
			t.Errorf("media bucket policy: TLS only %v, objects only for %s %v", denyHTTP, mediaRoles, onlyMediaRole)
		}
		// What the media role may do, exactly: the media bucket, nothing else.
		var grants []string
		for _, s := range statements(t, named(t, rs, "aws:iam/rolePolicy:RolePolicy", "-media-role-policy").Inputs["policy"].(string)) {
			if s.Effect != "Allow" || s.Condition != nil {
				t.Errorf("media role policy statement %+v", s)
			}
			for _, r := range s.Resource {
				grants = append(grants, strings.Join(s.Action, ",")+" on "+r)
			}
		}
		want := []string{"s3:DeleteObject,s3:GetObject,s3:PutObject on " + bucketArn + "/media/*", "s3:ListBucket on " + bucketArn}
		if !slices.Equal(grants, want) {
			t.Errorf("media role:\n got %q\nwant %q", grants, want)
		}
	})
}

// The app's credentials come from the media role, never the host's: the
// media role is under the boundary and trusts only the host's role; the
// host's role may touch no media object, only assume the media role; and
// the host learns the role from stack.env.
func TestMediaRoleTrustsOnlyTheHost(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		hostRoleArn := "arn:aws:iam::" + account + ":role/blog-" + stack + "-host-role-x"
		mediaRoleArn := "arn:aws:iam::" + account + ":role/blog-" + stack + "-media-role-x"
		role := named(t, rs, "aws:iam/role:Role", "-media-role")
		if role.Inputs["permissionsBoundary"] != boundary {
			t.Errorf("media role boundary %v, want %s", role.Inputs["permissionsBoundary"], boundary)
		}
		if get(role.Inputs, "tags", "blog:stack") != stack {
			t.Errorf("media role tags %v: the boundary reads blog:stack", role.Inputs["tags"])
		}
		trust := statements(t, role.Inputs["assumeRolePolicy"].(string))
		if len(trust) != 1 || trust[0].Effect != "Allow" || !slices.Equal(trust[0].Action, []string{"sts:AssumeRole"}) ||
			fmt.Sprint(trust[0].Principal) != fmt.Sprint(map[string]any{"AWS": hostRoleArn}) || trust[0].Condition != nil {
			t.Errorf("media role trusts %+v, want only %s", trust, hostRoleArn)
		}

		var assume []string
		for _, s := range statements(t, named(t, rs, "aws:iam/rolePolicy:RolePolicy", "-host-role-policy").Inputs["policy"].(string)) {
			for _, a := range s.Action {
				if strings.HasPrefix(a, "sts:") {
					assume = append(assume, a+" on "+strings.Join(s.Resource, ","))
				}
			}
			for _, r := range s.Resource {
				if strings.Contains(r, "-media-") && !strings.Contains(r, ":role/") {
					t.Errorf("host role still has %v on %s", s.Action, r)
				}
			}
		}
		if want := []string{"sts:AssumeRole on " + mediaRoleArn}; !slices.Equal(assume, want) {
			t.Errorf("host role may %q, want %q", assume, want)
		}

	})
}

// TestDeployScriptUnpacksByteForByte runs the document's own script, its
// paths moved into a temporary folder and host/deploy left out: every file
// arrives byte for byte with its mode, and a file already there (a running
// script) is replaced by rename, not rewritten in place.
func TestDeployScriptUnpacksByteForByte(t *testing.T) {
	rs := mustRun(t, "prod", prodConfig())
	script := documentScript(t, one(t, rs, "aws:ssm/document:Document"))
	root := t.TempDir()
	put := `put() { cat >"$1.new"; chmod "$2" "$1.new"; mv -f "$1.new" "$1"; }`
	if !strings.Contains(script, put) {
		t.Fatal("the script's put is not the one this test moves")
	}
	script = strings.NewReplacer(
		"install -d -m 0755 /opt/blog/host /etc/blog", "install -d -m 0755 \"$ROOT/opt/blog/host\" \"$ROOT/etc/blog\"",
		put, `put() { set -- "$ROOT$1" "$2"; cat >"$1.new"; chmod "$2" "$1.new"; mv -f "$1.new" "$1"; }`,
	).Replace(script)
	script = script[:strings.LastIndex(script, "BLOG_DEPLOY_ID=")]
	old := filepath.Join(root, "opt/blog/host/deploy")
	if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("the running copy\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	running, err := os.Open(old)
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close()
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "ROOT="+root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the deploy script failed: %v\n%s", err, out)
	}
	for path, f := range payloadFiles(t, documentScript(t, one(t, rs, "aws:ssm/document:Document"))) {
		fi, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		b, _ := os.ReadFile(filepath.Join(root, path))
		if string(b) != f[1] || fmt.Sprintf("%04o", fi.Mode().Perm()) != f[0] {
			t.Errorf("%s: %d bytes, mode %04o; want %d bytes, mode %s", path, len(b), fi.Mode().Perm(), len(f[1]), f[0])
		}
	}
	if b, _ := io.ReadAll(running); string(b) != "the running copy\n" {
		t.Errorf("the running script's open copy changed: %q", b)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(root, "opt/blog/host/*.new")); len(leftovers) != 0 {
		t.Errorf("left behind: %v", leftovers)
	}
}
