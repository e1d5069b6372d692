// Package media turns an author's uploaded picture into the few re-encoded
// widths readers are served, and keeps those files in a bucket that is a
// local folder in development and S3 in production (gocloud.dev/blob).
package media

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/disintegration/imaging"
	"golang.org/x/image/webp"
)

// Limits on what an upload may be. MaxPixels refuses decompression bombs
// from the image header alone, before any pixel is decoded. 25 MP covers
// phones' 12 MP and most cameras' 24 MP; processing one peaks at about
// 140 MB of heap (BenchmarkPhoto), inside the app container's 256 MB, and
// uploads are processed one at a time.
const (
	MaxBytes  = 20 << 20
	MaxPixels = 25_000_000
)

// Widths are the widths made of every upload (never wider than the
// original). The widest is what a post links to; the column is 44rem, so
// 1600 pixels covers it at 2x.
var Widths = []int{480, 960, 1600}

// jpegQuality keeps photos sharp at about a tenth of their camera size.
const jpegQuality = 82

// Error is an upload refused for what it is; its message is for the author.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func refuse(format string, args ...any) error { return &Error{fmt.Sprintf(format, args...)} }

// File is one re-encoded width of an upload.
type File struct {
	Name          string // its key in the bucket and the last segment of its URL
	Width, Height int
	Data          []byte
}

// Processed is an upload made ready to serve: Files widest first.
type Processed struct {
	Hash        string // of the uploaded bytes: the same picture uploaded twice is one set of files
	Ext         string // "jpg" or "png"
	ContentType string
	Files       []File
}

// Largest is the widest file, the one a post's markdown names.
func (p Processed) Largest() File { return p.Files[0] }

// decoders are the formats accepted, by the name image.DecodeConfig reports.
var decoders = map[string]struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}{
	"jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"png":  {png.DecodeConfig, png.Decode},
	"gif":  {gif.DecodeConfig, gif.Decode}, // the first frame: animations become stills
	"webp": {webp.DecodeConfig, webp.Decode},
}

// one lets one upload decode at a time, so that memory use is bounded by
// one image at MaxPixels whatever the number of authors uploading.
var one sync.Mutex

// Process checks and re-encodes an upload: JPEG, PNG, GIF or WebP within
// MaxBytes and MaxPixels, anything else is an *Error. Re-encoding drops
// every byte of the original but its pixels, so EXIF (GPS included),
// comments and anything smuggled after the image data never reach
// readers; the EXIF orientation is applied to the pixels first.
func Process(r io.Reader) (Processed, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return Processed{}, fmt.Errorf("read upload: %w", err)
	}
	if len(data) > MaxBytes {
		return Processed{}, refuse("The file is larger than %d MB. Export it smaller (a photo for the web rarely needs more than 5 MB) and upload it again.", MaxBytes>>20)
	}
	format := sniff(data)
	dec, ok := decoders[format]
	if !ok {
		return Processed{}, refuse("This file is not a JPEG, PNG, GIF or WebP image. SVG and other formats are not accepted; export it as PNG or JPEG.")
	}
	cfg, err := dec.config(bytes.NewReader(data))
	if err != nil {
		return Processed{}, refuse("The %s image could not be read (%v). It may be damaged; export it again.", format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return Processed{}, refuse("The image is %d × %d pixels; the limit is %d megapixels. Make it smaller and upload it again.", cfg.Width, cfg.Height, MaxPixels/1_000_000)
	}

	one.Lock()
	defer one.Unlock()
	src, err := dec.decode(bytes.NewReader(data))
	if err != nil {
		return Processed{}, refuse("The %s image could not be read (%v). It may be damaged; export it again.", format, err)
	}
	orient := 1
	if format == "jpeg" {
		orient = jpegOrientation(data)
	}

	sum := sha256.Sum256(data)
	p := Processed{Hash: hex.EncodeToString(sum[:8]), Ext: "png", ContentType: "image/png"}
	// Photos stay JPEG; an opaque WebP (a photo) becomes JPEG too, since
	// no pure-Go WebP encoder exists. Screenshots, graphics and anything
	// transparent become PNG, which keeps text sharp and alpha intact.
	if o, ok := src.(interface{ Opaque() bool }); format == "jpeg" || (format == "webp" && ok && o.Opaque()) {
		p.Ext, p.ContentType = "jpg", "image/jpeg"
	}

	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if orient >= 5 { // the camera was turned: width and height swap
		w, h = h, w
	}
	var prev image.Image = src
	prevOrient := orient
	for _, size := range Sizes(w, h) {
		var scaled *image.NRGBA
		if prevOrient >= 5 {
			scaled = scale(prev, size[1], size[0])
		} else {
			scaled = scale(prev, size[0], size[1])
		}
		img := reorient(scaled, prevOrient)
		// Each smaller width is scaled from the one before: far less work
		// than from the original, and as sharp.
		prev, prevOrient = img, 1
		f := File{Name: Name(p.Hash, size[0], size[1], p.Ext), Width: size[0], Height: size[1]}
		if f.Data, err = encode(img, p.Ext); err != nil {
			return Processed{}, err
		}
		p.Files = append(p.Files, f)
	}
	return p, nil
}

// sniff names the format from the first bytes (what image.DecodeConfig
// would do, without the formats this package does not accept).
func sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return "jpeg"
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "gif"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// Sizes are the width and height of each file made of a w × h picture,
// widest first: the Widths narrower than it, and it (capped at the widest).
func Sizes(w, h int) [][2]int {
	top := Widths[len(Widths)-1]
	if w > top {
		h, w = max(1, (h*top+w/2)/w), top
	}
	sizes := [][2]int{{w, h}}
	for i := len(Widths) - 1; i >= 0; i-- {
		if Widths[i] < w {
			sizes = append(sizes, [2]int{Widths[i], max(1, (h*Widths[i]+w/2)/w)})
		}
	}
	return sizes
}

// Name is the file name of one width: the content hash makes it safe to
// cache forever, the size lets pages give width and height without a
// lookup.
func Name(hash string, w, h int, ext string) string {
	return fmt.Sprintf("%s-%dx%d.%s", hash, w, h, ext)
}

var namePattern = regexp.MustCompile(`^([0-9a-f]{16})-([0-9]{1,5})x([0-9]{1,5})\.(jpg|png)$`)

// ParsedName is what a file name says about its file.
type ParsedName struct {
	Hash          string
	Width, Height int
	Ext           string
}

// ParseName reads a name made by Name; ok is false for anything else.
func ParseName(name string) (ParsedName, bool) {
	m := namePattern.FindStringSubmatch(name)
	if m == nil {
		return ParsedName{}, false
	}
	w, _ := strconv.Atoi(m[2])
	h, _ := strconv.Atoi(m[3])
	if w == 0 || h == 0 {
		return ParsedName{}, false
	}
	return ParsedName{Hash: m[1], Width: w, Height: h, Ext: m[4]}, true
}

// ContentType is the type a file is served with, from its extension.
func ContentType(ext string) string {
	if ext == "jpg" {
		return "image/jpeg"
	}
	return "image/png"
}

// scale resamples src to w × h with Catmull-Rom (sharp, no ringing).
// imaging resizes in two 8-bit passes on every core, so besides the
// decoded original it holds only w × src height pixels: about 50 MB for a
// 24 MP photo, where x/image/draw's float buffer would take 190 MB.
func scale(src image.Image, w, h int) *image.NRGBA {
	b := src.Bounds()
	if b.Dx() == w && b.Dy() == h {
		return imaging.Clone(src)
	}
	return imaging.Resize(src, w, h, imaging.CatmullRom)
}

// reorient applies an EXIF orientation (1-8) so that the picture stands
// the way the camera was held.
func reorient(src *image.NRGBA, orient int) *image.NRGBA {
	if orient < 2 || orient > 8 {
		return src
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := w, h
	if orient >= 5 {
		dw, dh = h, w
	}
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch orient {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // upside down
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored upside down
				dx, dy = x, h-1-y
			case 5: // mirrored, turned left
				dx, dy = y, x
			case 6: // turned left: rotate 90° clockwise
				dx, dy = h-1-y, x
			case 7: // mirrored, turned right
				dx, dy = h-1-y, w-1-x
			case 8: // turned right: rotate 90° counter-clockwise
				dx, dy = y, w-1-x
			}
			copy(dst.Pix[dy*dst.Stride+dx*4:dy*dst.Stride+dx*4+4], src.Pix[y*src.Stride+x*4:y*src.Stride+x*4+4])
		}
	}
	return dst
}

func encode(img *image.NRGBA, ext string) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if ext == "jpg" {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", ext, err)
	}
	return buf.Bytes(), nil
}

// jpegOrientation reads the EXIF orientation tag (0x0112) of a JPEG, or 1.
// It is the one EXIF field the blog keeps (by applying it), so a small
// reader beats an EXIF library; every offset is bounds-checked.
func jpegOrientation(data []byte) int {
	for i := 2; i+4 <= len(data) && data[i] == 0xff; {
		marker := data[i+1]
		n := int(data[i+2])<<8 | int(data[i+3])
		if marker == 0xda || n < 2 || i+2+n > len(data) { // image data starts: no EXIF before it
			return 1
		}
		seg := data[i+4 : i+2+n]
		if marker == 0xe1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			if o, err := tiffOrientation(seg[6:]); err == nil {
				return o
			}
			return 1
		}
		i += 2 + n
	}
	return 1
}

func tiffOrientation(t []byte) (int, error) {
	if len(t) < 8 {
		return 0, errors.New("short")
	}
	u16 := func(b []byte) int { return int(b[0])<<8 | int(b[1]) }
	u32 := func(b []byte) int { return int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3]) }
	switch string(t[:2]) {
	case "II":
		u16 = func(b []byte) int { return int(b[1])<<8 | int(b[0]) }
		u32 = func(b []byte) int { return int(b[3])<<24 | int(b[2])<<16 | int(b[1])<<8 | int(b[0]) }
	case "MM":
	default:
		return 0, errors.New("not TIFF")
	}
	ifd := u32(t[4:8])
	if ifd < 8 || ifd+2 > len(t) {
		return 0, errors.New("bad IFD")
	}
	count := u16(t[ifd:])
	for k := range count {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			break
		}
		if u16(t[e:]) == 0x0112 {
			if o := u16(t[e+8:]); o >= 1 && o <= 8 {
				return o, nil
			}
			return 0, errors.New("bad orientation")
		}
	}
	return 1, nil
}

// SizesAttr is the img sizes attribute of a picture in a post: the text
// column (style.css: --measure 40rem, 1.25rem padding each side).
const SizesAttr = "(max-width: 42.5rem) calc(100vw - 2.5rem), 40rem"

// URLPrefix is where the blog serves media files.
const URLPrefix = "/media/"

// Srcset is the srcset attribute for the picture whose widest file is
// name, with that file's width and height; ok is false for a name that is
// not a media file.
func Srcset(name string) (srcset string, w, h int, ok bool) {
	n, ok := ParseName(name)
	if !ok {
		return "", 0, 0, false
	}
	var parts []string
	for _, s := range Sizes(n.Width, n.Height) {
		parts = append(parts, fmt.Sprintf("%s%s %dw", URLPrefix, Name(n.Hash, s[0], s[1], n.Ext), s[0]))
	}
	return strings.Join(parts, ", "), n.Width, n.Height, true
}

var mediaRef = regexp.MustCompile(`/media/([0-9a-f]{16}-[0-9]{1,5}x[0-9]{1,5}\.(?:jpg|png))`)

// FirstName is the first media file a text (a post's markdown) names, or "".
func FirstName(text string) string {
	if m := mediaRef.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}
