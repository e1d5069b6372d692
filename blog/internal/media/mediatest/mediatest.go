// Package mediatest makes the pictures that media tests upload: a photo
// with GPS EXIF, a decompression bomb, an HTML/GIF polyglot.
package mediatest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3URL is a BLOG_MEDIA_URL on an S3-compatible server started for the
// test: gofakes3, in process, speaking the S3 HTTP API to the real AWS SDK
// behind gocloud's s3blob (no MinIO binary is reachable here).
func S3URL(tb testing.TB) string {
	tb.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("blog-media"); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	tb.Cleanup(srv.Close)
	tb.Setenv("AWS_ACCESS_KEY_ID", "test")
	tb.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return "s3://blog-media?prefix=media/&region=us-east-1&use_path_style=true&endpoint=" + srv.URL
}

// GPSMarker is a string inside the EXIF of JPEGWithGPS: finding it in a
// served file means the location leaked.
const GPSMarker = "GPS-SECRET-LOCATION"

// JPEGWithGPS is a w × h JPEG whose EXIF says it was taken turned
// (orientation 6: the reader must see it h × w) and where (a GPS IFD with
// a latitude, plus GPSMarker as the camera make). Its left half is red.
func JPEGWithGPS(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{0, 0, 255, 255}
			if x < w/2 {
				c = color.RGBA{255, 0, 0, 255}
			}
			img.Set(x, y, c)
		}
	}
	var plain bytes.Buffer
	if err := jpeg.Encode(&plain, img, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	// TIFF, big-endian: IFD0 with Make, Orientation and a GPS IFD pointer.
	var t bytes.Buffer
	be := binary.BigEndian
	t.WriteString("MM\x00\x2a")
	binary.Write(&t, be, uint32(8))
	entry := func(tag, typ uint16, count, value uint32) {
		binary.Write(&t, be, tag)
		binary.Write(&t, be, typ)
		binary.Write(&t, be, count)
		binary.Write(&t, be, value)
	}
	makeOff := uint32(8 + 2 + 3*12 + 4)
	gpsOff := makeOff + uint32(len(GPSMarker)+1)
	binary.Write(&t, be, uint16(3))
	entry(0x010f, 2, uint32(len(GPSMarker)+1), makeOff) // Make
	binary.Write(&t, be, uint16(0x0112))                // Orientation SHORT 6
	binary.Write(&t, be, uint16(3))
	binary.Write(&t, be, uint32(1))
	binary.Write(&t, be, uint16(6))
	binary.Write(&t, be, uint16(0))
	entry(0x8825, 4, 1, gpsOff) // GPS IFD
	binary.Write(&t, be, uint32(0))
	t.WriteString(GPSMarker + "\x00")
	latOff := gpsOff + 2 + 2*12 + 4
	binary.Write(&t, be, uint16(2))
	entry(0x0001, 2, 2, 'N'<<24) // GPSLatitudeRef "N"
	entry(0x0002, 5, 3, latOff)  // GPSLatitude
	binary.Write(&t, be, uint32(0))
	for _, v := range []uint32{48, 1, 51, 1, 30, 1} {
		binary.Write(&t, be, v)
	}
	app1 := append([]byte("Exif\x00\x00"), t.Bytes()...)
	out := []byte{0xff, 0xd8, 0xff, 0xe1, byte((len(app1) + 2) >> 8), byte(len(app1) + 2)}
	out = append(out, app1...)
	return append(out, plain.Bytes()[2:]...)
}

// PNGBomb is a valid 1-bit PNG of w × h black pixels: a few hundred KB
// that would decode to w × h bytes or more.
func PNGBomb(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.Write(&out, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 1, 0 // 1 bit, greyscale
	chunk("IHDR", ihdr)
	var idat bytes.Buffer
	z, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	row := make([]byte, 1+(w+7)/8) // filter byte 0, then zero bits
	for range h {
		z.Write(row)
	}
	z.Close()
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// PolyglotScript is the HTML a polyglot carries.
const PolyglotScript = "<script>alert(document.cookie)</script>"

// PolyglotGIF is a real GIF that a browser sniffing it as HTML would run:
// the script sits in a comment extension after the header.
func PolyglotGIF(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewPaletted(image.Rect(0, 0, 40, 30), []color.Color{color.White, color.Black})
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		tb.Fatal(err)
	}
	b := buf.Bytes()
	// After the header, logical screen descriptor and global colour table
	// (13 + 6 bytes for two colours): a comment extension with the HTML.
	comment := append([]byte{0x21, 0xfe, byte(len(PolyglotScript))}, PolyglotScript...)
	comment = append(comment, 0)
	out := append([]byte{}, b[:19]...)
	out = append(out, comment...)
	return append(out, b[19:]...)
}
