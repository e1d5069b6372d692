package infra

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/blogstack/blogstack"
)

// Deploy rolls the app on the host to cfg.ImageTag: an SSM document that
// carries the compose file and host/ and runs host/deploy, and, when a tag is
// set, one association for that tag that `pulumi up` waits on.
type Deploy struct {
	pulumi.ResourceState
}

// DeployArgs say where to deploy and with what settings.
type DeployArgs struct {
	InstanceID      pulumi.StringOutput
	RegistryURL     pulumi.StringOutput
	ParameterPrefix string
	BucketName      pulumi.StringOutput
	// Ready must exist before a deploy runs (the data volume's attachment).
	Ready []pulumi.Resource
}

// DocumentName is the deploy document's name for a stack's prefix; the
// host's role may read only this document.
func DocumentName(prefix string) string { return prefix + "-deploy" }

// AssociationName names the association for one tag and payload. A new name
// is a new resource, so Pulumi replaces the association (create, wait, then
// delete the old one) instead of updating it, because SSM waits for success
// only when an association is created.
func AssociationName(prefix, tag, payloadHash string) string {
	name := prefix + "-deploy-" + tag + "-" + payloadHash
	if len(name) <= 128 {
		return name
	}
	sum := sha256.Sum256([]byte(tag))
	keep := 128 - len(prefix) - len("-deploy-") - 1 - len(payloadHash) - 9
	return prefix + "-deploy-" + tag[:keep] + "-" + hex.EncodeToString(sum[:])[:8] + "-" + payloadHash
}

// NewDeploy declares the document and, for a tag, its association.
func NewDeploy(ctx *pulumi.Context, name string, cfg Config, args DeployArgs, opts ...pulumi.ResourceOption) (*Deploy, error) {
	d := &Deploy{}
	if err := ctx.RegisterComponentResource("blogstack:index:Deploy", name, d, opts...); err != nil {
		return nil, err
	}
	files, err := PayloadFiles(blogstack.ComposeFile, blogstack.HostFiles())
	if err != nil {
		return nil, err
	}
	content := pulumi.All(args.RegistryURL, args.BucketName).ApplyT(func(v []any) (string, error) {
		settings := SettingsFile(StackSettings{
			Registry: v[0].(string), Domain: cfg.Domain, AcmeEmail: cfg.AcmeEmail,
			ParameterPrefix: args.ParameterPrefix, Region: cfg.Region, Preview: cfg.Preview,
			BackupBucket: v[1].(string), BackupPrefix: BackupKeyPrefix(cfg.Stack),
		})
		return DeployDocument(append(files, settings), cfg.DeployTimeoutSecs)
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
	if cfg.ImageTag == "" {
		// First `pulumi up` into an empty account: the host is created and
		// waits; the next `pulumi up` with an image tag deploys.
		return d, ctx.RegisterResourceOutputs(d, pulumi.Map{})
	}

	assocName := AssociationName(cfg.Prefix, cfg.ImageTag, PayloadHash(files))
	if _, err := ssm.NewAssociation(ctx, assocName, &ssm.AssociationArgs{
		AssociationName: pulumi.String(assocName),
		Name:            doc.Name,
		DocumentVersion: doc.LatestVersion,
		Targets: ssm.AssociationTargetArray{&ssm.AssociationTargetArgs{
			Key:    pulumi.String("InstanceIds"),
			Values: pulumi.StringArray{args.InstanceID},
		}},
		Parameters:                   pulumi.StringMap{"imageTag": pulumi.String(cfg.ImageTag)},
		WaitForSuccessTimeoutSeconds: pulumi.Int(cfg.DeployTimeoutSecs),
		ComplianceSeverity:           pulumi.String("CRITICAL"),
		MaxConcurrency:               pulumi.String("1"),
		MaxErrors:                    pulumi.String("0"),
		OutputLocation: &ssm.AssociationOutputLocationArgs{
			S3BucketName: args.BucketName,
			S3KeyPrefix:  pulumi.String(DeployLogsPrefix + cfg.ImageTag),
		},
		Tags: cfg.Tags(assocName),
	}, pulumi.Parent(d), pulumi.DependsOn(args.Ready)); err != nil {
		return nil, err
	}
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{"association": pulumi.String(assocName)})
}
