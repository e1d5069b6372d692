package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/blogstack/blogstack/blog/internal/auth"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/views"
)

// sessionHandle names a session on the account page: derived from its ID,
// so that the page never shows what the database keys sessions by.
func sessionHandle(id string) string {
	sum := sha256.Sum256([]byte("session handle|" + id))
	return hex.EncodeToString(sum[:8])
}

// accountNotices are the messages a redirect to the account page may show.
var accountNotices = map[string]string{
	"password": "Your password is changed, and every other session of yours is signed out.",
	"ended":    "The session is signed out.",
	"others":   "Every other session of yours is signed out.",
}

// accountPage is the signed-in author's own page: their sessions and the
// password form.
func (s *Server) accountPage(r *http.Request, vm views.AccountPage) (views.AccountPage, error) {
	a := authorFrom(r.Context())
	sessions, err := s.store.Sessions(r.Context(), a.ID, SessionIdle)
	vm.Site, vm.Meta, vm.Author = s.site(), s.adminMeta("Your account", "/admin/account"), a
	for _, sess := range sessions {
		vm.Sessions = append(vm.Sessions, views.SessionRow{
			Handle: sessionHandle(sess.ID), Current: sess.ID == sessionFrom(r.Context()), Session: sess,
		})
	}
	return vm, err
}

func (s *Server) handleAccount() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vm, err := s.accountPage(r, views.AccountPage{Notice: accountNotices[r.URL.Query().Get("done")]})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.write(w, r, http.StatusOK, views.Account(vm))
	})
}

// handleChangePassword changes the author's own password: the current one
// is required, and every other session of theirs ends.
func (s *Server) handleChangePassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := authorFrom(r.Context())
		errs := views.Errors{}
		if auth.CheckPassword(a.PasswordHash, r.PostFormValue("current_password")) != nil {
			s.log.Warn("password change refused", "event", "password_change_failed", "author", a.Email, "ip", s.clientIP(r))
			errs["current_password"] = "That is not your current password."
		}
		hash, err := auth.HashPassword(r.PostFormValue("new_password"), a.Email, a.Name)
		if err != nil {
			errs["new_password"] = sentence(err)
		}
		if len(errs) > 0 {
			vm, err := s.accountPage(r, views.AccountPage{Errors: errs})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			s.write(w, r, http.StatusUnprocessableEntity, views.Account(vm))
			return
		}
		if err := s.store.SetPassword(r.Context(), a.ID, hash, sessionFrom(r.Context())); err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("password changed", "event", "password_changed", "author", a.Email, "by", a.Email, "ip", s.clientIP(r))
		http.Redirect(w, r, "/admin/account?done=password", http.StatusSeeOther)
	})
}

// handleEndSession signs out one of the author's own sessions, named by
// its handle; any other handle is not found.
func (s *Server) handleEndSession() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := authorFrom(r.Context())
		sessions, err := s.store.Sessions(r.Context(), a.ID, SessionIdle)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		err = store.ErrNotFound
		for _, sess := range sessions {
			if sessionHandle(sess.ID) == r.PathValue("handle") {
				err = s.store.DeleteAuthorSession(r.Context(), a.ID, sess.ID)
				break
			}
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("session ended", "event", "session_ended", "author", a.Email, "ip", s.clientIP(r))
		http.Redirect(w, r, "/admin/account?done=ended", http.StatusSeeOther)
	})
}

// handleEndOtherSessions signs out every session of the author but this one.
func (s *Server) handleEndOtherSessions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := authorFrom(r.Context())
		if err := s.store.DeleteSessions(r.Context(), a.ID, sessionFrom(r.Context())); err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("other sessions ended", "event", "sessions_ended", "author", a.Email, "ip", s.clientIP(r))
		http.Redirect(w, r, "/admin/account?done=others", http.StatusSeeOther)
	})
}

// sentence makes an error message a sentence for a form.
func sentence(err error) string {
	msg := err.Error()
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// authorAction applies an admin's action to another author. Admins cannot
// disable or delete themselves: the blog would lose its last way in.
func (s *Server) handleAuthorAction(action string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		admin := authorFrom(r.Context())
		id, err := idParam(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		target, err := s.store.AuthorByID(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if target.ID == admin.ID && action != "enabled" {
			s.errorPage(w, r, http.StatusConflict, "Not on yourself", "An admin cannot disable or delete their own account; ask another admin.")
			return
		}
		switch action {
		case "disabled", "enabled":
			err = s.store.SetDisabled(r.Context(), id, action == "disabled")
		case "deleted":
			var heir int64
			if v := r.PostFormValue("heir"); v != "" {
				h, herr := s.store.AuthorByID(r.Context(), parseID(v))
				if herr != nil || h.ID == id {
					s.fail(w, r, badRequest{"Choose another existing author to hand the posts to."})
					return
				}
				heir = h.ID
			}
			err = s.store.DeleteAuthor(r.Context(), id, heir)
			if errors.Is(err, store.ErrHasPosts) {
				s.errorPage(w, r, http.StatusConflict, "The author has posts",
					"Choose an author to hand "+target.Name+"’s posts to, then delete again.")
				return
			}
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("author "+action, "event", "author_"+action, "author", target.Email, "by", admin.Email, "ip", s.clientIP(r))
		http.Redirect(w, r, "/admin/authors?done="+action, http.StatusSeeOther)
	})
}
