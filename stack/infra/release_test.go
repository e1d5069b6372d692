package infra_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/blogstack/blogstack/stack/infra"
)

// running is prod's last outputs after a deploy of prodConfig's release
// onto the first default subnet.
func running() map[string]any {
	return map[string]any{
		"imageTag": "3f2a9c1", "deployId": "9876543210-1",
		"subnetId": "subnet-0aaaaaaaa", "availabilityZone": "eu-west-1a",
		"amiId": "ami-1:" + infra.AmiParameter("arm64"),
	}
}

// runAfter runs the program as a later `pulumi up` of a stack whose last
// outputs are prev.
func runAfter(t *testing.T, stack string, config map[string]string, prev map[string]any) ([]res, error) {
	t.Helper()
	return runWith(t, stack, config, &mocks{ami: "ami-1", outputs: map[string]map[string]any{"organization/blogstack/" + stack: prev}})
}

func mustRunAfter(t *testing.T, stack string, config map[string]string, prev map[string]any) []res {
	t.Helper()
	rs, err := runAfter(t, stack, config, prev)
	if err != nil {
		t.Fatalf("program failed for %s: %v", stack, err)
	}
	return rs
}

func association(t *testing.T, rs []res) res {
	t.Helper()
	return one(t, rs, "aws:ssm/association:Association")
}

// TestRetryOfTheSameTagReplacesTheAssociation: a re-run of a failed deploy
// passes the same tag with a new deploy id; the association must be a new
// resource (created, so waited for), not an empty update of the failed one.
func TestRetryOfTheSameTagReplacesTheAssociation(t *testing.T) {
	retry := prodConfig()
	retry["blogstack:deployId"] = "9876543210-2"
	onlyBefore, onlyAfter, changed := diffRuns(mustRunAfter(t, "prod", prodConfig(), running()), mustRunAfter(t, "prod", retry, running()))
	if len(changed) != 0 {
		t.Errorf("a retry changed %v", changed)
	}
	if len(onlyBefore) != 1 || len(onlyAfter) != 1 || !strings.HasPrefix(onlyAfter[0], "aws:ssm/association:Association::") ||
		!strings.Contains(onlyAfter[0], "-deploy-3f2a9c1-9876543210-2-") {
		t.Errorf("a retry must replace the association: removed %v, added %v", onlyBefore, onlyAfter)
	}
}

// TestSettingsChangeReplacesTheAssociation: whatever host/deploy reads from
// stack.env renames the association, so the change is deployed by a new
// association that `pulumi up` waits for; other settings do not.
func TestSettingsChangeReplacesTheAssociation(t *testing.T) {
	base := association(t, mustRunAfter(t, "prod", prodConfig(), running())).Name
	for _, tc := range []struct {
		key, value string
		renames    bool
	}{
		{"blogstack:acmeEmail", "ops@example.com", true},
		{"blogstack:domain", "www.example.com", true},
		{"aws:region", "eu-central-1", true},
		{"blogstack:instanceType", "t4g.medium", false},
		{"blogstack:dataVolumeSize", "40", false},
	} {
		t.Run(tc.key, func(t *testing.T) {
			c := prodConfig()
			c[tc.key] = tc.value
			name := association(t, mustRunAfter(t, "prod", c, running())).Name
			if (name != base) != tc.renames {
				t.Errorf("%s=%s: association %q (before %q), want renamed %v", tc.key, tc.value, name, base, tc.renames)
			}
		})
	}
}

// TestLocalUpKeepsTheRunningRelease: `pulumi up` without a tag (from a
// clone), or with the running tag only (a pull request's diff of prod),
// declares exactly the association that is running, so nothing changes.
func TestLocalUpKeepsTheRunningRelease(t *testing.T) {
	deployed := association(t, mustRunAfter(t, "prod", prodConfig(), running()))

	local := prodConfig()
	delete(local, "blogstack:imageTag")
	delete(local, "blogstack:deployId")
	diffOnly := prodConfig()
	delete(diffOnly, "blogstack:deployId")
	for name, c := range map[string]map[string]string{"no tag": local, "running tag only": diffOnly} {
		t.Run(name, func(t *testing.T) {
			a := association(t, mustRunAfter(t, "prod", c, running()))
			if a.Name != deployed.Name || !sameInputs(a, deployed) {
				t.Errorf("declared %s %v, want the running %s", a.Name, a.Inputs, deployed.Name)
			}
		})
	}

	newTag := prodConfig()
	newTag["blogstack:imageTag"] = "9e8d7c6"
	delete(newTag, "blogstack:deployId")
	if _, err := runAfter(t, "prod", newTag, running()); err == nil || !strings.Contains(err.Error(), "blogstack:deployId is required") {
		t.Errorf("a new tag without a deploy id: %v", err)
	}
}

func TestResolveRelease(t *testing.T) {
	prev := infra.Previous{ImageTag: "a1", DeployID: "7-1"}
	for _, tc := range []struct {
		name     string
		tag, id  string
		prev     infra.Previous
		want     infra.Release
		wantFail bool
	}{
		{"first up, nothing running", "", "", infra.Previous{}, infra.Release{}, false},
		{"local up keeps running", "", "", prev, infra.Release{ImageTag: "a1", DeployID: "7-1"}, false},
		{"deploy", "b2", "8-1", prev, infra.Release{ImageTag: "b2", DeployID: "8-1"}, false},
		{"retry", "a1", "7-2", prev, infra.Release{ImageTag: "a1", DeployID: "7-2"}, false},
		{"running tag only", "a1", "", prev, infra.Release{ImageTag: "a1", DeployID: "7-1"}, false},
		{"new tag without id", "b2", "", prev, infra.Release{}, true},
		{"tag without id on first up", "b2", "", infra.Previous{}, infra.Release{}, true},
		// Outputs of a program older than deploy ids: nothing to keep,
		// and dropping the association does not stop the app.
		{"old outputs without id", "", "", infra.Previous{ImageTag: "a1"}, infra.Release{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := infra.ResolveRelease(infra.Config{Project: "blogstack", ImageTag: tc.tag, DeployID: tc.id}, tc.prev)
			if (err != nil) != tc.wantFail || got != tc.want {
				t.Errorf("got %+v, %v; want %+v, fail %v", got, err, tc.want, tc.wantFail)
			}
		})
	}
}

// TestExportedReleaseIsTheDeployedOne: imageTag and deployId are exported
// from the association (so only once it succeeded), and are empty before
// the first release.
func TestExportedReleaseIsTheDeployedOne(t *testing.T) {
	c := prodConfig()
	delete(c, "blogstack:imageTag")
	delete(c, "blogstack:deployId")
	got := outputs(t, "prod", c, &mocks{ami: "ami-1"})
	if got["imageTag"] != "" || got["deployId"] != "" {
		t.Errorf("before any release: imageTag %q deployId %q", got["imageTag"], got["deployId"])
	}
	got = outputs(t, "prod", c, &mocks{ami: "ami-1", outputs: map[string]map[string]any{"organization/blogstack/prod": running()}})
	if got["imageTag"] != "3f2a9c1" || got["deployId"] != "9876543210-1" {
		t.Errorf("a local up exports imageTag %q deployId %q, want the running release", got["imageTag"], got["deployId"])
	}
}

func TestAssociationNameFitsSSM(t *testing.T) {
	long := infra.Release{ImageTag: strings.Repeat("a", 128), DeployID: strings.Repeat("1", 40)}
	other := infra.Release{ImageTag: strings.Repeat("a", 127) + "b", DeployID: long.DeployID}
	a := infra.AssociationName("blog-"+strings.Repeat("x", 21), long, "0123456789")
	b := infra.AssociationName("blog-"+strings.Repeat("x", 21), other, "0123456789")
	if len(a) > 128 || a == b || !strings.Contains(a, "-"+long.DeployID+"-0123456789") {
		t.Errorf("names %q (%d) and %q", a, len(a), b)
	}
}

// TestSubnetIsKeptFromState: the subnet is chosen once; later runs keep the
// stack's own (even when the default subnets, sorted, would now give
// another), so the host and its volume stay put.
func TestSubnetIsKeptFromState(t *testing.T) {
	first := mustRun(t, "prod", prodConfig())
	if got := one(t, first, "aws:ec2/instance:Instance").Inputs["subnetId"]; got != "subnet-0aaaaaaaa" {
		t.Errorf("first creation chose %v, want the first default subnet by id", got)
	}
	prev := running()
	prev["subnetId"], prev["availabilityZone"] = "subnet-0bbbbbbbb", "eu-west-1b"
	rs := mustRunAfter(t, "prod", prodConfig(), prev)
	i := one(t, rs, "aws:ec2/instance:Instance")
	if i.Inputs["subnetId"] != "subnet-0bbbbbbbb" || one(t, rs, "aws:ebs/volume:Volume").Inputs["availabilityZone"] != "eu-west-1b" {
		t.Errorf("host moved to %v", i.Inputs["subnetId"])
	}
	if !slices.Contains(i.Ignore, "userData") {
		t.Errorf("an unchanged host must ignore user-data edits: %v", i.Ignore)
	}

	prev["subnetId"] = "subnet-0deleted0"
	if _, err := runAfter(t, "prod", prodConfig(), prev); err == nil || !strings.Contains(err.Error(), "blogstack:subnetId") || !strings.Contains(err.Error(), "Replacing the host") {
		t.Errorf("a vanished subnet: %v", err)
	}
}

// TestHostReplacementOnPurpose: a new subnet (same AZ) or a newly pinned
// AMI replaces the host; that run ignores nothing, so the new instance gets
// the chosen AMI and today's user-data rather than the old instance's.
func TestHostReplacementOnPurpose(t *testing.T) {
	for _, tc := range []struct {
		name, key, value string
		replacing        bool
	}{
		{"new subnet in the same AZ", "blogstack:subnetId", "subnet-0cccccccc", true},
		{"same subnet configured", "blogstack:subnetId", "subnet-0aaaaaaaa", false},
		{"new AMI pinned", "blogstack:amiId", "ami-0123456789abcdef0", true},
		{"running AMI pinned", "blogstack:amiId", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := prodConfig()
			c[tc.key] = tc.value
			if tc.key == "blogstack:amiId" && tc.value == "" {
				c[tc.key] = "ami-0123456789abcdef0"
			}
			prev := running()
			if tc.name == "running AMI pinned" {
				prev["amiId"] = "ami-0123456789abcdef0"
			}
			rs := mustRunAfter(t, "prod", c, prev)
			i := one(t, rs, "aws:ec2/instance:Instance")
			if (len(i.Ignore) == 0) != tc.replacing {
				t.Errorf("instance ignores %v; replacing %v", i.Ignore, tc.replacing)
			}
			if tc.key == "blogstack:amiId" && i.Inputs["ami"] != c[tc.key] {
				t.Errorf("AMI %v, pinned %v", i.Inputs["ami"], c[tc.key])
			}
			v := one(t, rs, "aws:ebs/volume:Volume")
			if _, ok := v.Inputs["snapshotId"]; ok || v.Inputs["availabilityZone"] != "eu-west-1a" {
				t.Errorf("the data volume must stay as it is: %v", v.Inputs)
			}
		})
	}
}

// TestAZChangeNeedsASnapshot: an EBS volume cannot move between AZs, so a
// subnet in another AZ is refused with the runbook's name, unless the
// volume is to be created from a snapshot there.
func TestAZChangeNeedsASnapshot(t *testing.T) {
	c := prodConfig()
	c["blogstack:subnetId"] = "subnet-0bbbbbbbb"
	_, err := runAfter(t, "prod", c, running())
	if err == nil || !strings.Contains(err.Error(), "cannot move between availability zones") ||
		!strings.Contains(err.Error(), "blogstack:dataSnapshotId") || !strings.Contains(err.Error(), infra.RunbookReplaceHost) {
		t.Fatalf("AZ change: %v", err)
	}

	c["blogstack:dataSnapshotId"] = "snap-0123456789abcdef0"
	rs := mustRunAfter(t, "prod", c, running())
	v := one(t, rs, "aws:ebs/volume:Volume")
	if v.Inputs["snapshotId"] != "snap-0123456789abcdef0" || v.Inputs["availabilityZone"] != "eu-west-1b" {
		t.Errorf("volume %v, want it created from the snapshot in eu-west-1b", v.Inputs)
	}
	if i := one(t, rs, "aws:ec2/instance:Instance"); i.Inputs["subnetId"] != "subnet-0bbbbbbbb" || len(i.Ignore) != 0 {
		t.Errorf("instance in %v ignoring %v", i.Inputs["subnetId"], i.Ignore)
	}

	// After the move the choices are state: a config without them (the
	// committed one) keeps the volume and the host where they are now.
	moved := running()
	moved["subnetId"], moved["availabilityZone"], moved["dataSnapshotId"] = "subnet-0bbbbbbbb", "eu-west-1b", "snap-0123456789abcdef0"
	rs = mustRunAfter(t, "prod", prodConfig(), moved)
	if v := one(t, rs, "aws:ebs/volume:Volume"); v.Inputs["snapshotId"] != "snap-0123456789abcdef0" || v.Inputs["availabilityZone"] != "eu-west-1b" {
		t.Errorf("after the move, the volume would be replaced: %v", v.Inputs)
	}
	if i := one(t, rs, "aws:ec2/instance:Instance"); i.Inputs["subnetId"] != "subnet-0bbbbbbbb" || len(i.Ignore) == 0 {
		t.Errorf("after the move, instance in %v ignoring %v", i.Inputs["subnetId"], i.Ignore)
	}
}

// TestHostReplacementMovesTheVolumeInOneUp: when the instance is replaced
// (created before the old one is deleted), the volume's attachment goes
// first: EBS attaches a volume to one instance at a time (VolumeInUse).
func TestHostReplacementMovesTheVolumeInOneUp(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		a := one(t, rs, "aws:ec2/volumeAttachment:VolumeAttachment")
		if !a.DeleteBeforeReplace || a.Inputs["stopInstanceBeforeDetaching"] != true ||
			a.Inputs["volumeId"] != "vol-0123456789abcdef0" || a.Inputs["instanceId"] != "i-0123456789abcdef0" {
			t.Errorf("attachment deleteBeforeReplace %v, inputs %v", a.DeleteBeforeReplace, a.Inputs)
		}
		if i := one(t, rs, "aws:ec2/instance:Instance"); i.DeleteBeforeReplace {
			t.Error("the new host must be created while the old one serves")
		}
		for _, e := range ofType(rs, "aws:ec2/eipAssociation:EipAssociation") {
			if !e.DeleteBeforeReplace {
				t.Error("the Elastic IP's association must let go of the old host first")
			}
		}
	})
}

// TestDataVolumeTagsAreItsOwn: the instance declares no volumeTags (the
// provider writes them onto every attached volume); the root volume is
// tagged through rootBlockDevice; blog:snapshots, the tag DLM selects by,
// is set by the data volume alone.
func TestDataVolumeTagsAreItsOwn(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		i := one(t, rs, "aws:ec2/instance:Instance")
		if _, ok := i.Inputs["volumeTags"]; ok {
			t.Errorf("instance sets volumeTags %v", i.Inputs["volumeTags"])
		}
		root, _ := get(i.Inputs, "rootBlockDevice", "tags").(map[string]any)
		if root["blog:stack"] != stack || root["Name"] != "blog-"+stack+"-host-root" {
			t.Errorf("root volume tags %v", root)
		}
		for _, r := range rs {
			b, _ := json.Marshal(r.Inputs)
			if !strings.Contains(string(b), "blog:snapshots") {
				continue
			}
			switch {
			case r.Type == "aws:ebs/volume:Volume" && get(r.Inputs, "tags", "blog:snapshots") == "blog-"+stack:
			case r.Type == "aws:dlm/lifecyclePolicy:LifecyclePolicy" && get(r.Inputs, "tags", "blog:snapshots") == nil:
			default:
				t.Errorf("%s %s mentions blog:snapshots", r.Type, r.Name)
			}
		}
	})
}

// TestPreviewsTakeNoElasticIP: the default quota is five per Region;
// previews point their record at the instance's own public address.
func TestPreviewsTakeNoElasticIP(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		want := 1
		if stack != "prod" {
			want = 0
		}
		if n, m := len(ofType(rs, "aws:ec2/eip:Eip")), len(ofType(rs, "aws:ec2/eipAssociation:EipAssociation")); n != want || m != want {
			t.Errorf("%d Elastic IPs, %d associations; want %d", n, m, want)
		}
		if one(t, rs, "aws:ec2/instance:Instance").Inputs["associatePublicIpAddress"] != true {
			t.Error("instance gets no public address of its own")
		}
	})
	c := prConfig()
	got := outputs(t, "pr-12", c, &mocks{ami: "ami-1"})
	if got["publicIp"] != instancePublicIP || got["registryUrl"] != previewRegistryURL {
		t.Errorf("preview outputs %v", got)
	}
}

// TestPreviewsLeaveNothingBehind and prod keeps its backups: Object Lock on
// prod's bucket (GOVERNANCE, as long as backups are kept), none on a
// preview's, which `pulumi destroy` empties.
func TestPreviewsLeaveNothingBehind(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		prod := stack == "prod"
		b := named(t, rs, "aws:s3/bucketV2:BucketV2", "-backups")
		if b.Inputs["objectLockEnabled"] != prod || b.Inputs["forceDestroy"] != !prod {
			t.Errorf("bucket objectLockEnabled %v forceDestroy %v", b.Inputs["objectLockEnabled"], b.Inputs["forceDestroy"])
		}
		locks := ofType(rs, "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2")
		if !prod {
			if len(locks) != 0 {
				t.Error("a preview's backups are locked; destroy could not delete them")
			}
			for _, r := range rs {
				if r.Protect {
					t.Errorf("%s %s protected in a preview", r.Type, r.Name)
				}
			}
			return
		}
		if len(locks) != 1 {
			t.Fatalf("%d object lock configurations", len(locks))
		}
		ret := get(locks[0].Inputs, "rule", "defaultRetention")
		if locks[0].Inputs["objectLockEnabled"] != "Enabled" || get(ret, "mode") != "GOVERNANCE" || get(ret, "days") != 35.0 {
			t.Errorf("object lock %v", locks[0].Inputs)
		}
		for _, typ := range []string{"aws:ec2/instance:Instance", "aws:ebs/volume:Volume", "aws:s3/bucketV2:BucketV2"} {
			for _, r := range ofType(rs, typ) {
				if !r.Protect {
					t.Errorf("prod's %s %s is not protected", typ, r.Name)
				}
			}
		}
	})
}

// TestRolesCarryThePermissionsBoundary: every role the program creates.
func TestRolesCarryThePermissionsBoundary(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		roles := ofType(rs, "aws:iam/role:Role")
		if len(roles) == 0 {
			t.Fatal("no roles")
		}
		for _, r := range roles {
			if r.Inputs["permissionsBoundary"] != boundary {
				t.Errorf("role %s has boundary %v", r.Name, r.Inputs["permissionsBoundary"])
			}
		}
	})
	c := prodConfig()
	c["blogstack:permissionsBoundary"] = "arn:aws:iam::210987654321:policy/blogstack-boundary"
	if _, err := run(t, "prod", c, "ami-1"); err == nil || !strings.Contains(err.Error(), "not a policy of account "+account) {
		t.Errorf("boundary of another account: %v", err)
	}
}

// untagged are the resource types AWS cannot tag; every other AWS resource
// must carry the CONTRACT's tags.
var untagged = map[string]bool{
	"aws:iam/rolePolicy:RolePolicy":                                                              true,
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment":                                          true,
	"aws:ec2/volumeAttachment:VolumeAttachment":                                                  true,
	"aws:ec2/eipAssociation:EipAssociation":                                                      true,
	"aws:ecr/lifecyclePolicy:LifecyclePolicy":                                                    true,
	"aws:route53/record:Record":                                                                  true,
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":                                     true,
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls":                                     true,
	"aws:s3/bucketVersioningV2:BucketVersioningV2":                                               true,
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": true,
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2":                       true,
	"aws:s3/bucketPolicy:BucketPolicy":                                                           true,
	"aws:cloudwatch/logMetricFilter:LogMetricFilter":                                             true,
	"aws:cloudwatch/dashboard:Dashboard":                                                         true,
	"aws:sns/topicSubscription:TopicSubscription":                                                true,
	"aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2":                     true,
}

// TestEveryResourceNamedAndTagged checks every resource of prod and pr-12:
// named blog-<stack>-..., physical names too where the program sets them,
// and tagged blog:stack, blog:project and blog:managed-by.
func TestEveryResourceNamedAndTagged(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		prefix := "blog-" + stack
		for _, r := range rs {
			if r.Type == "pulumi:pulumi:StackReference" {
				continue
			}
			if !strings.HasPrefix(r.Name, prefix+"-") {
				t.Errorf("%s %q is not named %s-...", r.Type, r.Name, prefix)
			}
			if !strings.HasPrefix(r.Type, "aws:") {
				continue
			}
			for _, k := range []string{"name", "associationName", "bucket"} {
				v, ok := r.Inputs[k].(string)
				if !ok || r.Type == "aws:route53/record:Record" || strings.HasPrefix(r.Type, "aws:s3/bucket") && k == "bucket" {
					continue
				}
				switch {
				case strings.HasPrefix(v, prefix):
				case r.Type == "aws:ecr/repository:Repository" && stack == "prod" && (v == "blog" || v == "blog-previews"):
				case r.Type == "aws:ssm/parameter:Parameter" && strings.HasPrefix(v, "/blog/"+stack+"/"):
				default:
					t.Errorf("%s %s: %s %q is not named after the stack", r.Type, r.Name, k, v)
				}
			}
			if untagged[r.Type] {
				if _, ok := r.Inputs["tags"]; ok {
					t.Errorf("%s is listed as untaggable but has tags", r.Type)
				}
				continue
			}
			tags, _ := r.Inputs["tags"].(map[string]any)
			want := map[string]any{"blog:stack": stack, "blog:project": "blogstack", "blog:managed-by": "pulumi"}
			for k, v := range want {
				if tags[k] != v {
					t.Errorf("%s %s: tag %s=%v, want %v (tags %v)", r.Type, r.Name, k, tags[k], v, tags)
				}
			}
		}
	})
}

// TestStackReadsItsOwnOutputs: the stack reference that carries the
// release, subnet and AMI from one run to the next names the stack itself.
func TestStackReadsItsOwnOutputs(t *testing.T) {
	eachStack(t, func(t *testing.T, stack string, rs []res) {
		var found bool
		for _, r := range ofType(rs, "pulumi:pulumi:StackReference") {
			found = found || r.Name == "organization/blogstack/"+stack
		}
		if !found {
			t.Error("the stack does not read its own outputs")
		}
	})
}

// outputs runs Stack under mocks and returns its outputs as strings.
func outputs(t *testing.T, stack string, config map[string]string, m *mocks) map[string]string {
	t.Helper()
	got := map[string]string{}
	if _, err := runOutputs(stack, config, m, got); err != nil {
		t.Fatal(err)
	}
	return got
}
