package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/blogstack/blogstack/blog/internal/media"
	"github.com/blogstack/blogstack/blog/internal/media/mediatest"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// openMedia opens the blog's media bucket for a test server.
func openMedia(tb testing.TB, url string) *media.Bucket {
	tb.Helper()
	b, err := media.OpenBucket(url, "")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// upload sends the upload form as a browser does: multipart, same origin.
func (f *fixture) upload(c *http.Client, file []byte, fields map[string]string, headers ...string) (*http.Response, string) {
	f.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		w, _ := mw.CreateFormFile("file", "holiday photo.jpg")
		w.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/admin/media", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp, out.String()
}

var mediaPath = regexp.MustCompile(`/media/[0-9a-f]{16}-[0-9]+x[0-9]+\.(?:jpg|png)`)

// An author uploads a photo (first forgetting the alt text), puts it in a
// published post, and readers get it resized, without its GPS data, with
// srcset and size, in og:image, JSON-LD and the feed; it cannot be deleted
// while the post is published. On both databases and both storage
// drivers (S3: gofakes3 started by the test).
func TestUploadToPost(t *testing.T) {
	for _, driver := range []string{"file", "s3"} {
		t.Run(driver, func(t *testing.T) {
			for _, db := range storetest.Each(t) {
				t.Run(db.Name, func(t *testing.T) {
					env := map[string]string{"BLOG_SECRET_KEY": strings.Repeat("k", 32)}
					if driver == "s3" {
						env["BLOG_MEDIA_URL"] = mediatest.S3URL(t)
					}
					uploadToPost(t, newBlog(t, db, env))
				})
			}
		})
	}
}

func uploadToPost(t *testing.T, f *fixture) {
	mia := f.author("mia@example.com", store.RoleAuthor)
	c := f.signedIn("mia@example.com")
	photo := mediatest.JPEGWithGPS(t, 2400, 1600)

	// No alt text: 422, and the processed file is kept for the next try.
	resp, body := f.upload(c, photo, map[string]string{"alt": " "})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("upload without alt: %d, want 422", resp.StatusCode)
	}
	doc := parse(t, body)
	pending := attr(doc, "input[name=pending]", "value")
	if doc.Find("[data-testid=alt-error]").Length() != 1 || doc.Find("[data-testid=upload-kept]").Length() != 1 || pending == "" {
		t.Fatalf("the 422 neither asks for alt text nor keeps the upload:\n%.600s", body)
	}
	resp, _ = f.upload(c, nil, map[string]string{"alt": "Red and blue [flags]", "pending": pending, "filename": "holiday\x00photo.jpg"})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/media?uploaded=") {
		t.Fatalf("upload with alt: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = f.send(c, http.MethodGet, resp.Header.Get("Location"), nil)
	doc = parse(t, body)
	markdown := attr(doc, "[data-testid=upload-markdown]", "value")
	// Turned upright (EXIF orientation 6) and capped at 1600 wide.
	if want := `![Red and blue \[flags\]](/media/` + pending + `)`; markdown != want || !strings.HasSuffix(pending, "-1600x2400.jpg") {
		t.Fatalf("markdown %q, want %q (pending %s)", markdown, want, pending)
	}
	if got := texts(doc, "[data-testid=media-uses]"); len(got) != 1 || got[0] != "Not used in any post" {
		t.Errorf("usage %q", got)
	}
	// A file name that cannot be stored as sent (a NUL) is replaced.
	if got := doc.Find("[data-testid=media-item] .admin-meta").First().Text(); !strings.HasPrefix(got, "upload ·") {
		t.Errorf("file name shown as %q", got)
	}

	// Served: immutable, typed, without a trace of the EXIF.
	resp, img := f.get("/media/" + pending)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("GET media: %d %v", resp.StatusCode, resp.Header)
	}
	if strings.Contains(img, mediatest.GPSMarker) || strings.Contains(img, "Exif") {
		t.Error("the served photo carries its EXIF")
	}
	if resp, _ := f.get("/media/0123456789abcdef-10x10.jpg"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing media file: %d", resp.StatusCode)
	}

	// In a published post, as the cover.
	at := time.Now().Add(-time.Hour)
	p, err := f.store.CreatePost(context.Background(), store.PostInput{
		AuthorID: mia.ID, Title: "Flags", Slug: "flags", Status: store.StatusPublished, PublishedAt: &at,
		Body: "Intro.\n\n" + markdown + "\n", Cover: pending,
	})
	if err != nil {
		t.Fatal(err)
	}
	doc = f.page("/posts/flags", http.StatusOK)
	cover, inline := doc.Find("[data-testid=cover]"), doc.Find(".prose img")
	if a, _ := cover.Attr("alt"); a != "Red and blue [flags]" {
		t.Errorf("cover alt %q", a)
	}
	for _, img := range []*goquery.Selection{cover, inline} {
		w, _ := img.Attr("width")
		h, _ := img.Attr("height")
		srcset, _ := img.Attr("srcset")
		if w != "1600" || h != "2400" || strings.Count(srcset, "/media/") != 3 {
			t.Errorf("picture without its size or widths: %s x %s, %q", w, h, srcset)
		}
	}
	if og := attr(doc, "meta[property='og:image']", "content"); !strings.HasSuffix(og, "/media/"+pending) {
		t.Errorf("og:image %q", og)
	}
	if card := attr(doc, "meta[name='twitter:card']", "content"); card != "summary_large_image" {
		t.Errorf("twitter:card %q", card)
	}
	var ld map[string]any
	if err := json.Unmarshal([]byte(doc.Find(`script[type="application/ld+json"]`).Text()), &ld); err != nil || !strings.HasSuffix(ld["image"].(string), pending) {
		t.Errorf("JSON-LD image %v (%v)", ld["image"], err)
	}
	_, rss := f.get("/feed.rss")
	if !regexp.MustCompile(`<enclosure url="[^"]*/media/` + regexp.QuoteMeta(pending) + `" length="[1-9][0-9]*" type="image/jpeg">`).MatchString(rss) {
		t.Errorf("the feed does not enclose the cover:\n%.800s", rss)
	}

	// Used by a published post: delete refused; as a draft: deleted.
	_, body = f.send(c, http.MethodGet, "/admin/media", nil)
	doc = parse(t, body)
	if got := texts(doc, "[data-testid=media-uses]"); len(got) != 1 || !strings.Contains(got[0], "Flags (published)") {
		t.Errorf("usage %q", got)
	}
	del := attr(doc, "[data-testid=media-item] form", "action")
	resp, body = f.send(c, http.MethodPost, del, url.Values{})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "in a published post") {
		t.Fatalf("deleting a used picture: %d", resp.StatusCode)
	}
	if resp, _ := f.get("/media/" + pending); resp.StatusCode != http.StatusOK {
		t.Fatalf("a refused delete removed the file: %d", resp.StatusCode)
	}
	if _, err := f.store.UpdatePost(context.Background(), p.ID, store.PostInput{
		AuthorID: mia.ID, Title: "Flags", Slug: "flags", Status: store.StatusDraft, Body: "Intro.\n\n" + markdown + "\n", Version: p.Version,
	}); err != nil {
		t.Fatal(err)
	}
	resp, _ = f.send(c, http.MethodPost, del, url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deleting an unused picture: %d", resp.StatusCode)
	}
	for _, name := range mediaPath.FindAllString(markdown+" "+cover.AttrOr("srcset", ""), -1) {
		if resp, _ := f.get(name); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s after delete: %d", name, resp.StatusCode)
		}
	}
}

// What is not a picture is refused with the reason (422), the bomb
// quickly; the GIF/HTML polyglot becomes a PNG with no script in it; an
// htmx upload answers the form fragment; another author cannot delete.
func TestUploadRefusals(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), map[string]string{"BLOG_SECRET_KEY": strings.Repeat("k", 32)})
	f.author("mia@example.com", store.RoleAuthor)
	c := f.signedIn("mia@example.com")
	for name, c2 := range map[string]struct {
		file []byte
		want string
	}{
		"text": {[]byte("hello"), "not a JPEG, PNG, GIF or WebP"},
		"svg":  {[]byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "SVG"},
		"bomb": {mediatest.PNGBomb(t, 20000, 20000), "20000 × 20000"},
		"none": {nil, "Choose a picture"},
	} {
		resp, body := f.upload(c, c2.file, map[string]string{"alt": "something"})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(texts(parse(t, body), "[data-testid=file-error]")[0], c2.want) {
			t.Errorf("%s: %d, want 422 saying %q", name, resp.StatusCode, c2.want)
		}
	}

	if resp, _ := f.upload(c, make([]byte, media.MaxBytes+100<<10), map[string]string{"alt": "big"}); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("an upload over the limit: %d, want 413", resp.StatusCode)
	}

	resp, body := f.upload(c, mediatest.PolyglotGIF(t), map[string]string{"alt": "A blank square", "in_editor": "1"}, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "<html") {
		t.Fatalf("htmx upload: %d, want the fragment\n%.300s", resp.StatusCode, body)
	}
	md := attr(parse(t, body), "[data-markdown]", "data-markdown")
	name := mediaPath.FindString(md)
	if !strings.HasSuffix(name, ".png") {
		t.Fatalf("polyglot upload gave %q", md)
	}
	resp, img := f.get(name)
	if resp.Header.Get("Content-Type") != "image/png" || strings.Contains(img, "<script") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("polyglot served as %q, script kept: %v", resp.Header.Get("Content-Type"), strings.Contains(img, "<script"))
	}

	f.author("ola@example.com", store.RoleAuthor)
	other := f.signedIn("ola@example.com")
	_, page := f.send(c, http.MethodGet, "/admin/media", nil)
	del := attr(parse(t, page), "[data-testid=media-item] form", "action")
	if resp, _ := f.send(other, http.MethodPost, del, url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another author deleting: %d, want 404", resp.StatusCode)
	}
}

// Images load only from the blog and the origins the admin lists.
func TestImageCSP(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), map[string]string{"BLOG_IMG_SRC": "https://images.example.com"})
	resp, _ := f.get("/")
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "img-src 'self' https://images.example.com;") || strings.Contains(csp, "data:") || strings.Contains(csp, "https:;") {
		t.Errorf("CSP %q", csp)
	}
}
