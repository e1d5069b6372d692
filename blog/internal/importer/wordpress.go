package importer

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/blogstack/blogstack/blog/internal/content"
	"github.com/blogstack/blogstack/blog/internal/store"
)

// The WXR file of WordPress's Tools -> Export. encoding/xml matches
// elements by namespace URL, so the wp: prefix is matched loosely by local
// name (WXR 1.0, 1.1 and 1.2 use different wp namespace URLs).
type wxr struct {
	Channel struct {
		Link    string      `xml:"link"`
		Authors []wxrAuthor `xml:"author"`
		Items   []wxrItem   `xml:"item"`
	} `xml:"channel"`
}

type wxrAuthor struct {
	ID          string `xml:"author_id"`
	Login       string `xml:"author_login"`
	Email       string `xml:"author_email"`
	DisplayName string `xml:"author_display_name"`
}

type wxrItem struct {
	Title      string `xml:"title"`
	Link       string `xml:"link"`
	Creator    string `xml:"http://purl.org/dc/elements/1.1/ creator"`
	Content    string `xml:"http://purl.org/rss/1.0/modules/content/ encoded"`
	PostID     string `xml:"post_id"`
	DateGMT    string `xml:"post_date_gmt"`
	Date       string `xml:"post_date"`
	Modified   string `xml:"post_modified_gmt"`
	Name       string `xml:"post_name"`
	Status     string `xml:"status"`
	Type       string `xml:"post_type"`
	Categories []struct {
		Domain string `xml:"domain,attr"`
		Name   string `xml:",chardata"`
	} `xml:"category"`
	Comments []struct {
		ID       string `xml:"comment_id"`
		Author   string `xml:"comment_author"`
		URL      string `xml:"comment_author_url"`
		DateGMT  string `xml:"comment_date_gmt"`
		Content  string `xml:"comment_content"`
		Approved string `xml:"comment_approved"`
		Type     string `xml:"comment_type"`
	} `xml:"comment"`
}

// ParseWordPress reads a WXR export: posts (pages too when pages is set),
// their categories and tags, authors, and comments (approved ones shown,
// pending ones held, spam and trash left out). Drafts stay drafts, and
// scheduled posts stay scheduled. Each post's permalink from the export
// becomes a redirect.
func ParseWordPress(r io.Reader, pages bool) (Data, error) {
	var doc wxr
	dec := xml.NewDecoder(r)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected EOF") {
			return Data{}, fmt.Errorf("wordpress: the file ends early (truncated?) near line %d: %w", line(dec), err)
		}
		return Data{}, fmt.Errorf("wordpress: not a WXR export, near line %d: %w", line(dec), err)
	}
	var d Data
	byLogin := map[string]string{}
	for _, a := range doc.Channel.Authors {
		id := a.Login
		email := a.Email
		if email == "" {
			email = a.Login + "@wordpress.import.invalid"
		}
		name := a.DisplayName
		if name == "" {
			name = a.Login
		}
		d.Authors = append(d.Authors, Author{ID: id, Email: email, Name: name})
		byLogin[a.Login] = id
	}
	for _, it := range doc.Channel.Items {
		rec := fmt.Sprintf("item wp:post_id=%s", it.PostID)
		switch it.Type {
		case "post":
		case "page":
			if !pages {
				d.Skipped = append(d.Skipped, Skip{rec, "a page (import pages with --pages)"})
				continue
			}
		default:
			continue // attachments, menu items, revisions, custom types: not posts
		}
		if it.PostID == "" {
			return Data{}, fmt.Errorf("wordpress: an item titled %q has no wp:post_id", it.Title)
		}
		p := Post{ID: it.PostID, Record: rec, AuthorID: byLogin[it.Creator], Title: strings.TrimSpace(it.Title)}
		switch it.Status {
		case "publish", "future":
			p.Status = store.StatusPublished
		case "draft", "pending", "private", "auto-draft":
			p.Status = store.StatusDraft
		default: // trash, inherit
			d.Skipped = append(d.Skipped, Skip{rec, fmt.Sprintf("status %q", it.Status)})
			continue
		}
		if p.Title == "" {
			p.Title = "Untitled"
		}
		var err error
		if p.Body, err = htmlToMarkdown(autop(captions.ReplaceAllString(it.Content, ""))); err != nil {
			return Data{}, fmt.Errorf("wordpress: %s: %w", rec, err)
		}
		slug, _ := url.PathUnescape(it.Name)
		p.Slug = slugFor(slug, p.Title, p.ID)
		// Drafts carry a zero GMT date; their local date is all there is.
		when := it.DateGMT
		if when == "" || strings.HasPrefix(when, "0000") {
			when = it.Date
		}
		if when == "" || strings.HasPrefix(when, "0000") {
			return Data{}, fmt.Errorf("wordpress: %s: no wp:post_date", rec)
		}
		t, err := parseTime(when)
		if err != nil {
			return Data{}, fmt.Errorf("wordpress: %s: wp:post_date_gmt: %w", rec, err)
		}
		p.CreatedAt, p.UpdatedAt = t, t
		if m, err := parseTime(it.Modified); err == nil && !strings.HasPrefix(it.Modified, "0000") {
			p.UpdatedAt = m
		}
		if p.Status == store.StatusPublished {
			p.PublishedAt = &t
		}
		for _, c := range it.Categories {
			if c.Domain == "category" && c.Name == "Uncategorized" {
				continue
			}
			if c.Domain == "category" || c.Domain == "post_tag" {
				p.Tags = append(p.Tags, strings.TrimSpace(c.Name))
			}
		}
		// Drafts have only ?p=N links, which are not worth keeping.
		if u, err := url.Parse(strings.TrimSpace(it.Link)); err == nil && p.Status == store.StatusPublished && u.Path != "" && u.RawQuery == "" {
			p.OldPaths = append(p.OldPaths, u.Path)
		}
		d.Posts = append(d.Posts, p)
		for _, c := range it.Comments {
			crec := fmt.Sprintf("comment wp:comment_id=%s on %s", c.ID, rec)
			if c.Type == "pingback" || c.Type == "trackback" {
				d.Skipped = append(d.Skipped, Skip{crec, "a " + c.Type})
				continue
			}
			if c.Approved != "1" && c.Approved != "0" {
				d.Skipped = append(d.Skipped, Skip{crec, fmt.Sprintf("marked %q", c.Approved)})
				continue
			}
			ct, err := parseTime(c.DateGMT)
			if err != nil {
				return Data{}, fmt.Errorf("wordpress: %s: wp:comment_date_gmt: %w", crec, err)
			}
			name := strings.TrimSpace(c.Author)
			if name == "" {
				name = "Anonymous"
			}
			d.Comments = append(d.Comments, Comment{
				ID: c.ID, Record: crec, PostID: p.ID, Name: name, Website: website(c.URL),
				Body: content.PlainText(c.Content), Approved: c.Approved == "1", CreatedAt: ct,
			})
		}
	}
	if len(d.Posts) == 0 && len(d.Skipped) == 0 {
		return Data{}, errors.New("wordpress: no posts in the file (is it a WXR export?)")
	}
	return d, nil
}

// captions are the [caption] shortcodes WordPress wraps around images;
// the image and its caption text stay. Other shortcodes stay as text.
var captions = regexp.MustCompile(`\[/?caption[^\]]*\]`)

func line(dec *xml.Decoder) int {
	l, _ := dec.InputPos()
	return l
}

// website keeps a commenter's link only when it is a plain web address.
func website(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}
