package web

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/feeds"

	"github.com/blogstack/blogstack/blog/internal/media"
	"github.com/blogstack/blogstack/blog/internal/store"
)

// feedSize is how many of the newest posts the feeds carry.
const feedSize = 20

// feed builds the feed of the newest published posts.
func (s *Server) feed(r *http.Request) (*feeds.Feed, error) {
	posts, err := s.store.PostList(r.Context(), store.PostFilter{Limit: feedSize, WithHTML: true})
	if err != nil {
		return nil, err
	}
	base := s.cfg.BaseURL.String()
	f := &feeds.Feed{
		Title:       s.cfg.Title,
		Link:        &feeds.Link{Href: base + "/"},
		Description: "The latest posts from " + s.cfg.Title + ".",
		Id:          base + "/",
		Updated:     time.Unix(0, 0).UTC(),
		// Atom requires an author for every entry; the blog stands in for
		// entries whose author is unknown.
		Author: &feeds.Author{Name: s.cfg.Title},
	}
	for _, p := range posts {
		link := base + "/posts/" + p.Slug
		item := &feeds.Item{
			Id:          link,
			Title:       p.Title,
			Link:        &feeds.Link{Href: link},
			Description: p.Excerpt,
			Content:     p.HTML,
			Created:     *p.PublishedAt,
			Updated:     p.UpdatedAt,
		}
		if name := cmp.Or(p.Cover, media.FirstName(p.Body)); name != "" {
			if n, ok := media.ParseName(name); ok {
				// RSS wants the length; 0 is the usual "unknown" when the
				// record is gone.
				length := "0"
				if m, err := s.store.MediaByName(r.Context(), name); err == nil {
					length = strconv.FormatInt(m.Bytes, 10)
				}
				item.Enclosure = &feeds.Enclosure{Url: base + media.URLPrefix + name, Length: length, Type: media.ContentType(n.Ext)}
			}
		}
		if p.Author != nil {
			item.Author = &feeds.Author{Name: p.Author.Name}
		}
		f.Items = append(f.Items, item)
		if p.UpdatedAt.After(f.Updated) {
			f.Updated = p.UpdatedAt
		}
	}
	return f, nil
}

func (s *Server) handleAtom() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := s.feed(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		atom := (&feeds.Atom{Feed: f}).AtomFeed()
		for i, e := range atom.Entries {
			e.Published = f.Items[i].Created.UTC().Format(time.RFC3339)
		}
		atom.Link = &feeds.AtomLink{Href: s.cfg.BaseURL.String() + "/", Rel: "alternate", Type: "text/html"}
		s.writeXML(w, r, "application/atom+xml; charset=utf-8", atom)
	})
}

func (s *Server) handleRSS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := s.feed(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeXML(w, r, "application/rss+xml; charset=utf-8", (&feeds.Rss{Feed: f}).RssFeed().FeedXml())
	})
}

// urlset is the sitemaps.org document.
type urlset struct {
	XMLName xml.Name     `xml:"urlset"`
	XMLNS   string       `xml:"xmlns,attr"`
	URLs    []sitemapURL `xml:"url"`
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod"`
}

// handleSitemap lists every published post, and nothing else.
func (s *Server) handleSitemap() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entries, err := s.store.Sitemap(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		set := urlset{XMLNS: "http://www.sitemaps.org/schemas/sitemap/0.9"}
		for _, e := range entries {
			set.URLs = append(set.URLs, sitemapURL{
				Loc:     s.cfg.BaseURL.String() + "/posts/" + e.Slug,
				LastMod: e.UpdatedAt.UTC().Format("2006-01-02"),
			})
		}
		s.writeXML(w, r, "application/xml; charset=utf-8", set)
	})
}

func (s *Server) writeXML(w http.ResponseWriter, r *http.Request, contentType string, v any) {
	out, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		s.fail(w, r, fmt.Errorf("encode %s: %w", contentType, err))
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

func (s *Server) handleRobots() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if s.cfg.Preview {
			_, _ = w.Write([]byte("User-agent: *\nDisallow: /\n"))
			return
		}
		fmt.Fprintf(w, "User-agent: *\nDisallow: /admin\nDisallow: /login\nDisallow: /search\n\nSitemap: %s/sitemap.xml\n", s.cfg.BaseURL)
	})
}
