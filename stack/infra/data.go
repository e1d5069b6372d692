package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dlm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ebs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Data is what outlives the host: the EBS volume PostgreSQL lives on, its
// daily snapshots, and the S3 bucket for backups and deploy logs.
type Data struct {
	pulumi.ResourceState

	VolumeID pulumi.StringOutput
	// AvailabilityZone is where the volume is, hence where its host must be.
	AvailabilityZone pulumi.StringOutput
	// SnapshotID is the snapshot the volume was created from, or "".
	SnapshotID pulumi.StringOutput
	BucketName pulumi.StringOutput
	BucketArn  pulumi.StringOutput
}

// DataArgs place the volume.
type DataArgs struct {
	// AvailabilityZone must be the host's: EBS volumes attach within one AZ.
	AvailabilityZone string
	// SnapshotID, when set, is the snapshot the volume is created from.
	SnapshotID string
}

// BackupLockMode is the S3 Object Lock mode of prod's backups. GOVERNANCE,
// not COMPLIANCE: no role of the pipeline or the host holds
// s3:BypassGovernanceRetention, so neither can delete or shorten a locked
// backup, while the account's administrators still can (for example to
// erase personal data on request, or to close the account); COMPLIANCE
// would lock out even the root user until the last retention ends.
const BackupLockMode = "GOVERNANCE"

// dlmServiceRolePolicy is AWS's managed policy for DLM's snapshot role.
const dlmServiceRolePolicy = "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"

// NewData declares the volume, its snapshot policy and the backup bucket. In
// prod the volume and bucket are protected (`pulumi destroy` or a change
// that would replace them stops instead), the volume leaves a final
// snapshot when it is deleted, DLM snapshots it daily and every backup is
// locked. A preview leaves nothing behind: no snapshots (DLM's would
// outlive their policy), and its bucket is emptied on destroy.
func NewData(ctx *pulumi.Context, name string, cfg Config, args DataArgs, opts ...pulumi.ResourceOption) (*Data, error) {
	d := &Data{}
	if err := ctx.RegisterComponentResource("blogstack:index:Data", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)

	volumeTags := cfg.Tags(name + "-volume")
	volumeTags["blog:snapshots"] = pulumi.String(cfg.Prefix)
	volumeArgs := &ebs.VolumeArgs{
		AvailabilityZone: pulumi.String(args.AvailabilityZone),
		Size:             pulumi.Int(cfg.DataVolumeSize),
		Type:             pulumi.String("gp3"),
		Encrypted:        pulumi.Bool(true),
		FinalSnapshot:    pulumi.Bool(!cfg.Preview),
		Tags:             volumeTags,
	}
	if args.SnapshotID != "" {
		// Restoring (or moving to another AZ, see the README's runbook).
		volumeArgs.SnapshotId = pulumi.String(args.SnapshotID)
	}
	volume, err := ebs.NewVolume(ctx, name+"-volume", volumeArgs, parent, cfg.protectUnlessPreview())
	if err != nil {
		return nil, err
	}
	d.VolumeID, d.AvailabilityZone, d.SnapshotID = volume.ID().ToStringOutput(), volume.AvailabilityZone, volume.SnapshotId

	if !cfg.Preview {
		if err := newSnapshotPolicy(ctx, name, cfg, parent); err != nil {
			return nil, err
		}
	}

	// One rule for the whole bucket: host/backup's daily dumps (backups/)
	// and deploy output (deploy-logs/) are kept backupExpireDays, 35 by
	// default (7 on previews), longer than DLM's snapshots (14 days). The
	// bucket is versioned, so an expired or overwritten dump then stays a
	// noncurrent version for as long again before it is deleted (recoverable
	// by version id with an operator's credentials; the host's role cannot
	// read old versions): a compromised host that overwrote every dump would
	// not destroy them for that long.
	days := pulumi.Int(cfg.BackupExpireDays)
	bucket, err := privateBucket(ctx, name+"-backups", cfg, bucketArgs{
		// Turned on as the bucket is created, so that no backup is ever
		// written unlocked.
		ObjectLock: !cfg.Preview,
		Lifecycle: &s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:         pulumi.String("expire"),
			Status:     pulumi.String("Enabled"),
			Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: days},
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
				NoncurrentDays: days,
			},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
				DaysAfterInitiation: pulumi.Int(1),
			},
		},
		Policy: tlsOnlyBucketPolicy,
	}, parent)
	if err != nil {
		return nil, err
	}
	if !cfg.Preview {
		// Every object version (dumps and deploy logs) is locked for as
		// long as it stays current; the lifecycle rule removes it only
		// after that. Uploads must carry a checksum (the AWS CLI and the
		// SSM agent send one).
		if _, err := s3.NewBucketObjectLockConfigurationV2(ctx, name+"-backups-lock", &s3.BucketObjectLockConfigurationV2Args{
			Bucket:            bucket.ID(),
			ObjectLockEnabled: pulumi.String("Enabled"),
			Rule: &s3.BucketObjectLockConfigurationV2RuleArgs{
				DefaultRetention: &s3.BucketObjectLockConfigurationV2RuleDefaultRetentionArgs{
					Mode: pulumi.String(BackupLockMode),
					Days: pulumi.Int(cfg.BackupExpireDays),
				},
			},
		}, parent, pulumi.DependsOn([]pulumi.Resource{bucket})); err != nil {
			return nil, err
		}
	}

	d.BucketName, d.BucketArn = bucket.Bucket, bucket.Arn
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{
		"volumeId": d.VolumeID, "bucketName": d.BucketName,
	})
}

// newSnapshotPolicy declares DLM's daily snapshots of the volumes tagged
// blog:snapshots=<prefix> (the data volume sets that tag; nothing else may)
// and the role DLM runs as.
func newSnapshotPolicy(ctx *pulumi.Context, name string, cfg Config, parent pulumi.ResourceOption) error {
	role, err := iam.NewRole(ctx, name+"-dlm-role", &iam.RoleArgs{
		Description:         pulumi.String("DLM snapshots of " + cfg.Prefix + " data"),
		AssumeRolePolicy:    pulumi.String(assumeRolePolicy("dlm.amazonaws.com")),
		PermissionsBoundary: pulumi.String(cfg.PermissionsBoundary),
		Tags:                cfg.Tags(name + "-dlm-role"),
	}, parent)
	if err != nil {
		return err
	}
	if _, err := iam.NewRolePolicyAttachment(ctx, name+"-dlm-role-policy", &iam.RolePolicyAttachmentArgs{
		Role:      role.Name,
		PolicyArn: pulumi.String(dlmServiceRolePolicy),
	}, parent); err != nil {
		return err
	}
	if _, err := dlm.NewLifecyclePolicy(ctx, name+"-snapshots", &dlm.LifecyclePolicyArgs{
		Description:      pulumi.String("Daily snapshots of " + cfg.Prefix + " data"),
		ExecutionRoleArn: role.Arn,
		State:            pulumi.String("ENABLED"),
		PolicyDetails: &dlm.LifecyclePolicyPolicyDetailsArgs{
			ResourceTypes: pulumi.StringArray{pulumi.String("VOLUME")},
			TargetTags:    pulumi.StringMap{"blog:snapshots": pulumi.String(cfg.Prefix)},
			Schedules: dlm.LifecyclePolicyPolicyDetailsScheduleArray{&dlm.LifecyclePolicyPolicyDetailsScheduleArgs{
				Name: pulumi.String("daily"),
				CreateRule: &dlm.LifecyclePolicyPolicyDetailsScheduleCreateRuleArgs{
					Interval:     pulumi.Int(24),
					IntervalUnit: pulumi.String("HOURS"),
					Times:        pulumi.String("03:00"),
				},
				RetainRule: &dlm.LifecyclePolicyPolicyDetailsScheduleRetainRuleArgs{
					Count: pulumi.Int(cfg.SnapshotRetain),
				},
				CopyTags: pulumi.Bool(true),
			}},
		},
		Tags: cfg.Tags(name + "-snapshots"),
	}, parent); err != nil {
		return err
	}
	return nil
}
