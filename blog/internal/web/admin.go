package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blogstack/blogstack/blog/internal/content"
	"github.com/blogstack/blogstack/blog/internal/media"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/views"
)

// dashboardNotices are the messages a redirect to the dashboard may show.
var dashboardNotices = map[string]string{
	"saved":   "The post is saved.",
	"deleted": "The post is deleted.",
}

func (s *Server) adminMeta(title, path string) views.Meta {
	return views.Meta{Title: title, Path: path, Type: "website", NoIndex: true}
}

// adminPerPage is how many rows a page of the dashboard's lists or the
// moderation queue shows.
const adminPerPage = 20

// maxCovers is how many uploads the editor offers as cover.
const maxCovers = 100

// owner is whose posts the signed-in author manages: every author's for an
// admin (store.AnyOwner), only their own for an author.
func owner(r *http.Request) int64 { return ownerOf(r.Context()) }

func ownerOf(ctx context.Context) int64 {
	a := authorFrom(ctx)
	if a.Role == store.RoleAdmin {
		return store.AnyOwner
	}
	return a.ID
}

// dashboardGroups are the dashboard's lists; each pages on its own query
// parameter (?drafts=2), so that paging one keeps the others where they are.
var dashboardGroups = []struct{ id, state, heading string }{
	{"drafts", store.StateDraft, "Drafts"},
	{"scheduled", store.StateScheduled, "Scheduled"},
	{"published", store.StatePublished, "Published"},
}

func (s *Server) handleDashboard() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query := r.URL.Query()
		vm := views.Dashboard{
			Site: s.site(), Meta: s.adminMeta("Dashboard", "/admin"),
			Notice: dashboardNotices[query.Get("done")],
		}
		for _, g := range dashboardGroups {
			page, err := intParam(query, g.id)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			posts, total, err := s.store.Posts(r.Context(), store.PostFilter{
				State: g.state, AuthorID: owner(r), Limit: adminPerPage, Offset: (page - 1) * adminPerPage,
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			vm.Groups = append(vm.Groups, views.PostGroup{
				ID: g.id, Heading: g.heading, Posts: posts, Total: total,
				Live: g.state == store.StatePublished, Pager: adminPager("/admin", query, g.id, page, total),
			})
		}
		var err error
		if vm.Pending, err = s.store.PendingCommentCount(r.Context(), owner(r)); err != nil {
			s.fail(w, r, err)
			return
		}
		s.write(w, r, http.StatusOK, views.DashboardPage(vm))
	})
}

// adminPager links the neighbours of page in a list of total rows that
// pages on the query parameter key, keeping the rest of query.
func adminPager(path string, query url.Values, key string, page, total int) views.Pager {
	pages := max(1, (total+adminPerPage-1)/adminPerPage)
	p := views.Pager{Page: page, Pages: pages}
	link := func(n int) string {
		q := url.Values{}
		for k, v := range query {
			if k != "done" {
				q[k] = v
			}
		}
		q.Del(key)
		if n > 1 {
			q.Set(key, strconv.Itoa(n))
		}
		if len(q) == 0 {
			return path
		}
		return path + "?" + q.Encode()
	}
	if page > 1 {
		p.Newer = link(min(page-1, pages))
	}
	if page < pages {
		p.Older = link(page + 1)
	}
	return p
}

// A publish time outside these bounds is a typo (the year 0202, 20266), and
// would make a post that says "published" but that no reader ever sees.
var earliestPublish = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

const maxScheduleYears = 10

// postInput reads and validates the editor's fields. The form view model
// keeps what the author typed, with the errors, for re-rendering.
func postInput(r *http.Request, authorID int64) (store.PostInput, views.PostForm) {
	f := views.PostForm{
		Title:     strings.TrimSpace(r.PostFormValue("title")),
		Slug:      strings.TrimSpace(r.PostFormValue("slug")),
		Body:      strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n"),
		Tags:      strings.TrimSpace(r.PostFormValue("tags")),
		Status:    r.PostFormValue("status"),
		PublishAt: strings.TrimSpace(r.PostFormValue("publish_at")),
		Cover:     r.PostFormValue("cover"),
		Errors:    views.Errors{},
	}
	in := store.PostInput{AuthorID: authorID, Title: f.Title, Body: f.Body, Status: f.Status, Cover: f.Cover}
	if _, ok := media.ParseName(f.Cover); f.Cover != "" && !ok {
		f.Errors["form"] = "The cover picture is not one of the uploads; choose it again."
	}

	switch n := utf8.RuneCountInString(f.Title); {
	case n == 0:
		f.Errors["title"] = "Give the post a title."
	case n > 200:
		f.Errors["title"] = fmt.Sprintf("The title is %d characters long; the limit is 200.", n)
	}
	in.Slug = f.Slug
	if in.Slug == "" {
		in.Slug = content.Slug(f.Title)
	}
	switch {
	case in.Slug == "" && f.Title != "":
		f.Errors["slug"] = "The title has no letters or digits to make a slug from; enter one."
	case in.Slug != "" && content.Slug(in.Slug) != in.Slug:
		f.Errors["slug"] = "Use lower-case letters, digits and single hyphens, such as my-first-post."
	}
	if strings.TrimSpace(f.Body) == "" {
		f.Errors["body"] = "Write the post."
	} else if err := content.Check(f.Body); err != nil {
		f.Errors["body"] = err.Error()
	}
	for _, t := range strings.Split(f.Tags, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if store.TagSlug(t) == "" || utf8.RuneCountInString(t) > 40 {
			f.Errors["tags"] = fmt.Sprintf("%q is not a usable tag: up to 40 characters with letters or digits.", t)
			break
		}
		in.Tags = append(in.Tags, t)
	}
	if len(in.Tags) > 10 {
		f.Errors["tags"] = "Use at most 10 tags."
	}
	if f.Status != store.StatusDraft && f.Status != store.StatusPublished {
		f.Errors["status"] = "Choose draft or published."
	}
	if f.PublishAt != "" {
		t, err := time.Parse("2006-01-02T15:04", f.PublishAt)
		switch latest := time.Now().AddDate(maxScheduleYears, 0, 0); {
		case err != nil:
			f.Errors["publish_at"] = "Enter a date and time such as 2026-12-24T09:30."
		case t.Before(earliestPublish) || t.After(latest):
			f.Errors["publish_at"] = fmt.Sprintf("Choose a time between %s and %s.", earliestPublish.Format("2006-01-02"), latest.Format("2006-01-02"))
		default:
			in.PublishedAt = &t
		}
	}
	// A missing or garbled version can match no post: the save is refused
	// as stale, with the text kept, rather than overwriting blindly.
	in.Version, _ = strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	f.Version = in.Version
	if len(f.Errors) == 0 {
		f.Errors = nil
	}
	return in, f
}

// editorPage fills the editor's view model for a new or existing post.
func (s *Server) editorPage(ctx context.Context, f views.PostForm, id int64) views.PostForm {
	f.Site = s.site()
	f.PostID = id
	if id == 0 {
		f.Meta = s.adminMeta("New post", "/admin/posts/new")
		f.Action = "/admin/posts"
	} else {
		f.Meta = s.adminMeta("Edit post", fmt.Sprintf("/admin/posts/%d/edit", id))
		f.Action = fmt.Sprintf("/admin/posts/%d", id)
	}
	f.Upload.InEditor = true
	// The newest uploads are the likely covers; an older one stays
	// selectable while it is the post's cover.
	covers, _, _, err := s.store.MediaPage(ctx, ownerOf(ctx), maxCovers, 0)
	if err != nil {
		s.log.Error("cover choices", "err", err)
	}
	f.Covers = covers
	if f.Cover != "" && !slices.ContainsFunc(covers, func(m store.Media) bool { return m.Name() == f.Cover }) {
		if m, err := s.store.MediaByName(ctx, f.Cover); err == nil {
			f.Covers = append(f.Covers, m)
		}
	}
	if f.Body != "" && f.Preview == "" {
		if r, err := content.Render(f.Body); err == nil {
			f.Preview = r.HTML
		}
	}
	return f
}

func (s *Server) handleNewPost() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.write(w, r, http.StatusOK, views.PostEditor(s.editorPage(r.Context(), views.PostForm{Status: store.StatusDraft}, 0)))
	})
}

// ownPost loads a post that the signed-in author may change: their own,
// or any post for an admin. Others' posts are not found.
func (s *Server) ownPost(r *http.Request) (store.Post, error) {
	id, err := idParam(r)
	if err != nil {
		return store.Post{}, err
	}
	p, err := s.store.PostByID(r.Context(), id)
	if err != nil {
		return store.Post{}, err
	}
	if a := authorFrom(r.Context()); a.Role != store.RoleAdmin && a.ID != p.AuthorID {
		return store.Post{}, fmt.Errorf("post %d of another author: %w", id, store.ErrNotFound)
	}
	return p, nil
}

func (s *Server) handleEditPost() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.ownPost(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var tags []string
		for _, t := range p.Tags {
			tags = append(tags, t.Name)
		}
		s.write(w, r, http.StatusOK, views.PostEditor(s.editorPage(r.Context(), views.PostForm{
			Title: p.Title, Slug: p.Slug, Body: p.Body, Tags: strings.Join(tags, ", "),
			Status: p.Status, PublishAt: views.LocalInput(p.PublishedAt), Preview: p.HTML, Version: p.Version, Cover: p.Cover,
		}, p.ID)))
	})
}

// handleSavePost creates (id 0) or updates a post. Invalid input re-renders
// the editor with 422 and everything the author typed; "Preview" renders
// without saving.
func (s *Server) handleSavePost(create bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, form := postInput(r, authorFrom(r.Context()).ID)
		var id int64
		if !create {
			p, err := s.ownPost(r)
			if errors.Is(err, store.ErrNotFound) {
				s.postGone(w, r, form)
				return
			}
			if err != nil {
				s.fail(w, r, err)
				return
			}
			id = p.ID
		}
		if r.PostFormValue("intent") == "preview" {
			s.write(w, r, http.StatusOK, views.PostEditor(s.editorPage(r.Context(), form, id)))
			return
		}
		if len(form.Errors) > 0 {
			s.write(w, r, http.StatusUnprocessableEntity, views.PostEditor(s.editorPage(r.Context(), form, id)))
			return
		}
		var err error
		if create {
			_, err = s.store.CreatePost(r.Context(), in)
		} else {
			_, err = s.store.UpdatePost(r.Context(), id, in)
		}
		var (
			tooMuch *content.LimitError
			stale   *store.StaleError
			status  = http.StatusUnprocessableEntity
		)
		switch {
		case errors.As(err, &stale):
			// Their version is shown beside the author's kept text; the
			// form now carries their version, so saving again replaces it
			// knowingly.
			status = http.StatusConflict
			form.Theirs, form.Version = &stale.Current, stale.Current.Version
			form.Errors = views.Errors{"form": fmt.Sprintf("Someone saved this post at %s UTC, after you opened it. "+
				"Your text is kept below and theirs is under it: save again to replace theirs with yours, or copy what you need.",
				stale.Current.UpdatedAt.UTC().Format("2006-01-02 15:04:05"))}
		case errors.Is(err, store.ErrNotFound) && !create:
			s.postGone(w, r, form)
			return
		case errors.Is(err, store.ErrConflict):
			form.Errors = views.Errors{"slug": fmt.Sprintf("Another post already uses the slug %q; choose another.", in.Slug)}
		case errors.As(err, &tooMuch):
			form.Errors = views.Errors{"body": tooMuch.Error()}
		case err != nil:
			s.fail(w, r, err)
			return
		}
		if form.Errors != nil {
			s.write(w, r, status, views.PostEditor(s.editorPage(r.Context(), form, id)))
			return
		}
		s.log.Info("post saved", "slug", in.Slug, "status", in.Status, "by", authorFrom(r.Context()).Email)
		http.Redirect(w, r, "/admin?done=saved", http.StatusSeeOther)
	})
}

// postGone answers an edit of a post that no longer exists (deleted since
// the form was opened) or that is not the author's: 409, like any save that
// lost a race, with the author's text kept in a form that saves it as a new
// post.
func (s *Server) postGone(w http.ResponseWriter, r *http.Request, form views.PostForm) {
	form.Version = 0
	form.Errors = views.Errors{"form": "This post no longer exists: it was deleted after you opened it. " +
		"Your text is kept below; saving creates a new post."}
	s.write(w, r, http.StatusConflict, views.PostEditor(s.editorPage(r.Context(), form, 0)))
}

func (s *Server) handleConfirmDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.ownPost(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.write(w, r, http.StatusOK, views.DeletePage(views.ConfirmDelete{
			Site: s.site(), Meta: s.adminMeta("Delete "+p.Title, fmt.Sprintf("/admin/posts/%d/delete", p.ID)), Post: p,
		}))
	})
}

// handleDeletePost deletes a post; htmx removes its row itself.
func (s *Server) handleDeletePost() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.ownPost(r)
		if err == nil {
			err = s.store.DeletePost(r.Context(), p.ID)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("post deleted", "slug", p.Slug, "by", authorFrom(r.Context()).Email)
		if isFragmentRequest(r) {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Redirect(w, r, "/admin?done=deleted", http.StatusSeeOther)
	})
}
