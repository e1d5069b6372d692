package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gcaws "gocloud.dev/aws"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// ErrNotFound is a file the bucket does not have.
var ErrNotFound = errors.New("media file not found")

// Bucket is where the re-encoded files live: file:// or s3:// (with
// ?prefix=media/ and the usual gocloud.dev parameters such as region).
type Bucket struct{ b *blob.Bucket }

// OpenBucket opens the bucket at rawURL. A file:// folder is created if
// missing, so that development needs nothing set up. An s3:// bucket takes
// gocloud.dev's parameters (region, endpoint, ...), prefix and
// use_path_style; its credentials come from credentialsFile when set (see
// FileCredentials), else from the AWS SDK's usual chain.
func OpenBucket(ctx context.Context, rawURL, credentialsFile string) (*Bucket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("BLOG_MEDIA_URL: %w", err)
	}
	var b *blob.Bucket
	switch u.Scheme {
	case "file":
		dir := filepath.FromSlash(u.Path)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("BLOG_MEDIA_URL: %w", err)
		}
		// No .attrs sidecar files: the content type follows from the
		// extension, and a plain folder is easier to back up and inspect.
		b, err = fileblob.OpenBucket(dir, &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
	case "s3":
		b, err = openS3(ctx, u, credentialsFile)
	default:
		return nil, fmt.Errorf("BLOG_MEDIA_URL: %q must be a file:// or s3:// URL", rawURL)
	}
	if err != nil {
		return nil, fmt.Errorf("BLOG_MEDIA_URL: %w", err)
	}
	return &Bucket{b: b}, nil
}

// Put writes every file of an upload.
func (m *Bucket) Put(ctx context.Context, p Processed) error {
	for _, f := range p.Files {
		if err := m.b.WriteAll(ctx, f.Name, f.Data, &blob.WriterOptions{
			ContentType:  p.ContentType,
			CacheControl: CacheControl,
		}); err != nil {
			return fmt.Errorf("store %s: %w", f.Name, err)
		}
	}
	return nil
}

// CacheControl is how long readers and proxies keep a file: forever, since
// a file's name changes with its content.
const CacheControl = "public, max-age=31536000, immutable"

// Object is one file opened for reading.
type Object struct {
	io.ReadSeekCloser
	Size    int64
	ModTime time.Time
}

// Open opens a file by name, or returns ErrNotFound.
func (m *Bucket) Open(ctx context.Context, name string) (*Object, error) {
	r, err := m.b.NewReader(ctx, name, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return &Object{ReadSeekCloser: r, Size: r.Size(), ModTime: r.ModTime()}, nil
}

// Delete removes files by name; ones already gone are not an error.
func (m *Bucket) Delete(ctx context.Context, names ...string) error {
	for _, n := range names {
		if err := m.b.Delete(ctx, n); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fmt.Errorf("delete %s: %w", n, err)
		}
	}
	return nil
}

// Close releases the bucket.
func (m *Bucket) Close() error { return m.b.Close() }

// openS3 builds the S3 client itself (rather than through gocloud.dev's URL
// opener) so that it can take its credentials from a file.
func openS3(ctx context.Context, u *url.URL, credentialsFile string) (*blob.Bucket, error) {
	q := u.Query()
	prefix, pathStyle := q.Get("prefix"), q.Get("use_path_style") == "true"
	q.Del("prefix")
	q.Del("use_path_style")
	cfg, err := gcaws.V2ConfigFromURLParams(ctx, q)
	if err != nil {
		return nil, err
	}
	if credentialsFile != "" {
		cfg.Credentials = aws.NewCredentialsCache(FileCredentials(credentialsFile), func(o *aws.CredentialsCacheOptions) {
			o.ExpiryWindow = 10 * time.Minute // the host rewrites the file every 5 minutes
		})
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
	b, err := s3blob.OpenBucket(ctx, client, u.Host, nil)
	if err != nil {
		return nil, err
	}
	if prefix != "" {
		b = blob.PrefixedBucket(b, prefix)
	}
	return b, nil
}

// FileCredentials reads AWS credentials from a JSON file in the format of
// `aws configure export-credentials --format process`. On the EC2 host the
// blog's container cannot reach the instance metadata service (hop limit
// 1, so that no container can take the host's role); host/media-credentials
// writes the role's current credentials there instead, for the app alone.
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
