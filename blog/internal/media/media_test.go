package media_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/media"
	"github.com/blogstack/blogstack/blog/internal/media/mediatest"
)

// drivers open a bucket on each storage driver.
func drivers(t *testing.T) map[string]func(testing.TB) *media.Bucket {
	open := func(tb testing.TB, url string, creds string) *media.Bucket {
		b, err := media.OpenBucket(url, creds)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	return map[string]func(testing.TB) *media.Bucket{
		"file": func(tb testing.TB) *media.Bucket { return open(tb, "file://"+t.TempDir()+"/media", "") },
		// Signed with credentials from a file, as on the EC2 host.
		"s3": func(tb testing.TB) *media.Bucket {
			creds := filepath.Join(t.TempDir(), "credentials.json")
			os.WriteFile(creds, []byte(`{"Version":1,"AccessKeyId":"AKIAHOST","SecretAccessKey":"x","SessionToken":"y","Expiration":"2999-01-01T00:00:00Z"}`), 0o600)
			return open(tb, mediatest.S3URL(tb), creds)
		},
	}
}

// A photo with GPS EXIF comes back from either store as JPEGs of each
// width, turned upright, without any of its metadata.
func TestPhotoRoundTrip(t *testing.T) {
	for name, open := range drivers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b := open(t)
			upload := mediatest.JPEGWithGPS(t, 2400, 1200)
			if !bytes.Contains(upload, []byte(mediatest.GPSMarker)) {
				t.Fatal("the fixture lost its EXIF")
			}
			p, err := media.Process(bytes.NewReader(upload))
			if err != nil {
				t.Fatal(err)
			}
			if p.Ext != "jpg" || len(p.Files) != 3 {
				t.Fatalf("got %s with %d files", p.Ext, len(p.Files))
			}
			// Orientation 6: a 2400 × 1200 sensor image stands 1200 × 2400.
			want := [][2]int{{1200, 2400}, {960, 1920}, {480, 960}}
			if err := b.Put(ctx, p); err != nil {
				t.Fatal(err)
			}
			for i, f := range p.Files {
				obj, err := b.Open(ctx, f.Name)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(obj)
				obj.Close()
				if !bytes.Equal(got, f.Data) {
					t.Fatalf("%s: stored bytes differ", f.Name)
				}
				if bytes.Contains(got, []byte("Exif")) || bytes.Contains(got, []byte(mediatest.GPSMarker)) {
					t.Errorf("%s still carries EXIF", f.Name)
				}
				img, err := jpeg.Decode(bytes.NewReader(got))
				if err != nil {
					t.Fatal(err)
				}
				s := img.Bounds().Size()
				if s.X != want[i][0] || s.Y != want[i][1] || f.Width != s.X || f.Height != s.Y {
					t.Errorf("%s is %v, want %v", f.Name, s, want[i])
				}
				// The red half was the left one on the sensor; turned
				// clockwise it is the top.
				if r, _, bl, _ := img.At(s.X/2, s.Y/8).RGBA(); r < 0xc000 || bl > 0x4000 {
					t.Errorf("%s: top is not red: the orientation was not applied", f.Name)
				}
			}
			if _, err := b.Open(ctx, "0000000000000000-1x1.png"); !errors.Is(err, media.ErrNotFound) {
				t.Errorf("missing file: %v, want ErrNotFound", err)
			}
			if err := b.Delete(ctx, p.Files[0].Name); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Open(ctx, p.Files[0].Name); !errors.Is(err, media.ErrNotFound) {
				t.Errorf("deleted file: %v, want ErrNotFound", err)
			}
		})
	}
}

// What is not a picture this blog serves is refused with a message for the
// author, and the polyglot's script is gone from what is made of it.
func TestRefused(t *testing.T) {
	bomb := mediatest.PNGBomb(t, 20000, 20000)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"text":  {[]byte("just some notes\n"), "not a JPEG, PNG, GIF or WebP"},
		"html":  {[]byte("<!doctype html><script>alert(1)</script>"), "not a JPEG"},
		"svg":   {[]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "SVG"},
		"bomb":  {bomb, "20000 × 20000 pixels"},
		"big":   {append([]byte("\xff\xd8\xff"), make([]byte, media.MaxBytes)...), "larger than 20 MB"},
		"trunc": {mediatest.JPEGWithGPS(t, 64, 64)[:300], "could not be read"},
	}
	for name, c := range cases {
		_, err := media.Process(bytes.NewReader(c.data))
		var refused *media.Error
		if !errors.As(err, &refused) || !strings.Contains(refused.Msg, c.want) {
			t.Errorf("%s: err = %v, want a refusal saying %q", name, err, c.want)
		}
	}

	p, err := media.Process(bytes.NewReader(mediatest.PolyglotGIF(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Files {
		if bytes.Contains(f.Data, []byte("<script")) || p.ContentType != "image/png" {
			t.Errorf("%s (%s) carries the polyglot's script", f.Name, p.ContentType)
		}
	}
}

// PNGs stay PNG with their transparency; small pictures are not enlarged.
func TestPNGKeepsAlpha(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 600, 300))
	img.Set(10, 10, color.NRGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	png.Encode(&buf, img)
	p, err := media.Process(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if p.Ext != "png" || len(p.Files) != 2 || p.Files[0].Name != media.Name(p.Hash, 600, 300, "png") || p.Files[1].Width != 480 {
		t.Fatalf("got %+v", p.Files)
	}
	out, err := png.Decode(bytes.NewReader(p.Files[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, a := out.At(300, 150).RGBA(); a != 0 {
		t.Errorf("transparent pixel has alpha %d", a)
	}
}

// The names pages are built from parse back, and nothing else parses.
func TestNames(t *testing.T) {
	srcset, w, h, ok := media.Srcset("0123456789abcdef-1600x900.jpg")
	if !ok || w != 1600 || h != 900 || srcset != "/media/0123456789abcdef-1600x900.jpg 1600w, /media/0123456789abcdef-960x540.jpg 960w, /media/0123456789abcdef-480x270.jpg 480w" {
		t.Errorf("srcset %q %d %d %v", srcset, w, h, ok)
	}
	for _, bad := range []string{"../etc/passwd", "0123456789abcdef-0x10.jpg", "0123456789abcdef-10x10.svg", "0123456789ABCDEF-10x10.jpg", "0123456789abcdef-10x10.jpg.html"} {
		if _, ok := media.ParseName(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	if got := media.FirstName("Intro\n\n![a](/media/0123456789abcdef-800x600.png) ![b](/media/fedcba9876543210-10x10.jpg)"); got != "0123456789abcdef-800x600.png" {
		t.Errorf("FirstName = %q", got)
	}
}

// peakHeap runs f and reports how far the live heap rose above where it
// started, sampled every millisecond.
func peakHeap(f func()) float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base, peak := m.HeapAlloc, m.HeapAlloc
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	<-sampled
	return float64(peak - base)
}

// BenchmarkBomb measures refusing a 20,000 × 20,000 PNG, which would
// decode to 400 MB: the header is read, no pixel is. It fails when the
// heap rises by more than 4 MB while refusing it.
func BenchmarkBomb(b *testing.B) {
	bomb := mediatest.PNGBomb(b, 20000, 20000)
	b.SetBytes(int64(len(bomb)))
	peak := peakHeap(func() {
		for b.Loop() {
			if _, err := media.Process(bytes.NewReader(bomb)); err == nil {
				b.Fatal("the bomb was accepted")
			}
		}
	})
	b.ReportMetric(peak/(1<<20), "peak-heap-MB")
	if peak > 4<<20 {
		b.Fatalf("refusing the bomb raised the heap by %.1f MB: it was decoded", peak/(1<<20))
	}
}

// BenchmarkPhoto measures processing photos into their widths: time, and
// the peak heap, which must stay well inside the container's 256 MB.
func BenchmarkPhoto(b *testing.B) {
	for _, size := range [][2]int{{4032, 3024}, {6000, 4000}} {
		b.Run(fmt.Sprintf("%dMP", size[0]*size[1]/1_000_000), func(b *testing.B) {
			photo := mediatest.JPEGWithGPS(b, size[0], size[1])
			b.SetBytes(int64(len(photo)))
			peak := peakHeap(func() {
				for b.Loop() {
					if _, err := media.Process(bytes.NewReader(photo)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(peak/(1<<20), "peak-heap-MB")
		})
	}
}
