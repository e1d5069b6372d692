// Package infra is the blog's Pulumi program: stack/main.go runs Program, and
// the tests run the same function under Pulumi's mocks.
package infra

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Program declares the whole stack and exports its outputs.
func Program(ctx *pulumi.Context) error {
	outputs, err := Stack(ctx)
	if err != nil {
		return err
	}
	for name, value := range outputs {
		ctx.Export(name, value)
	}
	return nil
}

// Stack loads the config, builds the components and returns the outputs:
// url, registryUrl, instanceId, publicIp, dataVolumeId, backupBucket and
// imageTag. Secrets are never among them.
func Stack(ctx *pulumi.Context) (pulumi.Map, error) {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	p := cfg.Prefix

	net, err := lookupNetwork(ctx, cfg)
	if err != nil {
		return nil, err
	}
	identity, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return nil, err
	}
	partition, err := aws.GetPartition(ctx, nil)
	if err != nil {
		return nil, err
	}

	var registryURL, registryArn pulumi.StringOutput
	if cfg.Preview {
		registryURL, registryArn, err = ProdRegistry(ctx, cfg)
	} else {
		var r *Registry
		r, err = NewRegistry(ctx, p+"-registry", cfg)
		if err == nil {
			registryURL, registryArn = r.URL, r.Arn
		}
	}
	if err != nil {
		return nil, err
	}

	secrets, err := NewSecrets(ctx, p+"-secrets", cfg)
	if err != nil {
		return nil, err
	}
	data, err := NewData(ctx, p+"-data", cfg, DataArgs{AvailabilityZone: net.AvailabilityZone})
	if err != nil {
		return nil, err
	}
	policy := pulumi.All(registryArn, data.BucketArn).ApplyT(func(v []any) string {
		return HostPolicy(HostPolicyArgs{
			Partition: partition.Partition, Region: cfg.Region, Account: identity.AccountId,
			RepositoryArn: v[0].(string), BucketArn: v[1].(string),
			ParameterPrefix: secrets.Prefix, DocumentName: DocumentName(p),
		}).JSON()
	}).(pulumi.StringOutput)
	host, err := NewHost(ctx, p+"-host", cfg, HostArgs{
		SubnetID: net.SubnetID, VpcID: net.VpcID, VolumeID: data.VolumeID, Policy: policy,
	})
	if err != nil {
		return nil, err
	}
	if _, err := NewDNS(ctx, p+"-dns", cfg, host.PublicIP); err != nil {
		return nil, err
	}
	if _, err := NewDeploy(ctx, p+"-deploy", cfg, DeployArgs{
		InstanceID: host.InstanceID, RegistryURL: registryURL, ParameterPrefix: secrets.Prefix,
		BucketName: data.BucketName, Ready: host.Ready,
	}); err != nil {
		return nil, err
	}

	return pulumi.Map{
		"url":          pulumi.String("https://" + cfg.Domain),
		"registryUrl":  registryURL,
		"instanceId":   host.InstanceID,
		"publicIp":     host.PublicIP,
		"dataVolumeId": data.VolumeID,
		"backupBucket": data.BucketName,
		"imageTag":     pulumi.String(cfg.ImageTag),
	}, nil
}

// network is where the host and its volume go.
type network struct {
	VpcID, SubnetID, AvailabilityZone string
}

// lookupNetwork finds the configured subnet, or else a default subnet of the
// default VPC (the first by id, so the choice is stable between runs).
func lookupNetwork(ctx *pulumi.Context, cfg Config) (network, error) {
	id := cfg.SubnetID
	if id == "" {
		isDefault := true
		vpc, err := ec2.LookupVpc(ctx, &ec2.LookupVpcArgs{Default: &isDefault})
		if err != nil {
			return network{}, fmt.Errorf("no subnetId configured and no default VPC found: %w", err)
		}
		subnets, err := ec2.GetSubnets(ctx, &ec2.GetSubnetsArgs{Filters: []ec2.GetSubnetsFilter{
			{Name: "vpc-id", Values: []string{vpc.Id}},
			{Name: "default-for-az", Values: []string{"true"}},
		}})
		if err != nil {
			return network{}, err
		}
		if len(subnets.Ids) == 0 {
			return network{}, fmt.Errorf("the default VPC %s has no default subnets; set %s:subnetId", vpc.Id, cfg.Project)
		}
		ids := append([]string{}, subnets.Ids...)
		sort.Strings(ids)
		id = ids[0]
	}
	subnet, err := ec2.LookupSubnet(ctx, &ec2.LookupSubnetArgs{Id: &id})
	if err != nil {
		return network{}, fmt.Errorf("config %s:subnetId %q: %w", cfg.Project, id, err)
	}
	return network{VpcID: subnet.VpcId, SubnetID: subnet.Id, AvailabilityZone: subnet.AvailabilityZone}, nil
}
