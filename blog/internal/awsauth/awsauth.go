// Package awsauth holds the blog's AWS credentials and the RDS IAM
// authentication tokens it signs with them, its database password on RDS.
package awsauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
)

// ecsCredentialsHost is where ECS serves a task's role credentials;
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is the path on it.
const ecsCredentialsHost = "http://169.254.170.2"

// Credentials are the blog's AWS credentials: from file when it is set
// (BLOG_AWS_CREDENTIALS_FILE, see FileCredentials), else read through
// getenv: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) when
// set, else a container credentials endpoint: the ECS task role's at
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (ECS sets it for a task with a
// role), or AWS_CONTAINER_CREDENTIALS_FULL_URI with
// AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE). That is the part of the SDK's
// default chain that applies where the blog runs, without the SDK's config
// package: its profiles, SSO, STS and instance metadata support add 3 MB
// the image has no room for, and the host's containers cannot reach
// instance metadata by design. The credentials are cached until shortly
// before they expire.
func Credentials(getenv func(string) string, file string) aws.CredentialsProvider {
	if file != "" {
		return aws.NewCredentialsCache(FileCredentials(file), func(o *aws.CredentialsCacheOptions) {
			o.ExpiryWindow = 10 * time.Minute // the host rewrites the file every 5 minutes
		})
	}
	return aws.NewCredentialsCache(provider(getenv), func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = 5 * time.Minute
	})
}

// FileCredentials reads AWS credentials from a JSON file in the format of
// `aws configure export-credentials --format process`. On the EC2 host the
// blog's container cannot reach the instance metadata service (hop limit
// 1, so that no container can take the host's role by itself);
// host/media-credentials writes a session of the stack's media role (media
// only) there for the app alone.
type FileCredentials string

// Retrieve reads the file.
func (f FileCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	b, err := os.ReadFile(string(f))
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("AWS credentials: %w", err)
	}
	var c struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      *time.Time
	}
	if err := json.Unmarshal(b, &c); err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return aws.Credentials{}, fmt.Errorf("AWS credentials: %s is not the JSON of aws configure export-credentials --format process", f)
	}
	out := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Source: "file " + string(f)}
	if c.Expiration != nil {
		out.CanExpire, out.Expires = true, *c.Expiration
	}
	return out, nil
}

func provider(getenv func(string) string) aws.CredentialsProvider {
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		return credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))
	}
	if uri := getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); uri != "" {
		return endpointcreds.New(ecsCredentialsHost + uri)
	}
	if full := getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"); full != "" {
		// As the SDK: plain http only to this machine or ECS's and EKS's
		// link-local agents, so that credentials never cross a network.
		u, err := url.Parse(full)
		if err != nil || !(u.Scheme == "https" || u.Scheme == "http" && localAgent(u.Hostname())) {
			return failing("AWS_CONTAINER_CREDENTIALS_FULL_URI: %q must be https, or http to a loopback or the ECS or EKS agent's address", full)
		}
		return endpointcreds.New(full, func(o *endpointcreds.Options) {
			o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
				if file := getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file != "" {
					b, err := os.ReadFile(file) // rotated by the agent: read each time
					return strings.TrimSpace(string(b)), err
				}
				return getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"), nil
			})
		})
	}
	return failing("AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run on ECS with a task role")
}

// localAgent reports whether host is this machine or the link-local
// credentials agent of ECS (169.254.170.2) or EKS (169.254.170.23, fd00:ec2::23).
func localAgent(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && (ip.IsLoopback() || ip == netip.MustParseAddr("169.254.170.2") ||
		ip == netip.MustParseAddr("169.254.170.23") || ip == netip.MustParseAddr("fd00:ec2::23"))
}

// failing is a provider that explains why there are no credentials.
func failing(format string, args ...any) aws.CredentialsProvider {
	err := fmt.Errorf(format, args...)
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return aws.Credentials{}, err })
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
