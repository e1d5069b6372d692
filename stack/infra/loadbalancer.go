package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TLSPolicy is the HTTPS listener's security policy: TLS 1.3 and 1.2 with
// forward-secret AEAD ciphers only (AWS's recommended policy).
const TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// DeregistrationDelay is how long the load balancer lets a task that is
// leaving finish the requests it has, in seconds. ECS stops the task only
// after it: the app's own drain (BLOG_SHUTDOWN_DELAY, then at most 15 s
// of shutdown) starts once no new request can reach it, and a request
// runs at most about 10 s (the app's per-request database bound).
const DeregistrationDelay = 15

// ALBLogsPrefix is where the load balancer writes its access logs in the
// logs bucket.
const ALBLogsPrefix = "alb"

// LoadBalancer is fargate mode's front door: an internet-facing ALB with
// an ACM certificate validated in the hosted zone, HTTPS on a modern TLS
// policy, HTTP redirected to HTTPS, malformed header fields dropped, and
// access logs in a bucket of their own.
type LoadBalancer struct {
	pulumi.ResourceState

	DNSName, ZoneID pulumi.StringOutput
	// TargetGroupArn is where the service registers its tasks; the
	// suffixes are CloudWatch's dimensions.
	TargetGroupArn, TargetGroupSuffix, Suffix pulumi.StringOutput
	// Listener is the HTTPS listener: the service waits for it.
	Listener pulumi.Resource
}

// LoadBalancerArgs place the load balancer.
type LoadBalancerArgs struct {
	Network   *Network
	Account   string
	Partition string
}

// NewLoadBalancer declares the certificate, the logs bucket, the ALB, its
// target group and listeners.
func NewLoadBalancer(ctx *pulumi.Context, name string, cfg Config, args LoadBalancerArgs, opts ...pulumi.ResourceOption) (*LoadBalancer, error) {
	l := &LoadBalancer{}
	if err := ctx.RegisterComponentResource("blogstack:index:LoadBalancer", name, l, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(l)
	prod := !cfg.Preview

	// The certificate, validated by a record in the site's hosted zone.
	private := false
	zone, err := route53.LookupZone(ctx, &route53.LookupZoneArgs{Name: &cfg.HostedZone, PrivateZone: &private}, parent)
	if err != nil {
		return nil, err
	}
	cert, err := acm.NewCertificate(ctx, name+"-cert", &acm.CertificateArgs{
		DomainName:       pulumi.String(cfg.Domain),
		ValidationMethod: pulumi.String("DNS"),
		KeyAlgorithm:     pulumi.String("EC_prime256v1"),
		Tags:             cfg.Tags(name + "-cert"),
	}, parent)
	if err != nil {
		return nil, err
	}
	option := cert.DomainValidationOptions.Index(pulumi.Int(0))
	proof, err := route53.NewRecord(ctx, name+"-cert-validation", &route53.RecordArgs{
		ZoneId:         pulumi.String(zone.ZoneId),
		Name:           option.ResourceRecordName().Elem(),
		Type:           option.ResourceRecordType().Elem(),
		Records:        pulumi.StringArray{option.ResourceRecordValue().Elem()},
		Ttl:            pulumi.Int(300),
		AllowOverwrite: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, err
	}
	valid, err := acm.NewCertificateValidation(ctx, name+"-cert-valid", &acm.CertificateValidationArgs{
		CertificateArn:        cert.Arn,
		ValidationRecordFqdns: pulumi.StringArray{proof.Fqdn},
	}, parent)
	if err != nil {
		return nil, err
	}

	// Access logs: ALBs write them only to S3-managed encryption.
	elbAccount, err := elb.GetServiceAccount(ctx, &elb.GetServiceAccountArgs{Region: &cfg.Region}, parent)
	if err != nil {
		return nil, err
	}
	logs, err := privateBucket(ctx, name+"-logs", cfg, bucketArgs{
		S3Managed: true,
		Lifecycle: &s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:         pulumi.String("expire-logs"),
			Status:     pulumi.String("Enabled"),
			Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(LogRetentionDays(cfg))},
			NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
				NoncurrentDays: pulumi.Int(1),
			},
		},
		Policy: func(arn string) string { return albLogsBucketPolicy(arn, elbAccount.Arn, args.Account) },
	}, parent)
	if err != nil {
		return nil, err
	}

	alb, err := lb.NewLoadBalancer(ctx, name, &lb.LoadBalancerArgs{
		LoadBalancerType:         pulumi.String("application"),
		Internal:                 pulumi.Bool(false),
		SecurityGroups:           pulumi.StringArray{args.Network.LoadBalancerSG},
		Subnets:                  pulumi.ToStringArray(args.Network.PublicSubnetIDs),
		DropInvalidHeaderFields:  pulumi.Bool(true),
		DesyncMitigationMode:     pulumi.String("defensive"),
		EnableHttp2:              pulumi.Bool(true),
		IdleTimeout:              pulumi.Int(60),
		EnableDeletionProtection: pulumi.Bool(prod),
		AccessLogs: &lb.LoadBalancerAccessLogsArgs{
			Bucket: logs.Bucket, Prefix: pulumi.String(ALBLogsPrefix), Enabled: pulumi.Bool(true),
		},
		Tags: cfg.Tags(name),
	}, parent)
	if err != nil {
		return nil, err
	}
	tg, err := lb.NewTargetGroup(ctx, name+"-app", &lb.TargetGroupArgs{
		TargetType:          pulumi.String("ip"),
		Port:                pulumi.Int(AppPort),
		Protocol:            pulumi.String("HTTP"),
		VpcId:               pulumi.String(args.Network.VpcID),
		DeregistrationDelay: pulumi.Int(DeregistrationDelay),
		// A task is healthy when its database answers (/readyz), and
		// leaves at once when it starts draining (503).
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Path: pulumi.String("/readyz"), Matcher: pulumi.String("200"), Protocol: pulumi.String("HTTP"),
			Interval: pulumi.Int(10), Timeout: pulumi.Int(5), HealthyThreshold: pulumi.Int(2), UnhealthyThreshold: pulumi.Int(2),
		},
		Tags: cfg.Tags(name + "-app"),
	}, parent)
	if err != nil {
		return nil, err
	}
	https, err := lb.NewListener(ctx, name+"-https", &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn,
		Port:            pulumi.Int(443),
		Protocol:        pulumi.String("HTTPS"),
		SslPolicy:       pulumi.String(TLSPolicy),
		CertificateArn:  valid.CertificateArn,
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("forward"), TargetGroupArn: tg.Arn,
		}},
		Tags: cfg.Tags(name + "-https"),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := lb.NewListener(ctx, name+"-http", &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn,
		Port:            pulumi.Int(80),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: &lb.ListenerDefaultActionRedirectArgs{
				Protocol: pulumi.String("HTTPS"), Port: pulumi.String("443"), StatusCode: pulumi.String("HTTP_301"),
			},
		}},
		Tags: cfg.Tags(name + "-http"),
	}, parent); err != nil {
		return nil, err
	}
	l.DNSName, l.ZoneID, l.Suffix = alb.DnsName, alb.ZoneId, alb.ArnSuffix
	l.TargetGroupArn, l.TargetGroupSuffix, l.Listener = tg.Arn, tg.ArnSuffix, https
	return l, ctx.RegisterResourceOutputs(l, pulumi.Map{"dnsName": l.DNSName})
}

// albLogsBucketPolicy refuses plain HTTP and lets Elastic Load Balancing
// write this account's logs under ALBLogsPrefix: the Region's ELB account
// for Regions older than August 2022, the log delivery service for newer
// ones (AWS documents both).
func albLogsBucketPolicy(bucketArn, elbAccountArn, account string) string {
	p := PolicyDocument{}
	_ = unmarshal(tlsOnlyBucketPolicy(bucketArn), &p)
	p.Statement = append(p.Statement, Statement{
		Sid: "LoadBalancerWritesAccessLogs", Effect: "Allow",
		Principal: map[string]any{"AWS": elbAccountArn, "Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
		Action:    []string{"s3:PutObject"},
		Resource:  []string{bucketArn + "/" + ALBLogsPrefix + "/AWSLogs/" + account + "/*"},
	})
	return p.JSON()
}
