// Package infra is the blog's Pulumi program: stack/main.go runs Program, and
// the tests run the same function under Pulumi's mocks.
package infra

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RunbookReplaceHost names the README section operators follow to move or
// replace the host; errors that refuse a change point there.
const RunbookReplaceHost = `README.md, "Replacing the host"`

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

// Stack loads the config, reads what the stack recorded last time, builds
// the components and returns the outputs. Every stack has url,
// registryUrl, previewRegistryUrl (full stacks), mediaBucket, imageTag and
// deployId. With a host (host mode, or a move to Fargate under way):
// instanceId, publicIp, dataVolumeId, backupBucket, and subnetId,
// availabilityZone, amiId and dataSnapshotId (which the next run reads
// back). In fargate mode: loadBalancerDns, clusterName, serviceName,
// migrateTaskDefinition, databaseEndpoint, databaseSecretArn,
// taskSecurityGroupId and taskSubnetIds. Secrets are never among them.
func Stack(ctx *pulumi.Context) (pulumi.Map, error) {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	p := cfg.Prefix

	prev, err := ReadPrevious(ctx)
	if err != nil {
		return nil, err
	}
	release, err := ResolveRelease(cfg, prev)
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
	if err := checkBoundary(cfg, partition.Partition, identity.AccountId); err != nil {
		return nil, err
	}

	outputs := pulumi.Map{}
	var registryURL, registryArn pulumi.StringOutput
	var registryKey string
	if cfg.Preview {
		url, arn, err := ProdPreviewRegistry(ctx, cfg)
		if err != nil {
			return nil, err
		}
		registryURL, registryArn, registryKey = pulumi.String(url).ToStringOutput(), pulumi.String(arn).ToStringOutput(), url
	} else {
		r, err := NewRegistry(ctx, p+"-registry", cfg)
		if err != nil {
			return nil, err
		}
		registryURL, registryArn = r.URL, r.Arn
		registryKey, _ = RepositoryNames(cfg)
		outputs[OutputPreviewRegistryURL] = r.PreviewURL
	}

	secrets, err := NewSecrets(ctx, p+"-secrets", cfg)
	if err != nil {
		return nil, err
	}

	var host *Host
	var data *Data
	if cfg.HostKept() {
		if host, data, err = newHost(ctx, cfg, prev); err != nil {
			return nil, err
		}
	}
	mediaArgs := MediaArgs{
		RoleArns: MediaRoleArnPattern(partition.Partition, identity.AccountId, p),
		Tasks:    cfg.FargateOn(), Account: identity.AccountId,
	}
	if host != nil {
		mediaArgs.HostRoleArn = host.RoleArn
	}
	media, err := NewMedia(ctx, p+"-media", cfg, mediaArgs)
	if err != nil {
		return nil, err
	}
	outputs["mediaBucket"] = media.BucketName
	outputs["url"] = pulumi.String("https://" + cfg.Domain)
	outputs["registryUrl"] = registryURL

	var dns DNSTarget
	var deployed []pulumi.StringOutput // imageTag, deployId of what runs
	var fargate *Fargate
	if cfg.FargateOn() {
		var hostSG pulumi.StringOutput
		if host != nil {
			hostSG = host.SecurityGroupID
		}
		fargate, err = newFargate(ctx, cfg, fargateArgs{
			Release: release, RegistryURL: registryURL, RegistryArn: registryArn, Media: media, HostSG: hostSG,
			SecretKeyParam: secrets.Prefix + "/secret-key", Account: identity.AccountId, Partition: partition.Partition,
			Outputs: outputs,
		})
		if err != nil {
			return nil, err
		}
		deployed = []pulumi.StringOutput{fargate.Service.ImageTag, fargate.Service.DeployID}
		if !cfg.DNSOnHost() {
			dns = DNSTarget{AliasName: fargate.LB.DNSName, AliasZone: fargate.LB.ZoneID}
		}
	}
	if host != nil {
		// While moving, the host may read the RDS admin's secret.
		dbSecret := pulumi.String("").ToStringOutput()
		if fargate != nil {
			dbSecret = fargate.DB.SecretArn
		}
		policy := pulumi.All(registryArn, data.BucketArn, media.RoleArn, dbSecret).ApplyT(func(v []any) string {
			return HostPolicy(HostPolicyArgs{
				Partition: partition.Partition, Region: cfg.Region, Account: identity.AccountId,
				RepositoryArn: v[0].(string), BucketArn: v[1].(string), MediaRoleArn: v[2].(string),
				DatabaseSecretArn: v[3].(string),
				ParameterPrefix:   secrets.Prefix, DocumentName: DocumentName(p),
				LogGroupPrefix: p, MetricsNamespace: MetricsNamespace(cfg.Stack),
			}).JSON()
		}).(pulumi.StringOutput)
		if err := host.SetPolicy(ctx, policy); err != nil {
			return nil, err
		}
		if _, err := NewMonitoring(ctx, p+"-monitoring", cfg, MonitoringArgs{
			Account: identity.AccountId, Partition: partition.Partition, InstanceID: host.InstanceID,
		}); err != nil {
			return nil, err
		}
		deploy, err := NewDeploy(ctx, p+"-deploy", cfg, DeployArgs{
			Release: release, InstanceID: host.InstanceID, RegistryURL: registryURL, RegistryKey: registryKey,
			ParameterPrefix: secrets.Prefix, BucketName: data.BucketName,
			MediaBucketName: media.BucketName, MediaRoleArn: media.RoleArn,
			Ready: append(slices.Clip(host.Ready), media.Ready...),
		})
		if err != nil {
			return nil, err
		}
		if deployed == nil {
			deployed = []pulumi.StringOutput{deploy.ImageTag, deploy.DeployID}
		} else {
			// Moving: both run the release; it runs once both do.
			both := func(a, b pulumi.StringOutput) pulumi.StringOutput {
				return pulumi.All(a, b).ApplyT(func(v []any) string { return v[0].(string) }).(pulumi.StringOutput)
			}
			deployed = []pulumi.StringOutput{both(deploy.ImageTag, deployed[0]), both(deploy.DeployID, deployed[1])}
		}
		if cfg.DNSOnHost() {
			dns.IP = host.PublicIP
		}
		for k, v := range map[string]pulumi.Input{
			"instanceId":   host.InstanceID,
			"publicIp":     host.PublicIP,
			"dataVolumeId": data.VolumeID,
			"backupBucket": data.BucketName,
			OutputSubnetID: host.SubnetID,
			OutputAZ:       data.AvailabilityZone,
			OutputAmiID:    host.AmiID,
			// The provider reports "" for a volume created empty.
			OutputDataSnapshotID: data.SnapshotID,
		} {
			outputs[k] = v
		}
	}
	if _, err := NewDNS(ctx, p+"-dns", cfg, dns); err != nil {
		return nil, err
	}
	outputs[OutputImageTag], outputs[OutputDeployID] = deployed[0], deployed[1]
	return outputs, nil
}

// newHost declares the host, where it lives and its data.
func newHost(ctx *pulumi.Context, cfg Config, prev Previous) (*Host, *Data, error) {
	p := cfg.Prefix
	net, err := chooseNetwork(ctx, cfg, prev)
	if err != nil {
		return nil, nil, err
	}
	ami, err := chooseAMI(ctx, cfg, prev)
	if err != nil {
		return nil, nil, err
	}
	// A new subnet or a newly pinned AMI replaces the host (both force a
	// new instance); that is the only time the program means to.
	replacing := prev.SubnetID != "" && net.SubnetID != prev.SubnetID ||
		prev.AmiID != "" && ami != prev.AmiID
	snapshot := cfg.DataSnapshotID
	if snapshot == "" {
		snapshot = prev.DataSnapshotID
	}
	data, err := NewData(ctx, p+"-data", cfg, DataArgs{AvailabilityZone: net.AvailabilityZone, SnapshotID: snapshot})
	if err != nil {
		return nil, nil, err
	}
	hostArgs := HostArgs{
		SubnetID: net.SubnetID, VpcID: net.VpcID, AmiID: ami, VolumeID: data.VolumeID,
		Replacing: replacing,
	}
	if cfg.Move != "" {
		hostArgs.DatabaseCidrs = cfg.Fargate.DBSubnetCidrs
	}
	host, err := NewHost(ctx, p+"-host", cfg, hostArgs)
	if err != nil {
		return nil, nil, err
	}
	return host, data, nil
}

// fargateArgs connect fargate mode to the rest of the stack.
type fargateArgs struct {
	Release                  Release
	RegistryURL, RegistryArn pulumi.StringOutput
	Media                    *Media
	// HostSG is the host's security group during a move, else zero.
	HostSG             pulumi.StringOutput
	SecretKeyParam     string
	Account, Partition string
	// Outputs receives fargate mode's outputs.
	Outputs pulumi.Map
}

// Fargate is fargate mode's parts the rest of the stack refers to.
type Fargate struct {
	Service *Service
	LB      *LoadBalancer
	DB      *Database
}

// newFargate declares fargate mode: network, database, load balancer,
// monitoring and the service.
func newFargate(ctx *pulumi.Context, cfg Config, args fargateArgs) (*Fargate, error) {
	p := cfg.Prefix
	network, err := NewNetwork(ctx, p+"-network", cfg, NetworkArgs{HostSG: args.HostSG})
	if err != nil {
		return nil, err
	}
	db, err := NewDatabase(ctx, p+"-db", cfg, DatabaseArgs{SubnetGroup: network.DBSubnetGroup, SecurityGroup: network.DatabaseSG})
	if err != nil {
		return nil, err
	}
	lb, err := NewLoadBalancer(ctx, p+"-lb", cfg, LoadBalancerArgs{Network: network, Account: args.Account, Partition: args.Partition})
	if err != nil {
		return nil, err
	}
	svc, err := NewService(ctx, p+"-service", cfg, ServiceArgs{
		Release: args.Release, RegistryURL: args.RegistryURL, RegistryArn: args.RegistryArn,
		Network: network, Database: db, LB: lb,
		AppRoleName: args.Media.RoleName, AppRoleArn: args.Media.RoleArn, MediaBucketName: args.Media.BucketName,
		SecretKeyParam: args.SecretKeyParam, LogGroup: ServiceLogGroup(p),
		Partition: args.Partition, Account: args.Account,
		Ready: args.Media.Ready,
	})
	if err != nil {
		return nil, err
	}
	if _, err := NewServiceMonitoring(ctx, p+"-service-monitoring", cfg, ServiceMonitoringArgs{
		Account: args.Account, Partition: args.Partition, LB: lb, DatabaseID: db.InstanceID,
		ClusterName: svc.ClusterName, ServiceName: svc.ServiceName,
	}); err != nil {
		return nil, err
	}
	for k, v := range map[string]pulumi.Input{
		"loadBalancerDns":       lb.DNSName,
		"clusterName":           svc.ClusterName,
		"serviceName":           svc.ServiceName,
		"migrateTaskDefinition": svc.MigrateTaskDefinition,
		"databaseEndpoint":      db.Endpoint,
		"databaseSecretArn":     db.SecretArn,
		"taskSecurityGroupId":   network.TaskSG,
		"taskSubnetIds":         pulumi.ToStringArray(network.PublicSubnetIDs),
	} {
		args.Outputs[k] = v
	}
	return &Fargate{Service: svc, LB: lb, DB: db}, nil
}

// checkBoundary makes sure the permissions boundary is a policy of the
// account the stack deploys to: IAM refuses one from another account, but
// only after half the stack exists.
func checkBoundary(cfg Config, partition, account string) error {
	want := "arn:" + partition + ":iam::" + account + ":policy/"
	if !strings.HasPrefix(cfg.PermissionsBoundary, want) {
		return fmt.Errorf("config %s:permissionsBoundary %q is not a policy of account %s (want %s<name>, e.g. %sblogstack-boundary)",
			cfg.Project, cfg.PermissionsBoundary, account, want, want)
	}
	return nil
}

// network is where the host and its volume go.
type network struct {
	VpcID, SubnetID, AvailabilityZone string
}

// chooseNetwork picks the host's subnet: the configured one, else the one
// the stack already uses (its last output), else, on first creation only, a
// default subnet of the default VPC. Choosing again on every run would move
// the host (and, across AZs, its volume) whenever the account's subnets
// change. The data volume cannot follow the host into another availability
// zone, so such a move is refused unless the volume is restored from a
// snapshot (blogstack:dataSnapshotId).
func chooseNetwork(ctx *pulumi.Context, cfg Config, prev Previous) (network, error) {
	id := cfg.SubnetID
	if id == "" {
		id = prev.SubnetID
	}
	if id == "" {
		var err error
		if id, err = defaultSubnet(ctx, cfg); err != nil {
			return network{}, err
		}
	}
	subnet, err := ec2.LookupSubnet(ctx, &ec2.LookupSubnetArgs{Id: &id})
	if err != nil {
		if cfg.SubnetID == "" && prev.SubnetID != "" {
			return network{}, fmt.Errorf("the host's subnet %s (this stack's last subnetId output): %w; set %s:subnetId and see %s", id, err, cfg.Project, RunbookReplaceHost)
		}
		return network{}, fmt.Errorf("config %s:subnetId %q: %w", cfg.Project, id, err)
	}
	if prev.AZ != "" && subnet.AvailabilityZone != prev.AZ && cfg.DataSnapshotID == "" {
		return network{}, fmt.Errorf("subnet %s is in %s, but the data volume is in %s and an EBS volume cannot move between availability zones: "+
			"keep a subnet in %s, or move the data with a snapshot (%s:dataSnapshotId), see %s",
			subnet.Id, subnet.AvailabilityZone, prev.AZ, prev.AZ, cfg.Project, RunbookReplaceHost)
	}
	return network{VpcID: subnet.VpcId, SubnetID: subnet.Id, AvailabilityZone: subnet.AvailabilityZone}, nil
}

// defaultSubnet is the first (by id) default subnet of the default VPC.
func defaultSubnet(ctx *pulumi.Context, cfg Config) (string, error) {
	isDefault := true
	vpc, err := ec2.LookupVpc(ctx, &ec2.LookupVpcArgs{Default: &isDefault})
	if err != nil {
		return "", fmt.Errorf("no subnetId configured and no default VPC found: %w", err)
	}
	subnets, err := ec2.GetSubnets(ctx, &ec2.GetSubnetsArgs{Filters: []ec2.GetSubnetsFilter{
		{Name: "vpc-id", Values: []string{vpc.Id}},
		{Name: "default-for-az", Values: []string{"true"}},
	}})
	if err != nil {
		return "", err
	}
	if len(subnets.Ids) == 0 {
		return "", fmt.Errorf("the default VPC %s has no default subnets; set %s:subnetId", vpc.Id, cfg.Project)
	}
	ids := append([]string{}, subnets.Ids...)
	sort.Strings(ids)
	return ids[0], nil
}

// chooseAMI picks the host's image: the pinned one (blogstack:amiId), else
// the running host's (its last output), else, on first creation, the
// current Amazon Linux 2023 for the instance's architecture. So a new
// Amazon Linux release never replaces the host; pinning a new AMI does.
func chooseAMI(ctx *pulumi.Context, cfg Config, prev Previous) (string, error) {
	if cfg.AmiID != "" {
		return cfg.AmiID, nil
	}
	if prev.AmiID != "" {
		return prev.AmiID, nil
	}
	param, err := ssm.LookupParameter(ctx, &ssm.LookupParameterArgs{Name: AmiParameter(cfg.Arch)})
	if err != nil {
		return "", err
	}
	return param.Value, nil
}
