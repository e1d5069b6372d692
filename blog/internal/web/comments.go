package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/views"
)

// commentTokenTTL is how long a comment form stays valid after it was served.
const commentTokenTTL = 24 * time.Hour

// commentPending is the notice after a comment was received.
const commentPending = "Thanks! Your comment will appear once an author has approved it."

// commentToken signs the post, the time a comment form was served and a
// nonce of that form, so that a comment must come from a form this blog
// rendered, not too fast (CommentMinFill) nor too late, and only once.
// Every cached post page a reader gets carries a new token, so this is on
// the hot path: it appends into one buffer and reuses HMAC states.
func (s *Server) commentToken(postID int64, at time.Time, nonce string) string {
	mac := s.macs.Get().(hash.Hash)
	defer s.macs.Put(mac)
	mac.Reset()
	var buf [160]byte
	unix := strconv.AppendInt(nil, at.Unix(), 10)
	msg := append(buf[:0], "comment|"...)
	msg = strconv.AppendInt(msg, postID, 10)
	msg = append(append(msg, '|'), unix...)
	msg = append(append(msg, '|'), nonce...)
	mac.Write(msg)
	var sum [sha256.Size]byte
	tok := append(buf[:0], unix...)
	tok = append(append(tok, '.'), nonce...)
	tok = append(tok, '.')
	tok = base64.RawURLEncoding.AppendEncode(tok, mac.Sum(sum[:0]))
	return string(tok)
}

// checkCommentToken verifies a token from commentToken for postID and
// returns its nonce and when the form expires.
func (s *Server) checkCommentToken(token string, postID int64) (string, time.Time, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", time.Time{}, errors.New("the form is incomplete")
	}
	unix, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return "", time.Time{}, errors.New("the form is incomplete")
	}
	at := time.Unix(unix, 0)
	if !hmac.Equal([]byte(s.commentToken(postID, at, parts[1])), []byte(token)) {
		return "", time.Time{}, errors.New("the form does not belong to this post")
	}
	switch age := time.Since(at); {
	case age > commentTokenTTL:
		return "", time.Time{}, errors.New("the form has expired")
	case age < s.CommentMinFill:
		return "", time.Time{}, errors.New("it was sent within seconds of the page loading, as only a robot does")
	}
	return parts[1], at.Add(commentTokenTTL), nil
}

// commentForm is a fresh comment form for a post, with a new nonce.
func (s *Server) commentForm(p store.Post) views.CommentForm {
	return views.CommentForm{Slug: p.Slug, Token: s.commentTokenAt(p.ID, time.Now())}
}

// commentTokenAt is a token for a comment form on post postID served at
// at, with a new nonce.
func (s *Server) commentTokenAt(postID int64, at time.Time) string {
	buf := make([]byte, 12)
	_, _ = rand.Read(buf)
	return s.commentToken(postID, at, base64.RawURLEncoding.EncodeToString(buf))
}

// invisible are characters that change how a name reads without showing:
// bidirectional controls (which can reverse the text around them) and
// zero-width characters.
var invisible = []*unicode.RangeTable{
	unicode.Bidi_Control, unicode.Join_Control, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point,
}

func hasInvisible(s string) bool {
	for _, r := range s {
		if unicode.In(r, invisible...) || unicode.Is(unicode.Cf, r) {
			return true
		}
	}
	return false
}

// validateComment checks a reader's comment; the keys name the fields.
// authorNames are the blog's authors' names, which no commenter may use.
func validateComment(name, website, body string, authorNames []string) views.Errors {
	errs := views.Errors{}
	switch n := utf8.RuneCountInString(name); {
	case hasInvisible(name):
		errs["name"] = "Your name contains invisible characters (direction or zero-width marks); type it plainly."
	case strings.TrimFunc(name, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) == "":
		errs["name"] = "Enter your name."
	case n > 80:
		errs["name"] = fmt.Sprintf("Your name is %d characters long; the limit is 80.", n)
	case isAuthorName(name, authorNames):
		errs["name"] = "That is the name of one of this blog's authors; use your own."
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
	case hasBidi(body):
		errs["body"] = "Your comment contains text-direction control characters; remove them."
	}
	return errs
}

func hasBidi(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Bidi_Control, r) {
			return true
		}
	}
	return false
}

// isAuthorName compares names as a reader would see them: case, accents,
// compatibility forms (fullwidth letters) and spacing ignored.
func isAuthorName(name string, authorNames []string) bool {
	key := func(s string) string {
		var b strings.Builder
		for _, r := range norm.NFKD.String(strings.ToLower(s)) {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	k := key(name)
	for _, a := range authorNames {
		if k != "" && k == key(a) {
			return true
		}
	}
	return false
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
			s.write(w, r, status, views.Article(s.postPage(r.Context(), post, comments, form)))
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
		nonce, expires, err := s.checkCommentToken(r.PostFormValue("token"), post.ID)
		if err != nil {
			s.log.Info("comment refused", "event", "comment_token_refused", "reason", err.Error(), "ip", s.clientIP(r))
			form.Errors = views.Errors{"form": "Your comment was not saved: " + err.Error() + ". Please send it again."}
			answer(http.StatusUnprocessableEntity)
			return
		}
		authors, err := s.store.Authors(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var names []string
		for _, a := range authors {
			names = append(names, a.Name)
		}
		if form.Errors = validateComment(form.Name, form.Website, form.Body, names); len(form.Errors) > 0 {
			answer(http.StatusUnprocessableEntity)
			return
		}
		key := commentLimit.key(clientKey(s.clientIP(r)))
		counted, err := s.store.AddAttempt(r.Context(), commentLimit.window, key)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if wait, blocked := commentLimit.blocked(counted[key], true, s.store.Clock()); blocked {
			s.log.Warn("comment throttled", "event", "comment_throttled", "ip", s.clientIP(r))
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			form.Errors = views.Errors{"form": "You have sent many comments in a short time. Wait a few minutes and send it again."}
			answer(http.StatusTooManyRequests)
			return
		}
		if err := s.store.UseCommentNonce(r.Context(), nonce, expires); errors.Is(err, store.ErrConflict) {
			s.log.Warn("comment replayed", "event", "comment_replayed", "ip", s.clientIP(r))
			form.Errors = views.Errors{"form": "This form was already sent once. Your comment is below: send it again from this fresh form."}
			answer(http.StatusUnprocessableEntity)
			return
		} else if err != nil {
			s.fail(w, r, err)
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
