package content

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/yuin/goldmark/ast"
)

// Limits on what a post's markdown may ask of the renderer. Markdown parsers
// have inputs whose cost grows faster than their size (100 KB of ">" nests
// 100,000 block quotes; a wide table pads every short row; one reference
// repeated expands its URL each time), so the cheap checks in Check run
// before parsing and the output is capped while it is written.
const (
	// MaxMarkdown is the largest post body, in bytes.
	MaxMarkdown = 200_000
	// MaxHTML is the most HTML a post may render to, in bytes: every
	// reader downloads it.
	MaxHTML = 1 << 20
	// MaxLineDepth is how many block quotes and list markers may open on
	// one line.
	MaxLineDepth = 16
	// MaxTreeDepth is how deep the parsed document may nest, blocks and
	// inline elements together (indented lists nest without markers).
	MaxTreeDepth = 64
	// MaxBrackets is the most "[" one paragraph may hold outside code: each
	// starts a link the parser tries to close by scanning ahead.
	MaxBrackets = 500
	// MaxFootnoteRefs is the most footnote references ("[^") in a post.
	MaxFootnoteRefs = 500
	// MaxTableCells bounds the cells of every table together, counting the
	// empty cells the parser adds to pad short rows.
	MaxTableCells = 20_000
)

// LimitError is markdown refused for what it would cost to render; its
// message is for the author.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }

func tooMuchHTML() error {
	return &LimitError{fmt.Sprintf("The post renders to more than %d KB of HTML; split it or simplify its tables and links.", MaxHTML>>10)}
}

// Check refuses, in one linear pass and before any parsing, markdown that
// is too large or shaped to make the parser slow. It is what the editor
// validates as the author types.
func Check(markdown string) error {
	if len(markdown) > MaxMarkdown {
		return &LimitError{fmt.Sprintf("The post is %d bytes long; the limit is %d. Split it.", len(markdown), MaxMarkdown)}
	}
	var (
		fence          string // the open code fence, "" outside one
		brackets       int    // "[" in the current paragraph
		footnotes      int
		cells          int
		tableCols      int // columns of the table being read, 0 outside one
		paragraphStart = 1
	)
	for i, line := range strings.Split(markdown, "\n") {
		n := i + 1
		depth, rest := containerPrefix(line)
		trimmed := strings.TrimLeft(rest, " \t")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]+" \t") == "" {
				fence = ""
			}
			continue
		}
		if f := fenceOpening(trimmed); f != "" {
			fence, brackets, tableCols = f, 0, 0
			continue
		}
		if depth > MaxLineDepth {
			return &LimitError{fmt.Sprintf("Line %d opens %d block quotes or lists; the limit is %d.", n, depth, MaxLineDepth)}
		}
		if strings.TrimSpace(rest) == "" {
			brackets, tableCols = 0, 0
			paragraphStart = n + 1
			continue
		}
		code := inlineCode(rest)
		brackets += strings.Count(code, "[")
		if brackets > MaxBrackets {
			return &LimitError{fmt.Sprintf("The paragraph from line %d has more than %d “[”; the limit is %d.", paragraphStart, MaxBrackets, MaxBrackets)}
		}
		if footnotes += strings.Count(code, "[^"); footnotes > MaxFootnoteRefs {
			return &LimitError{fmt.Sprintf("The post has more than %d footnote references.", MaxFootnoteRefs)}
		}
		if c := delimiterRowColumns(trimmed); c > 0 {
			tableCols = c
		}
		if cells += tableCols; cells > MaxTableCells {
			return &LimitError{fmt.Sprintf("The post's tables have more than %d cells (line %d); the limit is %d.", MaxTableCells, n, MaxTableCells)}
		}
	}
	return nil
}

// containerPrefix counts the block quote and list markers that open a line
// and returns the line after them.
func containerPrefix(line string) (int, string) {
	depth := 0
	for {
		rest := strings.TrimLeft(line, " \t")
		switch {
		case strings.HasPrefix(rest, ">"):
			line = rest[1:]
		case len(rest) >= 2 && strings.ContainsRune("-*+", rune(rest[0])) && (rest[1] == ' ' || rest[1] == '\t'):
			line = rest[2:]
		default:
			digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
			if digits == 0 || digits > 9 || len(rest) < digits+2 || (rest[digits] != '.' && rest[digits] != ')') ||
				(rest[digits+1] != ' ' && rest[digits+1] != '\t') {
				return depth, line
			}
			line = rest[digits+2:]
		}
		depth++
	}
}

// fenceOpening is the fence a line opens (``` or ~~~, or longer), or "".
func fenceOpening(trimmed string) string {
	for _, c := range []string{"`", "~"} {
		run := len(trimmed) - len(strings.TrimLeft(trimmed, c))
		if run >= 3 && (c == "~" || !strings.Contains(trimmed[run:], "`")) {
			return strings.Repeat(c, run)
		}
	}
	return ""
}

// inlineCode removes `code spans` from a line, where brackets are text.
func inlineCode(line string) string {
	if !strings.Contains(line, "`") {
		return line
	}
	var b strings.Builder
	for i, part := range strings.Split(line, "`") {
		if i%2 == 0 {
			b.WriteString(part)
		}
	}
	return b.String()
}

// delimiterRowColumns is the number of columns of a table delimiter row
// such as "| --- | :-: |", or 0 for any other line.
func delimiterRowColumns(trimmed string) int {
	if !strings.Contains(trimmed, "-") || strings.Trim(trimmed, "|-: \t") != "" {
		return 0
	}
	cells := strings.Split(strings.Trim(strings.TrimSpace(trimmed), "|"), "|")
	for _, c := range cells {
		if !strings.Contains(c, "-") {
			return 0
		}
	}
	return len(cells)
}

// depth is how deep a document's tree nests, counted without recursion.
func depth(doc ast.Node) int {
	deepest, d := 0, 0
	_ = ast.Walk(doc, func(_ ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			d++
			deepest = max(deepest, d)
		} else {
			d--
		}
		return ast.WalkContinue, nil
	})
	return deepest
}

// cappedBuffer is a buffer that refuses to grow past max bytes. It offers
// only Write, so that no writer around it can bypass the cap.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int
	full bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.full || c.buf.Len()+len(p) > c.max {
		c.full = true
		return 0, errOutputFull
	}
	return c.buf.Write(p)
}

func (c *cappedBuffer) String() string { return c.buf.String() }

var errOutputFull = &LimitError{"output full"}
