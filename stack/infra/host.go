package infra

import (
	"io/fs"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/blogstack/blogstack"
)

// Host is the EC2 instance that runs docker-compose.prod.yml, with its
// firewall, its role, its data volume attached and a stable public address.
type Host struct {
	pulumi.ResourceState

	InstanceID pulumi.StringOutput
	PublicIP   pulumi.StringOutput
	// Ready is what a deploy must wait for: the volume attached and the
	// address associated.
	Ready []pulumi.Resource
}

// HostArgs connect the host to the rest of the stack.
type HostArgs struct {
	SubnetID, VpcID string
	VolumeID        pulumi.StringOutput
	Policy          pulumi.StringInput
}

// AmiParameter is the public SSM parameter naming the current Amazon Linux
// 2023 AMI for an architecture ("x86_64" or "arm64").
func AmiParameter(arch string) string {
	return "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-" + arch
}

// InstanceOptions are the options that keep the instance from being replaced
// by surprise: the AMI is resolved once at creation, and user-data only
// matters at first boot, so later changes to either are ignored.
func InstanceOptions() []pulumi.ResourceOption {
	return []pulumi.ResourceOption{pulumi.IgnoreChanges([]string{"ami", "userData"})}
}

// IngressPorts are the only ports open to the world: HTTP (ACME and the
// redirect) and HTTPS. There is no SSH; operators use SSM Session Manager.
var IngressPorts = []int{80, 443}

// NewHost declares the host.
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
	for _, port := range IngressPorts {
		ingress = append(ingress, &ec2.SecurityGroupIngressArgs{
			Description: pulumi.Sprintf("web on %d", port), Protocol: pulumi.String("tcp"),
			FromPort: pulumi.Int(port), ToPort: pulumi.Int(port), CidrBlocks: anywhere, Ipv6CidrBlocks: anywhere6,
		})
		// Out only to the web: packages, images, ACME, AWS APIs (and UDP 443
		// in for HTTP/3 is not needed; Caddy falls back to TCP).
		egress = append(egress, &ec2.SecurityGroupEgressArgs{
			Description: pulumi.Sprintf("web out on %d", port), Protocol: pulumi.String("tcp"),
			FromPort: pulumi.Int(port), ToPort: pulumi.Int(port), CidrBlocks: anywhere, Ipv6CidrBlocks: anywhere6,
		})
	}
	sg, err := ec2.NewSecurityGroup(ctx, name+"-sg", &ec2.SecurityGroupArgs{
		Description: pulumi.String("Blog host " + cfg.Prefix + ": HTTP and HTTPS only, no SSH"),
		VpcId:       pulumi.String(args.VpcID),
		Ingress:     ingress,
		Egress:      egress,
		Tags:        cfg.Tags(name + "-sg"),
	}, parent)
	if err != nil {
		return nil, err
	}

	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		Description:      pulumi.String("The blog host " + cfg.Prefix),
		AssumeRolePolicy: pulumi.String(assumeRolePolicy("ec2.amazonaws.com")),
		Tags:             cfg.Tags(name + "-role"),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-role-policy", &iam.RolePolicyArgs{
		Role:   role.Name,
		Policy: args.Policy,
	}, parent); err != nil {
		return nil, err
	}
	profile, err := iam.NewInstanceProfile(ctx, name+"-profile", &iam.InstanceProfileArgs{
		Role: role.Name,
		Tags: cfg.Tags(name + "-profile"),
	}, parent)
	if err != nil {
		return nil, err
	}

	ami, err := ssm.LookupParameter(ctx, &ssm.LookupParameterArgs{Name: AmiParameter(cfg.Arch)}, pulumi.Parent(h))
	if err != nil {
		return nil, err
	}
	bootstrap, err := readHostFile("bootstrap")
	if err != nil {
		return nil, err
	}
	instance, err := ec2.NewInstance(ctx, name+"-instance", &ec2.InstanceArgs{
		Ami:                 pulumi.String(ami.Value),
		InstanceType:        pulumi.String(cfg.InstanceType),
		SubnetId:            pulumi.String(args.SubnetID),
		VpcSecurityGroupIds: pulumi.StringArray{sg.ID()},
		IamInstanceProfile:  profile.Name,
		MetadataOptions: &ec2.InstanceMetadataOptionsArgs{
			HttpEndpoint: pulumi.String("enabled"),
			HttpTokens:   pulumi.String("required"),
			// 1: containers (one hop further) cannot reach the host's role.
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		RootBlockDevice: &ec2.InstanceRootBlockDeviceArgs{
			VolumeType:          pulumi.String("gp3"),
			VolumeSize:          pulumi.Int(20),
			Encrypted:           pulumi.Bool(true),
			DeleteOnTermination: pulumi.Bool(true),
		},
		Monitoring:              pulumi.Bool(true),
		EbsOptimized:            pulumi.Bool(true),
		DisableApiTermination:   pulumi.Bool(!cfg.Preview),
		UserData:                args.VolumeID.ApplyT(func(id string) string { return UserData(bootstrap, id) }).(pulumi.StringOutput),
		UserDataReplaceOnChange: pulumi.Bool(false),
		Tags:                    cfg.Tags(name + "-instance"),
		VolumeTags:              cfg.Tags(name + "-root"),
	}, append([]pulumi.ResourceOption{parent}, InstanceOptions()...)...)
	if err != nil {
		return nil, err
	}

	attachment, err := ec2.NewVolumeAttachment(ctx, name+"-data-attachment", &ec2.VolumeAttachmentArgs{
		DeviceName: pulumi.String("/dev/sdf"),
		InstanceId: instance.ID(),
		VolumeId:   args.VolumeID,
		// Stop PostgreSQL's host before the volume goes, never yank it.
		StopInstanceBeforeDetaching: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, err
	}
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
	}, parent)
	if err != nil {
		return nil, err
	}

	h.InstanceID, h.PublicIP = instance.ID().ToStringOutput(), eip.PublicIp
	h.Ready = []pulumi.Resource{attachment, eipAssoc}
	return h, ctx.RegisterResourceOutputs(h, pulumi.Map{"instanceId": h.InstanceID, "publicIp": h.PublicIP})
}

func readHostFile(name string) ([]byte, error) {
	return fs.ReadFile(blogstack.HostFiles(), name)
}
