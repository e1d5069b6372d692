package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/blogstack/blogstack/blog/internal/auth"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/store/storetest"
)

const password = "correct horse battery"

// author creates an author who can sign in with password.
func (f *fixture) author(email, role string) store.Author {
	f.t.Helper()
	hash, err := auth.HashPassword(password)
	if err != nil {
		f.t.Fatal(err)
	}
	a, err := f.store.SaveAuthor(context.Background(), store.Author{Email: email, Name: strings.Split(email, "@")[0], PasswordHash: hash, Role: role})
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// signedIn is a client with a cookie jar, signed in as email, as a browser
// without JavaScript would be; it does not follow redirects.
func (f *fixture) signedIn(email string) *http.Client {
	f.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: f.client.CheckRedirect}
	resp := f.postWith(c, "/login", url.Values{"email": {email}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("sign in as %s: %d", email, resp.StatusCode)
	}
	return c
}

// postWith sends a form the way a same-origin browser does.
func (f *fixture) postWith(c *http.Client, path string, form url.Values, headers ...string) *http.Response {
	f.t.Helper()
	resp, _ := f.send(c, http.MethodPost, path, form, headers...)
	return resp
}

func (f *fixture) send(c *http.Client, method, path string, form url.Values, headers ...string) (*http.Response, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp, string(body)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func parse(t *testing.T, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// httpBlog is the fixture on plain http, where the session cookie is not
// Secure and a test client keeps it.
func httpBlog(t *testing.T, db storetest.DB) *fixture {
	return newFixture(t, db, map[string]string{"BLOG_SECRET_KEY": strings.Repeat("k", 32)})
}

func TestSignInAndOut(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		f.author("ada@example.com", store.RoleAdmin)
		resp, _ := f.get("/admin")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fadmin" {
			t.Fatalf("anonymous /admin: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, c := range []struct {
			email, password string
			status          int
		}{
			{"ada@example.com", "wrong password", 401},
			{"nobody@example.com", password, 401},
			{"", "", 422},
		} {
			resp, body := f.send(f.client, http.MethodPost, "/login", url.Values{"email": {c.email}, "password": {c.password}})
			if resp.StatusCode != c.status || !strings.Contains(body, `data-testid="form-error"`) || len(resp.Cookies()) != 0 {
				t.Errorf("sign in %q/%q: %d, want %d with an error and no cookie", c.email, c.password, resp.StatusCode, c.status)
			}
			if c.email != "" && !strings.Contains(body, `value="`+c.email+`"`) {
				t.Errorf("the email was not kept in the form")
			}
		}
		resp, _ = f.send(f.client, http.MethodPost, "/login", url.Values{"email": {"ADA@example.com"}, "password": {password}, "next": {"/admin/comments"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/comments" {
			t.Fatalf("sign in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		cookie := resp.Cookies()[0]
		if cookie.Name != "__Host-session" || !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
			t.Errorf("session cookie on https: %+v", cookie)
		}
		resp, _ = f.send(f.client, http.MethodGet, "/admin", nil, "Cookie", cookie.Name+"="+cookie.Value)
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("dashboard with the cookie: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		resp, _ = f.send(f.client, http.MethodPost, "/logout", nil, "Cookie", cookie.Name+"="+cookie.Value)
		if resp.StatusCode != http.StatusSeeOther || resp.Cookies()[0].MaxAge >= 0 {
			t.Errorf("sign out: %d, cookie %+v", resp.StatusCode, resp.Cookies())
		}
		resp, _ = f.send(f.client, http.MethodGet, "/admin", nil, "Cookie", cookie.Name+"="+cookie.Value)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("the old cookie still works after signing out: %d", resp.StatusCode)
		}
		for _, next := range []string{"https://evil.example/", "//evil.example", "/\\evil.example"} {
			resp, _ := f.send(f.client, http.MethodPost, "/login", url.Values{"email": {"ada@example.com"}, "password": {password}, "next": {next}})
			if loc := resp.Header.Get("Location"); loc != "/admin" {
				t.Errorf("next=%q redirected to %q", next, loc)
			}
		}
	})
}

func TestCrossOriginPostsRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		f.author("ada@example.com", store.RoleAdmin)
		for _, path := range []string{"/login", "/logout", "/admin/posts", "/posts/post-01/comments"} {
			resp, body := f.send(f.client, http.MethodPost, path, url.Values{"email": {"ada@example.com"}, "password": {password}},
				"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "another site") || len(resp.Cookies()) != 0 {
				t.Errorf("cross-site POST %s: %d", path, resp.StatusCode)
			}
		}
	})
}

func TestPostEditor(t *testing.T) {
	for _, db := range storetest.Each(t) {
		t.Run(db.Name, func(t *testing.T) {
			f := httpBlog(t, db)
			f.author("writer@example.com", store.RoleAuthor)
			c := f.signedIn("writer@example.com")

			resp, body := f.send(c, http.MethodGet, "/admin/posts/new", nil)
			if resp.StatusCode != 200 || parse(t, body).Find("[data-testid=post-form]").Length() != 1 {
				t.Fatalf("new post form: %d", resp.StatusCode)
			}
			// Bad input: 422, every field kept, each error next to its field.
			bad := url.Values{"title": {""}, "slug": {"Not A Slug"}, "body": {"*kept* body"}, "tags": {"ok, !!!"}, "status": {"maybe"}, "publish_at": {"tomorrow"}}
			resp, body = f.send(c, http.MethodPost, "/admin/posts", bad)
			doc := parse(t, body)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("invalid post: %d", resp.StatusCode)
			}
			for _, field := range []string{"title", "slug", "tags", "publish_at"} {
				if doc.Find("[data-testid="+field+"-error]").Length() != 1 {
					t.Errorf("no error shown for %s", field)
				}
			}
			if v, _ := doc.Find("#slug").Attr("value"); v != "Not A Slug" || doc.Find("#body").Text() != "*kept* body" {
				t.Errorf("input not kept: slug %q body %q", v, doc.Find("#body").Text())
			}
			if doc.Find("#status-error").Length() != 1 {
				t.Errorf("no status error")
			}

			// Preview without JavaScript renders and saves nothing.
			good := url.Values{"title": {"Fresh Ideas"}, "body": {"Hello **world**"}, "tags": {"Go, New Tag"}, "status": {"published"}}
			preview := url.Values{"intent": {"preview"}}
			for k, v := range good {
				preview[k] = v
			}
			resp, body = f.send(c, http.MethodPost, "/admin/posts", preview)
			if resp.StatusCode != 200 || !strings.Contains(parse(t, body).Find("[data-testid=preview]").Text(), "world") {
				t.Errorf("preview: %d", resp.StatusCode)
			}
			if r, _ := f.get("/posts/fresh-ideas"); r.StatusCode != 404 {
				t.Fatalf("preview saved the post")
			}
			// The live preview fragment.
			resp, body = f.send(c, http.MethodPost, "/admin/preview", url.Values{"body": {"# Title\n\n<script>x</script>"}}, "HX-Request", "true")
			if resp.StatusCode != 200 || !strings.Contains(body, `<h1 id="h-title">`) || strings.Contains(body, "<script") || strings.Contains(body, "<html") {
				t.Errorf("preview fragment: %d %s", resp.StatusCode, body)
			}

			// Create: published now, visible to readers.
			resp, _ = f.send(c, http.MethodPost, "/admin/posts", good)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin?done=saved" {
				t.Fatalf("create: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			doc = f.page("/posts/fresh-ideas", 200)
			if doc.Find(".prose strong").Text() != "world" || strings.Join(texts(doc, "article .tags a"), ",") != "Go,New Tag" {
				t.Errorf("created post renders wrong")
			}
			// The same slug again is a 422 on the slug field.
			resp, body = f.send(c, http.MethodPost, "/admin/posts", good)
			if resp.StatusCode != 422 || parse(t, body).Find("[data-testid=slug-error]").Length() != 1 {
				t.Errorf("duplicate slug: %d", resp.StatusCode)
			}
			// Scheduled: saved, invisible until its time.
			resp, _ = f.send(c, http.MethodPost, "/admin/posts", url.Values{"title": {"Later"}, "body": {"soon"}, "status": {"published"}, "publish_at": {time.Now().AddDate(1, 0, 0).Format("2006-01-02T15:04")}})
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("scheduled: %d", resp.StatusCode)
			}
			if r, _ := f.get("/posts/later"); r.StatusCode != 404 {
				t.Errorf("scheduled post visible")
			}
			resp, body = f.send(c, http.MethodGet, "/admin?done=saved", nil)
			doc = parse(t, body)
			if doc.Find("[data-testid=notice]").Length() != 1 || !strings.Contains(doc.Find("[data-testid=scheduled]").Text(), "Later") ||
				doc.Find("[data-testid=drafts] [data-testid=admin-post]").Length() != 0 || !strings.Contains(doc.Find("[data-testid=published]").Text(), "Fresh Ideas") {
				t.Errorf("dashboard groups wrong:\n%s", doc.Find("main").Text())
			}
			// The fixture's draft is another author's: not listed.
			if doc.Find(`[data-testid=scheduled] a[href="/posts/later"]`).Length() != 0 || doc.Find(`[data-testid=published] a[href="/posts/fresh-ideas"]`).Length() != 1 {
				t.Errorf("only live posts link to their page")
			}

			// Edit: an author may not touch another author's post.
			p, err := f.store.PostBySlug(context.Background(), "post-01")
			if err != nil {
				t.Fatal(err)
			}
			if r, _ := f.send(c, http.MethodGet, "/admin/posts/"+itoa(p.ID)+"/edit", nil); r.StatusCode != 404 {
				t.Errorf("editing another author's post: %d", r.StatusCode)
			}
			mine, err := f.store.PostBySlug(context.Background(), "fresh-ideas")
			if err != nil {
				t.Fatal(err)
			}
			id := itoa(mine.ID)
			resp, body = f.send(c, http.MethodGet, "/admin/posts/"+id+"/edit", nil)
			if v, _ := parse(t, body).Find("#tags").Attr("value"); resp.StatusCode != 200 || v != "Go, New Tag" {
				t.Errorf("edit form: %d tags %q", resp.StatusCode, v)
			}
			edit := url.Values{"title": {"Fresh Ideas, Revised"}, "slug": {"fresh-ideas"}, "body": {"Changed."}, "tags": {"Go"}, "status": {"published"}, "version": {itoa(mine.Version)}}
			if r := f.postWith(c, "/admin/posts/"+id, edit); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("update: %d", r.StatusCode)
			}
			doc = f.page("/posts/fresh-ideas", 200)
			if doc.Find("article h1").Text() != "Fresh Ideas, Revised" || strings.Join(texts(doc, "article .tags a"), ",") != "Go" {
				t.Errorf("update not shown")
			}

			// Delete: a confirmation page without JavaScript, then the post is gone.
			if r, body := f.send(c, http.MethodGet, "/admin/posts/"+id+"/delete", nil); r.StatusCode != 200 || !strings.Contains(body, "Delete the post") {
				t.Errorf("confirm page: %d", r.StatusCode)
			}
			if r := f.postWith(c, "/admin/posts/"+id+"/delete", nil); r.StatusCode != http.StatusSeeOther {
				t.Errorf("delete: %d", r.StatusCode)
			}
			if r, _ := f.get("/posts/fresh-ideas"); r.StatusCode != 404 {
				t.Errorf("deleted post still served")
			}
			for _, path := range []string{"/admin/posts/abc/edit", "/admin/posts/0/edit", "/admin/posts/999999/edit", "/admin/posts/" + id + "/edit"} {
				if r, _ := f.send(c, http.MethodGet, path, nil); r.StatusCode != 404 {
					t.Errorf("GET %s: %d, want 404", path, r.StatusCode)
				}
			}
		})
	}
}

func TestAuthorsAdminOnly(t *testing.T) {
	f := httpBlog(t, storetest.SQLite(t))
	f.author("admin@example.com", store.RoleAdmin)
	f.author("writer@example.com", store.RoleAuthor)
	writer := f.signedIn("writer@example.com")
	if r, _ := f.send(writer, http.MethodGet, "/admin/authors", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("author on /admin/authors: %d", r.StatusCode)
	}
	if r := f.postWith(writer, "/admin/authors", url.Values{"email": {"x@example.com"}, "name": {"X"}, "role": {"admin"}, "password": {password}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("author adding an admin: %d", r.StatusCode)
	}
	admin := f.signedIn("admin@example.com")
	resp, body := f.send(admin, http.MethodPost, "/admin/authors", url.Values{"email": {"not-an-email"}, "name": {"New"}, "role": {"author"}, "password": {"short"}})
	doc := parse(t, body)
	if resp.StatusCode != 422 || doc.Find("[data-testid=email-error]").Length() != 1 || doc.Find("[data-testid=password-error]").Length() != 1 {
		t.Errorf("invalid author: %d", resp.StatusCode)
	}
	if r := f.postWith(admin, "/admin/authors", url.Values{"email": {"new@example.com"}, "name": {"New Writer"}, "role": {"author"}, "password": {password}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add author: %d", r.StatusCode)
	}
	f.signedIn("new@example.com") // the new author can sign in
	_, body = f.send(admin, http.MethodGet, "/admin/authors", nil)
	if n := parse(t, body).Find("[data-testid=author]").Length(); n != 4 {
		t.Errorf("%d authors listed, want 4", n)
	}
}

func TestComments(t *testing.T) {
	for _, db := range storetest.Each(t) {
		t.Run(db.Name, func(t *testing.T) { testComments(t, httpBlog(t, db)) })
	}
}

func testComments(t *testing.T, f *fixture) {
	{
		doc := f.page("/posts/post-03", 200)
		token, _ := doc.Find("[data-testid=comment-form] input[name=token]").Attr("value")
		if token == "" {
			t.Fatal("no token in the comment form")
		}
		form := url.Values{"token": {token}, "name": {"Reader"}, "website": {"https://reader.example"}, "body": {"Nice <b>post</b>!"}}

		// Without JavaScript: a redirect back with a notice; held for moderation.
		resp := f.postWith(f.client, "/posts/post-03/comments", form)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/posts/post-03?comment=pending#comment-form" {
			t.Fatalf("comment: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		doc = f.page("/posts/post-03?comment=pending", 200)
		if doc.Find("[data-testid=notice]").Length() != 1 || doc.Find("[data-testid=comment]").Length() != 0 {
			t.Errorf("after commenting: notice %d, comments shown %d (want the notice, no comment yet)",
				doc.Find("[data-testid=notice]").Length(), doc.Find("[data-testid=comment]").Length())
		}

		// The same form again is a replay: refused, the comment kept in a
		// fresh form that can be sent.
		resp, body := f.send(f.client, http.MethodPost, "/posts/post-03/comments", form, "HX-Request", "true")
		doc = parse(t, body)
		fresh, _ := doc.Find("input[name=token]").Attr("value")
		if resp.StatusCode != 422 || !strings.Contains(body, "already sent") || fresh == token || doc.Find("#comment-body").Text() != "Nice <b>post</b>!" {
			t.Errorf("a replayed form: %d %s", resp.StatusCode, body)
		}
		form.Set("token", fresh)
		token = fresh

		// With htmx: the form comes back with the notice, emptied.
		resp, body = f.send(f.client, http.MethodPost, "/posts/post-03/comments", form, "HX-Request", "true")
		if resp.StatusCode != 200 || strings.Contains(body, "<html") || !strings.Contains(body, `data-testid="notice"`) || strings.Contains(body, "Nice &lt;b&gt;") {
			t.Errorf("htmx comment: %d %s", resp.StatusCode, body)
		}
		// Invalid: 422 with the reader's input kept and the errors.
		bad := url.Values{"token": {token}, "name": {"Reader"}, "website": {"javascript:alert(1)"}, "body": {""}}
		resp, body = f.send(f.client, http.MethodPost, "/posts/post-03/comments", bad, "HX-Request", "true")
		doc = parse(t, body)
		if resp.StatusCode != 422 || doc.Find("[data-testid=comment-website-error]").Length() != 1 || doc.Find("[data-testid=comment-body-error]").Length() != 1 {
			t.Errorf("invalid comment: %d\n%s", resp.StatusCode, body)
		}
		if v, _ := doc.Find("#comment-name").Attr("value"); v != "Reader" {
			t.Errorf("name not kept: %q", v)
		}
		resp, body = f.send(f.client, http.MethodPost, "/posts/post-03/comments", bad)
		if resp.StatusCode != 422 || !strings.Contains(body, "<html") {
			t.Errorf("invalid comment without htmx: %d, want the whole page", resp.StatusCode)
		}
		// A forged or foreign token, and a honeypot, save nothing.
		for _, tok := range []string{"", "123.abc", strings.Replace(token, token[len(token)-3:], "xyz", 1)} {
			forged := url.Values{"token": {tok}, "name": {"Bot"}, "body": {"spam"}}
			if r := f.postWith(f.client, "/posts/post-03/comments", forged); r.StatusCode != 422 {
				t.Errorf("token %q: %d", tok, r.StatusCode)
			}
		}
		other := f.page("/posts/post-04", 200)
		otherToken, _ := other.Find("input[name=token]").Attr("value")
		if r := f.postWith(f.client, "/posts/post-03/comments", url.Values{"token": {otherToken}, "name": {"Bot"}, "body": {"spam"}}); r.StatusCode != 422 {
			t.Errorf("another post's token: %d", r.StatusCode)
		}
		honey := url.Values{"token": {token}, "name": {"Bot"}, "body": {"honey"}, "nickname": {"bot"}}
		if r := f.postWith(f.client, "/posts/post-03/comments", honey); r.StatusCode != http.StatusSeeOther {
			t.Errorf("honeypot: %d, want a quiet redirect", r.StatusCode)
		}
		if r := f.postWith(f.client, "/posts/nope/comments", form); r.StatusCode != 404 {
			t.Errorf("comment on a missing post: %d", r.StatusCode)
		}
		pending, _, err := f.store.PendingComments(context.Background(), store.AnyOwner, 100, 0)
		if err != nil || len(pending) != 3 { // the fixture's pending one and our two
			t.Fatalf("pending: %d %v", len(pending), err)
		}
		for _, c := range pending {
			if c.Body == "spam" || c.Body == "honey" {
				t.Errorf("stored %q", c.Body)
			}
		}

		// Moderation: approve shows it on the post; delete removes it. The
		// fixture's posts are Ada's.
		f.author("ada@example.com", store.RoleAdmin)
		mod := f.signedIn("ada@example.com")
		resp, body = f.send(mod, http.MethodGet, "/admin/comments", nil)
		if n := parse(t, body).Find("[data-testid=pending-comment]").Length(); resp.StatusCode != 200 || n != 3 {
			t.Fatalf("moderation list: %d with %d", resp.StatusCode, n)
		}
		id := itoa(pending[1].ID)
		if r := f.postWith(mod, "/admin/comments/"+id+"/approve", nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/comments?done=approved" {
			t.Errorf("approve: %d", r.StatusCode)
		}
		doc = f.page("/posts/post-03", 200)
		if got := texts(doc, "[data-testid=comment] .comment-body"); len(got) != 1 || got[0] != "Nice <b>post</b>!" {
			t.Errorf("approved comment shown as %q", got)
		}
		if r, body := f.send(mod, http.MethodPost, "/admin/comments/"+itoa(pending[2].ID)+"/delete", nil, "HX-Request", "true"); r.StatusCode != 200 || body != "" {
			t.Errorf("htmx delete: %d %q", r.StatusCode, body)
		}
		for _, path := range []string{"/admin/comments/999999/approve", "/admin/comments/x/delete"} {
			if r := f.postWith(mod, path, nil); r.StatusCode != 404 {
				t.Errorf("POST %s: %d", path, r.StatusCode)
			}
		}
	}
}

func TestOversizedForm(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), nil)
	resp, body := f.send(f.client, http.MethodPost, "/posts/post-01/comments", url.Values{"name": {"R"}, "body": {strings.Repeat("x", 2<<20)}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "Nothing was saved") {
		t.Errorf("a 2 MB form: %d", resp.StatusCode)
	}
	resp, _ = f.send(f.client, http.MethodPost, "/login", nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("an empty sign-in form: %d", resp.StatusCode)
	}
}

func TestCommentRateLimit(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), nil)
	var last int
	for i := range 6 {
		token, _ := f.page("/posts/post-01", 200).Find("input[name=token]").Attr("value")
		last = f.postWith(f.client, "/posts/post-01/comments", url.Values{"token": {token}, "name": {"R"}, "body": {"comment " + itoa(int64(i))}}).StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("sixth comment in a row: %d, want 429", last)
	}
}
