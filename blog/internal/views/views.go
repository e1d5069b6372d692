// Package views renders the blog's pages with templ. Every component takes
// a view-model struct; a page is the layout around fragments, and the same
// fragment is what an htmx request gets back.
package views

import (
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/blogstack/blogstack/blog/internal/store"
)

// Site is what every page needs to know about the blog.
type Site struct {
	Title   string
	BaseURL string // without a trailing slash
	Preview bool   // a preview stack: banner and noindex
	Icon    string
	CSS     []string
	Scripts []string
	// HTMXConfig is the JSON of htmx's <meta name="htmx-config">, empty
	// when htmx is not served.
	HTMXConfig string
}

// Abs makes a site path absolute.
func (s Site) Abs(path string) string { return s.BaseURL + path }

// Meta describes one page for browsers, search engines and link previews.
type Meta struct {
	Title       string // the page's own title; the site title is appended
	Description string
	Path        string // canonical path, with its query when it matters
	Type        string // OpenGraph type: website or article
	Published   *time.Time
	Modified    time.Time
	Prev, Next  string // rel=prev/next paths for paginated lists
	NoIndex     bool   // search pages and errors are not indexed
	// JSONLD is structured data for the page, such as a BlogPosting.
	JSONLD any
	// Image is the picture shown when the page is shared (og:image).
	Image *Picture
}

// FullTitle is the content of <title>.
func (m Meta) FullTitle(site Site) string {
	if m.Title == "" || m.Title == site.Title {
		return site.Title
	}
	return m.Title + " · " + site.Title
}

// ListPage is a page of posts: the home page or a tag's page.
type ListPage struct {
	Site    Site
	Meta    Meta
	Heading string // empty on the home page
	Posts   []store.Post
	Tags    []store.TagCount // topics to browse, on the first page of the home page
	Pager   Pager
}

// Pager links a paginated list to its neighbours.
type Pager struct {
	Page, Pages int
	Newer       string // path of the previous (newer) page, empty on the first
	Older       string // path of the next (older) page, empty on the last
	// AppendTo, when set, is the list that htmx appends the older page to
	// (a CSS selector) instead of navigating.
	AppendTo string
}

// PostPage is one post with its comments.
type PostPage struct {
	Site     Site
	Meta     Meta
	Post     store.Post
	Cover    *Picture
	Comments []store.Comment
	Form     CommentForm
}

// SearchPage is the search form and, for a query, its results.
type SearchPage struct {
	Site    Site
	Meta    Meta
	Query   string
	Results []store.SearchResult
	Total   int
	Pager   Pager
}

// ErrorPage is a friendly page for 4xx and 5xx answers.
type ErrorPage struct {
	Site    Site
	Meta    Meta
	Status  int
	Heading string
	Message string
}

// Date formats a date for readers.
func Date(t time.Time) string { return t.UTC().Format("January 2, 2006") }

// ISO formats a time for machines (datetime attributes, feeds, JSON-LD).
func ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func postPath(slug string) string { return "/posts/" + slug }
func tagPath(slug string) string  { return "/tags/" + slug }

func minutes(n int) string { return fmt.Sprintf("%d min read", n) }

// Highlight escapes a search snippet and turns the store's match markers
// into <mark> elements, pairing them in order: a stray or repeated marker
// (a post saved before content stripped them) opens or closes nothing.
func Highlight(snippet string) templ.Component {
	var b strings.Builder
	open := false
	for _, r := range snippet {
		switch {
		case string(r) == store.MarkStart && !open:
			b.WriteString("<mark>")
			open = true
		case string(r) == store.MarkEnd && open:
			b.WriteString("</mark>")
			open = false
		case string(r) == store.MarkStart || string(r) == store.MarkEnd:
		default:
			b.WriteString(html.EscapeString(string(r)))
		}
	}
	if open {
		b.WriteString("</mark>")
	}
	return templ.Raw(b.String())
}

func publishedAt(p store.Post) time.Time {
	if p.PublishedAt != nil {
		return *p.PublishedAt
	}
	return p.CreatedAt
}

func authorName(p store.Post) string {
	if p.Author != nil {
		return p.Author.Name
	}
	return ""
}

// BlogPosting is schema.org structured data for a post.
func BlogPosting(site Site, p store.Post) map[string]any {
	return map[string]any{
		"@context":         "https://schema.org",
		"@type":            "BlogPosting",
		"headline":         p.Title,
		"description":      p.Excerpt,
		"url":              site.Abs(postPath(p.Slug)),
		"mainEntityOfPage": site.Abs(postPath(p.Slug)),
		"datePublished":    ISO(publishedAt(p)),
		"dateModified":     ISO(p.UpdatedAt),
		"wordCount":        len(strings.Fields(p.Text)),
		"author":           map[string]any{"@type": "Person", "name": authorName(p)},
		"publisher":        map[string]any{"@type": "Organization", "name": site.Title},
	}
}

func commentID(c store.Comment) string { return fmt.Sprintf("comment-%d", c.ID) }

// oobSwap marks an element that htmx swaps in by id, out of band.
func oobSwap(oob bool) templ.Attributes {
	if oob {
		return templ.Attributes{"hx-swap-oob": "true"}
	}
	return nil
}

func itoa(n int64) string { return fmt.Sprint(n) }

// prefixed renames error keys so that they match prefixed field ids.
func prefixed(errs Errors, prefix string) Errors {
	out := Errors{}
	for k, v := range errs {
		out[prefix+k] = v
	}
	return out
}

// section names the part of the site a page belongs to, for the header's
// aria-current.
func section(path string) string {
	switch {
	case path == "/" || strings.HasPrefix(path, "/?"):
		return "posts"
	case strings.HasPrefix(path, "/search"):
		return "search"
	}
	return ""
}

// current marks the link to the page being shown; an empty aria-current
// would mean false, so the value is explicit.
func current(on bool) templ.Attributes {
	if on {
		return templ.Attributes{"aria-current": "page"}
	}
	return nil
}
