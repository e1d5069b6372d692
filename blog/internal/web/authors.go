package web

import (
	"net/http"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/blogstack/blogstack/blog/internal/auth"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/views"
)

func (s *Server) authorsPage(r *http.Request, vm views.AuthorsPage) (views.AuthorsPage, error) {
	authors, err := s.store.Authors(r.Context())
	vm.Site, vm.Meta, vm.Authors = s.site(), s.adminMeta("Authors", "/admin/authors"), authors
	return vm, err
}

func (s *Server) handleAuthors() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vm, err := s.authorsPage(r, views.AuthorsPage{Role: store.RoleAuthor})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		vm.Notice = map[string]string{
			"saved":    "The author is saved; if they existed, their sessions are signed out.",
			"disabled": "The author is disabled and signed out everywhere; their posts stay.",
			"enabled":  "The author can sign in again.",
			"deleted":  "The author is deleted.",
		}[r.URL.Query().Get("done")]
		s.write(w, r, http.StatusOK, views.Authors(vm))
	})
}

// handleSaveAuthor creates an author, or updates the one with that email.
func (s *Server) handleSaveAuthor() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vm := views.AuthorsPage{
			Email:  strings.TrimSpace(r.PostFormValue("email")),
			Name:   strings.TrimSpace(r.PostFormValue("name")),
			Role:   r.PostFormValue("role"),
			Errors: views.Errors{},
		}
		if addr, err := mail.ParseAddress(vm.Email); err != nil || addr.Address != vm.Email {
			vm.Errors["email"] = "Enter an email address such as ada@example.com."
		}
		if n := utf8.RuneCountInString(vm.Name); n == 0 || n > 100 {
			vm.Errors["name"] = "Enter a name of up to 100 characters."
		}
		if vm.Role != store.RoleAdmin && vm.Role != store.RoleAuthor {
			vm.Errors["role"] = "Choose author or admin."
		}
		hash, err := auth.HashPassword(r.PostFormValue("password"), vm.Email, vm.Name)
		if err != nil {
			vm.Errors["password"] = sentence(err)
		}
		if len(vm.Errors) > 0 {
			vm, err := s.authorsPage(r, vm)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			s.write(w, r, http.StatusUnprocessableEntity, views.Authors(vm))
			return
		}
		if _, err := s.store.SaveAuthor(r.Context(), store.Author{Email: vm.Email, Name: vm.Name, Role: vm.Role, PasswordHash: hash}); err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("author saved", "event", "author_saved", "email", vm.Email, "role", vm.Role, "by", authorFrom(r.Context()).Email)
		http.Redirect(w, r, "/admin/authors?done=saved", http.StatusSeeOther)
	})
}
