// Package content turns an author's markdown into the safe HTML, plain text,
// excerpt and reading time that are stored with a post when it is saved.
package content

import (
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	highlighting "github.com/yuin/goldmark-highlighting/v2"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	"golang.org/x/text/unicode/norm"

	"github.com/blogstack/blogstack/blog/internal/media"
)

// Rendered is what a post's markdown becomes when it is saved.
type Rendered struct {
	HTML           string // sanitized HTML for the post page
	Text           string // plain text, for search and descriptions
	Excerpt        string // the first words, for lists and meta descriptions
	ReadingMinutes int
}

// wordsPerMinute is a common estimate of adult silent reading speed.
const wordsPerMinute = 220

// excerptLength is the longest excerpt in characters, about what search
// engines show of a meta description.
const excerptLength = 180

var (
	md = goldmark.New(
		goldmark.WithExtensions(
			extension.GFM, // tables, task lists, strikethrough, autolinks
			extension.Footnote,
			highlighting.NewHighlighting(
				// Classes instead of inline styles keep the CSP free of 'unsafe-inline'.
				highlighting.WithFormatOptions(chromahtml.WithClasses(true)),
			),
		),
		goldmark.WithParserOptions(
			parser.WithAutoHeadingID(),
			parser.WithASTTransformers(util.Prioritized(headingAnchors{}, 100), util.Prioritized(mediaImages{}, 110)),
		),
	)

	// postPolicy allows what the markdown renderer emits and nothing that
	// runs: raw HTML in a post is cleaned like any user content.
	postPolicy = func() *bluemonday.Policy {
		p := bluemonday.UGCPolicy()
		p.RequireNoFollowOnLinks(false)
		p.AllowAttrs("class").Matching(regexp.MustCompile(`^[a-zA-Z0-9 _-]+$`)).Globally()
		// Only the ids the renderer makes (prefixed headings, footnotes),
		// so that a post cannot reuse an id of the page around it.
		p.AllowAttrs("id").Matching(regexp.MustCompile(`^(?:` + headingIDPrefix + `|fn:|fnref:)[a-zA-Z0-9:_-]+$`)).Globally()
		p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
		p.AllowAttrs("checked", "disabled").OnElements("input")
		p.AllowAttrs("role").Matching(regexp.MustCompile(`^doc-[a-z]+$`)).Globally()
		// The attributes mediaImages sets, and only with its values.
		file := `/media/[0-9a-f]{16}-[0-9]+x[0-9]+\.(?:jpg|png) [0-9]+w`
		p.AllowAttrs("srcset").Matching(regexp.MustCompile(`^` + file + `(?:, ` + file + `)*$`)).OnElements("img")
		p.AllowAttrs("sizes").Matching(regexp.MustCompile(`^` + regexp.QuoteMeta(media.SizesAttr) + `$`)).OnElements("img")
		p.AllowAttrs("loading").Matching(regexp.MustCompile(`^lazy$`)).OnElements("img")
		p.AllowAttrs("decoding").Matching(regexp.MustCompile(`^async$`)).OnElements("img")
		return p
	}()

	textPolicy = bluemonday.StrictPolicy()

	searchMarks = strings.NewReplacer("\uE000", "", "\uE001", "")

	// taskLabels names task-list checkboxes for screen readers (the
	// renderer emits them unlabelled).
	taskLabels = strings.NewReplacer(
		`<input checked="" disabled="" type="checkbox">`, `<input checked="" disabled="" type="checkbox" aria-label="Done">`,
		`<input disabled="" type="checkbox">`, `<input disabled="" type="checkbox" aria-label="Not done">`,
	)

	navLinks  = regexp.MustCompile(`<a [^>]*class="(?:anchor|footnote-backref)"[^>]*>.*?</a>|<sup id="fnref:[^"]*">.*?</sup>`)
	blockTag  = regexp.MustCompile(`</?(?:p|h[1-6]|li|ul|ol|td|th|tr|table|thead|tbody|pre|blockquote|div|br|hr|section)\b[^>]*>`)
	paragraph = regexp.MustCompile(`(?s)<p>(.*?)</p>`)
)

// Render converts markdown into a post's stored forms. Markdown beyond the
// limits in limits.go is a *LimitError, checked before the costly work.
func Render(markdown string) (Rendered, error) {
	if err := Check(markdown); err != nil {
		return Rendered{}, err
	}
	src := []byte(markdown)
	doc := md.Parser().Parse(text.NewReader(src), parser.WithContext(parser.NewContext(parser.WithIDs(newHeadingIDs()))))
	if d := depth(doc); d > MaxTreeDepth {
		return Rendered{}, &LimitError{fmt.Sprintf("The post nests blocks or emphasis %d levels deep; the limit is %d.", d, MaxTreeDepth)}
	}
	// The writer refuses bytes past the limit, and the renderer's buffered
	// writer then skips every later write, so a post that expands (tables,
	// repeated references) costs at most MaxHTML of output.
	out := &cappedBuffer{max: MaxHTML}
	if err := md.Renderer().Render(out, src, doc); err != nil && !out.full {
		return Rendered{}, fmt.Errorf("render markdown: %w", err)
	}
	if out.full {
		return Rendered{}, tooMuchHTML()
	}
	safe := taskLabels.Replace(postPolicy.Sanitize(out.String()))
	if len(safe) > MaxHTML { // escaping can grow the text: < becomes &lt;
		return Rendered{}, tooMuchHTML()
	}
	// Section anchors and footnote back-links are navigation, not prose.
	prose := navLinks.ReplaceAllString(safe, "")
	// The private-use characters that mark search matches cannot come
	// from a post, or its text could forge highlights.
	plain := searchMarks.Replace(PlainText(prose))
	words := len(strings.Fields(plain))
	var paragraphs []string
	for _, m := range paragraph.FindAllStringSubmatch(prose, 3) {
		paragraphs = append(paragraphs, PlainText(m[1]))
	}
	return Rendered{
		HTML:           safe,
		Text:           plain,
		Excerpt:        Excerpt(strings.Join(paragraphs, " "), excerptLength),
		ReadingMinutes: max(1, (words+wordsPerMinute-1)/wordsPerMinute),
	}, nil
}

// PlainText strips the tags from HTML and collapses whitespace.
func PlainText(htmlText string) string {
	// Block boundaries become spaces so that words of adjacent paragraphs
	// do not run together once the tags are gone.
	spaced := blockTag.ReplaceAllString(htmlText, " ")
	return strings.Join(strings.Fields(html.UnescapeString(textPolicy.Sanitize(spaced))), " ")
}

// Excerpt cuts plain text to at most n characters on a word boundary.
func Excerpt(plain string, n int) string {
	r := []rune(plain)
	if len(r) <= n {
		return plain
	}
	cut := string(r[:n])
	if i := strings.LastIndexFunc(cut, unicode.IsSpace); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRightFunc(cut, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) }) + "…"
}

// Slug turns a title or tag into a URL path segment: lower-case ASCII
// letters and digits separated by single hyphens.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(s) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
		case unicode.Is(unicode.Mn, r): // accents split off by NFKD
		default:
			dash = true
		}
	}
	out := b.String()
	if len(out) > 80 {
		out = strings.TrimRight(out[:80], "-")
	}
	return out
}

// headingIDPrefix starts every heading id, so that a post's "Comment form"
// heading cannot take the id of the page's own comment form.
const headingIDPrefix = "h-"

// headingIDs gives headings prefixed, unique ids: "h-intro", "h-intro-1".
type headingIDs struct {
	used map[string]bool
	next map[string]int // the next suffix to try for a base id
}

func newHeadingIDs() *headingIDs {
	return &headingIDs{used: map[string]bool{}, next: map[string]int{}}
}

// Generate makes an id from a heading's text; repeated texts count on from
// where they stopped, so that many equal headings cost linear time.
func (ids *headingIDs) Generate(value []byte, _ ast.NodeKind) []byte {
	base := headingIDPrefix + Slug(string(value))
	if base == headingIDPrefix {
		base += "section"
	}
	id := base
	for n := ids.next[base]; ids.used[id]; n++ {
		id = fmt.Sprintf("%s-%d", base, n+1)
		ids.next[base] = n + 1
	}
	ids.used[id] = true
	return []byte(id)
}

// Put records an id given explicitly.
func (ids *headingIDs) Put(value []byte) { ids.used[string(value)] = true }

// headingAnchors appends a "#" link to every heading that has an id, so a
// reader can copy a link to a section.
type headingAnchors struct{}

func (headingAnchors) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		h, ok := n.(*ast.Heading)
		if !ok || !entering {
			return ast.WalkContinue, nil
		}
		id, ok := h.AttributeString("id")
		if !ok {
			return ast.WalkSkipChildren, nil
		}
		idb, _ := id.([]byte)
		link := ast.NewLink()
		link.Destination = append([]byte("#"), idb...)
		link.SetAttributeString("class", []byte("anchor"))
		link.SetAttributeString("aria-hidden", []byte("true"))
		link.AppendChild(link, ast.NewString([]byte("#")))
		h.AppendChild(h, ast.NewString([]byte(" ")))
		h.AppendChild(h, link)
		return ast.WalkSkipChildren, nil
	})
}

// mediaImages gives every picture from the blog's own media its srcset,
// sizes, width and height (no layout shift while it loads), and makes all
// but the first load lazily: the first may be in view when the page opens.
type mediaImages struct{}

func (mediaImages) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	first := true
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		img, ok := n.(*ast.Image)
		if !ok || !entering {
			return ast.WalkContinue, nil
		}
		name, ok := strings.CutPrefix(string(img.Destination), media.URLPrefix)
		srcset, w, h, ok2 := media.Srcset(name)
		if !ok || !ok2 {
			return ast.WalkContinue, nil
		}
		img.SetAttributeString("width", []byte(strconv.Itoa(w)))
		img.SetAttributeString("height", []byte(strconv.Itoa(h)))
		img.SetAttributeString("srcset", []byte(srcset))
		img.SetAttributeString("sizes", []byte(media.SizesAttr))
		img.SetAttributeString("decoding", []byte("async"))
		if !first {
			img.SetAttributeString("loading", []byte("lazy"))
		}
		first = false
		return ast.WalkContinue, nil
	})
}
