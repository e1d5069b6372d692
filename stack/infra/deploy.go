package infra

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/blogstack/blogstack"
)

// Deploy rolls the app on the host to one release: an SSM document that
// carries the compose file and host/ and runs host/deploy, and, for a
// release, one association that `pulumi up` waits on.
type Deploy struct {
	pulumi.ResourceState

	// ImageTag and DeployID resolve once the association has succeeded, so
	// the stack records a release as running only when it runs.
	ImageTag, DeployID pulumi.StringOutput
}

// DeployArgs say where to deploy, what and with what settings.
type DeployArgs struct {
	Release     Release
	InstanceID  pulumi.StringOutput
	RegistryURL pulumi.StringOutput
	// RegistryKey stands for RegistryURL in the association's name: it is
	// known while the program runs (the URL of a new repository is not).
	RegistryKey     string
	ParameterPrefix string
	BucketName      pulumi.StringOutput
	// MediaBucketName is the blog's media bucket (BLOG_MEDIA_URL).
	MediaBucketName pulumi.StringOutput
	// MediaRoleArn is the role the app uses the media bucket with
	// (BLOG_MEDIA_ROLE_ARN).
	MediaRoleArn pulumi.StringOutput
	// Ready must exist before a deploy runs (the data volume's attachment,
	// the roles' policies).
	Ready []pulumi.Resource
}

// DeployWaitMargin is how much longer `pulumi up` waits for an association
// than the document lets host/deploy run: State Manager has to hand the
// association to the agent, and the agent has to deliver the files and
// upload the output, so a deploy that times out on the host is reported as
// failed by SSM (with its output) before the wait gives up.
const DeployWaitMargin = 300

// DocumentName is the deploy document's name for a stack's prefix; the
// host's role may read only this document.
func DocumentName(prefix string) string { return prefix + "-deploy" }

// DeployLogsKeyPrefix is where SSM writes a deploy's output in the backup
// bucket: deploy-logs/<imageTag>/<deployId> (SSM adds /<ids>/... below it).
func DeployLogsKeyPrefix(r Release) string {
	return DeployLogsPrefix + r.ImageTag + "/" + r.DeployID
}

// AssociationName names the association of one release, payload and set of
// settings. A new name is a new resource, so Pulumi creates the new
// association (and waits for it: the provider waits for success only on
// create) before deleting the old one, instead of updating it in place,
// which SSM would run at once with nobody waiting. The deploy id makes a
// retry of the same tag a new association too.
func AssociationName(prefix string, r Release, hash string) string {
	tag := r.ImageTag
	name := prefix + "-deploy-" + tag + "-" + r.DeployID + "-" + hash
	if len(name) <= 128 {
		return name
	}
	// SSM allows 128 characters: shorten the tag, keeping it unique.
	sum := sha256.Sum256([]byte(tag))
	keep := 128 - len(name) + len(tag) - 9
	return prefix + "-deploy-" + tag[:keep] + "-" + hex.EncodeToString(sum[:])[:8] + "-" + r.DeployID + "-" + hash
}

// NewDeploy declares the document and, for a release, its association.
func NewDeploy(ctx *pulumi.Context, name string, cfg Config, args DeployArgs, opts ...pulumi.ResourceOption) (*Deploy, error) {
	d := &Deploy{}
	if err := ctx.RegisterComponentResource("blogstack:index:Deploy", name, d, opts...); err != nil {
		return nil, err
	}
	files, err := PayloadFiles(blogstack.ComposeFile, blogstack.HostFiles())
	if err != nil {
		return nil, err
	}
	settings := StackSettings{
		Domain: cfg.Domain, AcmeEmail: cfg.AcmeEmail,
		ParameterPrefix: args.ParameterPrefix, Region: cfg.Region, Preview: cfg.Preview,
		BackupPrefix:   BackupKeyPrefix(cfg.Stack),
		LogGroupPrefix: cfg.Prefix, MetricsNamespace: MetricsNamespace(cfg.Stack),
	}
	content := pulumi.All(args.RegistryURL, args.BucketName, args.MediaBucketName, args.MediaRoleArn).ApplyT(func(v []any) (string, error) {
		s := settings
		s.Registry, s.BackupBucket = v[0].(string), v[1].(string)
		s.MediaURL, s.MediaRoleArn = MediaURL(v[2].(string), cfg.Region), v[3].(string)
		// A copy: the hash below appends to files too, concurrently (this
		// runs once the outputs resolve), and must not share the slot.
		return DeployDocument(append(slices.Clip(files), SettingsFile(s)), cfg.DeployTimeoutSecs)
	}).(pulumi.StringOutput)
	doc, err := ssm.NewDocument(ctx, name+"-document", &ssm.DocumentArgs{
		Name:           pulumi.String(DocumentName(cfg.Prefix)),
		DocumentType:   pulumi.String("Command"),
		DocumentFormat: pulumi.String("JSON"),
		TargetType:     pulumi.String("/AWS::EC2::Instance"),
		Content:        content,
		Tags:           cfg.Tags(name + "-document"),
	}, pulumi.Parent(d))
	if err != nil {
		return nil, err
	}
	if args.Release.ImageTag == "" {
		// First `pulumi up` into an empty account: the host is created and
		// waits; the next `pulumi up` with an image tag deploys.
		d.ImageTag, d.DeployID = pulumi.String("").ToStringOutput(), pulumi.String("").ToStringOutput()
		return d, ctx.RegisterResourceOutputs(d, pulumi.Map{})
	}

	// The name covers every setting written to stack.env; the bucket's
	// name and the registry's URL stand in by their stable keys (they
	// change only with a new bucket or repository, which changes the
	// document and so, through replaceOnChanges below, replaces the
	// association too).
	named := settings
	named.Registry = args.RegistryKey
	hash := PayloadHash(append(slices.Clip(files), SettingsFile(named)))
	assocName := AssociationName(cfg.Prefix, args.Release, hash)
	assoc, err := ssm.NewAssociation(ctx, assocName, &ssm.AssociationArgs{
		AssociationName: pulumi.String(assocName),
		Name:            doc.Name,
		DocumentVersion: doc.LatestVersion,
		Targets: ssm.AssociationTargetArray{&ssm.AssociationTargetArgs{
			Key:    pulumi.String("InstanceIds"),
			Values: pulumi.StringArray{args.InstanceID},
		}},
		Parameters: pulumi.StringMap{
			"imageTag": pulumi.String(args.Release.ImageTag),
			"deployId": pulumi.String(args.Release.DeployID),
		},
		WaitForSuccessTimeoutSeconds: pulumi.Int(cfg.DeployTimeoutSecs + DeployWaitMargin),
		ComplianceSeverity:           pulumi.String("CRITICAL"),
		MaxConcurrency:               pulumi.String("1"),
		MaxErrors:                    pulumi.String("0"),
		OutputLocation: &ssm.AssociationOutputLocationArgs{
			S3BucketName: args.BucketName,
			S3KeyPrefix:  pulumi.String(DeployLogsKeyPrefix(args.Release)),
			S3Region:     pulumi.String(cfg.Region),
		},
		Tags: cfg.Tags(assocName),
	}, pulumi.Parent(d), pulumi.DependsOn(args.Ready),
		// Never updated in place: any change (a new host to target, a new
		// document version) and a failed create (init errors) replace
		// it, so every run of host/deploy is waited for. Same name, so the
		// old one must go first.
		pulumi.ReplaceOnChanges([]string{"*"}), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}
	release := func(v string) pulumi.StringOutput {
		return assoc.ID().ToStringOutput().ApplyT(func(string) string { return v }).(pulumi.StringOutput)
	}
	d.ImageTag, d.DeployID = release(args.Release.ImageTag), release(args.Release.DeployID)
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{"association": pulumi.String(assocName)})
}
