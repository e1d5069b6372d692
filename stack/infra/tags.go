package infra

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Tags labels a resource with its stack, so that prod's and pr-12's
// resources are told apart in the console and in cost reports.
func (c Config) Tags(name string) pulumi.StringMap {
	return pulumi.StringMap{
		"Name":            pulumi.String(name),
		"blog:project":    pulumi.String(c.Project),
		"blog:stack":      pulumi.String(c.Stack),
		"blog:managed-by": pulumi.String("pulumi"),
	}
}

// protectUnlessPreview keeps prod's data from being deleted by a destroy or a
// replacement; preview stacks must be deletable in one `pulumi destroy`.
func (c Config) protectUnlessPreview() pulumi.ResourceOption {
	return pulumi.Protect(!c.Preview)
}
