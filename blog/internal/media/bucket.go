package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/blogstack/blogstack/blog/internal/awsauth"
)

// ErrNotFound is a file the bucket does not have.
var ErrNotFound = errors.New("media file not found")

// CacheControl is how long readers and proxies keep a file: forever, since
// a file's name changes with its content.
const CacheControl = "public, max-age=31536000, immutable"

// Bucket is where the re-encoded files live: a folder (file://) or S3
// (s3://bucket?prefix=media/&region=...). The blog needs three things of
// it, so it speaks to the AWS SDK's S3 client directly: gocloud.dev/blob
// would add 8 MB (OpenTelemetry, gRPC) to an image kept near 25 MB.
type Bucket struct {
	dir string // file://

	s3     *s3.Client // s3://
	name   string
	prefix string
}

// Object is one file opened for reading.
type Object struct {
	io.ReadSeekCloser
	Size    int64
	ModTime time.Time
}

// OpenBucket opens the bucket at rawURL. A folder is created if missing,
// so that development needs nothing set up. An s3:// URL takes prefix,
// region, endpoint and use_path_style (the last two for S3-compatible
// servers); its credentials are awsauth.Credentials: from credentialsFile
// when set, else from the environment or the ECS task role.
func OpenBucket(rawURL, credentialsFile string) (*Bucket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("BLOG_MEDIA_URL: %w", err)
	}
	switch u.Scheme {
	case "file":
		dir := filepath.FromSlash(u.Path)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("BLOG_MEDIA_URL: %w", err)
		}
		return &Bucket{dir: dir}, nil
	case "s3":
		q := u.Query()
		for k := range q {
			if k != "prefix" && k != "region" && k != "endpoint" && k != "use_path_style" {
				return nil, fmt.Errorf("BLOG_MEDIA_URL: unknown parameter %q (prefix, region, endpoint, use_path_style)", k)
			}
		}
		opts := s3.Options{
			Region:       q.Get("region"),
			Credentials:  awsauth.Credentials(os.Getenv, credentialsFile),
			UsePathStyle: q.Get("use_path_style") == "true",
		}
		if e := q.Get("endpoint"); e != "" {
			opts.BaseEndpoint = aws.String(e)
		}
		client := s3.New(opts)
		return &Bucket{s3: client, name: u.Host, prefix: q.Get("prefix")}, nil
	}
	return nil, fmt.Errorf("BLOG_MEDIA_URL: %q must be a file:// or s3:// URL", rawURL)
}

// Put writes every file of an upload.
func (m *Bucket) Put(ctx context.Context, p Processed) error {
	for _, f := range p.Files {
		var err error
		if m.s3 == nil {
			err = writeFile(filepath.Join(m.dir, f.Name), f.Data)
		} else {
			_, err = m.s3.PutObject(ctx, &s3.PutObjectInput{
				Bucket: &m.name, Key: aws.String(m.prefix + f.Name), Body: bytes.NewReader(f.Data),
				ContentType: &p.ContentType, CacheControl: aws.String(CacheControl),
			})
		}
		if err != nil {
			return fmt.Errorf("store %s: %w", f.Name, err)
		}
	}
	return nil
}

// writeFile writes through a temporary file, so that a reader never sees
// half a picture.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Open opens a file by name, or returns ErrNotFound.
func (m *Bucket) Open(ctx context.Context, name string) (*Object, error) {
	if m.s3 == nil {
		f, err := os.Open(filepath.Join(m.dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		return &Object{ReadSeekCloser: f, Size: st.Size(), ModTime: st.ModTime()}, nil
	}
	out, err := m.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &m.name, Key: aws.String(m.prefix + name)})
	var status *smithyhttp.ResponseError
	if errors.As(err, &status) && status.HTTPStatusCode() == http.StatusNotFound {
		return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	// Files are a few hundred KB: held in memory, they can be served with
	// ranges and conditional requests like local ones.
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, err
	}
	return &Object{ReadSeekCloser: nopCloser{bytes.NewReader(data)}, Size: int64(len(data)), ModTime: aws.ToTime(out.LastModified)}, nil
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }

// Delete removes files by name; ones already gone are not an error.
func (m *Bucket) Delete(ctx context.Context, names ...string) error {
	for _, n := range names {
		var err error
		if m.s3 == nil {
			if err = os.Remove(filepath.Join(m.dir, n)); errors.Is(err, os.ErrNotExist) {
				err = nil
			}
		} else {
			// S3 answers a delete of a missing key with success.
			_, err = m.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &m.name, Key: aws.String(m.prefix + n)})
		}
		if err != nil {
			return fmt.Errorf("delete %s: %w", n, err)
		}
	}
	return nil
}
