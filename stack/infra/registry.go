package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Registry is the ECR repository the pipeline pushes to. Only full stacks
// (prod) own one; preview stacks read prod's through a StackReference.
type Registry struct {
	pulumi.ResourceState

	URL pulumi.StringOutput
	Arn pulumi.StringOutput
}

// KeepImages is how many non-preview images the lifecycle policy keeps: far
// more than any rollback needs.
const KeepImages = 30

// PreviewImageDays is how long pr-* images are kept after their push.
const PreviewImageDays = 14

// LifecyclePolicy expires preview images and untagged layers, and keeps the
// newest KeepImages images of the rest.
func LifecyclePolicy() string {
	return fmt.Sprintf(`{"rules":[`+
		`{"rulePriority":1,"description":"expire preview images","selection":{"tagStatus":"tagged","tagPatternList":["pr-*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":%d},"action":{"type":"expire"}},`+
		`{"rulePriority":2,"description":"expire untagged images","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}},`+
		`{"rulePriority":3,"description":"keep enough releases to roll back","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":%d},"action":{"type":"expire"}}`+
		`]}`, PreviewImageDays, KeepImages)
}

// NewRegistry declares the repository: scanned on push, tags immutable (a
// tag always means the same image, so a rollback is exact).
func NewRegistry(ctx *pulumi.Context, name string, cfg Config, opts ...pulumi.ResourceOption) (*Registry, error) {
	r := &Registry{}
	if err := ctx.RegisterComponentResource("blogstack:index:Registry", name, r, opts...); err != nil {
		return nil, err
	}
	repoName := "blog"
	if cfg.Stack != "prod" {
		repoName = cfg.Prefix
	}
	repo, err := ecr.NewRepository(ctx, name+"-repo", &ecr.RepositoryArgs{
		Name:               pulumi.String(repoName),
		ImageTagMutability: pulumi.String("IMMUTABLE"),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{
			ScanOnPush: pulumi.Bool(true),
		},
		EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{
			&ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("AES256")},
		},
		ForceDelete: pulumi.Bool(false),
		Tags:        cfg.Tags(name + "-repo"),
	}, pulumi.Parent(r), pulumi.Protect(true))
	if err != nil {
		return nil, err
	}
	if _, err := ecr.NewLifecyclePolicy(ctx, name+"-lifecycle", &ecr.LifecyclePolicyArgs{
		Repository: repo.Name,
		Policy:     pulumi.String(LifecyclePolicy()),
	}, pulumi.Parent(r)); err != nil {
		return nil, err
	}
	r.URL, r.Arn = repo.RepositoryUrl, repo.Arn
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{"url": r.URL, "arn": r.Arn})
}

// ProdRegistry reads the registry from the prod stack's outputs, so a
// preview stack stands up with one `pulumi up` and pushes to the same place.
func ProdRegistry(ctx *pulumi.Context, cfg Config) (url, arn pulumi.StringOutput, err error) {
	ref, err := pulumi.NewStackReference(ctx, cfg.ProdStack, nil)
	if err != nil {
		return url, arn, err
	}
	url = ref.GetStringOutput(pulumi.String("registryUrl"))
	arn = url.ApplyT(func(u string) (string, error) { return repositoryArn(u) }).(pulumi.StringOutput)
	return url, arn, nil
}

// repositoryArn turns 123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog into
// the repository's ARN.
func repositoryArn(url string) (string, error) {
	host, repo, ok := strings.Cut(url, "/")
	parts := strings.Split(host, ".")
	if !ok || len(parts) < 6 || parts[1] != "dkr" || parts[2] != "ecr" {
		return "", fmt.Errorf("prod stack output registryUrl %q is not an ECR repository URL (has prod been deployed?)", url)
	}
	partition := "aws"
	if strings.HasSuffix(host, ".amazonaws.com.cn") {
		partition = "aws-cn"
	}
	return fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", partition, parts[3], parts[0], repo), nil
}
