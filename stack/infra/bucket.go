package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// bucketArgs are what differs between the stack's buckets.
type bucketArgs struct {
	ObjectLock bool
	// S3Managed encrypts with S3's own keys instead of KMS: the only
	// encryption load balancers can write their access logs to.
	S3Managed bool
	Lifecycle *s3.BucketLifecycleConfigurationV2RuleArgs
	// Policy makes the bucket policy from the bucket's ARN; it must at
	// least refuse plain HTTP (tlsOnlyBucketPolicy).
	Policy func(bucketArn string) string
}

// privateBucket declares a bucket nothing reaches from the internet: public
// access blocked, ACLs off, versioned, KMS-encrypted, with its lifecycle
// rule and policy (KMS unless S3Managed). In prod it is protected; a preview's is emptied on
// destroy. Children are named after it (name+"-versioning").
func privateBucket(ctx *pulumi.Context, name string, cfg Config, args bucketArgs, parent pulumi.ResourceOption) (*s3.BucketV2, error) {
	bucket, err := s3.NewBucketV2(ctx, name, &s3.BucketV2Args{
		ForceDestroy:      pulumi.Bool(cfg.Preview),
		ObjectLockEnabled: pulumi.Bool(args.ObjectLock),
		Tags:              cfg.Tags(name),
	}, parent, cfg.protectUnlessPreview())
	if err != nil {
		return nil, err
	}
	child := []pulumi.ResourceOption{parent, pulumi.DependsOn([]pulumi.Resource{bucket})}
	if _, err := s3.NewBucketPublicAccessBlock(ctx, name+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, child...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, child...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketVersioningV2(ctx, name+"-versioning", &s3.BucketVersioningV2Args{
		Bucket:                  bucket.ID(),
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, child...); err != nil {
		return nil, err
	}
	sse, bucketKey := "aws:kms", true
	if args.S3Managed {
		sse, bucketKey = "AES256", false
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String(sse),
			},
			BucketKeyEnabled: pulumi.Bool(bucketKey),
		}},
	}, child...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules:  s3.BucketLifecycleConfigurationV2RuleArray{args.Lifecycle},
	}, child...); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketPolicy(ctx, name+"-policy", &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: bucket.Arn.ApplyT(args.Policy).(pulumi.StringOutput),
	}, child...); err != nil {
		return nil, err
	}
	return bucket, nil
}
