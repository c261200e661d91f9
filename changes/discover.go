package changes

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/amigo-release/amigo-release/internal/bounds"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// PyprojectFile is the file that makes a directory a tool project.
const PyprojectFile = "pyproject.toml"

// MaxProjects bounds discovery: a tree with more directories holding a
// pyproject.toml under the roots is refused (each one is read and
// parsed); discovery.include filters after the count.
const MaxProjects = 10000

// tooManyProjects is the error for a tree (or work tree) with n > MaxProjects
// directories holding a pyproject.toml.
func tooManyProjects(n int) error {
	return fmt.Errorf("%d directories hold a %s: more than %d projects (the limit); narrow discovery.roots to the directories that hold tools", n, PyprojectFile, MaxProjects)
}

// Options configure discovery and bump inference.
type Options struct {
	// Roots are directories (repository-relative, slash-separated) under
	// which projects are searched. Empty means the whole repository.
	Roots []string `json:"roots,omitempty"`
	// Include and Exclude are globs over project directories ("tools/*",
	// "**/examples/**"; "**" spans directories, a pattern also matches
	// everything below a directory it matches). A project must match an
	// Include (when any are given) and no Exclude. An excluded project's
	// files belong to the enclosing project, if any.
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
	// Shared maps globs over file paths ("libs/common/**") to the names of
	// the projects that a change there triggers; AllProjects ("*") names
	// every project at head.
	Shared map[string][]string `json:"shared,omitempty"`
	// Names overrides the tool name of the project at a directory.
	Names map[string]string `json:"names,omitempty"`
	// Types maps Conventional Commits types to bumps (nil: DefaultTypes).
	Types map[string]Bump `json:"types,omitempty"`
	// NonConventional is the bump of a non-conventional message (Patch or
	// None).
	NonConventional Bump `json:"non_conventional"`
}

// AllProjects in an Options.Shared list names every project at head.
const AllProjects = "*"

// DefaultOptions returns the defaults: the whole repository, no filters,
// DefaultTypes, and None for non-conventional messages, the plan file's
// default too (discovery.bump.non_conventional): a "wip" or "Merge ..."
// message releases nothing unless the team says `patch`.
func DefaultOptions() Options {
	return Options{Types: DefaultTypes(), NonConventional: None}
}

// Rules returns the bump rules of the options.
func (o Options) Rules() Rules { return Rules{Types: o.Types, NonConventional: o.NonConventional} }

// Validate checks the globs and names.
func (o Options) Validate() error {
	var errs []error
	check := func(field, g string) {
		if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil {
			errs = append(errs, fmt.Errorf("%s: bad glob %q: %v", field, g, err))
		}
	}
	for _, g := range o.Include {
		check("include", g)
	}
	for _, g := range o.Exclude {
		check("exclude", g)
	}
	for g, names := range o.Shared {
		check("shared", g)
		if len(names) == 0 {
			errs = append(errs, fmt.Errorf("shared: %q lists no projects", g))
		}
	}
	for dir, n := range o.Names {
		if _, err := NormalizeName(n); err != nil {
			errs = append(errs, fmt.Errorf("names.%q: %w", dir, err))
		}
	}
	if o.NonConventional != None && o.NonConventional != Patch {
		errs = append(errs, fmt.Errorf("non_conventional: %q: want patch or none", o.NonConventional))
	}
	return errors.Join(errs...)
}

// Project is a tool project: a directory holding pyproject.toml.
type Project struct {
	// Name is the tool name (^[a-z0-9_]+$).
	Name string `json:"name"`
	// Path is the project directory, slash-separated, "." for the root.
	Path string `json:"path"`
	// Pyproject is the path of its pyproject.toml.
	Pyproject string `json:"pyproject"`
}

// Discover lists the projects in the tree of commit head (a revision as
// Resolve accepts), reading every pyproject.toml under the roots. projects
// are the usable tool projects, sorted by path; problems the directories
// whose pyproject.toml gives no valid name (unparseable TOML, with its line;
// a missing or invalid name; a symlink that loops or leaves the repository)
// and those whose name another project has, each naming the files and the
// fix. Nested projects are all listed; a file belongs to the deepest one.
// err is set for bad options (including a root, include or shared glob that
// matches nothing in the tree: an *OptionError each) and unreadable objects.
func Discover(r *Repo, head string, opts Options) (projects []Project, problems []Problem, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolveHash(head)
	if err != nil {
		return nil, nil, err
	}
	c, err := r.commit(h)
	if err != nil {
		return nil, nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, nil, err
	}
	s := r.projectSet(c.tree, opts)
	if err := s.checkOptions(); err != nil {
		return nil, nil, err
	}
	if err := s.readAll(); err != nil {
		return nil, nil, err
	}
	return s.projects(), s.problems(), nil
}

// maxSymlinks bounds symlink resolution, as the kernel's ELOOP does.
const maxSymlinks = 40

// ReadFile returns the content of the file at path (slash-separated,
// relative to the repository root; symlinks inside the repository are
// followed) in the tree of commit rev: what that commit holds, whatever the
// work tree has.
func (r *Repo) ReadFile(rev, path string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolveHash(rev)
	if err != nil {
		return nil, err
	}
	c, err := r.commit(h)
	if err != nil {
		return nil, r.missingCommit(err, h, "")
	}
	return r.readFileFollow(c.tree, path)
}

// readFileFollow reads the file at p in tree root, following symlinks
// inside the repository.
func (r *Repo) readFileFollow(root plumbing.Hash, p string) ([]byte, error) {
	orig := p
	for hops := 0; ; hops++ {
		if hops > maxSymlinks {
			return nil, &linkError{orig, fmt.Sprintf("symlink loop (more than %d links)", maxSymlinks)}
		}
		e, err := r.lookup(root, p)
		if err != nil {
			return nil, err
		}
		if e == nil {
			return nil, &linkError{orig, fmt.Sprintf("dangling symlink (%s does not exist)", p)}
		}
		b, err := r.blobBounded(e.hash)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if e.mode != filemode.Symlink {
			return b, nil
		}
		target := string(b)
		if strings.HasPrefix(target, "/") {
			return nil, &linkError{orig, fmt.Sprintf("symlink to absolute path %q", target)}
		}
		next := path.Join(path.Dir(p), target)
		if next == ".." || strings.HasPrefix(next, "../") {
			return nil, &linkError{orig, fmt.Sprintf("symlink points outside the repository (%q)", target)}
		}
		p = next
	}
}

// linkError is a path that cannot be read as a file of the tree: a
// symlink that loops, dangles or leaves the repository.
type linkError struct{ path, msg string }

func (e *linkError) Error() string { return e.path + ": " + e.msg }

// ProjectName extracts the tool name from pyproject.toml content: the
// [project].name (PEP 621), else [tool.poetry].name, normalised by
// NormalizeName. When the content gives no name the error is a *NameError,
// whose In method names the file (and the line of a TOML syntax error).
func ProjectName(data []byte) (string, error) {
	name, line, msg := projectName(data)
	if msg != "" {
		return "", &NameError{Line: line, Msg: msg}
	}
	return name, nil
}

// NameError is why pyproject.toml content gives no tool name. Line is the
// line of a TOML syntax error, 0 for a problem without one.
type NameError struct {
	Line int
	Msg  string
}

// Error is the problem with its line, if any ("line 3: invalid TOML: ...").
func (e *NameError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// In is the problem located in file, as editors and CI annotations read
// it: "tools/x/pyproject.toml:3: invalid TOML: ..." or
// "tools/x/pyproject.toml: no [project].name".
func (e *NameError) In(file string) string { return fileLine(file, e.Line) + ": " + e.Msg }

// projectName is ProjectName with the problem as a message and the line
// of a TOML syntax error (0 otherwise).
func projectName(data []byte) (name string, line int, msg string) {
	var doc struct {
		Project struct {
			Name any `toml:"name"`
		} `toml:"project"`
		Tool struct {
			Poetry struct {
				Name any `toml:"name"`
			} `toml:"poetry"`
		} `toml:"tool"`
	}
	if err := bounds.TOML(data); err != nil {
		line := 0
		if le, ok := err.(*bounds.LimitError); ok {
			line = le.Line
		}
		return "", line, "not read: " + err.Error()
	}
	if _, err := toml.Decode(string(data), &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return "", pe.Position.Line, "invalid TOML: " + pe.Message
		}
		return "", 0, fmt.Sprintf("invalid TOML: %v", err)
	}
	raw, field := doc.Project.Name, "[project].name"
	if raw == nil {
		raw, field = doc.Tool.Poetry.Name, "[tool.poetry].name"
	}
	if raw == nil {
		return "", 0, "no [project].name"
	}
	s, ok := raw.(string)
	if !ok {
		return "", 0, fmt.Sprintf("%s must be a string, not %T", field, raw)
	}
	name, err := NormalizeName(s)
	if err != nil {
		return "", 0, fmt.Sprintf("%s: %v", field, err)
	}
	return name, 0, ""
}

// NormalizeName turns a Python project name into a tool name matching
// ^[a-z0-9_]+$: lower-case, each '-' and '.' becomes '_' (runs are not
// collapsed: "a--b" is "a__b", as the tool name the API would see). Any
// other character is an error that names it, and so is a name with no
// letter or digit ("---" would be the tool "___": a template placeholder,
// not a tool).
func NormalizeName(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	var b strings.Builder
	for _, c := range t {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_':
			b.WriteRune(c)
		case c == '-' || c == '.':
			b.WriteByte('_')
		default:
			return "", fmt.Errorf("name %q cannot be made a valid tool name (^[a-z0-9_]+$): character %q is not allowed", s, c)
		}
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("name %q is empty", s)
	}
	if strings.Trim(b.String(), "_") == "" {
		return "", fmt.Errorf("name %q gives the tool name %q, which has no letter or digit", s, b.String())
	}
	return b.String(), nil
}

func cleanDir(d string) string {
	d = strings.Trim(path.Clean("/"+strings.TrimSpace(d)), "/")
	return d
}

func displayDir(d string) string {
	if d == "" {
		return "."
	}
	return d
}

func included(dir string, opts Options) bool {
	d := displayDir(dir)
	if len(opts.Include) > 0 {
		ok := false
		for _, g := range opts.Include {
			if matchGlob(g, d) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, g := range opts.Exclude {
		if matchGlob(g, d) {
			return false
		}
	}
	return true
}

// matchGlob matches a slash-separated path against a glob with path.Match
// syntax per segment and "**" for any number of segments. A pattern also
// matches every path below a directory it matches.
func matchGlob(pattern, p string) bool {
	pattern = strings.Trim(pattern, "/")
	if pattern == "." || pattern == "" {
		return p == "." || p == "" // the repository root only
	}
	ps := strings.Split(pattern, "/")
	var ss []string
	if p != "" && p != "." {
		ss = strings.Split(p, "/")
	}
	return matchSegs(ps, ss)
}

func matchSegs(ps, ss []string) bool {
	for len(ps) > 0 {
		if ps[0] == "**" {
			rest := ps[1:]
			for k := 0; k <= len(ss); k++ {
				if matchSegs(rest, ss[k:]) {
					return true
				}
			}
			return false
		}
		if len(ss) == 0 {
			return false
		}
		if ok, _ := path.Match(ps[0], ss[0]); !ok {
			return false
		}
		ps, ss = ps[1:], ss[1:]
	}
	// Pattern exhausted: matches this path and everything below it.
	return true
}
