package infra

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AppPort is the port the blog listens on in its container.
const AppPort = 8080

// Network is fargate mode's part of the default VPC: the default subnets
// carry the load balancer and the tasks, two private subnets the stack adds
// (no route to the internet) carry the database, and three security groups
// chain them: the world reaches only the load balancer, the load balancer
// only the tasks' port, the tasks only the database (and the web on 443,
// for ECR, S3, CloudWatch and Secrets Manager).
//
// The tasks get public addresses instead of sitting behind a NAT gateway:
// a NAT gateway costs more than the whole blog (about 35 USD a month per
// zone before traffic), interface endpoints for ECR, logs, S3, SSM and
// Secrets Manager cost more still in two zones, and a task's security group
// admits nothing but the load balancer, so the address serves no one else.
type Network struct {
	pulumi.ResourceState

	VpcID   string
	VpcCidr string
	// PublicSubnetIDs are the default subnets of two or more zones (the
	// load balancer needs two).
	PublicSubnetIDs []string
	// DBSubnetGroup holds the private subnets.
	DBSubnetGroup                      pulumi.StringOutput
	LoadBalancerSG, TaskSG, DatabaseSG pulumi.StringOutput
}

// NetworkArgs connect a host that is moving to Fargate.
type NetworkArgs struct {
	// HostSG, when set, is the host's security group during a move: it
	// may reach the database to copy its data in (host/move-to-rds).
	HostSG pulumi.StringOutput
}

// NewNetwork declares the private subnets and the security groups.
func NewNetwork(ctx *pulumi.Context, name string, cfg Config, args NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	n := &Network{}
	if err := ctx.RegisterComponentResource("blogstack:index:Network", name, n, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(n)
	isDefault := true
	v, err := ec2.LookupVpc(ctx, &ec2.LookupVpcArgs{Default: &isDefault}, parent)
	if err != nil {
		return nil, fmt.Errorf("fargate mode uses the default VPC, and none was found: %w", err)
	}
	n.VpcID, n.VpcCidr = v.Id, v.CidrBlock
	subnets, err := ec2.GetSubnets(ctx, &ec2.GetSubnetsArgs{Filters: []ec2.GetSubnetsFilter{
		{Name: "vpc-id", Values: []string{v.Id}},
		{Name: "default-for-az", Values: []string{"true"}},
	}}, parent)
	if err != nil {
		return nil, err
	}
	ids := append([]string{}, subnets.Ids...)
	sort.Strings(ids)
	// One subnet per zone, zones in name order: the database's private
	// subnets go to the first two.
	byZone := map[string]string{}
	for _, id := range ids {
		s, err := ec2.LookupSubnet(ctx, &ec2.LookupSubnetArgs{Id: &id}, parent)
		if err != nil {
			return nil, err
		}
		if _, seen := byZone[s.AvailabilityZone]; !seen {
			byZone[s.AvailabilityZone] = id
		}
	}
	zones := make([]string, 0, len(byZone))
	for z := range byZone {
		zones = append(zones, z)
	}
	sort.Strings(zones)
	if len(zones) < 2 {
		return nil, fmt.Errorf("fargate mode needs default subnets in two availability zones; the default VPC %s has %d", v.Id, len(zones))
	}
	for _, z := range zones {
		n.PublicSubnetIDs = append(n.PublicSubnetIDs, byZone[z])
	}

	// The private subnets share a route table with no route out: only the
	// VPC's local route.
	routes, err := ec2.NewRouteTable(ctx, name+"-private-routes", &ec2.RouteTableArgs{
		VpcId: pulumi.String(v.Id),
		Tags:  cfg.Tags(name + "-private-routes"),
	}, parent)
	if err != nil {
		return nil, err
	}
	var private pulumi.StringArray
	for i, cidr := range cfg.Fargate.DBSubnetCidrs {
		sn := fmt.Sprintf("%s-private-%d", name, i+1)
		s, err := ec2.NewSubnet(ctx, sn, &ec2.SubnetArgs{
			VpcId:               pulumi.String(v.Id),
			CidrBlock:           pulumi.String(cidr),
			AvailabilityZone:    pulumi.String(zones[i]),
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags:                cfg.Tags(sn),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, sn+"-routes", &ec2.RouteTableAssociationArgs{
			SubnetId: s.ID(), RouteTableId: routes.ID(),
		}, parent); err != nil {
			return nil, err
		}
		private = append(private, s.ID().ToStringOutput())
	}
	group, err := rds.NewSubnetGroup(ctx, name+"-db-subnets", &rds.SubnetGroupArgs{
		Description: pulumi.String("The blog's database " + cfg.Prefix + ": private subnets, no route out"),
		SubnetIds:   private,
		Tags:        cfg.Tags(name + "-db-subnets"),
	}, parent)
	if err != nil {
		return nil, err
	}
	n.DBSubnetGroup = group.Name

	sg := func(role, description string) (pulumi.StringOutput, error) {
		g, err := ec2.NewSecurityGroup(ctx, name+"-"+role+"-sg", &ec2.SecurityGroupArgs{
			Description: pulumi.String(description),
			VpcId:       pulumi.String(v.Id),
			// The rules are resources of their own (below), because the
			// groups refer to each other; without inline rules the
			// provider still removes AWS's default allow-all egress.
			Tags: cfg.Tags(name + "-" + role + "-sg"),
		}, parent)
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		return g.ID().ToStringOutput(), nil
	}
	if n.LoadBalancerSG, err = sg("lb", "Blog load balancer "+cfg.Prefix+": HTTP and HTTPS from anywhere, out to the tasks"); err != nil {
		return nil, err
	}
	if n.TaskSG, err = sg("task", "Blog tasks "+cfg.Prefix+": the app port from the load balancer only"); err != nil {
		return nil, err
	}
	if n.DatabaseSG, err = sg("db", "Blog database "+cfg.Prefix+": PostgreSQL from the tasks only"); err != nil {
		return nil, err
	}

	type rule struct {
		name, description string
		group             pulumi.StringOutput
		port              int
		cidr, cidr6       string
		peer              pulumi.StringOutput
		egress            bool
	}
	var none pulumi.StringOutput
	rules := []rule{
		{"lb-http", "HTTP from anywhere (redirected to HTTPS)", n.LoadBalancerSG, 80, "0.0.0.0/0", "", none, false},
		{"lb-http6", "HTTP from anywhere (redirected to HTTPS)", n.LoadBalancerSG, 80, "", "::/0", none, false},
		{"lb-https", "HTTPS from anywhere", n.LoadBalancerSG, 443, "0.0.0.0/0", "", none, false},
		{"lb-https6", "HTTPS from anywhere", n.LoadBalancerSG, 443, "", "::/0", none, false},
		{"lb-to-task", "to the tasks' app port", n.LoadBalancerSG, AppPort, "", "", n.TaskSG, true},
		{"task-from-lb", "the app port from the load balancer", n.TaskSG, AppPort, "", "", n.LoadBalancerSG, false},
		{"task-to-db", "to PostgreSQL", n.TaskSG, 5432, "", "", n.DatabaseSG, true},
		{"task-to-web", "to AWS APIs and ECR over HTTPS", n.TaskSG, 443, "0.0.0.0/0", "", none, true},
		{"db-from-task", "PostgreSQL from the tasks", n.DatabaseSG, 5432, "", "", n.TaskSG, false},
	}
	if args.HostSG != (pulumi.StringOutput{}) {
		rules = append(rules, rule{"db-from-host", "PostgreSQL from the host while it moves to Fargate", n.DatabaseSG, 5432, "", "", args.HostSG, false})
	}
	for _, r := range rules {
		rn := name + "-" + r.name
		var cidr, cidr6, peer pulumi.StringPtrInput
		if r.cidr != "" {
			cidr = pulumi.String(r.cidr)
		}
		if r.cidr6 != "" {
			cidr6 = pulumi.String(r.cidr6)
		}
		if r.peer != none {
			peer = r.peer
		}
		if r.egress {
			_, err = vpc.NewSecurityGroupEgressRule(ctx, rn, &vpc.SecurityGroupEgressRuleArgs{
				SecurityGroupId: r.group, Description: pulumi.String(r.description), IpProtocol: pulumi.String("tcp"),
				FromPort: pulumi.Int(r.port), ToPort: pulumi.Int(r.port),
				CidrIpv4: cidr, CidrIpv6: cidr6, ReferencedSecurityGroupId: peer, Tags: cfg.Tags(rn),
			}, parent)
		} else {
			_, err = vpc.NewSecurityGroupIngressRule(ctx, rn, &vpc.SecurityGroupIngressRuleArgs{
				SecurityGroupId: r.group, Description: pulumi.String(r.description), IpProtocol: pulumi.String("tcp"),
				FromPort: pulumi.Int(r.port), ToPort: pulumi.Int(r.port),
				CidrIpv4: cidr, CidrIpv6: cidr6, ReferencedSecurityGroupId: peer, Tags: cfg.Tags(rn),
			}, parent)
		}
		if err != nil {
			return nil, err
		}
	}
	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{
		"dbSubnetGroup": n.DBSubnetGroup, "taskSecurityGroup": n.TaskSG,
	})
}
