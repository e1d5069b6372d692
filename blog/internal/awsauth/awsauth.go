// Package awsauth holds the blog's AWS credentials and the RDS IAM
// authentication tokens it signs with them, its database password on RDS.
package awsauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
)

// ecsCredentialsHost is where ECS serves a task's role credentials;
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is the path on it.
const ecsCredentialsHost = "http://169.254.170.2"

// Credentials are the blog's AWS credentials, read through getenv:
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) when
// set, else the ECS task role from the container credentials endpoint
// (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, which ECS sets for a task with
// a role). That is the part of the SDK's default chain that applies where
// the blog runs, without the SDK's config package: its profiles, SSO, STS
// and instance metadata support add 3 MB the image has no room for, and the
// host's containers cannot reach instance metadata by design. The
// credentials are cached until shortly before they expire.
func Credentials(getenv func(string) string) aws.CredentialsProvider {
	var p aws.CredentialsProvider
	switch id, secret, uri := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); {
	case id != "" && secret != "":
		p = credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))
	case uri != "":
		p = endpointcreds.New(ecsCredentialsHost + uri)
	default:
		p = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run on ECS with a task role")
		})
	}
	return aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = 5 * time.Minute
	})
}

// RDSPassword returns a function that makes an RDS IAM authentication
// token, signed with creds for region, to be sent as the password of a new
// connection to host:port as user. A token is good for 15 minutes, but
// only for signing in: a connection opened with it stays open for as long
// as it lives, so only new connections need a fresh one. Signing is local
// (no request to AWS once creds are cached), so making one per connection
// costs microseconds. Its type is that of store.PasswordFunc.
func RDSPassword(region string, creds aws.CredentialsProvider) func(ctx context.Context, host string, port uint16, user string) (string, error) {
	return func(ctx context.Context, host string, port uint16, user string) (string, error) {
		token, err := auth.BuildAuthToken(ctx, fmt.Sprintf("%s:%d", host, port), region, user, creds)
		if err != nil {
			return "", fmt.Errorf("RDS IAM token for %s@%s:%d: %w", user, host, port, err)
		}
		return token, nil
	}
}
