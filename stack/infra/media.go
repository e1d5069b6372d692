package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// MediaPrefix is where the blog keeps uploads in the media bucket
// (BLOG_MEDIA_URL's prefix); the media role may use objects below it only.
const MediaPrefix = "media/"

// Media is the bucket authors' uploads live in (private, versioned,
// encrypted, TLS only) and the role the blog's app uses it with: readable
// and writable only by that role, which only the host's role may assume
// (host/media-credentials hands its credentials to the app container). So
// the internet-facing app holds the media's permissions, not the host's.
// The blog serves every file through its own URLs; nothing is public.
type Media struct {
	pulumi.ResourceState

	BucketName pulumi.StringOutput
	BucketArn  pulumi.StringOutput
	// RoleArn is the media role's (BLOG_MEDIA_ROLE_ARN on the host, the
	// tasks' role in fargate mode), RoleName its name.
	RoleArn, RoleName pulumi.StringOutput
	// Ready must exist before the app asks for the role's credentials:
	// the role's policy.
	Ready []pulumi.Resource
}

// MediaArgs name who may use the media.
type MediaArgs struct {
	// HostRoleArn is the host's role, which the media role trusts while
	// there is a host.
	HostRoleArn pulumi.StringOutput
	// Tasks makes the media role the Fargate tasks' role too (trusted by
	// ECS tasks of Account): in fargate mode the app runs under it.
	Tasks   bool
	Account string
	// RoleArns matches the media role's ARN (aws:PrincipalArn) in the bucket
	// policy; see MediaRoleArnPattern.
	RoleArns string
}

// NewMedia declares the media bucket. Deleted or replaced files stay
// noncurrent versions for backupExpireDays, so versioning is their backup
// (see the README's "Media" section); in prod the bucket is protected.
func NewMedia(ctx *pulumi.Context, name string, cfg Config, args MediaArgs, opts ...pulumi.ResourceOption) (*Media, error) {
	m := &Media{}
	if err := ctx.RegisterComponentResource("blogstack:index:Media", name, m, opts...); err != nil {
		return nil, err
	}
	bucket, err := privateBucket(ctx, name+"-files", cfg, bucketArgs{
		Lifecycle: &s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:     pulumi.String("keep-old-versions"),
			Status: pulumi.String("Enabled"),
			Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
				NoncurrentDays: pulumi.Int(cfg.BackupExpireDays),
			},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
				DaysAfterInitiation: pulumi.Int(1),
			},
		},
		Policy: func(arn string) string { return mediaBucketPolicy(arn, args.RoleArns) },
	}, pulumi.Parent(m))
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		Description:         pulumi.String(mediaRoleDescription(cfg, args)),
		AssumeRolePolicy:    mediaTrust(args),
		PermissionsBoundary: pulumi.String(cfg.PermissionsBoundary),
		Tags:                cfg.Tags(name + "-role"),
	}, pulumi.Parent(m))
	if err != nil {
		return nil, err
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-role-policy", &iam.RolePolicyArgs{
		Role:   role.Name,
		Policy: bucket.Arn.ApplyT(func(arn string) string { return MediaPolicy(arn).JSON() }).(pulumi.StringOutput),
	}, pulumi.Parent(m))
	if err != nil {
		return nil, err
	}
	m.BucketName, m.BucketArn, m.RoleArn, m.RoleName, m.Ready = bucket.Bucket, bucket.Arn, role.Arn, role.Name, []pulumi.Resource{policy}
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{"bucketName": m.BucketName, "roleArn": m.RoleArn})
}

func mediaRoleDescription(cfg Config, args MediaArgs) string {
	if args.Tasks {
		return "The blog app's role " + cfg.Prefix + " (media, database): its Fargate tasks'"
	}
	return "The blog app's media " + cfg.Prefix + ", assumed by its host"
}

// mediaTrust is who may assume the media role: the host's role, ECS's
// tasks, or both while a host moves to Fargate.
func mediaTrust(args MediaArgs) pulumi.StringOutput {
	if !args.Tasks {
		return args.HostRoleArn.ApplyT(func(arn string) string {
			return trustPolicy(map[string]any{"AWS": arn})
		}).(pulumi.StringOutput)
	}
	tasks := PolicyDocument{}
	_ = unmarshal(ecsTasksTrust(args.Account), &tasks)
	if args.HostRoleArn == (pulumi.StringOutput{}) {
		return pulumi.String(tasks.JSON()).ToStringOutput()
	}
	return args.HostRoleArn.ApplyT(func(arn string) string {
		host := PolicyDocument{}
		_ = unmarshal(trustPolicy(map[string]any{"AWS": arn}), &host)
		host.Statement = append(host.Statement, tasks.Statement...)
		return host.JSON()
	}).(pulumi.StringOutput)
}

// MediaURL is the blog's BLOG_MEDIA_URL for the media bucket.
func MediaURL(bucket, region string) string {
	return fmt.Sprintf("s3://%s?prefix=%s&region=%s", bucket, MediaPrefix, region)
}

// mediaBucketPolicy refuses plain HTTP, and refuses reading or writing
// objects to every principal but the media role, whatever their own
// policies allow. Deletes and version reads stay with the account's
// administrators and the pipeline (a preview's bucket is emptied on destroy).
func mediaBucketPolicy(bucketArn, roleArns string) string {
	p := PolicyDocument{}
	_ = unmarshal(tlsOnlyBucketPolicy(bucketArn), &p)
	p.Statement = append(p.Statement, Statement{
		Sid: "OnlyTheMediaRoleUsesMedia", Effect: "Deny",
		Principal: map[string]any{"AWS": "*"},
		Action:    []string{"s3:GetObject", "s3:PutObject"},
		Resource:  []string{bucketArn + "/*"},
		Condition: map[string]map[string]any{"ArnNotLike": {"aws:PrincipalArn": roleArns}},
	})
	return p.JSON()
}
