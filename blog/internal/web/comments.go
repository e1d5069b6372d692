package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/views"
)

// commentTokenTTL is how long a comment form stays valid after it was served.
const commentTokenTTL = 24 * time.Hour

// commentPending is the notice after a comment was received.
const commentPending = "Thanks! Your comment will appear once an author has approved it."

// commentToken signs the post and the time a comment form was served, so
// that a comment must come from a form this blog rendered recently.
func (s *Server) commentToken(postID int64, at time.Time) string {
	msg := fmt.Sprintf("comment|%d|%d", postID, at.Unix())
	mac := hmac.New(sha256.New, s.cfg.SecretKey)
	mac.Write([]byte(msg))
	return fmt.Sprintf("%d.%s", at.Unix(), base64.RawURLEncoding.EncodeToString(mac.Sum(nil)))
}

// checkCommentToken verifies a token from commentToken for postID.
func (s *Server) checkCommentToken(token string, postID int64) error {
	ts, _, ok := strings.Cut(token, ".")
	unix, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil {
		return errors.New("the form is incomplete")
	}
	at := time.Unix(unix, 0)
	if !hmac.Equal([]byte(s.commentToken(postID, at)), []byte(token)) {
		return errors.New("the form does not belong to this post")
	}
	if time.Since(at) > commentTokenTTL+time.Hour {
		return errors.New("the form has expired")
	}
	return nil
}

// commentForm is a fresh comment form for a post. The token's time is
// rounded to the hour so the page, and its ETag, stay the same meanwhile.
func (s *Server) commentForm(p store.Post) views.CommentForm {
	return views.CommentForm{Slug: p.Slug, Token: s.commentToken(p.ID, time.Now().Truncate(time.Hour))}
}

// validateComment checks a reader's comment; the keys name the fields.
func validateComment(name, website, body string) views.Errors {
	errs := views.Errors{}
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		errs["name"] = "Enter your name."
	case n > 80:
		errs["name"] = fmt.Sprintf("Your name is %d characters long; the limit is 80.", n)
	}
	if website != "" {
		u, err := url.Parse(website)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(website) > 200 {
			errs["website"] = "Enter a full web address starting with https://, or leave it empty."
		}
	}
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		errs["body"] = "Write a comment."
	case n > 5000:
		errs["body"] = fmt.Sprintf("Your comment is %d characters long; the limit is 5000.", n)
	}
	return errs
}

// handleComment receives a reader's comment and holds it for moderation.
// Without JavaScript the answer is a redirect back to the post with a
// notice; htmx gets the form back, with the notice or with the errors.
func (s *Server) handleComment() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		post, err := s.store.PostBySlug(r.Context(), r.PathValue("slug"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		form := views.CommentForm{
			Slug:    post.Slug,
			Token:   s.commentForm(post).Token,
			Name:    strings.TrimSpace(r.PostFormValue("name")),
			Website: strings.TrimSpace(r.PostFormValue("website")),
			Body:    strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")),
		}
		fragment := isFragmentRequest(r)
		answer := func(status int) {
			w.Header().Set("Cache-Control", "no-store")
			if fragment {
				s.write(w, r, status, views.CommentFormView(form))
				return
			}
			comments, err := s.store.ApprovedComments(r.Context(), post.ID)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			s.write(w, r, status, views.Article(s.postPage(post, comments, form)))
		}
		done := func() {
			if fragment {
				form = s.commentForm(post)
				form.Notice = commentPending
				answer(http.StatusOK)
				return
			}
			http.Redirect(w, r, "/posts/"+post.Slug+"?comment=pending#comment-form", http.StatusSeeOther)
		}

		// A filled honeypot is a bot: it is told what it wants to hear.
		if r.PostFormValue("nickname") != "" {
			s.log.Info("comment dropped: honeypot", "ip", s.clientIP(r))
			done()
			return
		}
		if err := s.checkCommentToken(r.PostFormValue("token"), post.ID); err != nil {
			form.Errors = views.Errors{"form": "Your comment was not saved: " + err.Error() + ". Please send it again."}
			answer(http.StatusUnprocessableEntity)
			return
		}
		if form.Errors = validateComment(form.Name, form.Website, form.Body); len(form.Errors) > 0 {
			answer(http.StatusUnprocessableEntity)
			return
		}
		if wait, ok := s.commentLimit.allow(clientKey(s.clientIP(r))); !ok {
			s.log.Warn("comment throttled", "event", "comment_throttled", "ip", s.clientIP(r))
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			form.Errors = views.Errors{"form": "You have sent many comments in a short time. Wait a few minutes and send it again."}
			answer(http.StatusTooManyRequests)
			return
		}
		if _, err := s.store.CreateComment(r.Context(), store.Comment{
			PostID: post.ID, Name: form.Name, Website: form.Website, Body: form.Body,
		}); err != nil {
			s.fail(w, r, err)
			return
		}
		done()
	})
}

// idParam reads a numeric {id} from the path; anything else is not found.
func idParam(r *http.Request) (int64, error) {
	id := parseID(r.PathValue("id"))
	if id == 0 {
		return 0, fmt.Errorf("id %q: %w", r.PathValue("id"), store.ErrNotFound)
	}
	return id, nil
}

// parseID is a positive id, or 0.
func parseID(v string) int64 {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0
	}
	return id
}

// moderationNotices are the messages a moderation redirect may show.
var moderationNotices = map[string]string{
	"approved": "The comment is approved and now shown on its post.",
	"deleted":  "The comment is deleted.",
}

// handleModeration lists, a page at a time, the comments waiting on the
// signed-in author's posts (every post's for an admin).
func (s *Server) handleModeration() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, err := pageParam(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		comments, total, err := s.store.PendingComments(r.Context(), owner(r), adminPerPage, (page-1)*adminPerPage)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		pg := adminPager("/admin/comments", r.URL.Query(), "page", page, total)
		if page > pg.Pages {
			http.Redirect(w, r, pageURL("/admin/comments", pg.Pages, nil), http.StatusFound)
			return
		}
		s.write(w, r, http.StatusOK, views.ModerationPage(views.Moderation{
			Site:     s.site(),
			Meta:     views.Meta{Title: "Comments to moderate", Path: "/admin/comments", Type: "website", NoIndex: true},
			Comments: comments,
			Total:    total,
			Pager:    pg,
			Notice:   moderationNotices[r.URL.Query().Get("done")],
		}))
	})
}

// handleModerate approves or deletes a comment on one of the signed-in
// author's posts; any other comment is not found, whether or not it exists.
// htmx removes the row itself and needs no content; a plain form goes back
// to the list with a notice.
func (s *Server) handleModerate(action string, apply func(ctx context.Context, id, owner int64) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := idParam(r)
		if err == nil {
			err = apply(r.Context(), id, owner(r))
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("comment "+action, "id", id, "by", authorFrom(r.Context()).Email)
		if isFragmentRequest(r) {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Redirect(w, r, "/admin/comments?done="+action, http.StatusSeeOther)
	})
}
