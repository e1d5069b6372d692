package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/styles"
)

//go:embed static
var staticFiles embed.FS

// asset is one static file, served under a name that carries a hash of its
// content so that it can be cached forever.
type asset struct {
	hashed      string
	body        []byte
	contentType string
}

// Assets are the blog's embedded static files, addressed by content hash.
type Assets struct {
	byName   map[string]*asset // logical name -> asset
	byHashed map[string]*asset // hashed file name -> asset
}

// LoadAssets reads the embedded static folder and generates the code
// highlighting stylesheet. It reports which optional files are missing.
func LoadAssets() (*Assets, []string, error) {
	a := &Assets{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	err := fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFiles.ReadFile(p)
		if err != nil {
			return err
		}
		a.add(path.Base(p), body)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	css, err := chromaCSS()
	if err != nil {
		return nil, nil, err
	}
	a.add("chroma.css", css)
	var missing []string
	if a.byName["htmx.min.js"] == nil {
		missing = append(missing, "htmx.min.js")
	}
	return a, missing, nil
}

func (a *Assets) add(name string, body []byte) {
	sum := sha256.Sum256(body)
	ext := path.Ext(name)
	hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
	ct := mime.TypeByExtension(ext)
	if ct == "" {
		ct = "application/octet-stream"
	}
	as := &asset{hashed: hashed, body: body, contentType: ct}
	a.byName[name] = as
	a.byHashed[hashed] = as
}

// URL returns the content-hashed URL of a static file, or "" when the file
// is not embedded.
func (a *Assets) URL(name string) string {
	if as := a.byName[name]; as != nil {
		return "/static/" + as.hashed
	}
	return ""
}

// ServeHTTP serves /static/{file} for hashed names only, cached for a year.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	as := a.byHashed[r.PathValue("file")]
	if as == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", as.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("ETag", `"`+as.hashed+`"`)
	http.ServeContent(w, r, as.hashed, time.Time{}, bytes.NewReader(as.body))
}

// chromaCSS is the stylesheet for highlighted code: a light theme, and a
// dark one when the reader's system prefers it.
func chromaCSS() ([]byte, error) {
	var buf bytes.Buffer
	f := html.New(html.WithClasses(true))
	if err := f.WriteCSS(&buf, styles.Get("github")); err != nil {
		return nil, fmt.Errorf("chroma css: %w", err)
	}
	buf.WriteString("@media (prefers-color-scheme: dark) {\n")
	if err := f.WriteCSS(&buf, styles.Get("github-dark")); err != nil {
		return nil, fmt.Errorf("chroma css: %w", err)
	}
	buf.WriteString("}\n")
	return buf.Bytes(), nil
}
