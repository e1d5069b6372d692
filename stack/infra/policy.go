package infra

import (
	"encoding/json"
	"fmt"
)

// PolicyDocument is an IAM policy document. Policies are built as values, not
// strings, so tests can read every statement.
type PolicyDocument struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM policy statement.
type Statement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Principal map[string]any            `json:"Principal,omitempty"`
	Action    []string                  `json:"Action"`
	Resource  []string                  `json:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// JSON renders the document.
func (p PolicyDocument) JSON() string {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // unreachable: plain strings and maps
	}
	return string(b)
}

func assumeRolePolicy(service string) string {
	return trustPolicy(map[string]any{"Service": service})
}

// trustPolicy lets principal (and no one else) assume a role.
func trustPolicy(principal map[string]any) string {
	return PolicyDocument{Version: "2012-10-17", Statement: []Statement{{
		Effect:    "Allow",
		Principal: principal,
		Action:    []string{"sts:AssumeRole"},
	}}}.JSON()
}

// UnscopableActions are the actions the host needs that IAM cannot limit to a
// resource: the only ones allowed on "*". The SSM agent's messaging and
// registration calls have no resource types; ECR hands out a registry-wide
// token.
var UnscopableActions = []string{
	"ecr:GetAuthorizationToken",
	"ssm:UpdateInstanceInformation",
	"ssm:ListAssociations",
	"ssm:ListInstanceAssociations",
	"ssm:DescribeAssociation",
	"ssm:UpdateAssociationStatus",
	"ssm:UpdateInstanceAssociationStatus",
	"ssm:PutComplianceItems",
	"ssm:PutInventory",
	"ssmmessages:CreateControlChannel",
	"ssmmessages:CreateDataChannel",
	"ssmmessages:OpenControlChannel",
	"ssmmessages:OpenDataChannel",
	"ec2messages:AcknowledgeMessage",
	"ec2messages:DeleteMessage",
	"ec2messages:FailMessage",
	"ec2messages:GetEndpoint",
	"ec2messages:GetMessages",
	"ec2messages:SendReply",
}

// HostPolicyArgs are the ARNs the host's role is limited to.
type HostPolicyArgs struct {
	Partition, Region, Account string
	RepositoryArn              string
	ParameterPrefix            string // "/blog/prod"
	DocumentName               string
	BucketArn                  string
	// LogGroupPrefix starts the names of the stack's log groups (see
	// LogGroupName); MetricsNamespace is the stack's own namespace.
	LogGroupPrefix, MetricsNamespace string
	// MediaRoleArn is the stack's media role, which the host assumes to
	// hand the app its media-only credentials (host/media-credentials).
	MediaRoleArn string
	// DatabaseSecretArn, during a move to Fargate only, is the RDS admin's
	// secret, which host/move-to-rds reads to restore into RDS.
	DatabaseSecretArn string
}

// Bucket prefixes the host may write: database dumps and deploy output.
const (
	BackupPrefix     = "backups/"
	DeployLogsPrefix = "deploy-logs/"
)

// HostPolicy is the instance role's only policy: pull from its repository,
// be managed through SSM, read its own parameters and deploy document,
// write its backup and deploy-log prefixes, its own log groups (Docker's
// awslogs driver, the CloudWatch agent, the host scripts) and its own
// metrics namespace, and assume the media role for the app (and, while the
// stack moves to Fargate, read the RDS admin's secret). Nothing else:
// the media themselves are the media role's (MediaPolicy), so the app's
// credentials never carry the host's own permissions.
func HostPolicy(a HostPolicyArgs) PolicyDocument {
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", a.Partition, service, a.Region, a.Account, resource)
	}
	p := PolicyDocument{Version: "2012-10-17", Statement: []Statement{
		{Sid: "AgentAndRegistryToken", Effect: "Allow", Action: UnscopableActions, Resource: []string{"*"}},
		{Sid: "PullOwnRepository", Effect: "Allow",
			Action:   []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"},
			Resource: []string{a.RepositoryArn}},
		{Sid: "ReadOwnParameters", Effect: "Allow",
			Action:   []string{"ssm:GetParameter", "ssm:GetParameters"},
			Resource: []string{arn("ssm", "parameter"+a.ParameterPrefix+"/*")}},
		{Sid: "ReadDeployDocument", Effect: "Allow",
			Action:   []string{"ssm:DescribeDocument", "ssm:GetDocument"},
			Resource: []string{arn("ssm", "document/"+a.DocumentName)}},
		{Sid: "WriteBackupsAndDeployLogs", Effect: "Allow",
			Action:   []string{"s3:GetObject", "s3:PutObject"},
			Resource: []string{a.BucketArn + "/" + BackupPrefix + "*", a.BucketArn + "/" + DeployLogsPrefix + "*"}},
		{Sid: "FindOwnLogStreams", Effect: "Allow",
			Action:   []string{"logs:DescribeLogStreams"},
			Resource: logArns(arn, a.LogGroupPrefix, "")},
		{Sid: "WriteOwnLogs", Effect: "Allow",
			Action:   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resource: logArns(arn, a.LogGroupPrefix, ":log-stream:*")},
		// PutMetricData has no resource; the namespace is its only scope.
		{Sid: "WriteOwnMetrics", Effect: "Allow",
			Action:    []string{"cloudwatch:PutMetricData"},
			Resource:  []string{"*"},
			Condition: map[string]map[string]any{"StringEquals": {"cloudwatch:namespace": a.MetricsNamespace}}},
		{Sid: "ListBackups", Effect: "Allow",
			Action:    []string{"s3:ListBucket"},
			Resource:  []string{a.BucketArn},
			Condition: map[string]map[string]any{"StringLike": {"s3:prefix": []string{BackupPrefix + "*"}}}},
		{Sid: "AssumeMediaRole", Effect: "Allow",
			Action:   []string{"sts:AssumeRole"},
			Resource: []string{a.MediaRoleArn}},
	}}
	if a.DatabaseSecretArn != "" {
		p.Statement = append(p.Statement, Statement{Sid: "ReadDatabaseSecretWhileMoving", Effect: "Allow",
			Action:   []string{"secretsmanager:GetSecretValue"},
			Resource: []string{a.DatabaseSecretArn}})
	}
	return p
}

// logArns are the ARNs of a stack's log groups, each followed by suffix
// (":log-stream:*" for their streams).
func logArns(arn func(service, resource string) string, prefix, suffix string) []string {
	var out []string
	for _, svc := range LogServices {
		out = append(out, arn("logs", "log-group:"+LogGroupName(prefix, svc)+suffix))
	}
	return out
}

// MediaPolicy is the media role's only policy: what the blog does with
// uploads (store, serve, delete) below MediaPrefix of its media bucket, and
// list the bucket. Nothing else.
func MediaPolicy(mediaBucketArn string) PolicyDocument {
	return PolicyDocument{Version: "2012-10-17", Statement: []Statement{
		{Sid: "KeepMedia", Effect: "Allow",
			Action:   []string{"s3:DeleteObject", "s3:GetObject", "s3:PutObject"},
			Resource: []string{mediaBucketArn + "/" + MediaPrefix + "*"}},
		// Without it S3 answers 403 instead of 404 for a file that is not
		// there; the bucket holds nothing but media.
		{Sid: "ListMedia", Effect: "Allow",
			Action:   []string{"s3:ListBucket"},
			Resource: []string{mediaBucketArn}},
	}}
}

// MediaRoleArnPattern matches the ARN of a stack's media role, which Pulumi
// names <prefix>-media-role-<suffix>.
func MediaRoleArnPattern(partition, account, prefix string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s-media-role-*", partition, account, prefix)
}

func unmarshal(doc string, v any) error { return json.Unmarshal([]byte(doc), v) }

// tlsOnlyBucketPolicy refuses any request to the bucket that is not over TLS.
func tlsOnlyBucketPolicy(bucketArn string) string {
	return PolicyDocument{Version: "2012-10-17", Statement: []Statement{{
		Sid: "DenyInsecureTransport", Effect: "Deny",
		Principal: map[string]any{"AWS": "*"},
		Action:    []string{"s3:*"},
		Resource:  []string{bucketArn, bucketArn + "/*"},
		Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}},
	}}}.JSON()
}
