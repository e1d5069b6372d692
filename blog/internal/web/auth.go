package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/blogstack/blogstack/blog/internal/auth"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/views"
)

// A sign-in lasts sessionTTL at most, and ends sooner when unused for
// SessionIdle; the server also deletes such sessions (run.go).
const (
	sessionTTL  = 30 * 24 * time.Hour
	SessionIdle = 12 * time.Hour
)

// dummyHash is compared against when an email is unknown, so that a wrong
// email takes as long as a wrong password and does not reveal who exists.
var dummyHash = func() string {
	h, err := auth.HashPassword("not a real password, only for timing")
	if err != nil {
		panic(err) // an empty hash would answer unknown emails fast
	}
	return h
}()

type (
	authorKey  struct{}
	sessionKey struct{}
)

// authorFrom returns the signed-in author that requireAuthor put in ctx.
func authorFrom(ctx context.Context) store.Author {
	a, _ := ctx.Value(authorKey{}).(store.Author)
	return a
}

// sessionFrom returns the signed-in session's ID (the hash of its token)
// that requireAuthor put in ctx.
func sessionFrom(ctx context.Context) string {
	id, _ := ctx.Value(sessionKey{}).(string)
	return id
}

// sessionCookie is the session cookie's name: with https the __Host- prefix
// pins it to this origin, path / and Secure.
func (s *Server) sessionCookie() string {
	if s.cfg.Secure() {
		return "__Host-session"
	}
	return "session"
}

// sessionID is what the store keeps of a session token: its hash.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// requireAuthor lets signed-in authors through and sends everyone else to
// the sign-in page, coming back afterwards. Admin pages are never cached.
func (s *Server) requireAuthor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if c, err := r.Cookie(s.sessionCookie()); err == nil && c.Value != "" {
			id := sessionID(c.Value)
			a, err := s.store.SessionAuthor(r.Context(), id, SessionIdle)
			if err == nil {
				ctx := context.WithValue(context.WithValue(r.Context(), authorKey{}, a), sessionKey{}, id)
				next.ServeHTTP(w, r.WithContext(ctx))
				return
			}
			if !errors.Is(err, store.ErrNotFound) {
				s.fail(w, r, err)
				return
			}
		}
		target := "/login?next=" + url.QueryEscape(r.URL.RequestURI())
		if r.Method != http.MethodGet {
			target = "/login"
		}
		if r.Header.Get(hxRequest) == "true" {
			w.Header().Set("HX-Redirect", target)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}

// requireAdmin lets only admins through; it runs inside requireAuthor.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authorFrom(r.Context()).Role != store.RoleAdmin {
			s.errorPage(w, r, http.StatusForbidden, "Admins only", "Only an admin can manage authors.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// safeNext keeps a post-login redirect on this site: it must parse as a
// path on this origin (no scheme, host or user, not "//", not "/\\"), and
// hold no backslash, whitespace or control character anywhere, which
// browsers strip or turn into "/" and so could read as another host.
// Anything else becomes /admin.
func safeNext(next string) string {
	const fallback = "/admin"
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || len(next) > 2000 {
		return fallback
	}
	for _, r := range next {
		if r == '\\' || r <= ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fallback
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return fallback
	}
	// The same characters percent-encoded (/%09/evil.example) are refused
	// too: no page of this blog has them in its path.
	for _, r := range u.Path {
		if r == '\\' || r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fallback
		}
	}
	return u.RequestURI()
}

func (s *Server) loginPage(r *http.Request, email, next, msg string) views.LoginPage {
	return views.LoginPage{
		Site:  s.site(),
		Meta:  views.Meta{Title: "Sign in", Path: "/login", Type: "website", NoIndex: true},
		Email: email, Next: safeNext(next), Error: msg,
	}
}

func (s *Server) handleLoginForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		s.write(w, r, http.StatusOK, views.Login(s.loginPage(r, "", r.URL.Query().Get("next"), "")))
	})
}

// accountKey is the per-account throttling key: a fixed-size hash of the
// normalised email, whatever was typed.
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:16])
}

func (s *Server) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		email := strings.TrimSpace(r.PostFormValue("email"))
		password := r.PostFormValue("password")
		next := r.PostFormValue("next")
		if email == "" || password == "" {
			s.write(w, r, http.StatusUnprocessableEntity, views.Login(s.loginPage(r, email, next, "Enter your email and password.")))
			return
		}
		ip := s.clientIP(r)
		client, account := loginClientLimit.key(clientKey(ip)), loginAccountLimit.key(accountKey(email))
		wait, by, err := s.countSignIn(r.Context(), client, account)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if by != "" {
			s.log.Warn("sign-in throttled", "event", "login_throttled", "by", by, "ip", ip, "email", email)
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			s.write(w, r, http.StatusTooManyRequests, views.Login(s.loginPage(r, email, next,
				fmt.Sprintf("Too many failed sign-ins. Wait %d minutes and try again.", int(math.Ceil(wait.Minutes()))))))
			return
		}
		a, err := s.store.AuthorByEmail(r.Context(), email)
		reason := "wrong password"
		switch {
		case errors.Is(err, store.ErrNotFound):
			_ = auth.CheckPassword(dummyHash, password)
			err, reason = auth.ErrWrongPassword, "unknown email"
		case err == nil && a.DisabledAt != nil:
			// Answered as a wrong password, after as long, so that the form
			// does not tell who is disabled.
			_ = auth.CheckPassword(dummyHash, password)
			err, reason = auth.ErrWrongPassword, "author disabled"
		case err == nil:
			err = auth.CheckPassword(a.PasswordHash, password)
		}
		if errors.Is(err, auth.ErrWrongPassword) {
			// The attempt stays counted against both limits.
			s.log.Warn("sign-in failed", "event", "login_failed", "reason", reason, "ip", ip, "email", email)
			s.write(w, r, http.StatusUnauthorized, views.Login(s.loginPage(r, email, next, "That email and password do not match an author.")))
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// A success does not count, and clears the account's failures.
		if err := s.store.RemoveAttempt(r.Context(), client); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.store.DeleteAttempts(r.Context(), account); err != nil {
			s.fail(w, r, err)
			return
		}
		buf := make([]byte, 32)
		_, _ = rand.Read(buf)
		token := base64.RawURLEncoding.EncodeToString(buf)
		ua := r.UserAgent()
		if len(ua) > 200 {
			ua = ua[:200]
		}
		sess := store.Session{ID: sessionID(token), AuthorID: a.ID, IP: ip, UserAgent: strings.ToValidUTF8(ua, "")}
		if err := s.store.CreateSession(r.Context(), sess, sessionTTL); err != nil {
			s.fail(w, r, err)
			return
		}
		http.SetCookie(w, &http.Cookie{
			Name: s.sessionCookie(), Value: token, Path: "/", MaxAge: int(sessionTTL.Seconds()),
			HttpOnly: true, Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode,
		})
		s.log.Info("signed in", "event", "login_succeeded", "author", a.Email, "ip", ip)
		http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	})
}

// countSignIn counts a sign-in attempt against the client's and the
// account's limits before its password is checked, so that guesses sent at
// once, to one instance or several, cannot all slip in under a limit. When
// a limit is reached it says which ("client" or "account") and how long
// until the attempt may be made; the attempt is then not counted. The
// first read means a client that keeps trying while throttled costs
// reads, not writes.
func (s *Server) countSignIn(ctx context.Context, client, account string) (time.Duration, string, error) {
	live, err := s.store.Attempts(ctx, client, account)
	if err != nil {
		return 0, "", err
	}
	if wait, by := signInBlocked(live[client], live[account], false, s.store.Clock()); by != "" {
		return wait, by, nil
	}
	counted, err := s.store.AddAttempt(ctx, loginWindow, client, account)
	if err != nil {
		return 0, "", err
	}
	wait, by := signInBlocked(counted[client], counted[account], true, s.store.Clock())
	if by != "" {
		// Other attempts filled the window between the read and the count.
		err = s.store.RemoveAttempt(ctx, client, account)
	}
	return wait, by, err
}

// signInBlocked says which sign-in limit, if any, blocks an attempt, and
// for how long: the account's when both do, with the longer wait.
func signInBlocked(client, account store.Attempts, counted bool, now time.Time) (time.Duration, string) {
	waitClient, byClient := loginClientLimit.blocked(client, counted, now)
	waitAccount, byAccount := loginAccountLimit.blocked(account, counted, now)
	switch {
	case byAccount:
		return max(waitClient, waitAccount), "account"
	case byClient:
		return waitClient, "client"
	}
	return 0, ""
}

func (s *Server) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(s.sessionCookie()); err == nil && c.Value != "" {
			if err := s.store.DeleteSession(r.Context(), sessionID(c.Value)); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		http.SetCookie(w, &http.Cookie{
			Name: s.sessionCookie(), Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode,
		})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
}
