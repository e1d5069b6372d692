package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DNS points the stack's domain at what serves it: the host (prod's Elastic
// IP, a preview's instance address) or, in fargate mode, the load balancer.
type DNS struct {
	pulumi.ResourceState

	FQDN pulumi.StringOutput
}

// DNSTarget is the host's address, or the load balancer's name and zone.
type DNSTarget struct {
	IP                   pulumi.StringOutput
	AliasName, AliasZone pulumi.StringOutput
}

// NewDNS declares an A record in the public hosted zone found by name: the
// host's address with TTL 60, so a new address spreads quickly, or an
// alias of the load balancer (whose addresses change; Route 53 follows
// them). Moving between the two updates the one record in place.
func NewDNS(ctx *pulumi.Context, name string, cfg Config, target DNSTarget, opts ...pulumi.ResourceOption) (*DNS, error) {
	d := &DNS{}
	if err := ctx.RegisterComponentResource("blogstack:index:DNS", name, d, opts...); err != nil {
		return nil, err
	}
	private := false
	zone, err := route53.LookupZone(ctx, &route53.LookupZoneArgs{Name: &cfg.HostedZone, PrivateZone: &private}, pulumi.Parent(d))
	if err != nil {
		return nil, err
	}
	args := &route53.RecordArgs{
		ZoneId: pulumi.String(zone.ZoneId),
		Name:   pulumi.String(cfg.Domain),
		Type:   pulumi.String("A"),
	}
	if target.IP != (pulumi.StringOutput{}) {
		args.Ttl, args.Records = pulumi.Int(60), pulumi.StringArray{target.IP}
	} else {
		args.Aliases = route53.RecordAliasArray{&route53.RecordAliasArgs{
			Name: target.AliasName, ZoneId: target.AliasZone, EvaluateTargetHealth: pulumi.Bool(true),
		}}
	}
	record, err := route53.NewRecord(ctx, name+"-a", args, pulumi.Parent(d))
	if err != nil {
		return nil, err
	}
	d.FQDN = record.Fqdn
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{"fqdn": d.FQDN})
}
