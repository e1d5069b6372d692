package views

import (
	"strconv"
	"strings"

	"github.com/blogstack/blogstack/blog/internal/media"
	"github.com/blogstack/blogstack/blog/internal/store"
)

// thumbWidth is how wide the media page shows a picture.
const thumbWidth = 160

// thumb is the URL of a picture's narrowest file, enough for a thumbnail.
func thumb(m store.Media) string {
	files := strings.Fields(m.Files)
	return media.URLPrefix + files[len(files)-1]
}

func thumbHeight(m store.Media) string {
	return strconv.Itoa(max(1, m.Height*thumbWidth/max(1, m.Width)))
}

var markdownAlt = strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`)

// Markdown is what an author pastes into a post to show the picture.
func Markdown(m store.Media) string {
	return "![" + markdownAlt.Replace(m.Alt) + "](" + media.URLPrefix + m.Name() + ")"
}

// NewPicture is the picture whose widest file is name, or nil when name
// is not a media file.
func NewPicture(site Site, name, alt string) *Picture {
	srcset, w, h, ok := media.Srcset(name)
	if !ok {
		return nil
	}
	src := media.URLPrefix + name
	return &Picture{Src: src, Srcset: srcset, Sizes: media.SizesAttr, Alt: alt, Width: w, Height: h, URL: site.Abs(src)}
}
