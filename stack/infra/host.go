package infra

import (
	"io/fs"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/blogstack/blogstack"
)

// Host is the EC2 instance that runs docker-compose.prod.yml, with its
// firewall, its role, its data volume attached and, in full stacks, a
// stable public address.
type Host struct {
	pulumi.ResourceState

	InstanceID pulumi.StringOutput
	PublicIP   pulumi.StringOutput
	SubnetID   pulumi.StringOutput
	AmiID      pulumi.StringOutput
	// RoleArn is the host's role, which the media role trusts.
	RoleArn pulumi.StringOutput
	// SecurityGroupID is the host's firewall (the database's admits it
	// during a move to Fargate).
	SecurityGroupID pulumi.StringOutput
	// Ready is what a deploy must wait for: the volume attached, the
	// address associated and the role's policy (SetPolicy).
	Ready []pulumi.Resource

	name string
	role *iam.Role
}

// HostArgs connect the host to the rest of the stack.
type HostArgs struct {
	SubnetID, VpcID string
	// AmiID is the image the instance runs (see chooseAMI).
	AmiID    string
	VolumeID pulumi.StringOutput
	// Replacing says this `pulumi up` replaces the host on purpose (a new
	// subnet or a new pinned AMI): the new instance must get the current
	// user-data and the chosen AMI, not the old instance's.
	Replacing bool
	// DatabaseCidrs, during a move to Fargate, are the database's subnets,
	// which the host may then reach on PostgreSQL's port
	// (host/move-to-rds).
	DatabaseCidrs []string
}

// AmiParameter is the public SSM parameter naming the current Amazon Linux
// 2023 AMI for an architecture ("x86_64" or "arm64").
func AmiParameter(arch string) string {
	return "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-" + arch
}

// InstanceOptions are the options that keep the instance from being replaced
// or restarted by surprise: user-data only matters at first boot (the
// provider would stop and start the host to change it), and the AMI changes
// only through blogstack:amiId. Pulumi applies ignoreChanges to a
// replacement too (the new instance would get the old values), so a
// deliberate replacement ignores nothing.
func InstanceOptions(replacing bool) []pulumi.ResourceOption {
	if replacing {
		return nil
	}
	return []pulumi.ResourceOption{pulumi.IgnoreChanges([]string{"ami", "userData"})}
}

// IngressRule is one port open to the world.
type IngressRule struct {
	Protocol string
	Port     int
}

// Ingress is all that is open to the world: HTTP (ACME and the redirect),
// HTTPS, and HTTP/3 (QUIC on UDP 443, which Caddy advertises). There is no
// SSH; operators use SSM Session Manager.
var Ingress = []IngressRule{{"tcp", 80}, {"tcp", 443}, {"udp", 443}}

// NewHost declares the host; SetPolicy gives its role its policy.
func NewHost(ctx *pulumi.Context, name string, cfg Config, args HostArgs, opts ...pulumi.ResourceOption) (*Host, error) {
	h := &Host{}
	if err := ctx.RegisterComponentResource("blogstack:index:Host", name, h, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(h)

	var ingress ec2.SecurityGroupIngressArray
	var egress ec2.SecurityGroupEgressArray
	anywhere := pulumi.StringArray{pulumi.String("0.0.0.0/0")}
	anywhere6 := pulumi.StringArray{pulumi.String("::/0")}
	for _, r := range Ingress {
		ingress = append(ingress, &ec2.SecurityGroupIngressArgs{
			Description: pulumi.Sprintf("web on %s %d", r.Protocol, r.Port), Protocol: pulumi.String(r.Protocol),
			FromPort: pulumi.Int(r.Port), ToPort: pulumi.Int(r.Port), CidrBlocks: anywhere, Ipv6CidrBlocks: anywhere6,
		})
	}
	for _, port := range []int{80, 443} {
		// Out only to the web: packages, images, ACME, AWS APIs. (Replies
		// to HTTP/3 clients need no rule: security groups are stateful.)
		egress = append(egress, &ec2.SecurityGroupEgressArgs{
			Description: pulumi.Sprintf("web out on %d", port), Protocol: pulumi.String("tcp"),
			FromPort: pulumi.Int(port), ToPort: pulumi.Int(port), CidrBlocks: anywhere, Ipv6CidrBlocks: anywhere6,
		})
	}
	for _, cidr := range args.DatabaseCidrs {
		egress = append(egress, &ec2.SecurityGroupEgressArgs{
			Description: pulumi.String("PostgreSQL on RDS while moving to Fargate"), Protocol: pulumi.String("tcp"),
			FromPort: pulumi.Int(5432), ToPort: pulumi.Int(5432), CidrBlocks: pulumi.StringArray{pulumi.String(cidr)},
		})
	}
	sg, err := ec2.NewSecurityGroup(ctx, name+"-sg", &ec2.SecurityGroupArgs{
		Description: pulumi.String("Blog host " + cfg.Prefix + ": HTTP, HTTPS and HTTP/3 only, no SSH"),
		VpcId:       pulumi.String(args.VpcID),
		Ingress:     ingress,
		Egress:      egress,
		Tags:        cfg.Tags(name + "-sg"),
	}, parent)
	if err != nil {
		return nil, err
	}

	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		Description:         pulumi.String("The blog host " + cfg.Prefix),
		AssumeRolePolicy:    pulumi.String(assumeRolePolicy("ec2.amazonaws.com")),
		PermissionsBoundary: pulumi.String(cfg.PermissionsBoundary),
		Tags:                cfg.Tags(name + "-role"),
	}, parent)
	if err != nil {
		return nil, err
	}
	profile, err := iam.NewInstanceProfile(ctx, name+"-profile", &iam.InstanceProfileArgs{
		Role: role.Name,
		Tags: cfg.Tags(name + "-profile"),
	}, parent)
	if err != nil {
		return nil, err
	}

	bootstrap, err := readHostFile("bootstrap")
	if err != nil {
		return nil, err
	}
	instance, err := ec2.NewInstance(ctx, name+"-instance", &ec2.InstanceArgs{
		Ami:                 pulumi.String(args.AmiID),
		InstanceType:        pulumi.String(cfg.InstanceType),
		SubnetId:            pulumi.String(args.SubnetID),
		VpcSecurityGroupIds: pulumi.StringArray{sg.ID()},
		IamInstanceProfile:  profile.Name,
		// A public address from the start, whatever the subnet's default:
		// the bootstrap needs the internet before prod's Elastic IP is
		// associated, and a preview is reached at this address.
		AssociatePublicIpAddress: pulumi.Bool(true),
		MetadataOptions: &ec2.InstanceMetadataOptionsArgs{
			HttpEndpoint: pulumi.String("enabled"),
			HttpTokens:   pulumi.String("required"),
			// 1: containers (one hop further) cannot reach the host's role.
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		// The root volume's tags are its own; no volumeTags, which the
		// provider would also write onto every attached volume, rewriting
		// the data volume's (and the blog:snapshots tag DLM selects by).
		RootBlockDevice: &ec2.InstanceRootBlockDeviceArgs{
			VolumeType:          pulumi.String("gp3"),
			VolumeSize:          pulumi.Int(20),
			Encrypted:           pulumi.Bool(true),
			DeleteOnTermination: pulumi.Bool(true),
			Tags:                cfg.Tags(name + "-root"),
		},
		Monitoring:              pulumi.Bool(true),
		EbsOptimized:            pulumi.Bool(true),
		UserData:                args.VolumeID.ApplyT(func(id string) string { return UserData(bootstrap, id) }).(pulumi.StringOutput),
		UserDataReplaceOnChange: pulumi.Bool(false),
		Tags:                    cfg.Tags(name + "-instance"),
	}, append([]pulumi.ResourceOption{parent, cfg.protectUnlessPreview()}, InstanceOptions(args.Replacing)...)...)
	if err != nil {
		return nil, err
	}

	// A new instance (or volume) replaces the attachment. EBS attaches a
	// volume to one instance at a time, so the old attachment goes first:
	// the old instance is stopped (PostgreSQL shuts down cleanly), the
	// volume detached, then attached to the new instance.
	attachment, err := ec2.NewVolumeAttachment(ctx, name+"-data-attachment", &ec2.VolumeAttachmentArgs{
		DeviceName:                  pulumi.String("/dev/sdf"),
		InstanceId:                  instance.ID(),
		VolumeId:                    args.VolumeID,
		StopInstanceBeforeDetaching: pulumi.Bool(true),
	}, parent, pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}
	h.Ready = []pulumi.Resource{attachment}
	h.PublicIP = instance.PublicIp

	if !cfg.Preview {
		// Full stacks keep one address across host replacements. Previews
		// take none (the Region's default quota is five): their record
		// points at the instance's own public address.
		eip, err := ec2.NewEip(ctx, name+"-eip", &ec2.EipArgs{
			Domain: pulumi.String("vpc"),
			Tags:   cfg.Tags(name + "-eip"),
		}, parent)
		if err != nil {
			return nil, err
		}
		eipAssoc, err := ec2.NewEipAssociation(ctx, name+"-eip-association", &ec2.EipAssociationArgs{
			AllocationId: eip.AllocationId,
			InstanceId:   instance.ID(),
		}, parent, pulumi.DeleteBeforeReplace(true))
		if err != nil {
			return nil, err
		}
		h.Ready = append(h.Ready, eipAssoc)
		h.PublicIP = eip.PublicIp
	}

	h.InstanceID, h.SubnetID, h.AmiID = instance.ID().ToStringOutput(), instance.SubnetId, instance.Ami
	h.RoleArn, h.name, h.role, h.SecurityGroupID = role.Arn, name, role, sg.ID().ToStringOutput()
	return h, ctx.RegisterResourceOutputs(h, pulumi.Map{"instanceId": h.InstanceID, "publicIp": h.PublicIP})
}

// SetPolicy gives the host's role its only policy (HostPolicy). It is not
// part of NewHost because the policy names the media role, which trusts the
// host's role by its ARN: the host's role comes first, then the media role,
// then this policy.
func (h *Host) SetPolicy(ctx *pulumi.Context, policy pulumi.StringInput) error {
	p, err := iam.NewRolePolicy(ctx, h.name+"-role-policy", &iam.RolePolicyArgs{
		Role:   h.role.Name,
		Policy: policy,
	}, pulumi.Parent(h))
	if err != nil {
		return err
	}
	h.Ready = append(h.Ready, p)
	return nil
}

func readHostFile(name string) ([]byte, error) {
	return fs.ReadFile(blogstack.HostFiles(), name)
}
