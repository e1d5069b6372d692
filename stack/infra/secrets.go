package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Secrets generates the database password and the form-signing key once and
// keeps them as SSM SecureString parameters that host/deploy reads. They are
// secret in the state, never in config, outputs or user-data.
type Secrets struct {
	pulumi.ResourceState

	// Prefix is the parameters' path, e.g. /blog/prod.
	Prefix string
}

// NewSecrets declares the generators and the parameters.
func NewSecrets(ctx *pulumi.Context, name string, cfg Config, opts ...pulumi.ResourceOption) (*Secrets, error) {
	s := &Secrets{Prefix: "/blog/" + cfg.Stack}
	if err := ctx.RegisterComponentResource("blogstack:index:Secrets", name, s, opts...); err != nil {
		return nil, err
	}
	params := []struct {
		key    string
		length int
	}{
		// Letters and digits only: the password is put into DATABASE_URL as is.
		{"db-password", 32},
		{"secret-key", 64},
	}
	for _, p := range params {
		value, err := random.NewRandomPassword(ctx, name+"-"+p.key, &random.RandomPasswordArgs{
			Length:  pulumi.Int(p.length),
			Special: pulumi.Bool(false),
		}, pulumi.Parent(s), pulumi.AdditionalSecretOutputs([]string{"result"}))
		if err != nil {
			return nil, err
		}
		if _, err := ssm.NewParameter(ctx, name+"-"+p.key+"-param", &ssm.ParameterArgs{
			Name:  pulumi.String(s.Prefix + "/" + p.key),
			Type:  pulumi.String("SecureString"),
			Value: pulumi.ToSecret(value.Result).(pulumi.StringOutput),
			Tags:  cfg.Tags(name + "-" + p.key),
		}, pulumi.Parent(s)); err != nil {
			return nil, err
		}
	}
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{"prefix": pulumi.String(s.Prefix)})
}
