package bounds

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestTOML_limits: each limit is found at its line; what is under every
// limit passes, and strings, comments and multi-line strings hide no
// structure and invent none.
func TestTOML_limits(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("{a = ", n) + "1" + strings.Repeat("}", n) }
	for _, tc := range []struct {
		name, doc string
		line      int
		what      string
	}{
		{"pyproject", "[project]\nname = \"weather-lookup\" # the name\n\n[tool.amigo]\ninput_schema = { required = [\"city\"], properties = { city = { type = \"string\" } } }\n", 0, ""},
		{"64 deep", "x = " + nest(64) + "\n", 0, ""},
		{"65 deep", "\n\nx = " + nest(65) + "\n", 3, "nested"},
		{"65 deep arrays", "x = " + strings.Repeat("[", 65) + strings.Repeat("]", 65), 1, "nested"},
		{"brackets in strings", "x = \"" + strings.Repeat("{[", 100) + "\"\ny = '" + strings.Repeat("[", 100) + "'\nz = \"\"\"\n" + strings.Repeat("{", 100) + "\n\"\"\"\nw = '''" + strings.Repeat("[", 100) + "'''\n# " + strings.Repeat("{", 100) + "\n", 0, ""},
		{"escaped quote", "x = \"a\\\"" + strings.Repeat("{", 100) + "\"\n", 0, ""},
		{"string ends before braces", "x = \"a\"" + strings.Repeat("[", 65) + "\n", 1, "nested"},
		{"quotes ending a multi-line string", "x = \"\"\"a\"\"\"\"\"\ny = " + nest(65), 2, "nested"},
		{"64 parts", strings.Repeat("a.", 63) + "a = 1\n", 0, ""},
		{"65 parts", strings.Repeat("a.", 64) + "a = 1\n", 1, "parts"},
		{"65 header parts", "[" + strings.Repeat("a . ", 64) + "a]\n", 1, "parts"},
		{"65 quoted parts", strings.Repeat("\"a\".", 64) + "'a' = 1\n", 1, "parts"},
		{"many keys", "[tool.x]\n" + manyKeys(80000), 0, "decoder"},
		{"long header", "[" + strings.Repeat("h", 300000) + "]\n" + manyKeys(20000), 0, "decoder"},
		{"too large", strings.Repeat("# x\n", 300000), 0, "a file of"},
	} {
		err := TOML([]byte(tc.doc))
		if tc.what == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		var le *LimitError
		if !errors.As(err, &le) || !strings.Contains(le.Error(), tc.what) || (tc.line > 0 && le.Line != tc.line) || !strings.Contains(le.Error(), "(the limit)") {
			t.Errorf("%s: got %v (line %d), want %q at line %d", tc.name, err, lineOf(le), tc.what, tc.line)
		}
	}
}

func lineOf(le *LimitError) int {
	if le == nil {
		return 0
	}
	return le.Line
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("k" + strconv.Itoa(i) + " = 1\n")
	}
	return b.String()
}

// shapes are documents whose decoding cost grows fastest, as functions of
// their size: the ones the TOML check is calibrated on.
var shapes = map[string]func(size int) string{
	"flat keys":     func(size int) string { return repeat(size, func(i string) string { return "k" + i + " = 1\n" }) },
	"tables":        func(size int) string { return repeat(size, func(i string) string { return "[t" + i + "]\n" }) },
	"short strings": func(size int) string { return repeat(size, func(i string) string { return "k" + i + " = \"abc\"\n" }) },
	"inline tables x3": func(size int) string {
		return repeat(size, func(i string) string { return "k" + i + " = " + inline(3) + "\n" })
	},
	"inline tables x30": func(size int) string {
		return repeat(size, func(i string) string { return "k" + i + " = " + inline(30) + "\n" })
	},
	"dotted keys x4": func(size int) string {
		return repeat(size, func(i string) string { return "k" + i + strings.Repeat(".a", 3) + " = 1\n" })
	},
	"dotted keys x30": func(size int) string {
		return repeat(size, func(i string) string { return "k" + i + strings.Repeat(".a", 29) + " = 1\n" })
	},
	"headers x3": func(size int) string {
		return repeat(size, func(i string) string { return "[k" + i + ".a.a]\nx = 1\n" })
	},
	"headers x30": func(size int) string {
		return repeat(size, func(i string) string { return "[k" + i + strings.Repeat(".a", 29) + "]\nx = 1\n" })
	},
	"dotted in inline": func(size int) string {
		return repeat(size, func(i string) string {
			return "k" + i + ".a.a.a = " + strings.Repeat("{b.b.b.b = ", 3) + "1" + strings.Repeat("}", 3) + "\n"
		})
	},
	"arrays of tables": func(size int) string { return repeat(size, func(string) string { return "[[a]]\nx = 1\n" }) },
	"tables in arrays": func(size int) string {
		return repeat(size, func(i string) string {
			return "k" + i + " = [" + strings.Repeat("{a = [", 3) + "1" + strings.Repeat("]}", 3) + "]\n"
		})
	},
	"long header": func(size int) string {
		return "[" + strings.Repeat("h", 300) + "]\n" + repeat(size-302, func(i string) string { return "k" + i + " = 1\n" })
	},
}

func inline(n int) string { return strings.Repeat("{a = ", n) + "1" + strings.Repeat("}", n) }

func repeat(size int, line func(i string) string) string {
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(line(strconv.Itoa(b.Len())))
	}
	return b.String()
}

// TestTOML_estimateCoversTheDecoder: for every costly shape, at the
// largest size the check lets through (up to 1 MiB), the memory the
// decoder still holds after decoding is within the estimate, which is
// within MaxTOMLCost: what passes the check decodes in bounded memory. A
// new version of the decoder that spends more fails here.
func TestTOML_estimateCoversTheDecoder(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes about 10 MB of TOML")
	}
	for name, gen := range shapes {
		lo, hi := 1, MaxFileSize/1024
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if _, err := tomlCost([]byte(gen(mid * 1024))); err == nil {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		doc := gen(lo * 1024)
		cost, err := tomlCost([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var v map[string]any
		md, err := toml.Decode(doc, &v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		runtime.KeepAlive(v)
		runtime.KeepAlive(md)
		t.Logf("%-18s %4d KiB: estimate %5.1f MB, decoder holds %5.1f MB", name, lo, float64(cost)/1e6, float64(live)/1e6)
		if live > cost {
			t.Errorf("%s: the decoder holds %d bytes, more than the estimate %d", name, live, cost)
		}
	}
}

// FuzzTOML: the check never panics and accepts what it accepted before
// a suffix that only closes things (no false alarms from strings or
// comments at the end).
func FuzzTOML(f *testing.F) {
	for _, s := range []string{"a = 1", "[a.b]\nc = \"x\"", "x = [[1], {a = 1}]", "s = \"\"\"\n[[\n\"\"\"", "'''", "\"\\", "# [[[", "a.'b'.\"c\" = 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		err := TOML([]byte(doc))
		if err != nil {
			var le *LimitError
			if !errors.As(err, &le) {
				t.Fatalf("not a LimitError: %v", err)
			}
		}
	})
}

func TestReadAll(t *testing.T) {
	if b, err := ReadAll(strings.NewReader("12345"), 5, "x"); err != nil || string(b) != "12345" {
		t.Errorf("at the limit: %q, %v", b, err)
	}
	if _, err := ReadAll(strings.NewReader("123456"), 5, "the answer"); !errors.Is(err, ErrTooLarge) || err.Error() != "the answer is larger than the limit of 5 bytes" {
		t.Errorf("over the limit: %v", err)
	}
}

// TestBody: an answer over the limit fails when read, whoever reads it.
func TestBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 100)))
	}))
	defer srv.Close()
	for limit, wantErr := range map[int64]bool{100: false, 99: true} {
		hc := &http.Client{Transport: Body(nil, limit)}
		resp, err := hc.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if wantErr != errors.Is(err, ErrTooLarge) || (!wantErr && len(b) != 100) || int64(len(b)) > limit {
			t.Errorf("limit %d: read %d bytes, err %v", limit, len(b), err)
		}
	}
}
