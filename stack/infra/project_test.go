package infra_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/blogstack/blogstack/stack/infra"
)

// TestProjectDeclaresEverySettingTheProgramReads checks Pulumi.yaml against
// the keys ParseConfig actually asks for, in both kinds of stack.
func TestProjectDeclaresEverySettingTheProgramReads(t *testing.T) {
	var project struct {
		Name    string `yaml:"name"`
		Runtime string `yaml:"runtime"`
		Main    string `yaml:"main"`
		Config  map[string]struct {
			Type        string `yaml:"type"`
			Description string `yaml:"description"`
			Default     any    `yaml:"default"`
		} `yaml:"config"`
	}
	readYAML(t, "../../Pulumi.yaml", &project)
	if project.Name != "blogstack" || project.Runtime != "go" || project.Main != "stack/" {
		t.Errorf("Pulumi.yaml: name %q runtime %q main %q", project.Name, project.Runtime, project.Main)
	}
	read := map[string]bool{}
	for _, s := range stacks {
		_, err := infra.ParseConfig("blogstack", s.name, "organization", func(k string) string {
			read[k] = true
			return s.config[map[bool]string{true: k, false: "blogstack:" + k}[strings.Contains(k, ":")]]
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for k := range read {
		if k == "aws:region" {
			continue
		}
		c, ok := project.Config[k]
		if !ok {
			t.Errorf("Pulumi.yaml does not declare %q", k)
			continue
		}
		if c.Type == "" || c.Description == "" {
			t.Errorf("Pulumi.yaml: %q needs a type and a description", k)
		}
	}
	for k := range project.Config {
		if !read[k] {
			t.Errorf("Pulumi.yaml declares %q, which the program never reads", k)
		}
	}
}

// TestProdStackFileRuns runs the program on Pulumi.prod.yaml as committed.
func TestProdStackFileRuns(t *testing.T) {
	var stack struct {
		Config map[string]any `yaml:"config"`
	}
	readYAML(t, "../../Pulumi.prod.yaml", &stack)
	config := map[string]string{}
	for k, v := range stack.Config {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("%s is not a plain string (secrets belong in SSM, not here): %v", k, v)
		}
		for _, word := range []string{"password", "secret", "key"} {
			if strings.Contains(strings.ToLower(k), word) {
				t.Errorf("%s looks like a secret in plain text", k)
			}
		}
		config[k] = s
	}
	rs := mustRun(t, "prod", config)
	if n := len(rs); n < 20 {
		t.Errorf("only %d resources", n)
	}
	if len(ofType(rs, "aws:ssm/association:Association")) != 0 {
		t.Error("the committed prod config deploys an image; the first up must not")
	}
	// The release that runs is state: the deploy workflow passes the tag
	// and the deploy id, a committed one would be redeployed by every
	// local `pulumi up`.
	for _, k := range []string{"blogstack:imageTag", "blogstack:deployId"} {
		if _, ok := stack.Config[k]; ok {
			t.Errorf("Pulumi.prod.yaml commits %s", k)
		}
	}
}

// TestPipelinePolicyCoversTheProgram checks the pipeline role's policy: no
// wildcard actions, and every AWS service the program manages is granted.
func TestPipelinePolicyCoversTheProgram(t *testing.T) {
	b, err := os.ReadFile("../iam/pipeline-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var p infra.PolicyDocument
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	granted := map[string]bool{}
	for _, s := range p.Statement {
		if s.Effect != "Allow" {
			t.Errorf("unexpected %s statement", s.Effect)
		}
		for _, a := range s.Action {
			if strings.Contains(a, "*") {
				t.Errorf("%s: wildcard action %q", s.Sid, a)
			}
			granted[a] = true
		}
	}
	// The resource types the program declares, mapped to what creating
	// them needs.
	needs := map[string][]string{
		"aws:ecr/repository:Repository":                     {"ecr:CreateRepository", "ecr:PutImage"},
		"aws:ecr/lifecyclePolicy:LifecyclePolicy":           {"ecr:PutLifecyclePolicy"},
		"aws:ec2/instance:Instance":                         {"ec2:RunInstances", "ec2:ModifyInstanceMetadataOptions"},
		"aws:ec2/securityGroup:SecurityGroup":               {"ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress"},
		"aws:ebs/volume:Volume":                             {"ec2:CreateVolume"},
		"aws:ec2/volumeAttachment:VolumeAttachment":         {"ec2:AttachVolume"},
		"aws:ec2/eip:Eip":                                   {"ec2:AllocateAddress"},
		"aws:ec2/eipAssociation:EipAssociation":             {"ec2:AssociateAddress"},
		"aws:iam/role:Role":                                 {"iam:CreateRole", "iam:PassRole"},
		"aws:iam/rolePolicy:RolePolicy":                     {"iam:PutRolePolicy"},
		"aws:iam/instanceProfile:InstanceProfile":           {"iam:CreateInstanceProfile"},
		"aws:iam/rolePolicyAttachment:RolePolicyAttachment": {"iam:AttachRolePolicy"},
		"aws:ssm/parameter:Parameter":                       {"ssm:PutParameter"},
		"aws:ssm/document:Document":                         {"ssm:CreateDocument"},
		"aws:ssm/association:Association":                   {"ssm:CreateAssociation"},
		"aws:s3/bucketV2:BucketV2":                          {"s3:CreateBucket"},
		"aws:dlm/lifecyclePolicy:LifecyclePolicy":           {"dlm:CreateLifecyclePolicy"},
		"aws:route53/record:Record":                         {"route53:ChangeResourceRecordSets"},
	}
	seen := map[string]bool{}
	for _, s := range stacks {
		for _, r := range mustRun(t, s.name, s.config) {
			if !strings.HasPrefix(r.Type, "aws:") || seen[r.Type] {
				continue
			}
			seen[r.Type] = true
			if strings.HasPrefix(r.Type, "aws:s3/") && r.Type != "aws:s3/bucketV2:BucketV2" {
				continue // bucket settings: covered by the BackupBuckets statement
			}
			actions, ok := needs[r.Type]
			if !ok {
				t.Errorf("the program declares %s; add what it needs to the pipeline policy and this test", r.Type)
			}
			for _, a := range actions {
				if !granted[a] {
					t.Errorf("%s needs %s", r.Type, a)
				}
			}
		}
	}
	// Too big for a managed policy (6,144); it is attached inline (10,240).
	if n := len(p.JSON()); n > 10240 {
		t.Errorf("policy is %d characters, over IAM's inline role policy limit", n)
	}
	if !slices.Contains(p.Statement[0].Resource, "arn:aws:s3:::STATE_BUCKET") {
		t.Error("the state backend is not granted")
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
