package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs
	"gocloud.dev/gcerrors"
)

// ErrNotFound is a file the bucket does not have.
var ErrNotFound = errors.New("media file not found")

// Bucket is where the re-encoded files live: file:// or s3:// (with
// ?prefix=media/ and the usual gocloud.dev parameters such as region).
type Bucket struct{ b *blob.Bucket }

// OpenBucket opens the bucket at rawURL. A file:// folder is created if
// missing, so that development needs nothing set up.
func OpenBucket(ctx context.Context, rawURL string) (*Bucket, error) {
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
		b, err = blob.OpenBucket(ctx, rawURL)
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
