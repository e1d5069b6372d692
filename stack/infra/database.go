package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PostgresMajor is the PostgreSQL major version of both modes: the compose
// file's db image and RDS's engine (TestRDSRunsTheComposeFilesPostgreSQL
// checks they agree).
const PostgresMajor = "18"

// Database users in fargate mode. The admin's password is RDS's own
// (kept in Secrets Manager, rotated by RDS, never in Pulumi's state); only
// the migrate task reads it. The app connects as AppDBUser with an RDS IAM
// token its task role signs, so no password reaches the serving tasks.
const (
	AdminDBUser = "blog_admin"
	AppDBUser   = "blog"
	DBName      = "blog"
)

// DatabaseLogs are the logs RDS exports to CloudWatch.
var DatabaseLogs = []string{"postgresql", "upgrade"}

// DatabaseLogGroup is the log group RDS exports one of them to (RDS's own
// naming).
func DatabaseLogGroup(prefix, kind string) string {
	return "/aws/rds/instance/" + prefix + "-db/" + kind
}

// Database is fargate mode's PostgreSQL: one RDS instance in the private
// subnets, encrypted, never public, TLS only, IAM authentication on, with
// automated backups; in prod also deletion protection, a final snapshot
// and Pulumi's protect.
type Database struct {
	pulumi.ResourceState

	// Address is the instance's DNS name, Endpoint address:port.
	Address, Endpoint pulumi.StringOutput
	// ResourceID names the instance in rds-db:connect ARNs (db-...).
	ResourceID pulumi.StringOutput
	// SecretArn is the Secrets Manager secret RDS keeps the admin's
	// user name and password in.
	SecretArn pulumi.StringOutput
	// InstanceID is the instance's identifier (CloudWatch's dimension).
	InstanceID pulumi.StringOutput
}

// DatabaseArgs place the database.
type DatabaseArgs struct {
	SubnetGroup   pulumi.StringOutput
	SecurityGroup pulumi.StringOutput
}

// NewDatabase declares the parameter group and the instance.
func NewDatabase(ctx *pulumi.Context, name string, cfg Config, args DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error) {
	d := &Database{}
	if err := ctx.RegisterComponentResource("blogstack:index:Database", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)
	params, err := rds.NewParameterGroup(ctx, name+"-params", &rds.ParameterGroupArgs{
		Family:      pulumi.String("postgres" + PostgresMajor),
		Description: pulumi.String("The blog's database " + cfg.Prefix),
		Parameters: rds.ParameterGroupParameterArray{
			// Refuse unencrypted connections (RDS's default since 15, said
			// here so no one has to know that).
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("rds.force_ssl"), Value: pulumi.String("1")},
			// Statements slower than a second reach the log group.
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("log_min_duration_statement"), Value: pulumi.String("1000")},
		},
		Tags: cfg.Tags(name + "-params"),
	}, parent)
	if err != nil {
		return nil, err
	}
	// The log groups RDS exports to, made first so that they get the
	// stack's retention (RDS would make them to keep forever). They use
	// CloudWatch's own encryption: the logs key's policy admits only the
	// stack's blog-* groups.
	var logGroups []pulumi.Resource
	for _, kind := range DatabaseLogs {
		g, err := cloudwatch.NewLogGroup(ctx, name+"-logs-"+kind, &cloudwatch.LogGroupArgs{
			Name:            pulumi.String(DatabaseLogGroup(cfg.Prefix, kind)),
			RetentionInDays: pulumi.Int(LogRetentionDays(cfg)),
			Tags:            cfg.Tags(name + "-logs-" + kind),
		}, parent)
		if err != nil {
			return nil, err
		}
		logGroups = append(logGroups, g)
	}
	prod := !cfg.Preview
	f := cfg.Fargate
	dbArgs := &rds.InstanceArgs{
		Identifier:    pulumi.String(cfg.Prefix + "-db"),
		Engine:        pulumi.String("postgres"),
		EngineVersion: pulumi.String(PostgresMajor),
		// Minor versions arrive in the maintenance window; a major
		// upgrade is a deliberate change of PostgresMajor.
		AutoMinorVersionUpgrade:          pulumi.Bool(true),
		AllowMajorVersionUpgrade:         pulumi.Bool(false),
		InstanceClass:                    pulumi.String(f.DBInstanceClass),
		AllocatedStorage:                 pulumi.Int(f.DBStorageGB),
		MaxAllocatedStorage:              pulumi.Int(f.DBMaxStorageGB),
		StorageType:                      pulumi.String("gp3"),
		StorageEncrypted:                 pulumi.Bool(true),
		MultiAz:                          pulumi.Bool(f.MultiAZ),
		DbName:                           pulumi.String(DBName),
		Username:                         pulumi.String(AdminDBUser),
		ManageMasterUserPassword:         pulumi.Bool(true),
		IamDatabaseAuthenticationEnabled: pulumi.Bool(true),
		DbSubnetGroupName:                args.SubnetGroup,
		VpcSecurityGroupIds:              pulumi.StringArray{args.SecurityGroup},
		PubliclyAccessible:               pulumi.Bool(false),
		ParameterGroupName:               params.Name,
		CaCertIdentifier:                 pulumi.String("rds-ca-rsa2048-g1"),
		BackupRetentionPeriod:            pulumi.Int(f.BackupDays),
		BackupWindow:                     pulumi.String("02:00-03:00"),
		MaintenanceWindow:                pulumi.String("sun:03:30-sun:04:30"),
		CopyTagsToSnapshot:               pulumi.Bool(true),
		DeletionProtection:               pulumi.Bool(prod),
		SkipFinalSnapshot:                pulumi.Bool(!prod),
		// Automated backups go with a preview's instance; prod keeps
		// them for their retention after a deletion.
		DeleteAutomatedBackups:       pulumi.Bool(!prod),
		EnabledCloudwatchLogsExports: pulumi.ToStringArray(DatabaseLogs),
		// Changes wait for the maintenance window unless a run says
		// otherwise: a resize never restarts the database by surprise.
		ApplyImmediately: pulumi.Bool(false),
		Tags:             cfg.Tags(name),
	}
	if prod {
		dbArgs.FinalSnapshotIdentifier = pulumi.String(cfg.Prefix + "-db-final")
	}
	db, err := rds.NewInstance(ctx, name, dbArgs, parent, cfg.protectUnlessPreview(), pulumi.DependsOn(logGroups))
	if err != nil {
		return nil, err
	}
	d.Address, d.Endpoint, d.ResourceID, d.InstanceID = db.Address, db.Endpoint, db.ResourceId, db.Identifier
	d.SecretArn = db.MasterUserSecrets.Index(pulumi.Int(0)).SecretArn().Elem()
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{"endpoint": d.Endpoint, "secretArn": d.SecretArn})
}
