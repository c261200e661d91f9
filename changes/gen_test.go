package changes

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// genParams describe a generated monorepo.
type genParams struct {
	Projects      int // tool projects under tools/
	FilesPer      int // files per project (about)
	Commits       int // total commits, merges included
	MergeEvery    int // a side branch of 3 commits is merged about every N commits
	RenamePercent int // percent of commits that move a file (often across projects)
}

// benchParams is the monorepo of the performance goal in issue 3.
var benchParams = genParams{Projects: 300, FilesPer: 66, Commits: 3000, MergeEvery: 25, RenamePercent: 3}

// genRepo is a generated repository and the commits the benchmarks use.
type genRepo struct {
	Dir      string
	Head     string
	Base1000 string // mainline commit with about 1,000 commits after it
	Base20   string // 20 commits before head on the mainline
}

// generate builds (or reuses from the cache dir) a monorepo with git
// fast-import, then repacks it as a clone would have it.
func generate(tb testing.TB, p genParams) genRepo {
	tb.Helper()
	key := fmt.Sprintf("amigo-changes-bench-%d-%d-%d-%d-%d", p.Projects, p.FilesPer, p.Commits, p.MergeEvery, p.RenamePercent)
	return generateIn(tb, p, filepath.Join(os.TempDir(), key))
}

// generateIn builds the repository in dir unless dir already holds it.
func generateIn(tb testing.TB, p genParams, dir string) genRepo {
	tb.Helper()
	info := filepath.Join(dir, "bench-info")
	if b, err := os.ReadFile(info); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 3 {
			return genRepo{Dir: dir, Head: f[0], Base1000: f[1], Base20: f[2]}
		}
	}
	os.RemoveAll(dir)
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		tb.Fatal(err)
	}
	runGit(tb, tmp, nil, "init", "-q", "-b", "main")
	stream, mainline := fastImportStream(p)
	marks := filepath.Join(tmp, ".git", "marks")
	cmd := exec.Command("git", "fast-import", "--quiet", "--export-marks="+marks)
	cmd.Dir = tmp
	cmd.Env = gitEnv()
	cmd.Stdin = bytes.NewReader(stream)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("git fast-import: %v\n%s", err, out)
	}
	runGit(tb, tmp, nil, "repack", "-a", "-d", "-q")
	runGit(tb, tmp, nil, "prune-packed")
	runGit(tb, tmp, nil, "reset", "-q", "--hard", "main")
	sha := readMarks(tb, marks)
	head := sha[mainline[len(mainline)-1]]
	// Pick the mainline commit with about 1,000 commits after it (a third
	// of the history in small repositories).
	want := min(1000, p.Commits/3)
	base1000 := sha[mainline[0]]
	for i := len(mainline) - 1; i >= 0; i -= 10 { // coarse steps
		b := sha[mainline[i]]
		n, _ := strconv.Atoi(runGit(tb, tmp, nil, "rev-list", "--count", b+".."+head))
		if n >= want {
			base1000 = b
			break
		}
	}
	base20 := sha[mainline[len(mainline)-21]]
	if err := os.WriteFile(filepath.Join(tmp, "bench-info"), []byte(head+" "+base1000+" "+base20+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		tb.Fatal(err)
	}
	return genRepo{Dir: dir, Head: head, Base1000: base1000, Base20: base20}
}

func readMarks(tb testing.TB, file string) map[int]string {
	tb.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	m := map[int]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var mark int
		var sha string
		if _, err := fmt.Sscanf(sc.Text(), ":%d %s", &mark, &sha); err == nil {
			m[mark] = sha
		}
	}
	return m
}

var commitTypes = []string{"feat", "fix", "chore", "docs", "refactor", "perf", "test", "fix", "feat", "Update"}

// fastImportStream returns a fast-import stream and the marks of the
// mainline commits, oldest first.
func fastImportStream(p genParams) ([]byte, []int) {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf bytes.Buffer
	mark := 0
	when := int64(1700000000)
	version := map[string]int{} // path -> content version
	var files []string          // current mainline files
	content := func(path string, v int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "# %s version %d\n", path, v)
		for i := 0; i < 30; i++ {
			fmt.Fprintf(&b, "def f%d():\n    return %d  # padding to look like code\n", i, i*v)
		}
		return b.String()
	}
	data := func(s string) {
		fmt.Fprintf(&buf, "data %d\n%s\n", len(s), s)
	}
	modify := func(path string) {
		version[path]++
		buf.WriteString("M 100644 inline " + path + "\n")
		data(content(path, version[path]))
	}
	header := func(ref, msg string, from int, merge int) int {
		mark++
		when += 60
		fmt.Fprintf(&buf, "commit %s\nmark :%d\ncommitter Gen <gen@example.com> %d +0000\n", ref, mark, when)
		data(msg)
		if from > 0 {
			fmt.Fprintf(&buf, "from :%d\n", from)
		}
		if merge > 0 {
			fmt.Fprintf(&buf, "merge :%d\n", merge)
		}
		return mark
	}
	msg := func(proj string) string {
		t := commitTypes[rng.IntN(len(commitTypes))]
		if t == "Update" {
			return "Update " + proj
		}
		return fmt.Sprintf("%s(%s): change %d\n\nBody text for the change.\n\nSigned-off-by: Gen <gen@example.com>\n", t, proj, mark)
	}
	proj := func(i int) string { return fmt.Sprintf("tools/p%03d", i) }

	// Initial commit: every project.
	header("refs/heads/main", "chore: initial import", 0, 0)
	for i := 0; i < p.Projects; i++ {
		dir := proj(i)
		buf.WriteString("M 100644 inline " + dir + "/pyproject.toml\n")
		data(fmt.Sprintf("[project]\nname = \"p-%03d\"\nversion = \"1.0.0\"\n", i))
		for f := 0; f < p.FilesPer-2; f++ {
			path := fmt.Sprintf("%s/src/p%03d/mod%d/f%d.py", dir, i, f/10, f%10)
			files = append(files, path)
			modify(path)
		}
		files = append(files, dir+"/README.md")
		modify(dir + "/README.md")
	}
	for f := 0; f < 200; f++ {
		path := fmt.Sprintf("libs/common/m%d/c%d.py", f/20, f%20)
		files = append(files, path)
		modify(path)
	}
	mainline := []int{mark}
	tip := mark
	total := 1
	pick := func() (string, int) {
		k := rng.IntN(len(files))
		return files[k], k
	}
	plain := func(ref string, from int) int {
		path, k := pick()
		m := header(ref, msg(strings.SplitN(path, "/", 3)[1]), from, 0)
		n := 1 + rng.IntN(4)
		modify(path)
		// Some more files near the first one.
		dir := path[:strings.LastIndexByte(path, '/')]
		for j := 1; j < n; j++ {
			other := fmt.Sprintf("%s/f%d.py", dir, rng.IntN(10))
			if version[other] > 0 {
				modify(other)
			}
		}
		if rng.IntN(100) < p.RenamePercent && ref == "refs/heads/main" {
			// Move the file, usually to another project.
			dst := proj(rng.IntN(p.Projects)) + fmt.Sprintf("/src/moved/m%d.py", m)
			fmt.Fprintf(&buf, "R %s %s\n", path, dst)
			version[dst] = version[path]
			delete(version, path)
			files[k] = dst
		}
		return m
	}
	for total < p.Commits {
		if p.MergeEvery > 0 && total%p.MergeEvery == 0 && total+6 <= p.Commits {
			// Side branch of 3 commits, 2 mainline commits, then a merge.
			side := tip
			var sideFiles []string
			for j := 0; j < 3; j++ {
				before := len(version)
				_ = before
				path, _ := pick()
				side = header("refs/heads/side", msg(strings.SplitN(path, "/", 3)[1]), side, 0)
				modify(path)
				sideFiles = append(sideFiles, path)
				total++
			}
			for j := 0; j < 2; j++ {
				tip = plain("refs/heads/main", tip)
				mainline = append(mainline, tip)
				total++
			}
			tip = header("refs/heads/main", "Merge branch 'side'", tip, side)
			// The merge tree carries the side branch's files.
			for _, f := range sideFiles {
				if version[f] > 0 {
					modify(f)
				}
			}
			mainline = append(mainline, tip)
			total++
			continue
		}
		tip = plain("refs/heads/main", tip)
		mainline = append(mainline, tip)
		total++
	}
	buf.WriteString("reset refs/heads/side\nfrom 0000000000000000000000000000000000000000\n\n")
	return buf.Bytes(), mainline
}
