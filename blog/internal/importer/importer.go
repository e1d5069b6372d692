// Package importer moves another blog's export (Django dumpdata, WordPress
// WXR, Ghost JSON) into the store. Each source is parsed and checked whole
// into the neutral Data first, so bad input fails before anything is
// written; then Run writes it in one transaction, keyed by the source's
// own ids so that a second run changes nothing.
package importer

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/blogstack/blogstack/blog/internal/content"
	"github.com/blogstack/blogstack/blog/internal/store"
)

// Data is another blog's content, in the shape every source parses into.
type Data struct {
	Authors  []Author
	Posts    []Post
	Comments []Comment
	// Skipped are records the parser left out on purpose, with why.
	Skipped []Skip
}

// Author is a source's author; ID is the source's own id.
type Author struct {
	ID    string
	Email string
	Name  string
}

// Post is a source's post. Body is markdown (HTML bodies are converted by
// the parser). OldPaths are the addresses it had, answered with 301s.
type Post struct {
	ID          string
	Record      string // how errors and the report name it, e.g. "blog.post pk=3"
	AuthorID    string // empty: no author
	Title       string
	Slug        string
	Body        string
	Status      string // store.StatusDraft or store.StatusPublished
	PublishedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Tags        []string
	OldPaths    []string
}

// Comment is a reader's comment on a source's post.
type Comment struct {
	ID        string
	Record    string
	PostID    string
	Name      string
	Website   string
	Body      string
	Approved  bool
	CreatedAt time.Time
}

// Skip is a record left out, and why.
type Skip struct {
	Record string
	Why    string
}

// Report is what an import did (or, in a dry run, would do).
type Report struct {
	Source         string
	DryRun         bool
	AuthorsCreated int
	AuthorsMapped  int
	Posts          int
	Comments       int
	Redirects      int
	Skipped        []Skip
	// Renamed are posts whose slug was taken, with their new address.
	Renamed []Skip
}

// Unchanged says whether the import wrote nothing.
func (r Report) Unchanged() bool {
	return r.AuthorsCreated+r.AuthorsMapped+r.Posts+r.Comments+r.Redirects == 0
}

// Write prints the report for a person.
func (r Report) Write(w io.Writer) {
	verb := "imported"
	if r.DryRun {
		verb = "would import (dry run, nothing written)"
	}
	fmt.Fprintf(w, "%s import %s:\n", r.Source, verb)
	fmt.Fprintf(w, "  authors created (disabled, no password): %d\n", r.AuthorsCreated)
	fmt.Fprintf(w, "  authors mapped to existing ones by email: %d\n", r.AuthorsMapped)
	fmt.Fprintf(w, "  posts: %d\n", r.Posts)
	fmt.Fprintf(w, "  comments: %d\n", r.Comments)
	fmt.Fprintf(w, "  redirects from old addresses: %d\n", r.Redirects)
	fmt.Fprintf(w, "  renamed (slug taken): %d\n", len(r.Renamed))
	for _, s := range r.Renamed {
		fmt.Fprintf(w, "    %s: %s\n", s.Record, s.Why)
	}
	fmt.Fprintf(w, "  skipped: %d\n", len(r.Skipped))
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "    %s: %s\n", s.Record, s.Why)
	}
}

// Options tune Run.
type Options struct {
	DryRun bool
	// Progress, when set, gets a one-line running count (a terminal).
	Progress io.Writer
}

// unknownAuthor stands in for posts that had no author in the source.
var unknownAuthor = Author{ID: "-", Email: "unknown-author@import.invalid", Name: "Unknown author"}

// Run writes d into st in one transaction, as the import from source.
func Run(ctx context.Context, st *store.Store, source string, d Data, opts Options) (Report, error) {
	rep := Report{Source: source, DryRun: opts.DryRun}
	err := st.Import(ctx, source, opts.DryRun, func(ctx context.Context, tx *store.ImportTx) error {
		rep = Report{Source: source, DryRun: opts.DryRun, Skipped: append([]Skip(nil), d.Skipped...)}
		authors := map[string]int64{}
		author := func(a Author) (int64, error) {
			if id, ok := authors[a.ID]; ok {
				return id, nil
			}
			got, created, mapped, err := tx.ImportAuthor(ctx, a.ID, a.Email, a.Name)
			if err != nil {
				return 0, fmt.Errorf("author %s (%s): %w", a.ID, a.Email, err)
			}
			if created {
				rep.AuthorsCreated++
			}
			if mapped {
				rep.AuthorsMapped++
			}
			authors[a.ID] = got.ID
			return got.ID, nil
		}
		byID := map[string]Author{}
		for _, a := range d.Authors {
			byID[a.ID] = a
		}
		posts := map[string]int64{}
		total := len(d.Posts) + len(d.Comments)
		for i, p := range d.Posts {
			progress(opts.Progress, i+1, total)
			a, ok := byID[p.AuthorID]
			if !ok {
				a = unknownAuthor
			}
			authorID, err := author(a)
			if err != nil {
				return err
			}
			post, created, err := tx.ImportPost(ctx, p.ID, store.ImportedPostInput{
				AuthorID: authorID, Title: p.Title, Slug: p.Slug, Body: p.Body, Tags: p.Tags,
				Status: p.Status, PublishedAt: p.PublishedAt, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
			})
			if err != nil {
				return fmt.Errorf("%s (%q): %w", p.Record, p.Title, err)
			}
			posts[p.ID] = post.ID
			if created {
				rep.Posts++
				if post.Slug != p.Slug {
					rep.Renamed = append(rep.Renamed, Skip{p.Record, fmt.Sprintf("slug %q was taken; the post is at /posts/%s", p.Slug, post.Slug)})
				}
			}
			for _, old := range p.OldPaths {
				if store.RedirectKey(old) == "/posts/"+post.Slug {
					continue // the old address is the new one
				}
				added, to, err := tx.AddRedirect(ctx, old, post.ID)
				if err != nil {
					return fmt.Errorf("%s: redirect %s: %w", p.Record, old, err)
				}
				switch {
				case added:
					rep.Redirects++
				case to != post.ID:
					rep.Skipped = append(rep.Skipped, Skip{p.Record, fmt.Sprintf("old address %s already leads to another post", old)})
				}
			}
		}
		for i, c := range d.Comments {
			progress(opts.Progress, len(d.Posts)+i+1, total)
			postID, ok := posts[c.PostID]
			if !ok {
				rep.Skipped = append(rep.Skipped, Skip{c.Record, fmt.Sprintf("its post %s is not in the import", c.PostID)})
				continue
			}
			status := store.CommentPending
			if c.Approved {
				status = store.CommentApproved
			}
			created, err := tx.ImportComment(ctx, c.ID, store.Comment{
				PostID: postID, Name: c.Name, Website: c.Website, Body: c.Body, Status: status, CreatedAt: c.CreatedAt,
			})
			if err != nil {
				return fmt.Errorf("%s: %w", c.Record, err)
			}
			if created {
				rep.Comments++
			}
		}
		if opts.Progress != nil && total > 0 {
			fmt.Fprintln(opts.Progress)
		}
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("%s import: nothing was written: %w", source, err)
	}
	return rep, nil
}

func progress(w io.Writer, n, total int) {
	if w != nil && (n == total || n%25 == 0) {
		fmt.Fprintf(w, "\rimporting %d/%d", n, total)
	}
}

// slugFor is the slug a post asks for: its own, cleaned to one URL path
// segment (letters of any script are kept), or one made from the title.
func slugFor(slug, title, id string) string {
	s := strings.ToLower(strings.Trim(strings.TrimSpace(slug), "/"))
	s = strings.Map(func(r rune) rune {
		switch r {
		case '/', '?', '#', '%', ' ', '\t', '\n':
			return '-'
		}
		return r
	}, s)
	if s == "" {
		s = store.TagSlug(title)
	}
	if s == "" {
		s = content.Slug("post " + id)
	}
	return s
}

// parseTime reads the date formats exports use: RFC 3339 (with or without
// fraction or zone; no zone is UTC) and "2006-01-02 15:04:05".
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date", s)
}
