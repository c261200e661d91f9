// Package bounds holds the checks that bound what parsing untrusted input
// can cost, run before (or while) a parser reads it, so that any input
// file of 1 MiB or less is handled within 100 MB of memory or refused
// with an error that names the limit.
//
// The TOML decoder (github.com/BurntSushi/toml) spends memory that grows
// with the square of how deep a value sits: a 30 KB pyproject.toml of
// nested inline tables took it past 3 GB. TOML scans a document for its
// nesting (arrays and inline tables inside each other) and its longest
// dotted key or table header, which is what that cost grows with, and
// refuses a document over MaxTOMLDepth or MaxTOMLKeyParts before the
// decoder sees it.
//
// ReadAll and Body bound what is read from a stream (an HTTP answer, a
// file): the reader stops one byte after the limit and says so.
package bounds

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// MaxFileSize bounds every configuration file read (the plan, each
// pyproject.toml): a larger one is refused before it is parsed.
const MaxFileSize = 1 << 20

// Limits of a TOML document.
const (
	// MaxTOMLDepth is how deep arrays and inline tables may nest. A tool's
	// input_schema or test input_parameters is a JSON value, checked to 32
	// levels (promote); this leaves room for the tables around it.
	MaxTOMLDepth = 64
	// MaxTOMLKeyParts is how many parts a dotted key or a table header may
	// have (a.b.c has 3).
	MaxTOMLKeyParts = 64
	// MaxTOMLCost bounds the memory the decoder is estimated to need for
	// the document's keys, in bytes (see TOML).
	MaxTOMLCost = 24 << 20
)

// LimitError is an input over a limit.
type LimitError struct {
	Line  int    // 1-based line where the limit was passed; 0 when unknown
	What  string // what is over the limit, as in "<What> more than <Limit> (the limit)"
	Limit int64
	Unit  string // "", or the unit of Limit ("bytes")
}

func (e *LimitError) Error() string {
	if e.Unit != "" {
		return fmt.Sprintf("%s more than %d %s (the limit)", e.What, e.Limit, e.Unit)
	}
	return fmt.Sprintf("%s more than %d (the limit)", e.What, e.Limit)
}

// TOML checks that a TOML document is cheap enough to decode, reading its
// bytes once before the decoder does (tracking strings, multi-line
// strings and comments the way TOML does; it does not check the syntax,
// the decoder does):
//
//   - arrays and inline tables nest at most MaxTOMLDepth deep;
//   - no dotted key or table header has more than MaxTOMLKeyParts parts;
//   - the memory the decoder needs for the document's keys stays under
//     MaxTOMLCost. github.com/BurntSushi/toml keeps, for every key and
//     every table a dotted key implies, its whole path from the root as a
//     string, so its memory grows with the number of keys times the
//     length of their paths (a long table name, deep inline tables, long
//     dotted keys): 30 KB of nested inline tables took it past 3 GB. The
//     estimate charges every bare or quoted word, key or value alike, as
//     if it were a key: for each part of its dotted chain, four bytes per
//     character of the full path (the table header, the keys of the
//     inline tables and arrays around it, the chain) plus 128, which is
//     more than the decoder spends.
//
// It returns a *LimitError at the first line over a limit, or for a
// document over MaxFileSize.
func TOML(data []byte) error {
	if len(data) > MaxFileSize {
		return &LimitError{What: "a file of", Limit: MaxFileSize, Unit: "bytes"}
	}
	_, err := tomlCost(data)
	return err
}

// tomlCost is TOML, with the estimated cost of a document that passes.
func tomlCost(data []byte) (int64, error) {
	const (
		normal = iota
		comment
		basic
		literal
		mlBasic
		mlLiteral
	)
	var (
		state     = normal
		line      = 1
		stack     []int // path characters each open array or inline table adds
		stackSum  int
		header    int  // path characters of the current [table] or [[array]]
		inHeader  bool // reading a table header
		lineStart = true
		chain     int  // characters of the dotted chain being read
		parts     int  // its parts
		afterDot  bool // the last significant token was a '.' after a word
		lastWord  bool // the last significant token was a word
		inBare    bool // reading a bare word
		word      int  // length of the word being read
		key       int  // characters of the key before the last '='
		cost      int64
	)
	// endChain charges the chain just read and starts a new one: as a key
	// when a '=' or a header's ']' ends it, else as a value.
	var endChain func(asKey bool) error
	// endWord adds a word to the chain, or starts a new one.
	endWord := func() error {
		if afterDot {
			parts++
			chain += 1 + word
		} else {
			w := word
			if err := endChain(false); err != nil {
				return err
			}
			parts, chain = 1, w
		}
		afterDot, inBare, lastWord, word = false, false, true, 0
		if parts > MaxTOMLKeyParts {
			return &LimitError{Line: line, What: "a dotted key or table header with parts", Limit: MaxTOMLKeyParts}
		}
		return nil
	}
	endChain = func(asKey bool) error {
		switch {
		case parts > 0 && asKey:
			cost += int64(parts) * (4*int64(header+stackSum+len(stack)+chain) + 448)
		case parts > 0:
			cost += 128 + 2*int64(chain)
		}
		if parts > 0 {
			if cost > costLimit {
				return &LimitError{Line: line, What: "keys and nesting that would take the decoder", Limit: MaxTOMLCost, Unit: "bytes"}
			}
		}
		parts, chain, afterDot, lastWord = 0, 0, false, false
		return nil
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch state {
		case comment:
			if c == '\n' {
				line++
				state = normal
				lineStart = true
			}
			continue
		case basic, literal:
			word++
			switch {
			case c == '\\' && state == basic:
				i++
				word++
			case c == '\n':
				// Not valid TOML (the decoder says so); the line ends here.
				state = normal
				if err := endWord(); err != nil {
					return 0, err
				}
				i--
			case c == '"' && state == basic, c == '\'' && state == literal:
				state = normal
				if err := endWord(); err != nil {
					return 0, err
				}
			}
			continue
		case mlBasic, mlLiteral:
			word++
			q := byte('"')
			if state == mlLiteral {
				q = '\''
			}
			switch {
			case c == '\n':
				line++
			case c == '\\' && state == mlBasic:
				if i+1 < len(data) && data[i+1] == '\n' {
					line++
				}
				i++
				word++
			case c == q:
				if n := run(data[i:], q); n >= 3 {
					i += n - 1
					state = normal
					if err := endWord(); err != nil {
						return 0, err
					}
				}
			}
			continue
		}
		if isBare(c) {
			inBare = true
			word++
			lineStart = false
			continue
		}
		if inBare {
			if err := endWord(); err != nil {
				return 0, err
			}
		}
		switch c {
		case ' ', '\t', '\r':
			continue
		case '.':
			afterDot, lastWord = lastWord, false
			continue
		case '"', '\'':
			if run(data[i:], c) >= 3 {
				state = map[byte]int{'"': mlBasic, '\'': mlLiteral}[c]
				i += 2
				word = 6
			} else {
				state = map[byte]int{'"': basic, '\'': literal}[c]
				word = 2
			}
			lineStart = false
			continue
		}
		prev := chain
		if err := endChain(c == '=' || (c == ']' && inHeader)); err != nil {
			return 0, err
		}
		switch c {
		case '#':
			state = comment
			continue
		case '\n':
			line++
			lineStart, key = true, 0
			continue
		case '=':
			key = prev
		case ',':
			key = 0
		case '[':
			if lineStart && len(stack) == 0 && !inHeader {
				inHeader, header = true, 0
				if i+1 < len(data) && data[i+1] == '[' {
					i++
				}
			} else {
				stack = append(stack, key)
				stackSum += key
				key = 0
				cost += 512 + 32*int64(len(stack))
			}
		case '{':
			stack = append(stack, key)
			stackSum += key
			key = 0
			cost += 512 + 32*int64(len(stack))
		case ']', '}':
			if inHeader && c == ']' {
				inHeader, header = false, prev
				cost += 768
				if i+1 < len(data) && data[i+1] == ']' {
					i++
				}
			} else if len(stack) > 0 {
				stackSum -= stack[len(stack)-1]
				stack = stack[:len(stack)-1]
			}
		}
		lineStart = false
		if len(stack) > MaxTOMLDepth {
			return 0, &LimitError{Line: line, What: "arrays and inline tables nested", Limit: MaxTOMLDepth}
		}
	}
	if inBare {
		if err := endWord(); err != nil {
			return 0, err
		}
	}
	if err := endChain(false); err != nil {
		return 0, err
	}
	return cost, nil
}

// isBare reports the bytes of bare keys and of bare values (numbers,
// booleans, dates): letters, digits, '_', '-', '+', ':' aside.
func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '+' || c >= 0x80
}

// run counts the bytes equal to q at the start of b.
func run(b []byte, q byte) int {
	n := 0
	for n < len(b) && b[n] == q {
		n++
	}
	return n
}

// MaxResponseSize bounds every HTTP answer read: the Amigo API's, GitHub's
// and Azure DevOps'. The largest the release reads (a page of 100 pull
// request comments of up to 65,536 characters) is under 7 MB.
const MaxResponseSize = 16 << 20

// ErrTooLarge is matched by the errors of ReadAll and Body for a stream
// over its limit.
var ErrTooLarge = errors.New("larger than the limit")

// ReadAll reads r to its end, or fails with an error matching ErrTooLarge
// as soon as it has read more than max bytes. what names the stream in
// the error ("the answer of POST /tool/").
func ReadAll(r io.Reader, max int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return b, err
	}
	if int64(len(b)) > max {
		return b[:max], fmt.Errorf("%s is %w of %d bytes", what, ErrTooLarge, max)
	}
	return b, nil
}

// Body wraps every response body rt returns so that reading more than max
// bytes of one fails with an error matching ErrTooLarge: whatever reads
// the answers (go-github, the Azure DevOps SDK), none buffers more than max.
func Body(rt http.RoundTripper, max int64) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return bodyCap{next: rt, max: max}
}

type bodyCap struct {
	next http.RoundTripper
	max  int64
}

func (b bodyCap) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(r)
	if resp != nil && resp.Body != nil {
		resp.Body = &cappedBody{ReadCloser: resp.Body, left: b.max, what: "the answer of " + r.Method + " " + r.URL.Redacted()}
	}
	return resp, err
}

type cappedBody struct {
	io.ReadCloser
	left int64
	what string
	max  int64
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.max == 0 {
		c.max = c.left
	}
	if c.left < 0 {
		return 0, fmt.Errorf("%s is %w of %d bytes", c.what, ErrTooLarge, c.max)
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.ReadCloser.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n + int(c.left), fmt.Errorf("%s is %w of %d bytes", c.what, ErrTooLarge, c.max)
	}
	return n, err
}

// costLimit is MaxTOMLCost (tests measure beyond it).
var costLimit int64 = MaxTOMLCost
