package importer

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToMarkdown turns a post's HTML (WordPress, Ghost, a Django blog that
// stored HTML) into markdown, so that an imported post is edited like any
// other and rendered and sanitized by the same pipeline. It keeps what
// posts are made of (paragraphs, headings, emphasis, links, images, code,
// lists, quotes, rules); scripts, styles, iframes and forms are dropped,
// and any other tag is reduced to its text.
func htmlToMarkdown(src string) (string, error) {
	nodes, err := html.ParseFragment(strings.NewReader(src), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
	if err != nil {
		return "", fmt.Errorf("parse HTML: %w", err)
	}
	c := &mdWriter{}
	for _, n := range nodes {
		c.node(n)
	}
	return tidy(c.b.String()), nil
}

// tidy collapses the empty lines the block elements leave into one
// between blocks: "> " inside a quote, where an empty line would end it.
func tidy(md string) string {
	var out []string
	pending := false
	for _, l := range strings.Split(md, "\n") {
		if strings.Trim(l, " \t>") == "" {
			pending = true
			continue
		}
		if pending && len(out) > 0 {
			prev := strings.TrimLeft(out[len(out)-1], " ")
			if strings.HasPrefix(prev, ">") && strings.HasPrefix(strings.TrimLeft(l, " "), ">") {
				out = append(out, ">")
			} else {
				out = append(out, "")
			}
		}
		pending = false
		out = append(out, l) // trailing "  " is a line break
	}
	return strings.Join(out, "\n") + "\n"
}

var (
	spaces    = regexp.MustCompile(`\s+`)
	mdSpecial = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", `\<`, "#", `\#`)
)

type mdWriter struct {
	b      strings.Builder
	prefix string // "> " inside quotes, indentation inside lists
	pre    bool
}

func (c *mdWriter) block() {
	c.b.WriteString("\n\n" + c.prefix)
}

func (c *mdWriter) children(n *html.Node) {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		c.node(ch)
	}
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func (c *mdWriter) node(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		if c.pre {
			c.b.WriteString(n.Data)
			return
		}
		c.b.WriteString(mdSpecial.Replace(spaces.ReplaceAllString(n.Data, " ")))
		return
	case html.ElementNode:
	default:
		c.children(n)
		return
	}
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Iframe, atom.Object, atom.Embed, atom.Form, atom.Noscript, atom.Template:
		return
	case atom.P, atom.Div, atom.Section, atom.Article, atom.Figure, atom.Table:
		c.block()
		c.children(n)
		c.block()
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		c.block()
		c.b.WriteString(strings.Repeat("#", int(n.Data[1]-'0')) + " ")
		c.children(n)
		c.block()
	case atom.Br:
		c.b.WriteString("  \n" + c.prefix)
	case atom.Hr:
		c.block()
		c.b.WriteString("---")
		c.block()
	case atom.Em, atom.I:
		c.b.WriteString("*")
		c.children(n)
		c.b.WriteString("*")
	case atom.Strong, atom.B:
		c.b.WriteString("**")
		c.children(n)
		c.b.WriteString("**")
	case atom.Code:
		if c.pre {
			c.children(n)
			return
		}
		c.b.WriteString("`" + strings.ReplaceAll(textOf(n), "`", "'") + "`")
	case atom.Pre:
		c.block()
		c.b.WriteString("```")
		if lang := strings.TrimPrefix(attr(firstElement(n), "class"), "language-"); lang != "" && !strings.ContainsAny(lang, " `") {
			c.b.WriteString(lang)
		}
		c.b.WriteString("\n")
		c.pre = true
		c.children(n)
		c.pre = false
		c.b.WriteString("\n```")
		c.block()
	case atom.A:
		href := attr(n, "href")
		if href == "" {
			c.children(n)
			return
		}
		c.b.WriteString("[")
		c.children(n)
		c.b.WriteString("](<" + strings.NewReplacer("<", "%3C", ">", "%3E", "\n", "").Replace(href) + ">)")
	case atom.Img:
		c.b.WriteString("![" + mdSpecial.Replace(attr(n, "alt")) + "](<" + strings.NewReplacer("<", "%3C", ">", "%3E", "\n", "").Replace(attr(n, "src")) + ">)")
	case atom.Blockquote:
		outer := c.prefix
		c.prefix += "> "
		c.block()
		c.children(n)
		c.prefix = outer
		c.block()
	case atom.Ul, atom.Ol:
		c.block()
		for i, li := 1, n.FirstChild; li != nil; li = li.NextSibling {
			if li.DataAtom != atom.Li {
				continue
			}
			marker := "- "
			if n.DataAtom == atom.Ol {
				marker = fmt.Sprintf("%d. ", i)
			}
			i++
			c.b.WriteString("\n" + c.prefix + marker)
			outer := c.prefix
			c.prefix += strings.Repeat(" ", len(marker))
			c.children(li)
			c.prefix = outer
		}
		c.block()
	default:
		c.children(n)
	}
}

func firstElement(n *html.Node) *html.Node {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type == html.ElementNode {
			return ch
		}
	}
	return n
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(n)
	return b.String()
}

// autop wraps the blank-line-separated paragraphs of WordPress content in
// <p>, as WordPress does when it shows a post (wpautop): its editor saves
// paragraphs as plain text with blank lines between them.
func autop(s string) string {
	if strings.Contains(s, "<p>") || strings.Contains(s, "<p ") {
		return s
	}
	var b strings.Builder
	for _, para := range regexp.MustCompile(`\r?\n\s*\r?\n`).Split(s, -1) {
		if strings.TrimSpace(para) == "" {
			continue
		}
		b.WriteString("<p>" + strings.ReplaceAll(strings.TrimSpace(para), "\n", "<br>\n") + "</p>\n")
	}
	return b.String()
}
