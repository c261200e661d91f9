package egress

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// safeJSON re-encodes a JSON document token by token with every string
// (object keys too) made safe as Log text is: masked, visible, and each of
// its lines defused. Numbers keep their text. The result is indented by
// two spaces when the document was indented, compact otherwise, and ends
// with a newline when the document did. The lock is held.
func (x *Exit) safeJSON(doc string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var b bytes.Buffer
	b.Grow(len(doc) + len(doc)/8)
	type frame struct {
		object bool
		n      int
	}
	var stack []frame
	values := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		end := tok == json.Delim('}') || tok == json.Delim(']')
		if len(stack) > 0 && !end {
			top := &stack[len(stack)-1]
			switch {
			case top.object && top.n%2 == 1:
				b.WriteByte(':')
			case top.n > 0:
				b.WriteByte(',')
			}
			top.n++
		} else if len(stack) == 0 {
			if values > 0 {
				b.WriteByte('\n')
			}
			values++
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				stack = append(stack, frame{object: v == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			b.WriteByte(byte(v))
		case string:
			enc, err := json.Marshal(x.safeText(v))
			if err != nil {
				return "", err
			}
			b.Write(enc)
		case json.Number:
			b.WriteString(v.String())
		case bool:
			if v {
				b.WriteString("true")
			} else {
				b.WriteString("false")
			}
		case nil:
			b.WriteString("null")
		}
	}
	if values == 0 {
		return "", errors.New("no JSON value")
	}
	out := b.Bytes()
	if strings.Contains(doc, "\n ") {
		var ind bytes.Buffer
		if err := json.Indent(&ind, out, "", "  "); err != nil {
			return "", err
		}
		out = ind.Bytes()
	}
	s := string(out)
	if strings.HasSuffix(doc, "\n") {
		s += "\n"
	}
	return s, nil
}
