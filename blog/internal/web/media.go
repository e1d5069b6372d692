package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blogstack/blogstack/blog/internal/media"
	"github.com/blogstack/blogstack/blog/internal/store"
	"github.com/blogstack/blogstack/blog/internal/views"
)

// Option configures a Server beyond its required dependencies.
type Option func(*Server)

// WithMedia serves and stores uploads in b; without it the media pages
// answer 503.
func WithMedia(b *media.Bucket) Option { return func(s *Server) { s.media = b } }

// uploadBody bounds an upload request: the largest file plus its form.
const uploadBody = media.MaxBytes + 64<<10

// uploadTime is how long an upload may take to arrive: 20 MB at 1.5 Mbit/s.
const uploadTime = 2 * time.Minute

// maxAlt is the longest alt text, about two sentences.
const maxAlt = 300

var mediaNotices = map[string]string{"deleted": "The picture is deleted."}

// handleMediaFile serves one file of an upload. Names carry a content hash,
// so the file is cached for good; the sandbox CSP and nosniff (set for
// every response) mean that even a file that were not an image could not
// run as a page.
func (s *Server) handleMediaFile() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		n, ok := media.ParseName(name)
		if !ok || s.media == nil {
			s.notFound(w, r)
			return
		}
		obj, err := s.media.Open(r.Context(), name)
		if errors.Is(err, media.ErrNotFound) {
			s.notFound(w, r)
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		defer obj.Close()
		h := w.Header()
		h.Set("Content-Type", media.ContentType(n.Ext))
		h.Set("Cache-Control", media.CacheControl)
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		h.Set("ETag", `"`+n.Hash+strconv.Itoa(n.Width)+`"`)
		http.ServeContent(w, r, name, obj.ModTime, obj)
	})
}

// mediaUnavailable answers when no media bucket is configured.
func (s *Server) mediaUnavailable(w http.ResponseWriter, r *http.Request) bool {
	if s.media != nil {
		return false
	}
	s.errorPage(w, r, http.StatusServiceUnavailable, "Media unavailable", "This blog has no media storage configured (BLOG_MEDIA_URL).")
	return true
}

func (s *Server) handleMediaLibrary() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vm := views.MediaLibrary{Notice: mediaNotices[r.URL.Query().Get("done")]}
		if id, err := strconv.ParseInt(r.URL.Query().Get("uploaded"), 10, 64); err == nil {
			if m, err := s.store.MediaByID(r.Context(), id, owner(r)); err == nil {
				vm.Upload.Result = &m
			}
		}
		s.mediaPage(w, r, http.StatusOK, vm)
	})
}

// mediaPage renders the library around vm's upload form and messages.
func (s *Server) mediaPage(w http.ResponseWriter, r *http.Request, status int, vm views.MediaLibrary) {
	page, err := intParam(r.URL.Query(), "media")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vm.Site, vm.Meta = s.site(), s.adminMeta("Media", "/admin/media")
	vm.Items, vm.Uses, vm.Pager.Pages, err = s.store.MediaPage(r.Context(), owner(r), adminPerPage, (page-1)*adminPerPage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vm.Pager = adminPager("/admin/media", r.URL.Query(), "media", page, vm.Pager.Pages)
	s.write(w, r, status, views.MediaPage(vm))
}

// handleUpload stores a picture. A refused file or missing alt text is a
// 422 with the form kept; when only the alt text is missing the processed
// file is already stored and the form carries its name, so the author
// describes it without choosing it again. Success: htmx gets the form
// back with the markdown to insert, a plain form a 303 to the library,
// which shows it.
func (s *Server) handleUpload() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.mediaUnavailable(w, r) {
			return
		}
		// The server's read timeout suits forms; 20 MB over a slow
		// uplink needs longer.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadTime))
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				s.errorPage(w, r, http.StatusRequestEntityTooLarge, "That was too much",
					fmt.Sprintf("The upload is larger than %d MB. Nothing was saved.", media.MaxBytes>>20))
				return
			}
			s.fail(w, r, badRequest{"The upload could not be read: " + err.Error() + "."})
			return
		}
		defer r.MultipartForm.RemoveAll()
		f := views.UploadForm{
			InEditor: r.PostFormValue("in_editor") == "1",
			Alt:      strings.TrimSpace(r.PostFormValue("alt")),
			Filename: r.PostFormValue("filename"),
			Errors:   views.Errors{},
		}
		m, err := s.receive(r, &f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// The name is only a reminder for the author: one that cannot be
		// stored or shown as it is becomes a plain one.
		if _, ok := badRune(f.Filename, false); !ok || f.Filename == "" || utf8.RuneCountInString(f.Filename) > 200 {
			f.Filename = "upload"
		}
		switch n := utf8.RuneCountInString(f.Alt); {
		case f.Errors["file"] != "":
		case n == 0:
			f.Errors["alt"] = "Describe the picture for readers who cannot see it (for example: “A harbour at dawn, fishing boats at anchor”)."
		case n > maxAlt:
			f.Errors["alt"] = fmt.Sprintf("The alt text is %d characters long; the limit is %d. Keep it to what the picture shows.", n, maxAlt)
		default:
			if bad, ok := badRune(f.Alt, false); !ok {
				f.Errors["alt"] = "The alt text contains " + bad + "."
			}
		}
		if len(f.Errors) > 0 {
			s.uploadAnswer(w, r, http.StatusUnprocessableEntity, f)
			return
		}
		m.AuthorID, m.Alt, m.Filename = authorFrom(r.Context()).ID, f.Alt, f.Filename
		if m, err = s.store.SaveMedia(r.Context(), m); err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Info("media uploaded", "file", m.Name(), "by", authorFrom(r.Context()).Email)
		if !isFragmentRequest(r) {
			http.Redirect(w, r, fmt.Sprintf("/admin/media?uploaded=%d", m.ID), http.StatusSeeOther)
			return
		}
		s.uploadAnswer(w, r, http.StatusOK, views.UploadForm{InEditor: f.InEditor, Result: &m})
	})
}

// receive processes and stores the uploaded file, or finds the one a
// previous attempt stored (the form's pending name). A file that is not
// acceptable sets the file error and returns a zero Media.
func (s *Server) receive(r *http.Request, f *views.UploadForm) (store.Media, error) {
	file, header, err := r.FormFile("file")
	if errors.Is(err, http.ErrMissingFile) {
		pending := r.PostFormValue("pending")
		if n, ok := media.ParseName(pending); ok {
			if obj, err := s.media.Open(r.Context(), pending); err == nil {
				obj.Close()
				f.Pending = pending
				return mediaRow(n, obj.Size), nil
			}
		}
		f.Errors["file"] = "Choose a picture to upload."
		return store.Media{}, nil
	}
	if err != nil {
		return store.Media{}, badRequest{"The upload could not be read: " + err.Error() + "."}
	}
	defer file.Close()
	f.Filename = path.Base(strings.ReplaceAll(header.Filename, `\`, "/"))
	p, err := media.Process(file)
	var refused *media.Error
	if errors.As(err, &refused) {
		f.Errors["file"] = refused.Msg
		return store.Media{}, nil
	}
	if err != nil {
		return store.Media{}, err
	}
	if err := s.media.Put(r.Context(), p); err != nil {
		return store.Media{}, err
	}
	n, _ := media.ParseName(p.Largest().Name)
	f.Pending = p.Largest().Name
	return mediaRow(n, int64(len(p.Largest().Data))), nil
}

// mediaRow is the record of an upload whose widest file is n.
func mediaRow(n media.ParsedName, bytes int64) store.Media {
	var files []string
	for _, size := range media.Sizes(n.Width, n.Height) {
		files = append(files, media.Name(n.Hash, size[0], size[1], n.Ext))
	}
	return store.Media{Hash: n.Hash, Ext: n.Ext, Width: n.Width, Height: n.Height, Files: strings.Join(files, " "), Bytes: bytes}
}

// uploadAnswer is the upload form: alone for htmx, else in the library.
func (s *Server) uploadAnswer(w http.ResponseWriter, r *http.Request, status int, f views.UploadForm) {
	if len(f.Errors) == 0 {
		f.Errors = nil
	}
	if isFragmentRequest(r) {
		s.write(w, r, status, views.UploadFormFragment(f))
		return
	}
	f.InEditor = false
	s.mediaPage(w, r, status, views.MediaLibrary{Upload: f})
}

// handleDeleteMedia deletes one of the author's pictures, refused (409)
// while a published or scheduled post shows it.
func (s *Server) handleDeleteMedia() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.mediaUnavailable(w, r) {
			return
		}
		id, err := idParam(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		m, orphaned, err := s.store.DeleteMedia(r.Context(), id, owner(r))
		if errors.Is(err, store.ErrInUse) {
			s.mediaPage(w, r, http.StatusConflict, views.MediaLibrary{
				Error: "This picture is in a published post, so it was not deleted: take it out of those posts (or unpublish them) first.",
			})
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if orphaned {
			if err := s.media.Delete(r.Context(), strings.Fields(m.Files)...); err != nil {
				// The row is gone; a leftover file costs storage, not correctness.
				s.log.Error("media files not deleted", "files", m.Files, "err", err)
			}
		}
		s.log.Info("media deleted", "file", m.Name(), "by", authorFrom(r.Context()).Email)
		http.Redirect(w, r, "/admin/media?done=deleted", http.StatusSeeOther)
	})
}

// picture is the media picture name with its alt text, or nil.
func (s *Server) picture(ctx context.Context, name string) *views.Picture {
	if name == "" {
		return nil
	}
	alt := ""
	if m, err := s.store.MediaByName(ctx, name); err == nil {
		alt = m.Alt
	}
	return views.NewPicture(s.site(), name, alt)
}
