package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Registry is the pair of ECR repositories the pipeline pushes to: one for
// images built from main (the only ones a full stack runs) and one for
// images built from pull requests (the only ones previews run). Only full
// stacks (prod) own them; preview stacks read prod's outputs.
type Registry struct {
	pulumi.ResourceState

	URL, Arn               pulumi.StringOutput
	PreviewURL, PreviewArn pulumi.StringOutput
}

// KeepImages is how many images of main the lifecycle policy keeps: far
// more than any rollback needs.
const KeepImages = 30

// PreviewImageDays is how long pr-* images are kept after their push.
const PreviewImageDays = 14

// RepositoryNames are the repositories of a full stack: prod's are the
// fixed names "blog" and "blog-previews" (CONTRACT), another full stack's
// carry its prefix.
func RepositoryNames(cfg Config) (main, previews string) {
	if cfg.Stack == "prod" {
		return "blog", "blog-previews"
	}
	return cfg.Prefix, cfg.Prefix + "-previews"
}

// LifecyclePolicy expires untagged layers and keeps the newest KeepImages
// images of main.
func LifecyclePolicy() string {
	return fmt.Sprintf(`{"rules":[`+
		`{"rulePriority":1,"description":"expire untagged images","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}},`+
		`{"rulePriority":2,"description":"keep enough releases to roll back","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":%d},"action":{"type":"expire"}}`+
		`]}`, KeepImages)
}

// PreviewLifecyclePolicy expires pull requests' images PreviewImageDays
// after their push, and untagged layers after a day.
func PreviewLifecyclePolicy() string {
	return fmt.Sprintf(`{"rules":[`+
		`{"rulePriority":1,"description":"expire preview images","selection":{"tagStatus":"tagged","tagPatternList":["pr-*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":%d},"action":{"type":"expire"}},`+
		`{"rulePriority":2,"description":"expire untagged images","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}`+
		`]}`, PreviewImageDays)
}

// NewRegistry declares both repositories: scanned on push, tags immutable
// (a tag always means the same image, so a rollback is exact), protected.
func NewRegistry(ctx *pulumi.Context, name string, cfg Config, opts ...pulumi.ResourceOption) (*Registry, error) {
	r := &Registry{}
	if err := ctx.RegisterComponentResource("blogstack:index:Registry", name, r, opts...); err != nil {
		return nil, err
	}
	mainName, previewName := RepositoryNames(cfg)
	repos := []struct {
		suffix, name, policy string
		url, arn             *pulumi.StringOutput
	}{
		{"-repo", mainName, LifecyclePolicy(), &r.URL, &r.Arn},
		{"-previews-repo", previewName, PreviewLifecyclePolicy(), &r.PreviewURL, &r.PreviewArn},
	}
	for _, spec := range repos {
		repo, err := ecr.NewRepository(ctx, name+spec.suffix, &ecr.RepositoryArgs{
			Name:               pulumi.String(spec.name),
			ImageTagMutability: pulumi.String("IMMUTABLE"),
			ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{
				ScanOnPush: pulumi.Bool(true),
			},
			EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{
				&ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("AES256")},
			},
			ForceDelete: pulumi.Bool(false),
			Tags:        cfg.Tags(name + spec.suffix),
		}, pulumi.Parent(r), pulumi.Protect(true))
		if err != nil {
			return nil, err
		}
		if _, err := ecr.NewLifecyclePolicy(ctx, name+spec.suffix+"-lifecycle", &ecr.LifecyclePolicyArgs{
			Repository: repo.Name,
			Policy:     pulumi.String(spec.policy),
		}, pulumi.Parent(r)); err != nil {
			return nil, err
		}
		*spec.url, *spec.arn = repo.RepositoryUrl, repo.Arn
	}
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{
		"url": r.URL, "arn": r.Arn, "previewUrl": r.PreviewURL, "previewArn": r.PreviewArn,
	})
}

// OutputPreviewRegistryURL is the prod output preview stacks pull from.
const OutputPreviewRegistryURL = "previewRegistryUrl"

// ProdPreviewRegistry reads prod's preview repository from its outputs, so
// a preview stack stands up with one `pulumi up`, and can only ever pull
// images of pull requests. It is read now, not as an Output, because the
// deploy's name is derived from the settings the host gets.
func ProdPreviewRegistry(ctx *pulumi.Context, cfg Config) (url, arn string, err error) {
	ref, err := pulumi.NewStackReference(ctx, cfg.ProdStack, nil)
	if err != nil {
		return "", "", err
	}
	d, err := ref.GetOutputDetails(OutputPreviewRegistryURL)
	if err != nil {
		return "", "", fmt.Errorf("reading %s from %s: %w", OutputPreviewRegistryURL, cfg.ProdStack, err)
	}
	url, _ = d.Value.(string)
	if url == "" {
		return "", "", fmt.Errorf("stack %s has no output %s: run `pulumi up --stack prod` with this version of the program first", cfg.ProdStack, OutputPreviewRegistryURL)
	}
	arn, err = repositoryArn(url)
	return url, arn, err
}

// repositoryArn turns 123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog into
// the repository's ARN.
func repositoryArn(url string) (string, error) {
	host, repo, ok := strings.Cut(url, "/")
	parts := strings.Split(host, ".")
	if !ok || len(parts) < 6 || parts[1] != "dkr" || parts[2] != "ecr" {
		return "", fmt.Errorf("prod stack output "+OutputPreviewRegistryURL+" %q is not an ECR repository URL", url)
	}
	partition := "aws"
	if strings.HasSuffix(host, ".amazonaws.com.cn") {
		partition = "aws-cn"
	}
	return fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", partition, parts[3], parts[0], repo), nil
}
