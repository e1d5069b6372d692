package iam_test

// providerActions maps each resource type (and function) the program may
// use to the IAM actions pulumi-aws (v6, on terraform-provider-aws) calls to
// create, read, update and delete it.
//
// An entry is "action [resource-type] [key=value ...]": the resource type
// names the one the provider's call carries when it is one of several
// (without it: the types the action requires, or when it requires none,
// every type of the action a sample ARN can be made for); key=value pairs with a colon in the key
// are request context (aws:TagKeys=Name is a tag update that leaves
// blog:stack alone; ec2:CreateAction=RunInstances is tagging on create; an
// empty value removes the key, e.g. a resource without tags yet),
// others replace a sample value of the ARN. A "prod:" or "preview:" prefix
// limits the entry to that stack's role. In an entry, PREFIX stands for the
// stack's blog-<stack>, DOMAIN for its site's name, REGION for its region,
// app/LB for its load balancer's name in an ARN, CLUSTER and SERVICE for
// its ECS cluster's and service's names.
var providerActions = map[string][]string{
	// Nothing to authorize: the engine, components, providers, generators.
	"pulumi:pulumi:Stack":                           nil,
	"pulumi:providers:aws":                          nil,
	"pulumi:providers:random":                       nil,
	"random:index/randomPassword:RandomPassword":    nil,
	"aws:index/getCallerIdentity:getCallerIdentity": nil, // sts:GetCallerIdentity needs no permission
	"aws:index/getPartition:getPartition":           nil,
	// A StackReference reads prod's state file: TestPreviewRoleBoundaries
	// checks that read.
	"pulumi:pulumi:StackReference": nil,

	// ELB's account for the access logs' bucket policy: a table in the
	// provider, no call.
	"aws:elb/getServiceAccount:getServiceAccount": nil,

	"aws:ec2/getVpc:getVpc":         {"ec2:DescribeVpcs"},
	"aws:ec2/getSubnets:getSubnets": {"ec2:DescribeSubnets"},
	"aws:ec2/getSubnet:getSubnet":   {"ec2:DescribeSubnets"},
	"aws:ssm/getParameter:getParameter": {
		"ssm:GetParameter ParameterNameWithoutLeadingSlash=aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
	},
	"aws:route53/getZone:getZone": {"route53:ListHostedZones", "route53:GetHostedZone", "route53:ListTagsForResource hostedzone"},

	// Monitoring (stack/infra/monitoring.go). The readyz alarm and its
	// topic are prod's only and live in us-east-1. The KMS key is the
	// one-time setup's: no role manages keys.
	"aws:cloudwatch/logGroup:LogGroup": {
		"logs:CreateLogGroup", "logs:TagResource", "logs:PutRetentionPolicy", "logs:DescribeLogGroups",
		"logs:ListTagsForResource", "logs:AssociateKmsKey", "logs:DisassociateKmsKey", "logs:DeleteRetentionPolicy",
		"logs:UntagResource aws:TagKeys=Name", "logs:DeleteLogGroup",
		// RDS's export groups, which fargate mode makes for their retention.
		"logs:CreateLogGroup LogGroupName=/aws/rds/instance/PREFIX-db/postgresql",
		"logs:PutRetentionPolicy LogGroupName=/aws/rds/instance/PREFIX-db/postgresql",
		"logs:TagResource LogGroupName=/aws/rds/instance/PREFIX-db/upgrade",
		"logs:DeleteLogGroup LogGroupName=/aws/rds/instance/PREFIX-db/upgrade",
	},
	"aws:cloudwatch/logMetricFilter:LogMetricFilter": {"logs:PutMetricFilter", "logs:DescribeMetricFilters", "logs:DeleteMetricFilter"},
	"aws:cloudwatch/metricAlarm:MetricAlarm": {
		"cloudwatch:PutMetricAlarm", "cloudwatch:TagResource alarm", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource alarm",
		"cloudwatch:UntagResource alarm aws:TagKeys=Name", "cloudwatch:DeleteAlarms",
		"prod:cloudwatch:PutMetricAlarm Region=us-east-1 AlarmName=blog-prod-readyz aws:RequestedRegion=us-east-1",
		"prod:cloudwatch:DeleteAlarms Region=us-east-1 AlarmName=blog-prod-readyz aws:RequestedRegion=us-east-1",
		// Fargate mode's: in the stack's region, and its own /readyz alarm
		// (label ecs-readyz) beside the host's during a move.
		"cloudwatch:PutMetricAlarm alarm AlarmName=PREFIX-ecs-5xx-rate", "cloudwatch:DeleteAlarms alarm AlarmName=PREFIX-ecs-5xx-rate",
		"prod:cloudwatch:PutMetricAlarm Region=us-east-1 AlarmName=blog-prod-ecs-readyz aws:RequestedRegion=us-east-1",
		"prod:cloudwatch:TagResource alarm Region=us-east-1 AlarmName=blog-prod-ecs-readyz aws:RequestedRegion=us-east-1",
		"prod:cloudwatch:DescribeAlarms Region=us-east-1 AlarmName=blog-prod-ecs-readyz aws:RequestedRegion=us-east-1",
		"prod:cloudwatch:DeleteAlarms Region=us-east-1 AlarmName=blog-prod-ecs-readyz aws:RequestedRegion=us-east-1",
	},
	"aws:cloudwatch/dashboard:Dashboard": {
		"cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards",
		// Fargate mode's (stack/infra/service_monitoring.go).
		"cloudwatch:PutDashboard DashboardName=PREFIX-ecs", "cloudwatch:GetDashboard DashboardName=PREFIX-ecs", "cloudwatch:DeleteDashboards DashboardName=PREFIX-ecs",
	},
	"aws:sns/topic:Topic": {
		"sns:CreateTopic", "sns:TagResource", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:ListTagsForResource",
		"sns:UntagResource aws:TagKeys=Name", "sns:DeleteTopic",
		"prod:sns:CreateTopic Region=us-east-1 TopicName=blog-prod-readyz-alerts aws:RequestedRegion=us-east-1",
		"sns:CreateTopic TopicName=PREFIX-ecs-alerts", "sns:DeleteTopic TopicName=PREFIX-ecs-alerts",
		"prod:sns:CreateTopic Region=us-east-1 TopicName=blog-prod-ecs-readyz-alerts aws:RequestedRegion=us-east-1",
		"prod:sns:SetTopicAttributes Region=us-east-1 TopicName=blog-prod-ecs-readyz-alerts aws:RequestedRegion=us-east-1",
		"prod:sns:DeleteTopic Region=us-east-1 TopicName=blog-prod-ecs-readyz-alerts aws:RequestedRegion=us-east-1",
	},
	"aws:sns/topicSubscription:TopicSubscription": {
		"sns:Subscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe",
	},
	"aws:route53/healthCheck:HealthCheck": {
		"route53:CreateHealthCheck", "route53:ChangeTagsForResource healthcheck", "route53:GetHealthCheck",
		"route53:ListTagsForResource healthcheck", "route53:UpdateHealthCheck", "route53:DeleteHealthCheck",
	},

	"aws:ecr/repository:Repository": {
		"ecr:CreateRepository", "ecr:TagResource", "ecr:DescribeRepositories", "ecr:ListTagsForResource",
		"ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability", "ecr:UntagResource", "ecr:DeleteRepository",
	},
	"aws:ecr/lifecyclePolicy:LifecyclePolicy": {"ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy", "ecr:DeleteLifecyclePolicy"},

	"aws:ec2/securityGroup:SecurityGroup": {
		"ec2:CreateSecurityGroup", "ec2:CreateSecurityGroup vpc", "ec2:CreateTags security-group ec2:CreateAction=CreateSecurityGroup",
		"ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress",
		"ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
		"ec2:CreateTags security-group aws:TagKeys=Name", "ec2:DeleteTags security-group aws:TagKeys=Name",
		"ec2:DescribeNetworkInterfaces", "ec2:DeleteSecurityGroup",
	},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
		"ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupIngress security-group-rule",
		"ec2:CreateTags security-group-rule ec2:CreateAction=AuthorizeSecurityGroupIngress",
		"ec2:DescribeSecurityGroupRules", "ec2:ModifySecurityGroupRules", "ec2:RevokeSecurityGroupIngress",
	},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
		"ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupEgress security-group-rule",
		"ec2:CreateTags security-group-rule ec2:CreateAction=AuthorizeSecurityGroupEgress",
		"ec2:DescribeSecurityGroupRules", "ec2:ModifySecurityGroupRules", "ec2:RevokeSecurityGroupEgress",
	},

	"aws:iam/role:Role": {
		"iam:CreateRole", "iam:TagRole", "iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
		"iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary",
		"iam:UntagRole aws:TagKeys=Name", "iam:ListInstanceProfilesForRole", "iam:RemoveRoleFromInstanceProfile",
		"iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:DeleteRole",
	},
	"aws:iam/rolePolicy:RolePolicy": {
		"iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy",
		// Fargate mode's: ECS's execution role and the app's database grant.
		"iam:PutRolePolicy RoleNameWithPath=PREFIX-service-exec-role-1a2b3c4",
		"iam:PutRolePolicy RoleNameWithPath=PREFIX-media-role-1a2b3c4",
	},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": {"iam:AttachRolePolicy", "iam:ListAttachedRolePolicies", "iam:DetachRolePolicy"},
	"aws:iam/instanceProfile:InstanceProfile": {
		"iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:GetInstanceProfile", "iam:AddRoleToInstanceProfile",
		"iam:PassRole", "iam:RemoveRoleFromInstanceProfile", "iam:UntagInstanceProfile", "iam:DeleteInstanceProfile",
	},

	"aws:ec2/instance:Instance": {
		"ec2:RunInstances", "ec2:CreateTags instance ec2:CreateAction=RunInstances",
		"ec2:CreateTags volume ec2:CreateAction=RunInstances", "iam:PassRole",
		// rootBlockDevice tags are put on the new root volume after launch.
		"ec2:CreateTags volume aws:ResourceTag/blog:stack=",
		// readSecurityGroups looks up the VPC.
		"ec2:DescribeVpcs",
		// A replaced security group is swapped on the primary network
		// interface (prod only: interfaces carry no tags a preview's
		// permission could be limited by).
		"prod:ec2:ModifyNetworkInterfaceAttribute", "prod:ec2:ModifyNetworkInterfaceAttribute security-group",
		"ec2:DescribeInstances", "ec2:DescribeInstanceAttribute", "ec2:DescribeInstanceTypes",
		"ec2:DescribeInstanceCreditSpecifications", "ec2:DescribeVolumes", "ec2:DescribeImages", "ec2:DescribeTags",
		"ec2:DescribeIamInstanceProfileAssociations", "ec2:DescribeNetworkInterfaces",
		"ec2:ModifyInstanceAttribute", "ec2:ModifyInstanceAttribute security-group", "ec2:ModifyInstanceMetadataOptions",
		"ec2:MonitorInstances", "ec2:UnmonitorInstances", "ec2:StopInstances", "ec2:StartInstances",
		"ec2:AssociateIamInstanceProfile", "ec2:ReplaceIamInstanceProfileAssociation", "ec2:DisassociateIamInstanceProfile",
		"ec2:CreateTags instance aws:TagKeys=Name", "ec2:DeleteTags instance aws:TagKeys=Name",
		"ec2:ModifyVolume", "ec2:TerminateInstances",
	},
	"aws:ec2/volumeAttachment:VolumeAttachment": {
		"ec2:AttachVolume", "ec2:DescribeVolumes", "ec2:DescribeInstances", "ec2:StopInstances",
		"ec2:DetachVolume", "ec2:DetachVolume instance",
	},
	"aws:ec2/eip:Eip": {
		"ec2:AllocateAddress", "ec2:CreateTags elastic-ip ec2:CreateAction=AllocateAddress", "ec2:DescribeAddresses",
		"ec2:DescribeAddressesAttribute", "ec2:CreateTags elastic-ip aws:TagKeys=Name",
		"ec2:DeleteTags elastic-ip aws:TagKeys=Name", "ec2:DisassociateAddress elastic-ip", "ec2:ReleaseAddress elastic-ip",
	},
	"aws:ec2/eipAssociation:EipAssociation": {
		"ec2:AssociateAddress elastic-ip", "ec2:AssociateAddress instance", "ec2:DescribeAddresses",
		"ec2:DisassociateAddress elastic-ip",
	},
	"aws:ebs/volume:Volume": {
		"ec2:CreateVolume", "ec2:CreateTags volume ec2:CreateAction=CreateVolume", "ec2:DescribeVolumes",
		"ec2:DescribeVolumeAttribute", "ec2:ModifyVolume", "ec2:DescribeVolumesModifications",
		"ec2:CreateTags volume aws:TagKeys=Name", "ec2:DeleteTags volume aws:TagKeys=Name", "ec2:DeleteVolume",
		// The final snapshot before deletion (prod only).
		"prod:ec2:CreateSnapshot", "prod:ec2:CreateTags snapshot ec2:CreateAction=CreateSnapshot", "prod:ec2:DescribeSnapshots",
	},
	"aws:dlm/lifecyclePolicy:LifecyclePolicy": {
		"dlm:CreateLifecyclePolicy", "iam:PassRole iam:PassedToService=dlm.amazonaws.com", "dlm:GetLifecyclePolicy",
		"dlm:UpdateLifecyclePolicy", "dlm:TagResource", "dlm:UntagResource", "dlm:DeleteLifecyclePolicy",
	},

	"aws:s3/bucketV2:BucketV2": {
		"s3:CreateBucket", "s3:PutBucketTagging", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketTagging",
		"s3:GetBucketPolicy", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite", "s3:GetBucketVersioning",
		"s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment", "s3:GetBucketLogging",
		"s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration",
		"s3:GetBucketObjectLockConfiguration", "s3:DeleteBucket",
		// Object Lock is switched on when prod's bucket is created.
		"prod:s3:PutBucketObjectLockConfiguration", "prod:s3:PutBucketVersioning",
		// forceDestroy empties a preview's bucket before deleting it.
		"preview:s3:ListBucketVersions", "preview:s3:DeleteObjectVersion object", "preview:s3:DeleteObject object",
	},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {"s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls": {"s3:PutBucketOwnershipControls", "s3:GetBucketOwnershipControls"},
	"aws:s3/bucketVersioningV2:BucketVersioningV2":           {"s3:PutBucketVersioning", "s3:GetBucketVersioning"},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {
		"s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration",
	},
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": {"s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration"},
	"aws:s3/bucketPolicy:BucketPolicy":                                     {"s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"},
	"aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2": {
		"s3:PutBucketObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration",
	},

	"aws:ssm/document:Document": {
		"ssm:CreateDocument", "ssm:AddTagsToResource document", "ssm:DescribeDocument", "ssm:GetDocument",
		"ssm:DescribeDocumentPermission", "ssm:ListTagsForResource document", "ssm:ListDocumentVersions",
		"ssm:UpdateDocument", "ssm:UpdateDocumentDefaultVersion", "ssm:RemoveTagsFromResource document", "ssm:DeleteDocument",
	},
	"aws:ssm/association:Association": {
		"ssm:CreateAssociation", "ssm:CreateAssociation instance", "ssm:DescribeAssociation association",
		"ssm:ListTagsForResource association", "ssm:AddTagsToResource association", "ssm:UpdateAssociation",
		"ssm:UpdateAssociation instance", "ssm:DeleteAssociation association",
		// What the workflow reads when a deploy fails.
		"ssm:DescribeAssociationExecutions", "ssm:DescribeAssociationExecutionTargets",
		"prod:s3:ListBucket", "prod:s3:GetObject object ObjectName=deploy-logs/3f2a9c1/100-1/stdout",
	},
	"aws:ssm/parameter:Parameter": {
		"ssm:PutParameter", "ssm:AddTagsToResource parameter", "ssm:GetParameter", "ssm:DescribeParameters",
		"ssm:ListTagsForResource parameter", "ssm:RemoveTagsFromResource parameter", "ssm:DeleteParameter",
	},
	"aws:route53/record:Record": {
		"route53:GetHostedZone", "route53:ChangeResourceRecordSets", "route53:GetChange", "route53:ListResourceRecordSets",
		// Fargate mode's certificate validation record (a CNAME ACM names;
		// allowOverwrite UPSERTs it).
		"route53:ChangeResourceRecordSets route53:ChangeResourceRecordSetsRecordTypes=CNAME route53:ChangeResourceRecordSetsNormalizedRecordNames=_0123456789abcdef.DOMAIN",
	},
	// Below: fargate mode (stack/infra network.go, database.go,
	// loadbalancer.go, service.go, service_monitoring.go).

	// The database's private subnets and their route table.
	"aws:ec2/routeTable:RouteTable": {
		"ec2:CreateRouteTable", "ec2:CreateTags route-table ec2:CreateAction=CreateRouteTable", "ec2:DescribeRouteTables",
		"ec2:CreateTags route-table aws:TagKeys=Name", "ec2:DeleteTags route-table aws:TagKeys=Name",
		// Delete disassociates the subnets first.
		"ec2:DisassociateRouteTable route-table", "ec2:DeleteRouteTable",
	},
	"aws:ec2/subnet:Subnet": {
		"ec2:CreateSubnet", "ec2:CreateTags subnet ec2:CreateAction=CreateSubnet", "ec2:DescribeSubnets",
		"ec2:ModifySubnetAttribute", "ec2:CreateTags subnet aws:TagKeys=Name", "ec2:DeleteTags subnet aws:TagKeys=Name",
		// Delete looks for interfaces left in it.
		"ec2:DescribeNetworkInterfaces", "ec2:DeleteSubnet",
	},
	"aws:ec2/routeTableAssociation:RouteTableAssociation": {
		"ec2:AssociateRouteTable", "ec2:DescribeRouteTables", "ec2:ReplaceRouteTableAssociation route-table",
		"ec2:DisassociateRouteTable route-table",
	},

	// RDS. The instance's master password is RDS's own secret (rds!db-...,
	// tagged aws:rds:primaryDBInstanceArn): RDS creates, rotates and
	// deletes it with the caller's permissions (aws:CalledVia). It is
	// encrypted with the AWS managed key aws/secretsmanager and the storage
	// with aws/rds, whose key policies let every principal of the account
	// use them through that service: no KMS permission is needed here.
	// The first instance of an account creates RDS's service-linked role.
	"aws:rds/parameterGroup:ParameterGroup": {
		"rds:CreateDBParameterGroup pg", "rds:AddTagsToResource pg", "rds:ModifyDBParameterGroup", "rds:DescribeDBParameterGroups pg",
		"rds:DescribeDBParameters", "rds:ListTagsForResource pg", "rds:AddTagsToResource pg aws:TagKeys=Name",
		"rds:RemoveTagsFromResource pg aws:TagKeys=Name", "rds:ResetDBParameterGroup", "rds:DeleteDBParameterGroup",
	},
	"aws:rds/subnetGroup:SubnetGroup": {
		"rds:CreateDBSubnetGroup subgrp", "rds:AddTagsToResource subgrp", "rds:DescribeDBSubnetGroups subgrp",
		"rds:ListTagsForResource subgrp", "rds:ModifyDBSubnetGroup", "rds:AddTagsToResource subgrp aws:TagKeys=Name",
		"rds:RemoveTagsFromResource subgrp aws:TagKeys=Name", "rds:DeleteDBSubnetGroup",
	},
	"aws:rds/instance:Instance": {
		"rds:CreateDBInstance db", "rds:CreateDBInstance pg", "rds:CreateDBInstance subgrp", "rds:AddTagsToResource db",
		"iam:CreateServiceLinkedRole RoleNameWithPath=aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS iam:AWSServiceName=rds.amazonaws.com",
		"secretsmanager:CreateSecret aws:CalledVia=rds.amazonaws.com", "secretsmanager:TagResource aws:CalledVia=rds.amazonaws.com",
		"secretsmanager:GetRandomPassword", "secretsmanager:DescribeSecret aws:CalledVia=rds.amazonaws.com", "secretsmanager:RotateSecret aws:CalledVia=rds.amazonaws.com",
		"secretsmanager:UpdateSecret aws:CalledVia=rds.amazonaws.com", "secretsmanager:DeleteSecret aws:CalledVia=rds.amazonaws.com",
		"rds:DescribeDBInstances", "rds:ListTagsForResource db", "rds:ModifyDBInstance db", "rds:ModifyDBInstance pg",
		"rds:ModifyDBInstance subgrp", "rds:AddTagsToResource db aws:TagKeys=Name", "rds:RemoveTagsFromResource db aws:TagKeys=Name",
		"rds:DeleteDBInstance",
		// Prod's final snapshot, named by the program.
		"prod:rds:CreateDBSnapshot snapshot SnapshotName=blog-prod-db-final", "prod:rds:AddTagsToResource snapshot SnapshotName=blog-prod-db-final",
	},

	// The load balancer and its certificate. The Service Authorization
	// Reference data merges ELB's two APIs under one prefix, so AddTags and
	// RemoveTags can only be simulated on a load balancer; check.mjs knows
	// their other resource types for the audit.
	"aws:acm/certificate:Certificate": {
		"acm:RequestCertificate", "acm:AddTagsToCertificate aws:ResourceTag/blog:stack=", "acm:DescribeCertificate",
		"acm:ListTagsForCertificate", "acm:UpdateCertificateOptions", "acm:AddTagsToCertificate aws:TagKeys=Name",
		"acm:RemoveTagsFromCertificate aws:TagKeys=Name", "acm:DeleteCertificate",
	},
	"aws:acm/certificateValidation:CertificateValidation": {"acm:DescribeCertificate"},
	"aws:lb/loadBalancer:LoadBalancer": {
		"elasticloadbalancing:CreateLoadBalancer LoadBalancerName=app/LB", "elasticloadbalancing:AddTags LoadBalancerName=app/LB",
		"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
		"elasticloadbalancing:ModifyLoadBalancerAttributes LoadBalancerName=app/LB", "elasticloadbalancing:DescribeTags",
		"elasticloadbalancing:DescribeCapacityReservation", "elasticloadbalancing:SetSecurityGroups loadbalancer/app/",
		"elasticloadbalancing:SetSubnets loadbalancer/app/",
		"elasticloadbalancing:AddTags LoadBalancerName=app/LB aws:TagKeys=Name", "elasticloadbalancing:RemoveTags LoadBalancerName=app/LB aws:TagKeys=Name",
		// Delete waits for the load balancer's interfaces to go.
		"elasticloadbalancing:DeleteLoadBalancer LoadBalancerName=app/LB", "ec2:DescribeNetworkInterfaces",
		"iam:CreateServiceLinkedRole RoleNameWithPath=aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing iam:AWSServiceName=elasticloadbalancing.amazonaws.com",
	},
	"aws:lb/targetGroup:TargetGroup": {
		"elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DescribeTargetGroups",
		"elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:ModifyTargetGroupAttributes",
		"elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DeleteTargetGroup",
	},
	"aws:lb/listener:Listener": {
		"elasticloadbalancing:CreateListener loadbalancer/app/", "elasticloadbalancing:DescribeListeners",
		"elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:ModifyListener listener/app",
		"elasticloadbalancing:ModifyListenerAttributes listener/app", "elasticloadbalancing:DescribeTags",
		"elasticloadbalancing:DeleteListener listener/app",
	},

	// ECS. Task definitions carry the two roles (passed to ECS tasks);
	// the first cluster of an account creates ECS's service-linked role.
	"aws:ecs/cluster:Cluster": {
		"ecs:CreateCluster", "ecs:TagResource cluster ecs:CreateAction=CreateCluster", "ecs:DescribeClusters",
		"ecs:UpdateCluster", "ecs:ListTagsForResource cluster", "ecs:TagResource cluster aws:TagKeys=Name",
		"ecs:UntagResource cluster aws:TagKeys=Name", "ecs:DeleteCluster",
		"iam:CreateServiceLinkedRole RoleNameWithPath=aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS iam:AWSServiceName=ecs.amazonaws.com",
	},
	"aws:ecs/taskDefinition:TaskDefinition": {
		"ecs:RegisterTaskDefinition", "ecs:TagResource task-definition ecs:CreateAction=RegisterTaskDefinition",
		"iam:PassRole RoleNameWithPath=PREFIX-service-exec-role-1a2b3c4 iam:PassedToService=ecs-tasks.amazonaws.com",
		"iam:PassRole RoleNameWithPath=PREFIX-media-role-1a2b3c4 iam:PassedToService=ecs-tasks.amazonaws.com",
		"ecs:DescribeTaskDefinition", "ecs:ListTagsForResource task-definition", "ecs:TagResource task-definition aws:TagKeys=Name",
		"ecs:UntagResource task-definition aws:TagKeys=Name", "ecs:DeregisterTaskDefinition",
	},
	"aws:ecs/service:Service": {
		"ecs:CreateService", "ecs:TagResource service ecs:CreateAction=CreateService", "ecs:DescribeServices",
		"ecs:UpdateService", "ecs:ListTagsForResource service", "ecs:TagResource service aws:TagKeys=Name",
		"ecs:UntagResource service aws:TagKeys=Name", "ecs:DeleteService",
	},
	// Application Auto Scaling acts on the service and keeps its target
	// tracking alarms (TargetTracking-service/<cluster>/<service>-...) with
	// the caller's permissions; the first target creates its service-linked role.
	"aws:appautoscaling/target:Target": {
		"application-autoscaling:RegisterScalableTarget", "application-autoscaling:TagResource",
		"application-autoscaling:DescribeScalableTargets", "application-autoscaling:ListTagsForResource",
		"application-autoscaling:UntagResource aws:TagKeys=Name", "application-autoscaling:DeregisterScalableTarget",
		"ecs:DescribeServices", "ecs:UpdateService",
		"iam:CreateServiceLinkedRole RoleNameWithPath=aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService iam:AWSServiceName=ecs.application-autoscaling.amazonaws.com",
	},
	"aws:appautoscaling/policy:Policy": {
		"application-autoscaling:PutScalingPolicy", "application-autoscaling:DescribeScalingPolicies",
		"application-autoscaling:DeleteScalingPolicy",
		"cloudwatch:PutMetricAlarm AlarmName=TargetTracking-service/CLUSTER/SERVICE-AlarmHigh-0d1e2f3a",
		"cloudwatch:DescribeAlarms AlarmName=TargetTracking-service/CLUSTER/SERVICE-AlarmHigh-0d1e2f3a",
		"cloudwatch:DeleteAlarms AlarmName=TargetTracking-service/CLUSTER/SERVICE-AlarmHigh-0d1e2f3a",
	},

	// The provider runs a command and calls nothing; the command is
	// ecs-release.sh, which calls ECS and CloudWatch Logs with the pipeline
	// role's credentials: the migrate task (run, watch, stop on timeout,
	// its last log lines) and the service's rollout.
	"command:local:Command": {
		"ecs:RunTask TaskDefinitionFamilyName=PREFIX-migrate", "ecs:DescribeTasks", "ecs:StopTask",
		"iam:PassRole RoleNameWithPath=PREFIX-service-exec-role-1a2b3c4 iam:PassedToService=ecs-tasks.amazonaws.com",
		"logs:GetLogEvents LogGroupName=PREFIX-ecs", "ecs:DescribeServices",
	},
}
