package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DNS points the stack's domain at the host: prod's Elastic IP, a preview's
// instance address.
type DNS struct {
	pulumi.ResourceState

	FQDN pulumi.StringOutput
}

// NewDNS declares an A record (TTL 60, so a new address spreads quickly) in
// the public hosted zone found by name.
func NewDNS(ctx *pulumi.Context, name string, cfg Config, ip pulumi.StringOutput, opts ...pulumi.ResourceOption) (*DNS, error) {
	d := &DNS{}
	if err := ctx.RegisterComponentResource("blogstack:index:DNS", name, d, opts...); err != nil {
		return nil, err
	}
	private := false
	zone, err := route53.LookupZone(ctx, &route53.LookupZoneArgs{Name: &cfg.HostedZone, PrivateZone: &private}, pulumi.Parent(d))
	if err != nil {
		return nil, err
	}
	record, err := route53.NewRecord(ctx, name+"-a", &route53.RecordArgs{
		ZoneId:  pulumi.String(zone.ZoneId),
		Name:    pulumi.String(cfg.Domain),
		Type:    pulumi.String("A"),
		Ttl:     pulumi.Int(60),
		Records: pulumi.StringArray{ip},
	}, pulumi.Parent(d))
	if err != nil {
		return nil, err
	}
	d.FQDN = record.Fqdn
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{"fqdn": d.FQDN})
}
