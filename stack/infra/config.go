package infra

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Config is everything the program needs, read once from the stack's config
// and the stack name, and validated before any resource is declared.
type Config struct {
	Project string
	Stack   string
	// Preview is true for pr-<number> stacks: a throwaway copy of prod.
	Preview bool
	// Prefix starts every resource name, so that prod and pr-12 never collide.
	Prefix string
	// Mode is how the app runs: ModeHost (one EC2 host running compose)
	// or ModeFargate (ECS Fargate behind an ALB, PostgreSQL on RDS).
	Mode string
	// Move is a host stack's move to Fargate under way (MovePrepared,
	// MoveSwitched) or "": while it is set, the host's resources stay
	// beside Fargate's (see HostKept and DNSOnHost).
	Move string
	// Fargate holds fargate mode's sizes.
	Fargate FargateConfig

	Region         string
	Domain         string
	HostedZone     string
	InstanceType   string
	Arch           string // "x86_64" or "arm64", from the instance family
	DataVolumeSize int
	// ImageTag and DeployID are what to deploy, given on the command line
	// by the deploy workflow, never committed; both empty means "keep the
	// running release" (see ResolveRelease).
	ImageTag  string
	DeployID  string
	AcmeEmail string
	// LogsKmsKeyID is the multi-Region KMS key (mrk-...) the one-time setup
	// created: it encrypts the log groups and alert topics of every stack.
	LogsKmsKeyID string
	// AlertEmail is subscribed to the stack's alarms (full stacks only:
	// previews copy prod's config but page nobody).
	AlertEmail string
	// SubnetID is the configured subnet; empty keeps the one the stack
	// already uses (see chooseNetwork).
	SubnetID string
	// AmiID pins the host's AMI; empty keeps the running host's.
	AmiID string
	// DataSnapshotID, when set, is the snapshot the data volume is created
	// from (moving the host to another availability zone).
	DataSnapshotID string
	// PermissionsBoundary is the ARN of the managed policy every IAM role
	// the program creates carries as its permissions boundary.
	PermissionsBoundary string
	// ProdStack is the fully qualified stack whose outputs name the registry
	// (preview stacks only).
	ProdStack         string
	SnapshotRetain    int
	BackupExpireDays  int
	DeployTimeoutSecs int
}

// Modes and the steps of a move from one to the other.
const (
	ModeHost    = "host"
	ModeFargate = "fargate"
	// MovePrepared: Fargate's resources are up beside the host, DNS still
	// points at the host (also where a rollback returns to).
	MovePrepared = "prepared"
	// MoveSwitched: DNS points at the load balancer; the host still runs.
	MoveSwitched = "switched"
)

// FargateConfig sizes fargate mode.
type FargateConfig struct {
	// DBInstanceClass, DBStorageGB and DBMaxStorageGB size the RDS
	// instance (storage grows by itself up to the maximum).
	DBInstanceClass string
	DBStorageGB     int
	DBMaxStorageGB  int
	// MultiAZ keeps a standby database in a second availability zone.
	MultiAZ bool
	// BackupDays is how long RDS keeps automated backups.
	BackupDays int
	// MinTasks and MaxTasks bound the service's autoscaling; MinTasks is
	// at least 2 so the tasks span two availability zones.
	MinTasks, MaxTasks int
	// TaskCPU (CPU units) and TaskMemory (MiB) size each task, a Fargate
	// combination.
	TaskCPU, TaskMemory int
	// DBSubnetCidrs are the two private subnets the stack adds to the VPC
	// for the database, one per availability zone.
	DBSubnetCidrs []string
}

// HostKept says whether the host's resources exist: always in host mode,
// and in fargate mode while a move is under way.
func (c Config) HostKept() bool { return c.Mode == ModeHost || c.Move != "" }

// FargateOn says whether Fargate's resources exist.
func (c Config) FargateOn() bool { return c.Mode == ModeFargate }

// DNSOnHost says whether the site's name points at the host.
func (c Config) DNSOnHost() bool { return c.Mode == ModeHost || c.Move == MovePrepared }

// Settings is the raw stack configuration: a key's value, or "" when unset.
type Settings func(key string) string

var (
	previewStack = regexp.MustCompile(`^pr-[1-9][0-9]{0,6}$`)
	stackName    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,20}$`)
	domainName   = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	imageTag     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	deployID     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,39}$`)
	subnetID     = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	amiID        = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)
	snapshotID   = regexp.MustCompile(`^snap-[0-9a-f]{8,17}$`)
	logsKeyID    = regexp.MustCompile(`^mrk-[0-9a-f]{32}$`)
	// policyArn is a customer managed IAM policy (AWS managed policies
	// cannot be the boundary the one-time setup writes).
	policyArn = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:policy/[A-Za-z0-9+=,.@_/-]{1,512}$`)
	// instanceType is family.size, e.g. t4g.small, m7i.large, c7gn.2xlarge.
	instanceType = regexp.MustCompile(`^([a-z]+)([0-9]+)([a-z-]*)\.(nano|micro|small|medium|large|metal|[0-9]*xlarge)$`)
)

// instanceClasses are the EC2 family letters this stack supports. Older
// Xen-based families are left out on purpose: the bootstrap finds the data
// volume by its NVMe serial, which only Nitro instances have.
var instanceClasses = map[string]bool{"t": true, "m": true, "c": true, "r": true, "x": true, "z": true, "i": true, "im": true, "is": true, "d": true}

// xenFamilies are the families of supported classes that are not Nitro.
var xenFamilies = map[string]bool{"t1": true, "t2": true, "m1": true, "m2": true, "m3": true, "m4": true, "c1": true, "c3": true, "c4": true, "r3": true, "r4": true, "x1": true, "x1e": true, "i2": true, "i3": true, "d2": true}

// LoadConfig reads the stack's configuration through the Pulumi context.
func LoadConfig(ctx *pulumi.Context) (Config, error) {
	cfg := config.New(ctx, "")
	aws := config.New(ctx, "aws")
	return ParseConfig(ctx.Project(), ctx.Stack(), ctx.Organization(), func(key string) string {
		if key == "aws:region" {
			return aws.Get("region")
		}
		return cfg.Get(key)
	})
}

// ParseConfig derives and validates the configuration; every error names the
// setting (or the stack name) at fault.
func ParseConfig(project, stack, org string, get Settings) (Config, error) {
	c := Config{Project: project, Stack: stack}
	key := func(k string) string { return project + ":" + k }
	if strings.HasPrefix(stack, "pr-") {
		if !previewStack.MatchString(stack) {
			return c, fmt.Errorf("stack name %q: preview stacks must be named pr-<number> (the pull request number, e.g. pr-12)", stack)
		}
		c.Preview = true
	} else if !stackName.MatchString(stack) {
		return c, fmt.Errorf("stack name %q: use lowercase letters, digits and dashes, at most 21 characters", stack)
	}
	c.Prefix = "blog-" + stack

	modeKey := "mode"
	if c.Preview {
		// Previews copy prod's config but stay cheap: host mode unless
		// previewMode says otherwise.
		modeKey = "previewMode"
	}
	c.Mode = or(get(modeKey), ModeHost)
	if c.Mode != ModeHost && c.Mode != ModeFargate {
		return c, fmt.Errorf("config %s: %q is not a mode (want %s or %s)", key(modeKey), c.Mode, ModeHost, ModeFargate)
	}
	c.Move = get("move")
	switch {
	case c.Move == "":
	case c.Move != MovePrepared && c.Move != MoveSwitched:
		return c, fmt.Errorf("config %s: %q is not a step of a move (want %s or %s, or unset it once the move is done)", key("move"), c.Move, MovePrepared, MoveSwitched)
	case c.Mode != ModeFargate:
		return c, fmt.Errorf("config %s is set but %s is %s: a move goes from host to %s (see README.md, \"Moving a host stack to Fargate\")", key("move"), key(modeKey), c.Mode, ModeFargate)
	}

	c.Region = get("aws:region")
	if c.Region == "" {
		return c, fmt.Errorf("config aws:region is required (e.g. pulumi config set aws:region eu-west-1)")
	}
	c.HostedZone = strings.TrimSuffix(get("hostedZone"), ".")
	if !domainName.MatchString(c.HostedZone) {
		return c, fmt.Errorf("config %s is required: the Route 53 public hosted zone that holds the site's record (got %q)", key("hostedZone"), c.HostedZone)
	}
	if c.Preview {
		zone := strings.TrimSuffix(get("previewZone"), ".")
		if zone == "" {
			zone = c.HostedZone
		}
		if !domainName.MatchString(zone) {
			return c, fmt.Errorf("config %s: %q is not a domain name", key("previewZone"), zone)
		}
		c.HostedZone = zone
		c.Domain = stack + "." + zone
	} else {
		c.Domain = strings.TrimSuffix(get("domain"), ".")
		if c.Domain == "" {
			return c, fmt.Errorf("config %s is required: the site's DNS name, e.g. blog.example.com", key("domain"))
		}
		if !domainName.MatchString(c.Domain) {
			return c, fmt.Errorf("config %s: %q is not a lowercase DNS name", key("domain"), c.Domain)
		}
		if c.Domain != c.HostedZone && !strings.HasSuffix(c.Domain, "."+c.HostedZone) {
			return c, fmt.Errorf("config %s: %q is not inside the hosted zone %q (%s)", key("domain"), c.Domain, c.HostedZone, key("hostedZone"))
		}
	}

	typeKey, typeDefault := "instanceType", "t4g.small"
	if c.Preview {
		typeKey, typeDefault = "previewInstanceType", "t4g.micro"
	}
	c.InstanceType = or(get(typeKey), typeDefault)
	arch, err := architecture(c.InstanceType)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", key(typeKey), err)
	}
	c.Arch = arch

	if err := parseInts(get, key, []intSetting{
		{"dataVolumeSize", &c.DataVolumeSize, 20, 1, 16384},
		{"snapshotRetain", &c.SnapshotRetain, 14, 1, 1000},
		{"backupExpireDays", &c.BackupExpireDays, 35, 1, 3650},
		{"deployTimeout", &c.DeployTimeoutSecs, 900, 60, 3600},
	}); err != nil {
		return c, err
	}
	if c.Preview {
		// Previews are throwaway: a week of backups (and no snapshots).
		c.BackupExpireDays = 7
	}
	if c.FargateOn() {
		if err := parseFargate(&c, get, key); err != nil {
			return c, err
		}
	}

	c.ImageTag = get("imageTag")
	if c.ImageTag != "" && !imageTag.MatchString(c.ImageTag) {
		return c, fmt.Errorf("config %s: %q is not a valid image tag", key("imageTag"), c.ImageTag)
	}
	// Images of pull requests are tagged pr-<n>-<sha> in their own
	// repository; a preview runs only its own, prod never runs one.
	if c.Preview && c.ImageTag != "" && !strings.HasPrefix(c.ImageTag, stack+"-") {
		return c, fmt.Errorf("config %s: %q is not an image of this pull request (want %s-<sha>)", key("imageTag"), c.ImageTag, stack)
	}
	if !c.Preview && strings.HasPrefix(c.ImageTag, "pr-") {
		return c, fmt.Errorf("config %s: %q is a pull request's image; %s deploys only images built from main", key("imageTag"), c.ImageTag, stack)
	}
	c.DeployID = get("deployId")
	if c.DeployID != "" && !deployID.MatchString(c.DeployID) {
		return c, fmt.Errorf("config %s: %q must be 1 to 40 letters, digits and dashes, e.g. <run id>-<attempt>", key("deployId"), c.DeployID)
	}
	if c.DeployID != "" && c.ImageTag == "" {
		return c, fmt.Errorf("config %s is set without %s: pass both, or neither to keep the running release", key("deployId"), key("imageTag"))
	}
	c.AcmeEmail = get("acmeEmail")
	if c.AcmeEmail != "" && !strings.Contains(c.AcmeEmail, "@") {
		return c, fmt.Errorf("config %s: %q is not an email address", key("acmeEmail"), c.AcmeEmail)
	}
	c.LogsKmsKeyID = get("logsKms")
	if !logsKeyID.MatchString(c.LogsKmsKeyID) {
		return c, fmt.Errorf("config %s is required: the id of the multi-Region KMS key the one-time setup created for logs and alerts, mrk-<32 hex digits> (got %q)", key("logsKms"), c.LogsKmsKeyID)
	}
	c.AlertEmail = get("alertEmail")
	if c.AlertEmail != "" && !strings.Contains(c.AlertEmail, "@") {
		return c, fmt.Errorf("config %s: %q is not an email address", key("alertEmail"), c.AlertEmail)
	}
	c.SubnetID = get("subnetId")
	if c.SubnetID != "" && !subnetID.MatchString(c.SubnetID) {
		return c, fmt.Errorf("config %s: %q is not a subnet id", key("subnetId"), c.SubnetID)
	}
	c.AmiID = get("amiId")
	if c.AmiID != "" && !amiID.MatchString(c.AmiID) {
		return c, fmt.Errorf("config %s: %q is not an AMI id", key("amiId"), c.AmiID)
	}
	c.DataSnapshotID = get("dataSnapshotId")
	if c.DataSnapshotID != "" && !snapshotID.MatchString(c.DataSnapshotID) {
		return c, fmt.Errorf("config %s: %q is not an EBS snapshot id", key("dataSnapshotId"), c.DataSnapshotID)
	}
	c.PermissionsBoundary = get("permissionsBoundary")
	if c.PermissionsBoundary == "" {
		return c, fmt.Errorf("config %s is required: the ARN of the managed policy the one-time setup created (blogstack-boundary), e.g. arn:aws:iam::123456789012:policy/blogstack-boundary", key("permissionsBoundary"))
	}
	if !policyArn.MatchString(c.PermissionsBoundary) {
		return c, fmt.Errorf("config %s: %q is not the ARN of a customer managed IAM policy (arn:aws:iam::<account>:policy/<name>)", key("permissionsBoundary"), c.PermissionsBoundary)
	}
	c.ProdStack = or(get("prodStack"), org+"/"+project+"/prod")
	if c.Preview && strings.Count(c.ProdStack, "/") != 2 {
		return c, fmt.Errorf("config %s: %q must be <organization>/<project>/<stack>", key("prodStack"), c.ProdStack)
	}
	return c, nil
}

// fargateTaskSizes are the CPU units Fargate offers and the memory (MiB)
// each allows, from the smallest up to 4 vCPU.
var fargateTaskSizes = map[int][2]int{256: {512, 2048}, 512: {1024, 4096}, 1024: {2048, 8192}, 2048: {4096, 16384}, 4096: {8192, 30720}}

var (
	dbInstanceClass = regexp.MustCompile(`^db\.[a-z0-9]+\.[a-z0-9]+$`)
	privateCidr     = regexp.MustCompile(`^172\.31\.(\d{1,3})\.0/(2[4-8])$`)
)

// parseFargate reads fargate mode's settings. Previews in fargate mode
// are single-AZ with a day of backups: they are throwaway copies.
func parseFargate(c *Config, get Settings, key func(string) string) error {
	f := FargateConfig{DBInstanceClass: or(get("dbInstanceClass"), "db.t4g.micro")}
	if !dbInstanceClass.MatchString(f.DBInstanceClass) {
		return fmt.Errorf("config %s: %q is not an RDS instance class (e.g. db.t4g.micro, db.m7g.large)", key("dbInstanceClass"), f.DBInstanceClass)
	}
	if err := parseInts(get, key, []intSetting{
		{"dbStorage", &f.DBStorageGB, 20, 20, 16384},
		{"dbMaxStorage", &f.DBMaxStorageGB, 100, 20, 65536},
		{"dbBackupDays", &f.BackupDays, 14, 1, 35},
		{"minTasks", &f.MinTasks, 2, 2, 100},
		{"maxTasks", &f.MaxTasks, 4, 2, 100},
		{"taskCpu", &f.TaskCPU, 256, 256, 4096},
		{"taskMemory", &f.TaskMemory, 512, 512, 30720},
	}); err != nil {
		return err
	}
	// RDS grows storage only up to a limit above what it starts with.
	if f.DBMaxStorageGB <= f.DBStorageGB {
		return fmt.Errorf("config %s: %d must be above %s (%d)", key("dbMaxStorage"), f.DBMaxStorageGB, key("dbStorage"), f.DBStorageGB)
	}
	if f.MaxTasks < f.MinTasks {
		return fmt.Errorf("config %s: %d is below %s (%d)", key("maxTasks"), f.MaxTasks, key("minTasks"), f.MinTasks)
	}
	mem, ok := fargateTaskSizes[f.TaskCPU]
	if !ok {
		return fmt.Errorf("config %s: %d is not a Fargate CPU size (256, 512, 1024, 2048 or 4096)", key("taskCpu"), f.TaskCPU)
	}
	if f.TaskMemory < mem[0] || f.TaskMemory > mem[1] || f.TaskMemory%1024 != 0 && f.TaskMemory != 512 {
		return fmt.Errorf("config %s: %d MiB does not go with %s %d (Fargate allows %d to %d MiB, in whole GiB above 512)", key("taskMemory"), f.TaskMemory, key("taskCpu"), f.TaskCPU, mem[0], mem[1])
	}
	switch v := get("multiAz"); v {
	case "", "false":
	case "true":
		f.MultiAZ = true
	default:
		return fmt.Errorf("config %s: %q is not true or false", key("multiAz"), v)
	}
	f.DBSubnetCidrs = []string{"172.31.240.0/24", "172.31.241.0/24"}
	if v := get("dbSubnetCidrs"); v != "" {
		f.DBSubnetCidrs = strings.Split(strings.ReplaceAll(v, " ", ""), ",")
		if len(f.DBSubnetCidrs) != 2 || f.DBSubnetCidrs[0] == f.DBSubnetCidrs[1] {
			return fmt.Errorf("config %s: %q: want two different CIDR blocks, comma-separated", key("dbSubnetCidrs"), v)
		}
	}
	for _, cidr := range f.DBSubnetCidrs {
		m := privateCidr.FindStringSubmatch(cidr)
		if m == nil || len(m[1]) > 1 && m[1][0] == '0' || atoi(m[1]) > 255 {
			return fmt.Errorf("config %s: %q is not a /24 to /28 inside the default VPC's 172.31.0.0/16, e.g. 172.31.240.0/24", key("dbSubnetCidrs"), cidr)
		}
	}
	if c.Preview {
		f.MultiAZ, f.BackupDays = false, 1
	}
	c.Fargate = f
	return nil
}

// architecture maps an instance type to the AMI architecture it needs:
// Graviton families carry a "g" right after the generation (t4g, m7gd, c7gn).
func architecture(t string) (string, error) {
	m := instanceType.FindStringSubmatch(t)
	if m == nil || !instanceClasses[m[1]] {
		return "", fmt.Errorf("unknown instance type %q (want family.size of a general purpose, compute, memory or storage family, e.g. t4g.small or m7i.large)", t)
	}
	if xenFamilies[m[1]+m[2]+m[3]] {
		return "", fmt.Errorf("instance type %q is not a Nitro instance; the data volume is found by its NVMe id (use e.g. t3 or t4g)", t)
	}
	if strings.HasPrefix(m[3], "g") {
		return "arm64", nil
	}
	return "x86_64", nil
}

// intSetting is a whole-number setting: its key, where it goes, its
// default and its bounds.
type intSetting struct {
	name     string
	dst      *int
	def      int
	min, max int
}

// parseInts reads whole-number settings, each its default when unset.
func parseInts(get Settings, key func(string) string, settings []intSetting) error {
	for _, s := range settings {
		*s.dst = s.def
		if v := get(s.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < s.min || n > s.max {
				return fmt.Errorf("config %s: %q is not a whole number from %d to %d", key(s.name), v, s.min, s.max)
			}
			*s.dst = n
		}
	}
	return nil
}

// atoi is strconv.Atoi for strings a pattern has already made digits.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
