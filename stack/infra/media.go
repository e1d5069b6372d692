package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// MediaPrefix is where the blog keeps uploads in the media bucket
// (BLOG_MEDIA_URL's prefix); the host's role may use objects below it only.
const MediaPrefix = "media/"

// Media is the bucket authors' uploads live in: private, versioned,
// encrypted, TLS only, and readable and writable only by the host's role.
// The blog serves every file through its own URLs; nothing is public.
type Media struct {
	pulumi.ResourceState

	BucketName pulumi.StringOutput
	BucketArn  pulumi.StringOutput
}

// MediaArgs name who may use the media.
type MediaArgs struct {
	// HostRoleArns matches the host role's ARN (aws:PrincipalArn); only it
	// may read or write objects. See HostRoleArnPattern.
	HostRoleArns string
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
		Policy: func(arn string) string { return mediaBucketPolicy(arn, args.HostRoleArns) },
	}, pulumi.Parent(m))
	if err != nil {
		return nil, err
	}
	m.BucketName, m.BucketArn = bucket.Bucket, bucket.Arn
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{"bucketName": m.BucketName})
}

// MediaURL is the blog's BLOG_MEDIA_URL for the media bucket.
func MediaURL(bucket, region string) string {
	return fmt.Sprintf("s3://%s?prefix=%s&region=%s", bucket, MediaPrefix, region)
}

// mediaBucketPolicy refuses plain HTTP, and refuses reading or writing
// objects to every principal but the host's role, whatever their own
// policies allow. Deletes and version reads stay with the account's
// administrators and the pipeline (a preview's bucket is emptied on destroy).
func mediaBucketPolicy(bucketArn, hostRoleArns string) string {
	p := PolicyDocument{}
	_ = unmarshal(tlsOnlyBucketPolicy(bucketArn), &p)
	p.Statement = append(p.Statement, Statement{
		Sid: "OnlyTheHostUsesMedia", Effect: "Deny",
		Principal: map[string]any{"AWS": "*"},
		Action:    []string{"s3:GetObject", "s3:PutObject"},
		Resource:  []string{bucketArn + "/*"},
		Condition: map[string]map[string]any{"ArnNotLike": {"aws:PrincipalArn": hostRoleArns}},
	})
	return p.JSON()
}
