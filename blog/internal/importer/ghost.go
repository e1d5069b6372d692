package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/blogstack/blogstack/blog/internal/store"
)

// The JSON of Ghost's Settings -> Labs -> Export (Ghost 2 to 5).
type ghostExport struct {
	DB []struct {
		Data struct {
			Posts []struct {
				ID          string  `json:"id"`
				Title       string  `json:"title"`
				Slug        string  `json:"slug"`
				HTML        *string `json:"html"`
				Lexical     *string `json:"lexical"`
				Mobiledoc   *string `json:"mobiledoc"`
				Plaintext   *string `json:"plaintext"`
				Status      string  `json:"status"`
				Type        string  `json:"type"`
				Page        bool    `json:"page"` // Ghost 2
				AuthorID    string  `json:"author_id"`
				CreatedAt   string  `json:"created_at"`
				UpdatedAt   string  `json:"updated_at"`
				PublishedAt *string `json:"published_at"`
			} `json:"posts"`
			Tags []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"tags"`
			PostsTags []struct {
				PostID string `json:"post_id"`
				TagID  string `json:"tag_id"`
			} `json:"posts_tags"`
			Users []struct {
				ID    string `json:"id"`
				Name  string `json:"name"`
				Email string `json:"email"`
			} `json:"users"`
			PostsAuthors []struct {
				PostID    string `json:"post_id"`
				AuthorID  string `json:"author_id"`
				SortOrder int    `json:"sort_order"`
			} `json:"posts_authors"`
		} `json:"data"`
	} `json:"db"`
}

// ParseGhost reads a Ghost JSON export: posts (pages too when pages is
// set) from their HTML, or from Lexical when an export has no HTML, their
// tags (internal #tags left out), primary authors and statuses. Ghost's
// post URL /slug/ becomes a redirect. oldURL (the old site's address, or
// empty for paths on this site) replaces the __GHOST_URL__ placeholder
// that Ghost 4 and later write in links and images.
func ParseGhost(r io.Reader, pages bool, oldURL string) (Data, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return Data{}, err
	}
	var doc ghostExport
	if err := json.Unmarshal(raw, &doc); err != nil {
		if syntax := jsonSyntax(raw, err); syntax != nil {
			return Data{}, fmt.Errorf("ghost: %w", syntax)
		}
		return Data{}, fmt.Errorf("ghost: not a Ghost export: %w", err)
	}
	if len(doc.DB) == 0 {
		return Data{}, errors.New("ghost: not a Ghost export (no \"db\" list)")
	}
	g := doc.DB[0].Data
	var d Data
	for _, u := range g.Users {
		email := u.Email
		if email == "" {
			email = u.ID + "@ghost.import.invalid"
		}
		d.Authors = append(d.Authors, Author{ID: u.ID, Email: email, Name: u.Name})
	}
	tagNames := map[string]string{}
	for _, t := range g.Tags {
		tagNames[t.ID] = t.Name
	}
	tags := map[string][]string{}
	for _, pt := range g.PostsTags {
		if name := tagNames[pt.TagID]; name != "" && !strings.HasPrefix(name, "#") {
			tags[pt.PostID] = append(tags[pt.PostID], name)
		}
	}
	primary := map[string]string{}
	order := map[string]int{}
	for _, pa := range g.PostsAuthors {
		if o, ok := order[pa.PostID]; !ok || pa.SortOrder < o {
			primary[pa.PostID], order[pa.PostID] = pa.AuthorID, pa.SortOrder
		}
	}
	for _, gp := range g.Posts {
		rec := fmt.Sprintf("post id=%s", gp.ID)
		if gp.Type == "page" || gp.Page {
			if !pages {
				d.Skipped = append(d.Skipped, Skip{rec, "a page (import pages with --pages)"})
				continue
			}
		}
		p := Post{ID: gp.ID, Record: rec, Title: strings.TrimSpace(gp.Title), AuthorID: primary[gp.ID], Tags: tags[gp.ID]}
		if p.AuthorID == "" {
			p.AuthorID = gp.AuthorID
		}
		if p.Title == "" {
			p.Title = "Untitled"
		}
		switch gp.Status {
		case "published", "scheduled":
			p.Status = store.StatusPublished
		case "draft":
			p.Status = store.StatusDraft
		default:
			d.Skipped = append(d.Skipped, Skip{rec, fmt.Sprintf("status %q", gp.Status)})
			continue
		}
		// Ghost's own rendering first; the editor's document when an
		// export has none.
		var src string
		switch {
		case gp.HTML != nil && *gp.HTML != "":
			src = *gp.HTML
		case gp.Lexical != nil && *gp.Lexical != "":
			if src, err = lexicalHTML(*gp.Lexical); err != nil {
				return Data{}, fmt.Errorf("ghost: %s: lexical: %w", rec, err)
			}
		case gp.Mobiledoc != nil && *gp.Mobiledoc != "":
			if p.Body, err = mobiledocMarkdown(*gp.Mobiledoc); err != nil {
				return Data{}, fmt.Errorf("ghost: %s: mobiledoc: %w", rec, err)
			}
		case gp.Plaintext != nil:
			src = "<p>" + html.EscapeString(*gp.Plaintext) + "</p>"
		}
		if p.Body == "" {
			src = strings.ReplaceAll(src, "__GHOST_URL__", strings.TrimRight(oldURL, "/"))
			if p.Body, err = htmlToMarkdown(src); err != nil {
				return Data{}, fmt.Errorf("ghost: %s: %w", rec, err)
			}
		}
		p.Slug = slugFor(gp.Slug, p.Title, p.ID)
		if p.CreatedAt, err = parseTime(gp.CreatedAt); err != nil {
			return Data{}, fmt.Errorf("ghost: %s: created_at: %w", rec, err)
		}
		p.UpdatedAt = p.CreatedAt
		if t, err := parseTime(gp.UpdatedAt); err == nil {
			p.UpdatedAt = t
		}
		if p.Status == store.StatusPublished {
			if gp.PublishedAt == nil {
				return Data{}, fmt.Errorf("ghost: %s: %s without published_at", rec, gp.Status)
			}
			t, err := parseTime(*gp.PublishedAt)
			if err != nil {
				return Data{}, fmt.Errorf("ghost: %s: published_at: %w", rec, err)
			}
			p.PublishedAt = &t
			p.OldPaths = []string{"/" + gp.Slug + "/"}
		}
		d.Posts = append(d.Posts, p)
	}
	if len(d.Posts) == 0 && len(d.Skipped) == 0 {
		return Data{}, errors.New("ghost: no posts in the export")
	}
	return d, nil
}

// lexicalNode is the part of Ghost's Lexical editor state that holds
// prose; cards (images, embeds, galleries) have no text and are left out.
type lexicalNode struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Tag      string `json:"tag"`
	ListType string `json:"listType"`
	URL      string `json:"url"`
	// Format is a bit set on text (1 bold, 2 italic, 16 code) and an
	// alignment string on blocks.
	Format   json.RawMessage `json:"format"`
	Children []lexicalNode   `json:"children"`
	Src      string          `json:"src"`
	Alt      string          `json:"alt"`
}

// lexicalHTML renders the prose of a Lexical document as HTML.
func lexicalHTML(src string) (string, error) {
	var doc struct {
		Root lexicalNode `json:"root"`
	}
	if err := json.Unmarshal([]byte(src), &doc); err != nil {
		return "", err
	}
	var b strings.Builder
	var walk func(n lexicalNode)
	kids := func(n lexicalNode) {
		for _, c := range n.Children {
			walk(c)
		}
	}
	wrap := func(tag string, n lexicalNode) {
		b.WriteString("<" + tag + ">")
		kids(n)
		b.WriteString("</" + tag + ">")
	}
	walk = func(n lexicalNode) {
		switch n.Type {
		case "text", "extended-text":
			t := html.EscapeString(n.Text)
			var format int
			_ = json.Unmarshal(n.Format, &format)
			if format&1 != 0 {
				t = "<strong>" + t + "</strong>"
			}
			if format&2 != 0 {
				t = "<em>" + t + "</em>"
			}
			if format&16 != 0 {
				t = "<code>" + t + "</code>"
			}
			b.WriteString(t)
		case "linebreak":
			b.WriteString("<br>")
		case "paragraph":
			wrap("p", n)
		case "heading", "extended-heading":
			tag := n.Tag
			if len(tag) != 2 || tag[0] != 'h' || tag[1] < '1' || tag[1] > '6' {
				tag = "h2"
			}
			wrap(tag, n)
		case "quote", "aside", "extended-quote":
			wrap("blockquote", n)
		case "list":
			if n.ListType == "number" {
				wrap("ol", n)
			} else {
				wrap("ul", n)
			}
		case "listitem":
			wrap("li", n)
		case "link":
			b.WriteString(`<a href="` + html.EscapeString(n.URL) + `">`)
			kids(n)
			b.WriteString("</a>")
		case "image":
			b.WriteString(`<p><img src="` + html.EscapeString(n.Src) + `" alt="` + html.EscapeString(n.Alt) + `"></p>`)
		case "horizontalrule":
			b.WriteString("<hr>")
		default:
			kids(n)
		}
	}
	walk(doc.Root)
	return b.String(), nil
}

// mobiledocMarkdown turns a Ghost 1-3 Mobiledoc document into markdown:
// markdown cards as they are (the usual case: Ghost's editor was a
// markdown card), HTML and markup sections through htmlToMarkdown, code
// and image cards as markdown. Other cards have no text and are left out.
func mobiledocMarkdown(src string) (string, error) {
	var doc struct {
		Cards    [][]json.RawMessage `json:"cards"`
		Markups  [][]json.RawMessage `json:"markups"`
		Sections [][]json.RawMessage `json:"sections"`
	}
	if err := json.Unmarshal([]byte(src), &doc); err != nil {
		return "", err
	}
	var parts []string
	card := func(i int) (string, error) {
		if i < 0 || i >= len(doc.Cards) || len(doc.Cards[i]) < 2 {
			return "", fmt.Errorf("card %d does not exist", i)
		}
		var name string
		_ = json.Unmarshal(doc.Cards[i][0], &name)
		var payload struct {
			Markdown, HTML, Code, Language, Src, Alt string
		}
		_ = json.Unmarshal(doc.Cards[i][1], &payload)
		switch name {
		case "markdown", "card-markdown":
			return payload.Markdown, nil
		case "html":
			return htmlToMarkdown(payload.HTML)
		case "code":
			return "```" + payload.Language + "\n" + payload.Code + "\n```", nil
		case "image":
			return htmlToMarkdown(`<img src="` + html.EscapeString(payload.Src) + `" alt="` + html.EscapeString(payload.Alt) + `">`)
		}
		return "", nil
	}
	// markers renders a section's markers, opening and closing markups.
	markers := func(raw json.RawMessage) string {
		var ms [][]json.RawMessage
		_ = json.Unmarshal(raw, &ms)
		var b strings.Builder
		var open []string
		for _, m := range ms {
			if len(m) < 4 {
				continue
			}
			var opens []int
			var closes int
			var text string
			_ = json.Unmarshal(m[1], &opens)
			_ = json.Unmarshal(m[2], &closes)
			_ = json.Unmarshal(m[3], &text)
			for _, o := range opens {
				if o < 0 || o >= len(doc.Markups) || len(doc.Markups[o]) == 0 {
					continue
				}
				var tag string
				_ = json.Unmarshal(doc.Markups[o][0], &tag)
				attrs := ""
				var kv []string
				if len(doc.Markups[o]) > 1 && json.Unmarshal(doc.Markups[o][1], &kv) == nil {
					for i := 0; i+1 < len(kv); i += 2 {
						attrs += " " + html.EscapeString(kv[i]) + `="` + html.EscapeString(kv[i+1]) + `"`
					}
				}
				b.WriteString("<" + html.EscapeString(tag) + attrs + ">")
				open = append(open, tag)
			}
			b.WriteString(html.EscapeString(text))
			for ; closes > 0 && len(open) > 0; closes-- {
				b.WriteString("</" + html.EscapeString(open[len(open)-1]) + ">")
				open = open[:len(open)-1]
			}
		}
		return b.String()
	}
	for _, sec := range doc.Sections {
		var kind int
		if len(sec) < 2 || json.Unmarshal(sec[0], &kind) != nil {
			continue
		}
		var part string
		var err error
		switch kind {
		case 10: // card
			var i int
			_ = json.Unmarshal(sec[1], &i)
			part, err = card(i)
		case 1, 3: // markup section (p, h2, blockquote...), list
			if len(sec) < 3 {
				continue
			}
			var tag string
			_ = json.Unmarshal(sec[1], &tag)
			tag = strings.ToLower(tag)
			var inner string
			if kind == 1 {
				inner = markers(sec[2])
			} else {
				var items []json.RawMessage
				_ = json.Unmarshal(sec[2], &items)
				for _, it := range items {
					inner += "<li>" + markers(it) + "</li>"
				}
			}
			part, err = htmlToMarkdown("<" + html.EscapeString(tag) + ">" + inner + "</" + html.EscapeString(tag) + ">")
		}
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(part) != "" {
			parts = append(parts, strings.TrimSpace(part))
		}
	}
	return strings.Join(parts, "\n\n") + "\n", nil
}
