package views

import (
	"time"

	"github.com/blogstack/blogstack/blog/internal/store"
)

// Errors maps a form field to what is wrong with it.
type Errors map[string]string

// LoginPage is the sign-in form.
type LoginPage struct {
	Site  Site
	Meta  Meta
	Email string
	Next  string
	Error string
}

// PostForm is the editor for a new or existing post. Values are what the
// author typed, kept when the form is re-rendered with errors.
type PostForm struct {
	Site                                       Site
	Meta                                       Meta
	Action                                     string // where the form posts
	PostID                                     int64  // 0 for a new post
	Title, Slug, Body, Tags, Status, PublishAt string
	Errors                                     Errors
	Preview                                    string // rendered HTML of Body
	// Version is the post's version the form was made from.
	Version int64
	// Theirs is the post as someone else saved it meanwhile, shown when the
	// author's save was refused as stale.
	Theirs *store.Post
	// Cover is the chosen cover picture's file name; Covers are the
	// author's uploads to choose from; Upload is the upload form.
	Cover  string
	Covers []store.Media
	Upload UploadForm
}

// Dashboard is an author's overview: their drafts, scheduled and
// published posts (every author's for an admin), each list paged.
type Dashboard struct {
	Site    Site
	Meta    Meta
	Groups  []PostGroup
	Pending int // comments waiting on the author's posts
	Notice  string
}

// PostGroup is one paged list of the dashboard.
type PostGroup struct {
	ID, Heading string // ID is also the list's page parameter
	Posts       []store.Post
	Total       int
	Pager       Pager
	Live        bool // the posts have a public page to link to
}

// ConfirmDelete asks before a post is deleted.
type ConfirmDelete struct {
	Site Site
	Meta Meta
	Post store.Post
}

// Moderation lists comments waiting for approval.
type Moderation struct {
	Site     Site
	Meta     Meta
	Comments []store.PendingComment
	Total    int
	Pager    Pager
	Notice   string
}

// AuthorsPage lists authors and adds one (admins only).
type AuthorsPage struct {
	Site              Site
	Meta              Meta
	Authors           []store.Author
	Email, Name, Role string
	Errors            Errors
	Notice            string
}

// AccountPage is the signed-in author's own sessions and password form.
type AccountPage struct {
	Site     Site
	Meta     Meta
	Author   store.Author
	Sessions []SessionRow
	Errors   Errors
	Notice   string
}

// SessionRow is one of the author's sessions.
type SessionRow struct {
	Handle  string // names the session in the URL that ends it
	Current bool   // the session showing the page
	store.Session
}

// CommentForm is the comment form on a post page.
type CommentForm struct {
	Slug                string
	Token               string // signed; proves the form came from this blog
	Name, Website, Body string
	Errors              Errors
	Notice              string
}

// LocalInput formats a time for <input type="datetime-local"> in UTC.
func LocalInput(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04")
}

func adminPostPath(id int64, action string) string {
	return "/admin/posts/" + itoa(id) + action
}

// MediaLibrary is the media page: an author's uploads (everyone's for an
// admin), newest first, with the posts that use each.
type MediaLibrary struct {
	Site   Site
	Meta   Meta
	Upload UploadForm
	Items  []store.Media
	Uses   map[int64][]store.MediaUse
	Pager  Pager
	Notice string
	Error  string
}

// UploadForm is the upload form's state: what the author typed, the file
// already uploaded when only the alt text was missing (Pending, the name
// of its widest file), and the upload just made.
type UploadForm struct {
	InEditor          bool
	Alt               string
	Pending, Filename string
	Errors            Errors
	Result            *store.Media
}

// Picture is a media picture ready for an <img>.
type Picture struct {
	Src, Srcset, Sizes, Alt string
	Width, Height           int
	URL                     string // absolute, for og:image and feeds
}
