package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/blogstack/blogstack/blog/internal/media"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/views"
)

// perPage is how many posts a list page shows.
const perPage = 10

// pageParam reads ?page=N: absent means 1; anything but a whole number
// from 1 up is a bad request.
func pageParam(r *http.Request) (int, error) { return intParam(r.URL.Query(), "page") }

// intParam reads a page number from query[key]: absent means 1.
func intParam(query url.Values, key string) (int, error) {
	v := query.Get(key)
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > math.MaxInt32 {
		return 0, badRequest{fmt.Sprintf("The page number %q is not valid: use a whole number from 1 up.", v)}
	}
	return n, nil
}

// pageURL is path with ?page=N (none for the first page) and extra query.
func pageURL(path string, page int, extra url.Values) string {
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// pager builds the newer/older links for a list of total items.
func pager(path string, page, total int, extra url.Values) views.Pager {
	pages := max(1, (total+perPage-1)/perPage)
	p := views.Pager{Page: page, Pages: pages}
	if page > 1 {
		p.Newer = pageURL(path, page-1, extra)
	}
	if page < pages {
		p.Older = pageURL(path, page+1, extra)
	}
	return p
}

// listPosts loads one page of a post list of total posts. ok is false
// when it has already answered: a page past the end redirects to the last
// page.
func (s *Server) listPosts(w http.ResponseWriter, r *http.Request, path, tag string, total int) (posts []store.Post, pg views.Pager, ok bool) {
	page, err := pageParam(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, pg, false
	}
	pg = pager(path, page, total, nil)
	pg.AppendTo = "#posts"
	if page > pg.Pages {
		http.Redirect(w, r, pageURL(path, pg.Pages, nil), http.StatusFound)
		return nil, pg, false
	}
	posts, err = s.store.PostList(r.Context(), store.PostFilter{TagSlug: tag, Limit: perPage, Offset: (page - 1) * perPage})
	if err != nil {
		s.fail(w, r, err)
		return nil, pg, false
	}
	return posts, pg, true
}

func (s *Server) handleHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arch, err := s.archive(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		posts, pg, ok := s.listPosts(w, r, "/", "", arch.a.Published)
		if !ok {
			return
		}
		vm := views.ListPage{
			Site: s.site(),
			Meta: views.Meta{
				Title: s.cfg.Title, Description: "The latest posts from " + s.cfg.Title + ".",
				Path: pageURL("/", pg.Page, nil), Type: "website", Prev: pg.Newer, Next: pg.Older,
			},
			Posts: posts,
			Pager: pg,
		}
		if pg.Page == 1 && !isFragmentRequest(r) {
			vm.Tags = arch.a.Tags
		}
		s.render(w, r, http.StatusOK, views.List(vm), views.ListMore(vm))
	})
}

func (s *Server) handleTag() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arch, err := s.archive(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// Only a tag that published posts carry exists for readers, so a
		// tag of drafts or scheduled posts does not leak its name.
		tag, found := arch.bySlug[r.PathValue("tag")]
		if !found {
			s.notFound(w, r)
			return
		}
		path := "/tags/" + tag.Slug
		posts, pg, ok := s.listPosts(w, r, path, tag.Slug, tag.Posts)
		if !ok {
			return
		}
		vm := views.ListPage{
			Site: s.site(),
			Meta: views.Meta{
				Title: "Posts tagged " + tag.Name, Description: "Posts about " + tag.Name + " on " + s.cfg.Title + ".",
				Path: pageURL(path, pg.Page, nil), Type: "website", Prev: pg.Newer, Next: pg.Older,
			},
			Heading: "Posts tagged “" + tag.Name + "”",
			Posts:   posts,
			Pager:   pg,
		}
		s.render(w, r, http.StatusOK, views.List(vm), views.ListMore(vm))
	})
}

func (s *Server) handlePost() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		post, err := s.store.PostBySlug(r.Context(), r.PathValue("slug"))
		if errors.Is(err, store.ErrNotFound) {
			// A published post whose slug changed keeps its old address.
			if slug, rerr := s.store.RedirectSlug(r.Context(), r.PathValue("slug")); rerr == nil {
				http.Redirect(w, r, "/posts/"+url.PathEscape(slug), http.StatusMovedPermanently)
				return
			}
			if s.oldAddress(w, r) {
				return
			}
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		comments, err := s.store.ApprovedComments(r.Context(), post.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		form := views.CommentForm{Slug: post.Slug, Token: s.tokenFor(r.Context(), post)}
		if r.URL.Query().Get("comment") == "pending" {
			form.Notice = commentPending
		}
		s.write(w, r, http.StatusOK, views.Article(s.postPage(r.Context(), post, comments, form)))
	})
}

// postPage is the view model of a post page.
// Its picture when shared is the cover, or else the first picture of the
// post's own media.
func (s *Server) postPage(ctx context.Context, post store.Post, comments []store.Comment, form views.CommentForm) views.PostPage {
	site := s.site()
	vm := views.PostPage{
		Site: site,
		Meta: views.Meta{
			Title: post.Title, Description: post.Excerpt, Path: "/posts/" + post.Slug, Type: "article",
			Published: post.PublishedAt, Modified: post.UpdatedAt, JSONLD: views.BlogPosting(site, post),
		},
		Post:     post,
		Comments: comments,
		Form:     form,
		Cover:    s.picture(ctx, post.Cover),
	}
	vm.Meta.Image = vm.Cover
	if vm.Meta.Image == nil {
		vm.Meta.Image = s.picture(ctx, media.FirstName(post.Body))
	}
	if vm.Meta.Image != nil {
		vm.Meta.JSONLD.(map[string]any)["image"] = vm.Meta.Image.URL
	}
	return vm
}
