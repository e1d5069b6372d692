package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
	"github.com/blogstack/blogstack/blog/internal/web"
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

// TestControlCharactersRefused: a NUL or another control character in any
// path, query parameter or form field of any route is a 400 naming where it
// was, on both databases (PostgreSQL cannot store a NUL: it was a 500).
func TestControlCharactersRefused(t *testing.T) {
	eachHTTPBlog(t, func(t *testing.T, f *fixture) {
		f.author("ada@example.com", store.RoleAdmin)
		admin := f.signedIn("ada@example.com")
		post, err := f.store.PostBySlug(context.Background(), "post-03")
		if err != nil {
			t.Fatal(err)
		}
		id := itoa(post.ID)
		for _, path := range []string{
			"/%00", "/posts/a%00b", "/posts/post-03%1b", "/tags/go%00", "/static/style%00.css", "/admin/posts/" + id + "%00/edit",
			"/admin/posts/" + id + "/delete%00", "/feed.atom%00", "/posts/%C2%85",
		} {
			if r, body := f.send(admin, http.MethodGet, path, nil); r.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The address contains") {
				t.Errorf("GET %s: %d, want 400 naming the address", path, r.StatusCode)
			}
		}
		for _, path := range []string{"/?page=1%00", "/search?q=a%00b", "/login?next=/%00", "/admin?drafts=%1b", "/admin/comments?page=%7f", "/search?q%00=x"} {
			if r, body := f.send(admin, http.MethodGet, path, nil); r.StatusCode != http.StatusBadRequest || !strings.Contains(body, "query parameter") {
				t.Errorf("GET %s: %d, want 400 naming the query parameter", path, r.StatusCode)
			}
		}
		forms := map[string]url.Values{
			"/posts/post-03/comments":            {"name": {"R"}, "website": {""}, "body": {"b"}, "token": {"t"}, "nickname": {""}},
			"/login":                             {"email": {"ada@example.com"}, "password": {password}, "next": {"/admin"}},
			"/admin/posts":                       {"title": {"T"}, "slug": {""}, "body": {"b"}, "tags": {"x"}, "status": {"draft"}, "publish_at": {""}, "intent": {"save"}},
			"/admin/posts/" + id:                 {"title": {"T"}, "slug": {"post-03"}, "body": {"b"}, "tags": {"x"}, "status": {"draft"}, "publish_at": {""}, "intent": {"save"}},
			"/admin/posts/" + id + "/delete":     {"confirm": {"yes"}},
			"/admin/preview":                     {"body": {"b"}},
			"/admin/authors":                     {"email": {"x@example.com"}, "name": {"X"}, "role": {"author"}, "password": {password}},
			"/admin/comments/" + id + "/approve": {"x": {"y"}},
			"/logout":                            {"x": {"y"}},
		}
		for path, form := range forms {
			for field := range form {
				for _, bad := range []string{"a\x00b", "a\x1b[31mb", "\x7f", "a\u0085b", "\xff"} {
					sent := url.Values{}
					for k, v := range form {
						sent[k] = v
					}
					sent.Set(field, bad)
					r, body := f.send(admin, http.MethodPost, path, sent)
					if r.StatusCode != http.StatusBadRequest || !strings.Contains(body, "“"+field+"”") {
						t.Errorf("POST %s with %q in %s: %d, want 400 naming the field", path, bad, field, r.StatusCode)
					}
				}
			}
		}
		// Tabs and line breaks are text in a form (a post's body has them).
		if r := f.postWith(admin, "/admin/preview", url.Values{"body": {"a\tb\r\nc"}}); r.StatusCode != http.StatusOK {
			t.Errorf("a body with a tab and CRLF: %d", r.StatusCode)
		}
		if _, err := f.store.PostBySlug(context.Background(), "post-03"); err != nil {
			t.Errorf("post-03 after the refused requests: %v", err)
		}
	})
}

// TestPostBodyBounded: a 180 KB post shaped to make the renderer slow or
// its output huge is refused with 422, the author's input kept; the live
// preview says why instead of rendering it.
func TestPostBodyBounded(t *testing.T) {
	eachHTTPBlog(t, func(t *testing.T, f *fixture) {
		f.author("ada@example.com", store.RoleAdmin)
		admin := f.signedIn("ada@example.com")
		for name, body := range map[string]string{
			"nested quotes":      strings.Repeat(">", 180_000),
			"repeated reference": "[a]: https://example.com/" + strings.Repeat("x", 1000) + "\n\n" + strings.Repeat(strings.Repeat("[a] ", 400)+"\n\n", 100),
		} {
			r, page := f.send(admin, http.MethodPost, "/admin/posts", url.Values{"title": {"Big"}, "body": {body}, "status": {"draft"}})
			doc := parse(t, page)
			if r.StatusCode != http.StatusUnprocessableEntity || doc.Find("[data-testid=body-error]").Length() != 1 || doc.Find("#body").Text() != body {
				t.Errorf("%s: %d, want 422 with the body's error and the body kept", name, r.StatusCode)
			}
			r, frag := f.send(admin, http.MethodPost, "/admin/preview", url.Values{"body": {body}}, "HX-Request", "true")
			if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(frag, `data-testid="preview-error"`) {
				t.Errorf("%s preview: %d %.200s", name, r.StatusCode, frag)
			}
		}
		if _, err := f.store.PostBySlug(context.Background(), "big"); err == nil {
			t.Error("a refused post was saved")
		}
	})
}

// editForm is what the editor of post id holds when opened now.
func (f *fixture) editForm(c *http.Client, id int64) url.Values {
	f.t.Helper()
	r, body := f.send(c, http.MethodGet, "/admin/posts/"+itoa(id)+"/edit", nil)
	if r.StatusCode != http.StatusOK {
		f.t.Fatalf("open the editor of post %d: %d", id, r.StatusCode)
	}
	doc := parse(f.t.(*testing.T), body)
	form := url.Values{}
	doc.Find("[data-testid=post-form] input, [data-testid=post-form] textarea").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		typ, _ := s.Attr("type")
		if name == "" || typ == "submit" || (typ == "radio" && s.AttrOr("checked", "-") == "-") {
			return
		}
		if goquery.NodeName(s) == "textarea" {
			form.Set(name, s.Text())
		} else {
			form.Set(name, s.AttrOr("value", ""))
		}
	})
	return form
}

// TestStaleAndDeletedEdits: saving a form opened before someone else saved
// the post is a 409 that keeps the author's text and shows the other
// version; saving again replaces it knowingly. Saving a post deleted
// meanwhile is a 409 too, keeping the text in a form that creates a post.
func TestStaleAndDeletedEdits(t *testing.T) {
	eachHTTPBlog(t, func(t *testing.T, f *fixture) {
		writer := f.author("writer@example.com", store.RoleAuthor)
		past := time.Now().Add(-time.Hour)
		p := f.createPost(writer, "Shared draft", store.StatusPublished, &past)
		c := f.signedIn("writer@example.com")
		tabA, tabB := f.editForm(c, p.ID), f.editForm(c, p.ID)
		if tabA.Get("version") == "" {
			t.Fatal("the editor carries no version")
		}
		tabA.Set("body", "Text from tab A.")
		if r := f.postWith(c, "/admin/posts/"+itoa(p.ID), tabA); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("first save: %d", r.StatusCode)
		}
		tabB.Set("body", "Text from tab B, which must not be lost.")
		r, body := f.send(c, http.MethodPost, "/admin/posts/"+itoa(p.ID), tabB)
		doc := parse(t, body)
		if r.StatusCode != http.StatusConflict || doc.Find("#body").Text() != tabB.Get("body") ||
			!strings.Contains(doc.Find("[data-testid=theirs]").Text(), "Text from tab A.") || doc.Find("[data-testid=form-error]").Length() != 1 {
			t.Fatalf("stale save: %d, want 409 with B's text kept and A's shown", r.StatusCode)
		}
		if got, _ := f.store.PostByID(context.Background(), p.ID); got.Body != "Text from tab A." {
			t.Fatalf("the stale save overwrote the post: %q", got.Body)
		}
		newVersion, _ := doc.Find("input[name=version]").Attr("value")
		tabB.Set("version", newVersion)
		if r := f.postWith(c, "/admin/posts/"+itoa(p.ID), tabB); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("saving again after the conflict: %d", r.StatusCode)
		}
		for _, version := range []string{"", "x"} { // no version: refused, not a blind overwrite
			tabB.Set("version", version)
			if r := f.postWith(c, "/admin/posts/"+itoa(p.ID), tabB); r.StatusCode != http.StatusConflict {
				t.Errorf("version %q: %d, want 409", version, r.StatusCode)
			}
		}

		tabC := f.editForm(c, p.ID)
		if r := f.postWith(c, "/admin/posts/"+itoa(p.ID)+"/delete", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatal("delete")
		}
		tabC.Set("body", "Written while it was deleted.")
		r, body = f.send(c, http.MethodPost, "/admin/posts/"+itoa(p.ID), tabC)
		doc = parse(t, body)
		if action, _ := doc.Find("[data-testid=post-form]").Attr("action"); r.StatusCode != http.StatusConflict ||
			doc.Find("#body").Text() != tabC.Get("body") || action != "/admin/posts" {
			t.Errorf("saving a deleted post: %d, action %q, want 409 with the text kept in a create form", r.StatusCode, action)
		}
	})
}

// TestSlugChangeAndPublishDate: a published post's old slug answers 301 to
// the new one (feeds and the sitemap name only the new one); saving without
// a publish time, or with the minute the editor showed, keeps the date; a
// date outside the sane range is a 422.
func TestSlugChangeAndPublishDate(t *testing.T) {
	eachHTTPBlog(t, func(t *testing.T, f *fixture) {
		writer := f.author("writer@example.com", store.RoleAuthor)
		published := time.Now().Add(-10 * 24 * time.Hour).UTC().Truncate(time.Second).Add(-17 * time.Second)
		p := f.createPost(writer, "Old name", store.StatusPublished, &published)
		c := f.signedIn("writer@example.com")

		form := f.editForm(c, p.ID)
		form.Set("slug", "new-name")
		if r := f.postWith(c, "/admin/posts/"+itoa(p.ID), form); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("rename: %d", r.StatusCode)
		}
		r, _ := f.get("/posts/old-name")
		if r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != "/posts/new-name" {
			t.Errorf("old slug: %d to %q, want 301 to /posts/new-name", r.StatusCode, r.Header.Get("Location"))
		}
		f.page("/posts/new-name", 200)
		for _, path := range []string{"/feed.atom", "/feed.rss", "/sitemap.xml"} {
			_, body := f.get(path)
			if !strings.Contains(body, "/posts/new-name") || strings.Contains(body, "/posts/old-name") {
				t.Errorf("%s does not name only the new slug", path)
			}
		}
		got, _ := f.store.PostByID(context.Background(), p.ID)
		if got.PublishedAt == nil || !got.PublishedAt.Equal(published) {
			t.Errorf("publish time after an edit with the editor's minute: %v, want %v", got.PublishedAt, published)
		}
		form = f.editForm(c, p.ID)
		form.Set("publish_at", "")
		form.Set("slug", "old-name") // taking the old slug back ends its redirect
		if r := f.postWith(c, "/admin/posts/"+itoa(p.ID), form); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit without a publish time: %d", r.StatusCode)
		}
		got, _ = f.store.PostByID(context.Background(), p.ID)
		if got.PublishedAt == nil || !got.PublishedAt.Equal(published) {
			t.Errorf("publish time after an edit without one: %v, want %v", got.PublishedAt, published)
		}
		f.page("/posts/old-name", 200)
		if r, _ := f.get("/posts/new-name"); r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != "/posts/old-name" {
			t.Errorf("the second old slug: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}

		for _, at := range []string{"0202-01-01T00:00", "1969-12-31T23:59", "9999-12-31T23:59", time.Now().AddDate(11, 0, 0).Format("2006-01-02T15:04")} {
			r, body := f.send(c, http.MethodPost, "/admin/posts", url.Values{"title": {"Dated " + at}, "body": {"b"}, "status": {"published"}, "publish_at": {at}})
			if r.StatusCode != http.StatusUnprocessableEntity || parse(t, body).Find("[data-testid=publish_at-error]").Length() != 1 {
				t.Errorf("publish_at %s: %d, want 422 on the field", at, r.StatusCode)
			}
		}
	})
}

// TestConcurrentSameSlug: two authors saving a new post with the same slug
// at the same moment: one 303, one 422 that keeps the input (a unique
// violation on PostgreSQL was a 500 and lost the post). Two posts bringing
// the same new tag at once both save.
func TestConcurrentSameSlug(t *testing.T) {
	eachHTTPBlog(t, func(t *testing.T, f *fixture) {
		f.author("one@example.com", store.RoleAuthor)
		f.author("two@example.com", store.RoleAuthor)
		clients := []*http.Client{f.signedIn("one@example.com"), f.signedIn("two@example.com")}
		for round := range 5 {
			slug := fmt.Sprintf("race-%d", round)
			type answer struct {
				status int
				title  string
			}
			answers := make(chan answer, 2)
			start := make(chan struct{})
			for i, c := range clients {
				go func() {
					<-start
					title := fmt.Sprintf("Race %d by %d", round, i)
					r, body := f.send(c, http.MethodPost, "/admin/posts", url.Values{
						"title": {title}, "slug": {slug}, "body": {"b"}, "status": {"draft"}, "tags": {fmt.Sprintf("Fresh tag %d", round)},
					})
					kept, _ := parse(t, body).Find("#title").Attr("value")
					if r.StatusCode != http.StatusUnprocessableEntity {
						kept = title
					}
					answers <- answer{r.StatusCode, kept}
				}()
			}
			close(start)
			a, b := <-answers, <-answers
			if a.status > b.status {
				a, b = b, a
			}
			if a.status != http.StatusSeeOther || b.status != http.StatusUnprocessableEntity || !strings.HasPrefix(b.title, "Race ") {
				t.Errorf("round %d: %d and %d (kept %q), want one 303 and one 422 with the input kept", round, a.status, b.status, b.title)
			}
		}
		// Different slugs, one new tag, at once: both saved.
		done := make(chan int, 2)
		for i, c := range clients {
			go func() {
				done <- f.postWith(c, "/admin/posts", url.Values{
					"title": {fmt.Sprintf("Tagged %d", i)}, "body": {"b"}, "status": {"draft"}, "tags": {"Brand new"},
				}).StatusCode
			}()
		}
		if a, b := <-done, <-done; a != http.StatusSeeOther || b != http.StatusSeeOther {
			t.Errorf("two posts with one new tag: %d and %d, want both 303", a, b)
		}
	})
}

// throttledBlog is the fixture behind a trusted local proxy, so that a
// test can sign in from any address with X-Forwarded-For.
func throttledBlog(t *testing.T, db storetest.DB) *fixture {
	return newFixture(t, db, throttledEnv)
}

var throttledEnv = map[string]string{"BLOG_SECRET_KEY": strings.Repeat("k", 32), "BLOG_TRUSTED_PROXIES": "127.0.0.0/8,::1/128"}

func (f *fixture) signIn(from, email, pass string) *http.Response {
	f.t.Helper()
	r, _ := f.send(f.client, http.MethodPost, "/login", url.Values{"email": {email}, "password": {pass}}, "X-Forwarded-For", from)
	return r
}

// TestSignInThrottling: failures count per account and per client (IPv6
// by /64), 429 with Retry-After; successes do not count; every failure and
// refusal is a security event in the log.
func TestSignInThrottling(t *testing.T) {
	for _, db := range storetest.Each(t) {
		t.Run(db.Name, func(t *testing.T) {
			f := throttledBlog(t, db)
			f.author("ada@example.com", store.RoleAdmin)
			f.author("bob@example.com", store.RoleAuthor)

			// 15 addresses, one account: throttled after 10, the right
			// password included, until the window ends.
			var statuses []int
			for i := range 15 {
				statuses = append(statuses, f.signIn(fmt.Sprintf("203.0.113.%d", i+1), "ada@example.com", "wrong password "+itoa(int64(i))).StatusCode)
			}
			if statuses[0] != http.StatusUnauthorized || statuses[9] != http.StatusUnauthorized || statuses[10] != http.StatusTooManyRequests || statuses[14] != http.StatusTooManyRequests {
				t.Errorf("15 addresses against one account: %v, want 401 ×10 then 429", statuses)
			}
			r := f.signIn("198.51.100.7", "ADA@example.com", password)
			if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || r.Header.Get("Retry-After") == "0" {
				t.Errorf("the account's own password while throttled: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
			}
			if r := f.signIn("198.51.100.7", "bob@example.com", password); r.StatusCode != http.StatusSeeOther {
				t.Errorf("another account from a fresh address: %d", r.StatusCode)
			}

			// One IPv6 /64, many addresses and accounts: throttled after 20.
			statuses = nil
			for i := range 22 {
				statuses = append(statuses, f.signIn(fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("nobody%d@example.com", i), "guess").StatusCode)
			}
			if statuses[19] != http.StatusUnauthorized || statuses[20] != http.StatusTooManyRequests {
				t.Errorf("one /64: %v, want 401 ×20 then 429", statuses)
			}
			if r := f.signIn("2001:db8:1:3::1", "bob@example.com", password); r.StatusCode != http.StatusSeeOther {
				t.Errorf("the neighbouring /64: %d", r.StatusCode)
			}

			// Successes never count.
			for i := range 25 {
				if r := f.signIn("192.0.2.1", "bob@example.com", password); r.StatusCode != http.StatusSeeOther {
					t.Fatalf("successful sign-in %d from one address: %d", i+1, r.StatusCode)
				}
			}

			logs := f.logs.String()
			for _, want := range []string{"event=login_failed", "event=login_throttled", "event=login_succeeded", "reason=\"unknown email\""} {
				if !strings.Contains(logs, want) {
					t.Errorf("the log has no %s", want)
				}
			}
		})
	}
}

// TestSignInThrottlingAcrossInstances runs two servers on one database, as
// instances behind a load balancer: failures through either count against
// one limit, guesses sent to both at once get exactly the account's
// allowance in all, and a success through one clears the account for both.
func TestSignInThrottlingAcrossInstances(t *testing.T) {
	for _, db := range storetest.Each(t) {
		t.Run(db.Name, func(t *testing.T) {
			a := throttledBlog(t, db)
			b := newBlog(t, db, throttledEnv)
			both := []*fixture{a, b}
			for _, email := range []string{"ada@example.com", "bob@example.com", "cy@example.com"} {
				a.author(email, store.RoleAuthor)
			}

			// Alternating: ten failures in all, then both refuse.
			for i := range 10 {
				if r := both[i%2].signIn(fmt.Sprintf("203.0.113.%d", i+1), "ada@example.com", "wrong"); r.StatusCode != http.StatusUnauthorized {
					t.Fatalf("failure %d of 10: %d, want 401", i+1, r.StatusCode)
				}
			}
			for i, f := range both {
				if r := f.signIn("198.51.100.1", "ada@example.com", password); r.StatusCode != http.StatusTooManyRequests {
					t.Errorf("the right password through instance %d after 10 failures through both: %d, want 429", i, r.StatusCode)
				}
			}

			// At once, half to each: only 10 of 30 guesses are tried.
			const guesses = 30
			statuses := make(chan int, guesses)
			var wg sync.WaitGroup
			for i := range guesses {
				wg.Go(func() {
					r, _ := both[i%2].send(both[i%2].client, http.MethodPost, "/login",
						url.Values{"email": {"bob@example.com"}, "password": {"guess " + itoa(int64(i))}}, "X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i+1))
					statuses <- r.StatusCode
				})
			}
			wg.Wait()
			close(statuses)
			count := map[int]int{}
			for s := range statuses {
				count[s]++
			}
			if count[http.StatusUnauthorized] != 10 || count[http.StatusTooManyRequests] != guesses-10 {
				t.Errorf("%d guesses at once through two instances: %v, want 10 tried (401), the rest 429", guesses, count)
			}

			// Five failures through a, a success through b: the account
			// starts over, so nine more failures through a are all tried.
			for i := range 5 {
				a.signIn(fmt.Sprintf("198.51.100.%d", 10+i), "cy@example.com", "wrong")
			}
			if r := b.signIn("198.51.100.20", "cy@example.com", password); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("the right password through b: %d", r.StatusCode)
			}
			for i := range 9 {
				if r := a.signIn(fmt.Sprintf("198.51.100.%d", 30+i), "cy@example.com", "wrong"); r.StatusCode != http.StatusUnauthorized {
					t.Fatalf("failure %d after a success through the other instance: %d, want 401", i+1, r.StatusCode)
				}
			}
		})
	}
}

// TestDisableEnableDeleteAuthors: a disabled author's open session ends at
// once and they cannot sign in, their posts stay; enabled, they can again.
// An author with posts is deleted only by handing the posts over.
func TestDisableEnableDeleteAuthors(t *testing.T) {
	eachHTTPBlog(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ada := f.author("ada@example.com", store.RoleAdmin)
		writer := f.author("writer@example.com", store.RoleAuthor)
		idle := f.author("idle@example.com", store.RoleAuthor)
		past := time.Now().Add(-time.Hour)
		p := f.createPost(writer, "Writer post", store.StatusPublished, &past)
		admin, w := f.signedIn("ada@example.com"), f.signedIn("writer@example.com")

		if r := f.postWith(admin, "/admin/authors/"+itoa(writer.ID)+"/disable", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("disable: %d", r.StatusCode)
		}
		if r, _ := f.send(w, http.MethodGet, "/admin", nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
			t.Errorf("the disabled author's open session: %d to %q, want a redirect to sign in", r.StatusCode, r.Header.Get("Location"))
		}
		if r, _ := f.send(w, http.MethodPost, "/admin/preview", url.Values{"body": {"x"}}, "HX-Request", "true"); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("the disabled author's htmx request: %d, want 401", r.StatusCode)
		}
		if r, _ := f.send(f.client, http.MethodPost, "/login", url.Values{"email": {"writer@example.com"}, "password": {password}}); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("a disabled author signs in: %d, want 401", r.StatusCode)
		}
		f.page("/posts/writer-post", 200) // the posts stay
		_, body := f.send(admin, http.MethodGet, "/admin/authors", nil)
		if parse(t, body).Find("#author-"+itoa(writer.ID)+" [data-testid=disabled]").Length() != 1 {
			t.Error("the authors page does not mark the author disabled")
		}
		if r := f.postWith(admin, "/admin/authors/"+itoa(writer.ID)+"/enable", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("enable: %d", r.StatusCode)
		}
		f.signedIn("writer@example.com")

		// Deleting: never oneself; with posts only by handing them over.
		if r := f.postWith(admin, "/admin/authors/"+itoa(ada.ID)+"/delete", nil); r.StatusCode != http.StatusConflict {
			t.Errorf("an admin deletes themselves: %d, want 409", r.StatusCode)
		}
		if r := f.postWith(admin, "/admin/authors/"+itoa(writer.ID)+"/delete", nil); r.StatusCode != http.StatusConflict {
			t.Errorf("deleting an author with posts without an heir: %d, want 409", r.StatusCode)
		}
		if r := f.postWith(admin, "/admin/authors/"+itoa(writer.ID)+"/delete", url.Values{"heir": {itoa(ada.ID)}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("deleting with an heir: %d", r.StatusCode)
		}
		if got, err := f.store.PostByID(ctx, p.ID); err != nil || got.AuthorID != ada.ID {
			t.Errorf("the post after its author's deletion: author %d, %v; want Ada's", got.AuthorID, err)
		}
		if _, err := f.store.AuthorByEmail(ctx, "writer@example.com"); err == nil {
			t.Error("the deleted author is still there")
		}
		if r := f.postWith(admin, "/admin/authors/"+itoa(idle.ID)+"/delete", nil); r.StatusCode != http.StatusSeeOther {
			t.Errorf("deleting an author without posts: %d", r.StatusCode)
		}
		if r := f.postWith(admin, "/admin/authors/999999/disable", nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("disabling a missing author: %d", r.StatusCode)
		}
	})
}

// TestPasswordChangeAndSessions: changing one's password needs the old one
// and a strong new one, and ends every other session; an admin's or the
// CLI's change (saving an existing email) ends all of them; an author sees
// and ends their other sessions; an idle session ends, and the sweep
// deletes it.
func TestPasswordChangeAndSessions(t *testing.T) {
	eachHTTPBlog(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.author("ada@example.com", store.RoleAdmin)
		writer := f.author("writer@example.com", store.RoleAuthor)
		one, two := f.signedIn("writer@example.com"), f.signedIn("writer@example.com")
		alive := func(c *http.Client) bool {
			r, _ := f.send(c, http.MethodGet, "/admin", nil)
			return r.StatusCode == http.StatusOK
		}

		r, body := f.send(one, http.MethodGet, "/admin/account", nil)
		doc := parse(t, body)
		if n := doc.Find("[data-testid=session]").Length(); r.StatusCode != http.StatusOK || n != 2 || doc.Find("[data-testid=end-session]").Length() != 1 {
			t.Fatalf("the account page lists %d sessions, want 2 with one to end", n)
		}
		end, _ := doc.Find("[data-testid=session] form").Attr("action")
		if r := f.postWith(f.signedIn("ada@example.com"), end, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("another author ends the writer's session: %d, want 404", r.StatusCode)
		}
		if r := f.postWith(one, end, nil); r.StatusCode != http.StatusSeeOther || alive(two) || !alive(one) {
			t.Errorf("ending the other session: %d, other alive %v", r.StatusCode, alive(two))
		}
		two = f.signedIn("writer@example.com")
		if r := f.postWith(one, "/admin/account/sessions/others/delete", nil); r.StatusCode != http.StatusSeeOther || alive(two) || !alive(one) {
			t.Errorf("signing out everywhere else: %d", r.StatusCode)
		}

		two = f.signedIn("writer@example.com")
		const newPassword = "violet tram cactus"
		for _, c := range []struct{ current, next, field string }{
			{"wrong current password", newPassword, "current_password"},
			{password, "Password2024!", "new_password"},
			{password, "short", "new_password"},
		} {
			r, body := f.send(one, http.MethodPost, "/admin/account/password", url.Values{"current_password": {c.current}, "new_password": {c.next}})
			if r.StatusCode != http.StatusUnprocessableEntity || parse(t, body).Find("[data-testid="+c.field+"-error]").Length() != 1 {
				t.Errorf("password change %q -> %q: %d, want 422 on %s", c.current, c.next, r.StatusCode, c.field)
			}
		}
		if r := f.postWith(one, "/admin/account/password", url.Values{"current_password": {password}, "new_password": {newPassword}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("password change: %d", r.StatusCode)
		}
		if alive(two) || !alive(one) {
			t.Errorf("after a password change: other session alive %v, this one %v", alive(two), alive(one))
		}
		if r := f.signIn("192.0.2.9", "writer@example.com", password); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("the old password: %d", r.StatusCode)
		}
		if r := f.signIn("192.0.2.9", "writer@example.com", newPassword); r.StatusCode != http.StatusSeeOther {
			t.Errorf("the new password: %d", r.StatusCode)
		}

		// An admin (or `blog user create`) saving the author ends every session.
		admin := f.signedIn("ada@example.com")
		if r := f.postWith(admin, "/admin/authors", url.Values{"email": {"writer@example.com"}, "name": {"Writer"}, "role": {"author"}, "password": {password}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("an admin resets the password: %d", r.StatusCode)
		}
		if alive(one) {
			t.Error("the writer's session survived an admin's password reset")
		}

		// Idle for longer than the idle timeout: signed out, then swept.
		one = f.signedIn("writer@example.com")
		f.store.Now = func() time.Time { return time.Now().Add(web.SessionIdle + time.Minute) }
		defer func() { f.store.Now = time.Now }()
		if alive(one) {
			t.Error("an idle session still works")
		}
		if n, err := f.store.DeleteExpiredSessions(ctx, web.SessionIdle); err != nil || n == 0 {
			t.Errorf("the sweep deleted %d sessions (%v), want the idle ones", n, err)
		}
		if left, _ := f.store.Sessions(ctx, writer.ID, 365*24*time.Hour); len(left) != 0 {
			t.Errorf("%d sessions left after the sweep", len(left))
		}
	})
}

// TestSignInNextParsed: only a path on this site survives sign-in; a tab,
// newline or backslash anywhere, another scheme or host, sends to /admin.
func TestSignInNextParsed(t *testing.T) {
	f := httpBlog(t, storetest.SQLite(t))
	f.author("ada@example.com", store.RoleAdmin)
	for next, want := range map[string]string{
		"/admin/posts/new":             "/admin/posts/new",
		"/search?q=go%20db":            "/search?q=go%20db",
		"/\t/evil.example":             "/admin",
		"/%09/evil.example":            "/admin",
		"/%5Cevil.example":             "/admin",
		"/posts/caf%C3%A9":             "/posts/caf%C3%A9",
		"/\n/evil.example":             "/admin",
		"/\\evil.example":              "/admin",
		"/x\\y":                        "/admin",
		"//evil.example":               "/admin",
		"https://evil.example/":        "/admin",
		"javascript:alert(1)":          "/admin",
		"/ /evil.example":              "/admin",
		"":                             "/admin",
		"evil.example":                 "/admin",
		"/\u0085/evil.example":         "/admin",
		"/admin?next=//evil.example#x": "/admin?next=//evil.example",
	} {
		r, _ := f.send(f.client, http.MethodPost, "/login", url.Values{"email": {"ada@example.com"}, "password": {password}, "next": {next}})
		if r.StatusCode == http.StatusBadRequest && strings.ContainsRune(next, '\u0085') {
			continue // refused before sign-in as a control character: also safe
		}
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("next=%q: %d to %q, want %q", next, r.StatusCode, r.Header.Get("Location"), want)
		}
	}
}

// TestCommentTokens: a form sent within seconds of being served is refused
// (the per-form nonce and the replay are in testComments); names with
// invisible direction or zero-width characters, empty once those are
// taken off, or an author's name however written, are refused.
func TestCommentTokens(t *testing.T) {
	eachHTTPBlog(t, func(t *testing.T, f *fixture) {
		f.author("ada@example.com", store.RoleAdmin)
		if _, err := f.store.SaveAuthor(context.Background(), store.Author{Email: "grace@example.com", Name: "Grace Hopper", PasswordHash: "x", Role: store.RoleAuthor}); err != nil {
			t.Fatal(err)
		}
		token := func() string {
			v, _ := f.page("/posts/post-03", 200).Find("input[name=token]").Attr("value")
			return v
		}
		f.web.CommentMinFill = time.Hour
		r, body := f.send(f.client, http.MethodPost, "/posts/post-03/comments", url.Values{"token": {token()}, "name": {"Quick"}, "body": {"fast"}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "within seconds") {
			t.Errorf("a form sent at once: %d, want 422", r.StatusCode)
		}
		f.web.CommentMinFill = 0
		for _, name := range []string{"\u202eevil\u202c", "Ma\u200bllory", "\u200b\u200d", "   ", "grace hopper", "ＧＲＡＣＥ ＨＯＰＰＥＲ", "Gráce  Hopper", "ada"} {
			r, body := f.send(f.client, http.MethodPost, "/posts/post-03/comments", url.Values{"token": {token()}, "name": {name}, "body": {"hello"}})
			if r.StatusCode != http.StatusUnprocessableEntity || parse(t, body).Find("[data-testid=comment-name-error]").Length() != 1 {
				t.Errorf("name %q: %d, want 422 on the name", name, r.StatusCode)
			}
		}
		if r := f.postWith(f.client, "/posts/post-03/comments", url.Values{"token": {token()}, "name": {"Grace H."}, "body": {"hello"}}); r.StatusCode != http.StatusSeeOther {
			t.Errorf("a plain name: %d", r.StatusCode)
		}
	})
}

// TestMethodNotAllowed: a method a route does not take is 405 with Allow.
func TestMethodNotAllowed(t *testing.T) {
	f := httpBlog(t, storetest.SQLite(t))
	for _, c := range []struct{ method, path, allow string }{
		{http.MethodDelete, "/posts/post-01", "GET"},
		{http.MethodPut, "/admin/posts/1", "POST"},
		{http.MethodPost, "/feed.atom", "GET"},
		{http.MethodPost, "/", "GET"},
		{http.MethodGet, "/logout", "POST"},
	} {
		r, _ := f.send(f.client, c.method, c.path, nil)
		if r.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(r.Header.Get("Allow"), c.allow) {
			t.Errorf("%s %s: %d, Allow %q; want 405 allowing %s", c.method, c.path, r.StatusCode, r.Header.Get("Allow"), c.allow)
		}
	}
	if r, _ := f.get("/no/such/page"); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET of an unknown path: %d", r.StatusCode)
	}
}

// TestSnippetMarkersNotForgeable: the private-use characters that mark
// search matches, typed into a post, highlight nothing.
func TestSnippetMarkersNotForgeable(t *testing.T) {
	eachHTTPBlog(t, func(t *testing.T, f *fixture) {
		a := f.author("ada@example.com", store.RoleAdmin)
		past := time.Now().Add(-time.Hour)
		_, err := f.store.CreatePost(context.Background(), store.PostInput{AuthorID: a.ID, Title: "Forged", Slug: "forged", Status: store.StatusPublished, PublishedAt: &past,
			Body: "zebrafish \uE001</p><b>bold</b>\uE000 fake \uE000highlight\uE001 zebrafish"})
		if err != nil {
			t.Fatal(err)
		}
		_, body := f.get("/search?q=zebrafish")
		doc := parse(t, body)
		for _, m := range texts(doc, "mark") {
			if !strings.EqualFold(m, "zebrafish") {
				t.Errorf("a forged highlight: <mark>%s</mark>", m)
			}
		}
		if doc.Find("mark").Length() == 0 || doc.Find("b").Length() != 0 {
			t.Errorf("search snippet: %d marks, %d <b>", doc.Find("mark").Length(), doc.Find("b").Length())
		}
	})
}
