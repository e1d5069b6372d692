package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

// eachHTTPBlog runs a test on the fixture over plain http (the test client
// keeps the session cookie) on every database.
func eachHTTPBlog(t *testing.T, run func(t *testing.T, f *fixture)) {
	for _, db := range storetest.Each(t) {
		t.Run(db.Name, func(t *testing.T) { run(t, httpBlog(t, db)) })
	}
}

// createPost saves a post of author a through the store.
func (f *fixture) createPost(a store.Author, title, status string, at *time.Time, tags ...string) store.Post {
	f.t.Helper()
	p, err := f.store.CreatePost(context.Background(), store.PostInput{
		AuthorID: a.ID, Title: title, Slug: strings.ToLower(strings.ReplaceAll(title, " ", "-")),
		Body: "Body of " + title, Tags: tags, Status: status, PublishedAt: at,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) pendingComment(postID int64, body string) store.Comment {
	f.t.Helper()
	c, err := f.store.CreateComment(context.Background(), store.Comment{PostID: postID, Name: "Reader", Body: body})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// TestModerationBelongsToOwner: an author sees and moderates only the
// comments on their own posts; anything else is a 404 as if it did not
// exist. Admins moderate everything.
func TestModerationBelongsToOwner(t *testing.T) {
	eachHTTPBlog(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.author("ada@example.com", store.RoleAdmin) // owns the fixture's posts
		writer := f.author("writer@example.com", store.RoleAuthor)
		past := time.Now().Add(-time.Hour)
		own := f.createPost(writer, "Writer post", store.StatusPublished, &past)
		mine := f.pendingComment(own.ID, "on the writer's post")
		all, _, err := f.store.PendingComments(ctx, store.AnyOwner, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		var foreign store.PendingComment // the fixture's pending comment on Ada's post
		for _, c := range all {
			if c.PostID != own.ID {
				foreign = c
			}
		}
		if foreign.ID == 0 {
			t.Fatal("the fixture has no pending comment on Ada's posts")
		}

		w := f.signedIn("writer@example.com")
		_, body := f.send(w, http.MethodGet, "/admin/comments", nil)
		doc := parse(t, body)
		if n := doc.Find("[data-testid=pending-comment]").Length(); n != 1 || !strings.Contains(body, "on the writer") || strings.Contains(body, foreign.Body) {
			t.Errorf("the writer's queue has %d comments, want only the one on their post", n)
		}
		_, body = f.send(w, http.MethodGet, "/admin", nil)
		if got := parse(t, body).Find("[data-testid=pending-link]").Text(); !strings.HasPrefix(got, "1 ") {
			t.Errorf("the writer's dashboard counts %q pending, want 1", got)
		}
		for _, action := range []string{"approve", "delete"} {
			for _, htmx := range []string{"", "true"} {
				r, _ := f.send(w, http.MethodPost, "/admin/comments/"+itoa(foreign.ID)+"/"+action, nil, "HX-Request", htmx)
				if r.StatusCode != http.StatusNotFound {
					t.Errorf("the writer %ss another author's comment (htmx %q): %d, want 404", action, htmx, r.StatusCode)
				}
			}
		}
		still, _, _ := f.store.PendingComments(ctx, store.AnyOwner, 100, 0)
		if len(still) != len(all) {
			t.Errorf("the writer's refused requests changed the queue: %d pending, was %d", len(still), len(all))
		}
		if r := f.postWith(w, "/admin/comments/"+itoa(mine.ID)+"/approve", nil); r.StatusCode != http.StatusSeeOther {
			t.Errorf("the writer approves a comment on their post: %d", r.StatusCode)
		}

		admin := f.signedIn("ada@example.com")
		_, body = f.send(admin, http.MethodGet, "/admin/comments", nil)
		if !strings.Contains(body, foreign.Body) {
			t.Error("the admin does not see a pending comment")
		}
		if r := f.postWith(admin, "/admin/comments/"+itoa(foreign.ID)+"/delete", nil); r.StatusCode != http.StatusSeeOther {
			t.Errorf("the admin deletes a comment on another author's post: %d", r.StatusCode)
		}
	})
}

// TestOthersUnpublishedPostsInvisible: an author's dashboard lists only
// their own posts, so other authors' drafts and scheduled posts stay
// unseen, titles included; a tag of unpublished posts only is a 404 on
// every page of it.
func TestOthersUnpublishedPostsInvisible(t *testing.T) {
	eachHTTPBlog(t, func(t *testing.T, f *fixture) {
		f.author("ada@example.com", store.RoleAdmin)
		writer := f.author("writer@example.com", store.RoleAuthor)
		future := time.Now().Add(24 * time.Hour)
		f.createPost(writer, "Writer draft", store.StatusDraft, nil)
		f.createPost(writer, "Writer scheduled", store.StatusPublished, &future, "Embargoed")

		_, body := f.send(f.signedIn("writer@example.com"), http.MethodGet, "/admin", nil)
		got := strings.Join(texts(parse(t, body), "[data-testid=admin-post] .admin-title"), "|")
		if got != "Writer draft|Writer scheduled" {
			t.Errorf("the writer's dashboard lists %q, want only their own two posts", got)
		}
		// The fixture's own draft and scheduled post are titled so.
		for _, title := range []string{">Draft<", ">Scheduled<", "Post 22"} {
			if strings.Contains(body, title) {
				t.Errorf("the writer's dashboard shows %s of another author", title)
			}
		}
		_, body = f.send(f.signedIn("ada@example.com"), http.MethodGet, "/admin", nil)
		if !strings.Contains(body, "Writer draft") {
			t.Error("an admin's dashboard does not list another author's draft")
		}

		for _, path := range []string{"/tags/secret", "/tags/secret?page=2", "/tags/embargoed", "/tags/embargoed?page=3"} {
			if r, _ := f.get(path); r.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404 (the tag has no published post)", path, r.StatusCode)
			}
		}
	})
}

// TestAdminListsPaged: the moderation queue and the dashboard's lists page
// instead of loading every row, and count with the database.
func TestAdminListsPaged(t *testing.T) {
	eachHTTPBlog(t, func(t *testing.T, f *fixture) {
		writer := f.author("writer@example.com", store.RoleAuthor)
		past := time.Now().Add(-time.Hour)
		p := f.createPost(writer, "Busy post", store.StatusPublished, &past)
		for i := range 25 {
			f.pendingComment(p.ID, fmt.Sprintf("comment %02d", i))
			f.createPost(writer, fmt.Sprintf("Draft %02d", i), store.StatusDraft, nil)
		}
		w := f.signedIn("writer@example.com")

		_, body := f.send(w, http.MethodGet, "/admin/comments", nil)
		doc := parse(t, body)
		older, _ := doc.Find("[data-testid=comments-pager] [data-testid=older]").Attr("href")
		if n := doc.Find("[data-testid=pending-comment]").Length(); n != 20 || older != "/admin/comments?page=2" {
			t.Fatalf("moderation page 1: %d comments, next %q", n, older)
		}
		_, body = f.send(w, http.MethodGet, older, nil)
		if n := parse(t, body).Find("[data-testid=pending-comment]").Length(); n != 5 || !strings.Contains(body, "comment 24") {
			t.Errorf("moderation page 2: %d comments, want the last 5", n)
		}
		if r, _ := f.send(w, http.MethodGet, "/admin/comments?page=9", nil); r.StatusCode != http.StatusFound {
			t.Errorf("a page past the end: %d, want a redirect to the last", r.StatusCode)
		}

		_, body = f.send(w, http.MethodGet, "/admin", nil)
		doc = parse(t, body)
		drafts := doc.Find("[data-testid=drafts]")
		next, _ := drafts.Find("[data-testid=older]").Attr("href")
		if n := drafts.Find("[data-testid=admin-post]").Length(); n != 20 || drafts.Find("[data-testid=count]").Text() != "(25)" || next != "/admin?drafts=2" {
			t.Fatalf("dashboard drafts: %d shown, count %q, next %q", n, drafts.Find("[data-testid=count]").Text(), next)
		}
		_, body = f.send(w, http.MethodGet, next+"&published=1", nil)
		if n := parse(t, body).Find("[data-testid=drafts] [data-testid=admin-post]").Length(); n != 5 {
			t.Errorf("dashboard drafts page 2: %d, want 5", n)
		}
		if r, _ := f.send(w, http.MethodGet, "/admin?drafts=x", nil); r.StatusCode != http.StatusBadRequest {
			t.Errorf("/admin?drafts=x: %d, want 400", r.StatusCode)
		}
	})
}
