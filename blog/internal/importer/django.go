package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/blogstack/blogstack/blog/internal/store"
)

// DjangoMap says which models and fields of a Django project hold the
// blog. The zero value of each field means its default (DefaultDjangoMap),
// the models of the common tutorial blog ("Django by Example").
type DjangoMap struct {
	PostModel    string            `json:"post_model"`
	PostFields   map[string]string `json:"post_fields"`
	CommentModel string            `json:"comment_model"`
	// CommentFields: post, name, email, body, created, active.
	CommentFields map[string]string `json:"comment_fields"`
	UserModel     string            `json:"user_model"`
	// TagModel holds tags (name, slug); TaggedItemModel links them to
	// posts (django-taggit). A many-to-many "tags" field on the post,
	// listing TagModel keys, works too.
	TagModel        string `json:"tag_model"`
	TaggedItemModel string `json:"tagged_item_model"`
	// PublishedValues are the status values that mean published; every
	// other value is a draft.
	PublishedValues []string `json:"published_values"`
	// BodyFormat is "markdown" or "html".
	BodyFormat string `json:"body_format"`
	// URL is the post's get_absolute_url, with {year}, {month}, {day}
	// (as Django's int converter writes them: 2024/3/7), {month2},
	// {day2} (zero-padded), {slug} and {id}, from the publish date in UTC.
	URL string `json:"url"`
}

// DefaultDjangoMap is the tutorial blog: blog.Post and blog.Comment,
// auth.User, django-taggit, markdown bodies, status "published" or
// "PB", and URLs /blog/<year>/<month>/<day>/<slug>/.
func DefaultDjangoMap() DjangoMap {
	return DjangoMap{
		PostModel: "blog.post",
		PostFields: map[string]string{
			"title": "title", "slug": "slug", "author": "author", "body": "body", "publish": "publish",
			"created": "created", "updated": "updated", "status": "status", "tags": "tags",
		},
		CommentModel:    "blog.comment",
		CommentFields:   map[string]string{"post": "post", "name": "name", "email": "email", "body": "body", "created": "created", "active": "active"},
		UserModel:       "auth.user",
		TagModel:        "taggit.tag",
		TaggedItemModel: "taggit.taggeditem",
		PublishedValues: []string{"published", "PB"},
		BodyFormat:      "markdown",
		URL:             "/blog/{year}/{month}/{day}/{slug}/",
	}
}

// LoadDjangoMap reads a mapping file (JSON with DjangoMap's keys) over the
// defaults; an empty path is the defaults.
func LoadDjangoMap(path string) (DjangoMap, error) {
	m := DefaultDjangoMap()
	if path == "" {
		return m, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return m, fmt.Errorf("mapping file: %w", err)
	}
	var over DjangoMap
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&over); err != nil {
		return m, fmt.Errorf("mapping file %s: %w", path, err)
	}
	for k, v := range over.PostFields {
		m.PostFields[k] = v
	}
	for k, v := range over.CommentFields {
		m.CommentFields[k] = v
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&m.PostModel, over.PostModel)
	set(&m.CommentModel, over.CommentModel)
	set(&m.UserModel, over.UserModel)
	set(&m.TagModel, over.TagModel)
	set(&m.TaggedItemModel, over.TaggedItemModel)
	set(&m.BodyFormat, over.BodyFormat)
	set(&m.URL, over.URL)
	if over.PublishedValues != nil {
		m.PublishedValues = over.PublishedValues
	}
	if m.BodyFormat != "markdown" && m.BodyFormat != "html" {
		return m, fmt.Errorf("mapping file %s: body_format must be markdown or html, not %q", path, m.BodyFormat)
	}
	return m, nil
}

// djangoRecord is one object of `manage.py dumpdata`.
type djangoRecord struct {
	Model  string                     `json:"model"`
	PK     json.RawMessage            `json:"pk"`
	Fields map[string]json.RawMessage `json:"fields"`
}

// ParseDjango reads the JSON of `manage.py dumpdata` (any indentation,
// with or without natural keys).
func ParseDjango(r io.Reader, m DjangoMap) (Data, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return Data{}, err
	}
	var recs []djangoRecord
	if err := json.Unmarshal(raw, &recs); err != nil {
		if syntax := jsonSyntax(raw, err); syntax != nil {
			return Data{}, fmt.Errorf("django: %w", syntax)
		}
		return Data{}, fmt.Errorf("django: not a dumpdata file (a JSON list of {model, pk, fields}): %w", err)
	}
	var (
		d           Data
		users       = map[string]Author{} // by pk and by username (natural keys)
		tags        = map[string]string{}
		postTags    = map[string][]string{}
		contentType = map[string]string{} // contenttypes pk -> "app.model"
		postModel   = strings.ToLower(m.PostModel)
	)
	for _, rec := range recs {
		if strings.ToLower(rec.Model) == "contenttypes.contenttype" {
			contentType[key(rec.PK)] = str(rec.Fields["app_label"]) + "." + str(rec.Fields["model"])
		}
	}
	for i, rec := range recs {
		if rec.Model == "" || rec.Fields == nil {
			return Data{}, fmt.Errorf("django: record %d is not a dumpdata object (model, pk, fields)", i+1)
		}
		switch strings.ToLower(rec.Model) {
		case strings.ToLower(m.UserModel):
			a := Author{ID: key(rec.PK), Email: str(rec.Fields["email"]), Name: strings.TrimSpace(str(rec.Fields["first_name"]) + " " + str(rec.Fields["last_name"]))}
			username := str(rec.Fields["username"])
			if a.Name == "" {
				a.Name = username
			}
			if a.Email == "" {
				// Django users need no email; the import needs one to map
				// and to let an admin invite them later.
				a.Email = username + "@" + "django.import.invalid"
			}
			d.Authors = append(d.Authors, a)
			users[a.ID] = a
			users["user:"+username] = a
		case strings.ToLower(m.TagModel):
			tags[key(rec.PK)] = str(rec.Fields["name"])
		}
	}
	for _, rec := range recs {
		if strings.ToLower(rec.Model) != strings.ToLower(m.TaggedItemModel) {
			continue
		}
		ct := rec.Fields["content_type"]
		var natural []string
		if json.Unmarshal(ct, &natural) == nil && len(natural) == 2 {
			if strings.ToLower(natural[0]+"."+natural[1]) != postModel {
				continue
			}
		} else if known, ok := contentType[key(ct)]; ok && strings.ToLower(known) != postModel {
			continue
		}
		obj := key(rec.Fields["object_id"])
		postTags[obj] = append(postTags[obj], tags[key(rec.Fields["tag"])])
	}
	published := map[string]bool{}
	for _, v := range m.PublishedValues {
		published[v] = true
	}
	f := m.PostFields
	for _, rec := range recs {
		if strings.ToLower(rec.Model) != postModel {
			continue
		}
		id := key(rec.PK)
		p := Post{ID: id, Record: fmt.Sprintf("%s pk=%s", rec.Model, id)}
		get := func(field string) json.RawMessage { return rec.Fields[f[field]] }
		p.Title = strings.TrimSpace(str(get("title")))
		if p.Title == "" {
			return Data{}, fmt.Errorf("django: %s: field %q (title) is missing or empty", p.Record, f["title"])
		}
		body := str(get("body"))
		if m.BodyFormat == "html" {
			var err error
			if body, err = htmlToMarkdown(body); err != nil {
				return Data{}, fmt.Errorf("django: %s: %w", p.Record, err)
			}
		}
		p.Body = body
		p.Slug = slugFor(str(get("slug")), p.Title, id)
		if a := get("author"); len(a) > 0 && string(a) != "null" {
			var natural []string
			if json.Unmarshal(a, &natural) == nil && len(natural) == 1 {
				p.AuthorID = users["user:"+natural[0]].ID
			} else {
				p.AuthorID = key(a)
			}
		}
		dates := map[string]*time.Time{}
		for _, field := range []string{"publish", "created", "updated"} {
			v := str(get(field))
			if v == "" {
				continue
			}
			t, err := parseTime(v)
			if err != nil {
				return Data{}, fmt.Errorf("django: %s: field %q: %w", p.Record, f[field], err)
			}
			dates[field] = &t
		}
		first := func(fields ...string) *time.Time {
			for _, f := range fields {
				if dates[f] != nil {
					return dates[f]
				}
			}
			return nil
		}
		if t := first("created", "publish", "updated"); t != nil {
			p.CreatedAt = *t
		} else {
			return Data{}, fmt.Errorf("django: %s: no date in %q, %q or %q", p.Record, f["created"], f["publish"], f["updated"])
		}
		p.UpdatedAt = *first("updated", "publish", "created")
		p.Status = store.StatusDraft
		// key, not str: a status may be a string ("PB"), a number or a
		// boolean ("is_published": true), matched as its JSON text.
		if published[key(get("status"))] {
			p.Status = store.StatusPublished
			p.PublishedAt = first("publish", "created")
		}
		// Tags: django-taggit items, or a many-to-many list of tag keys.
		p.Tags = postTags[id]
		var m2m []json.RawMessage
		if json.Unmarshal(get("tags"), &m2m) == nil {
			for _, t := range m2m {
				var natural []string
				if json.Unmarshal(t, &natural) == nil && len(natural) > 0 {
					p.Tags = append(p.Tags, natural[0])
				} else if name, ok := tags[key(t)]; ok {
					p.Tags = append(p.Tags, name)
				}
			}
		}
		if m.URL != "" {
			at := p.CreatedAt
			if p.PublishedAt != nil {
				at = *p.PublishedAt
			}
			p.OldPaths = []string{strings.NewReplacer(
				"{year}", strconv.Itoa(at.Year()), "{month}", strconv.Itoa(int(at.Month())), "{day}", strconv.Itoa(at.Day()),
				"{month2}", fmt.Sprintf("%02d", int(at.Month())), "{day2}", fmt.Sprintf("%02d", at.Day()),
				"{slug}", str(get("slug")), "{id}", id,
			).Replace(m.URL)}
		}
		d.Posts = append(d.Posts, p)
	}
	cf := m.CommentFields
	for _, rec := range recs {
		if strings.ToLower(rec.Model) != strings.ToLower(m.CommentModel) {
			continue
		}
		c := Comment{ID: key(rec.PK), Record: fmt.Sprintf("%s pk=%s", rec.Model, key(rec.PK))}
		c.PostID = key(rec.Fields[cf["post"]])
		c.Name = strings.TrimSpace(str(rec.Fields[cf["name"]]))
		if c.Name == "" {
			c.Name = "Anonymous"
		}
		c.Body = str(rec.Fields[cf["body"]])
		t, err := parseTime(str(rec.Fields[cf["created"]]))
		if err != nil {
			return Data{}, fmt.Errorf("django: %s: field %q: %w", c.Record, cf["created"], err)
		}
		c.CreatedAt = t
		c.Approved = string(rec.Fields[cf["active"]]) == "true"
		d.Comments = append(d.Comments, c)
	}
	if len(d.Posts) == 0 {
		return Data{}, fmt.Errorf("django: no %s records in the file (is the mapping's post_model right?)", m.PostModel)
	}
	return d, nil
}

// key is a JSON primary key as text: 3 and "3" (and UUIDs) alike.
func key(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

// str is a JSON string field, or "" when it is missing or not a string.
func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// jsonSyntax explains a JSON syntax error: a file that stops in the middle
// (the end reached, or the error on its last bytes) is truncated; any
// other is an error at a line. Errors that are not about syntax are nil.
func jsonSyntax(raw []byte, err error) error {
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		return nil
	}
	if syn.Offset >= int64(len(bytes.TrimRight(raw, " \t\r\n"))) {
		return fmt.Errorf("the file ends in the middle of the JSON (truncated?): %w", err)
	}
	line := 1 + bytes.Count(raw[:syn.Offset], []byte("\n"))
	return fmt.Errorf("not valid JSON, line %d: %w", line, err)
}
