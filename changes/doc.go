// Package changes finds which tool projects of a monorepo changed between a
// base commit and a head commit, and infers each one's semver bump from
// Conventional Commits. It reads the repository with go-git (no git binary
// at run time) and knows nothing of Amigo: it returns names, paths, bumps and
// commits; the pipeline maps them to API calls.
//
// What it is not: a version calculator (it returns a Bump, not a version),
// a changelog renderer, or a git client for anything but reading history
// (plus deepening a shallow clone).
//
// # Use
//
//	repo, err := changes.Open(".")            // KeepDescriptors; ErrNotRepo, ErrEmptyRepo
//	defer repo.Close()
//	res, err := changes.Detect(ctx, repo, changes.Request{
//		Head:        "HEAD",                     // branch, tag, SHA, HEAD (detached is fine)
//		DefaultBase: event.Before,               // "" or all-zero: none (first release)
//		Bases:       map[string]string{"weather": releasedCommit}, // per project name
//		Options:     changes.DefaultOptions(),
//		Deepen:      &changes.DeepenOptions{},   // optional: fetch history when shallow
//		FullDiscovery: true,                     // optional: read every project (see Projects)
//	})
//	for _, p := range res.Projects { ... p.Name, p.Status, p.Bump, p.Reason, p.Commits ... }
//	for _, p := range res.Problems { ... p.Path, p.Pyproject, p.Line, p.Message, p.Change ... } // not tools
//	b, _ := res.JSON()
//
// Other entry points: Discover (projects and problems at a commit), DiscoverDir (the
// same in a work tree on disk, for validate), ParseMessage (the
// Conventional Commits parser), ProjectName and NormalizeName (the
// pyproject.toml name rules), Rules.BumpOf, and on *Repo: Resolve, HasCommit
// (is a released tool_commit_hash in local history?), IsAncestor, MergeBase,
// IsShallow and Deepen.
//
// # Projects
//
// A project is a directory holding pyproject.toml, under Options.Roots (all
// of the repository by default), filtered by Include/Exclude globs; an
// excluded project's files belong to the enclosing project. A file belongs
// to the deepest project that contains it. The name is [project].name (or
// [tool.poetry].name) normalised to ^[a-z0-9_]+$ (lower case, '-' and '.'
// to '_'; a name with no letter or digit, such as "---", is refused), or
// Options.Names[path]. Options.Shared maps globs of shared code to the
// projects a change there triggers.
//
// A project whose name is missing or invalid (or whose pyproject.toml is
// not valid TOML), and every project whose name another project also has,
// is a Problem, not an error: it keeps its files but is not a tool
// (Discover returns problems beside the projects; Detect reports each with
// what the range did to it, and the caller decides: the pipeline refuses
// only those it would release). A Problem names its pyproject.toml and the
// line a TOML syntax error is on; as an error it reads FILE:LINE: MESSAGE. A root that is not a directory at head, an
// include glob that matches no project and a shared glob that matches no
// file are errors (*OptionError): such a typo would otherwise release
// nothing, silently, run after run.
//
// Detect reads the projects on demand: along each path the range touches
// it looks down the head tree and reads only the pyproject.toml files on
// the way (the owner and its enclosing projects), so its cost follows the
// push, not the repository. It reads every project only where names of
// projects the range did not touch decide the answer (Request.Bases, a
// shared glob that fires, a project moved or removed in range) or when
// Request.FullDiscovery asks, as the pipeline does so that no released
// name is another project's.
//
// # Ranges
//
// Each project has a base: Request.Bases[name], else Request.DefaultBase.
// No base means a first release: every commit reachable from head that
// touched the project. A base that is not an ancestor of head (force push)
// is replaced by the merge base, with a note. A base missing from the object
// store is a *MissingCommitError whose message says `fetch-depth: 0`; with
// Request.Deepen set, Detect first fetches the full history from the remote
// (and the exact commit, where the server allows it) and repairs
// .git/shallow.
//
// Changed files come from the tree diff base→head; renames count for both
// paths, so a move across projects changes both, and a project whose
// pyproject.toml was deleted is reported as removed. Commits are those of
// base..head; each is diffed against its first parent and attributed to the
// projects it touched. Merge commits are not attributed (the merged
// branch's commits are); a squash merge is a plain commit.
//
// A tool is its name wherever its directory goes: a file under a directory
// whose project changes inside the range (a pyproject.toml added, deleted
// or renamed there), or in a directory gone at head, counts for the project
// that owned it in the commit's own tree, mapped to head by name (a moved
// project keeps the commits made before the move, with a note), else by
// directory (renamed in place), else to the removed project. A project
// created in range keeps the commits made in its directory before.
//
// # Bumps
//
// Conventional Commits 1.0.0: "!" or a BREAKING CHANGE / BREAKING-CHANGE
// footer → major; feat → minor; fix, perf → patch; other types none
// (Options.Types); non-conventional messages get Options.NonConventional
// (none by default, as in the plan file, or patch). A revert and the commit
// it reverts, both in the project's range, cancel out: the reverted commit
// is the one "This reverts commit <sha>" names, or, without a SHA (GitHub's
// revert button writes `Revert "<subject>"` and "Reverts owner/repo#12"),
// the newest older commit with exactly the quoted subject. A lone revert is
// a patch. A "Release-As: major|minor|patch" footer overrides the project's
// bump (the highest one wins). A project's bump is the highest over its
// commits; a project with changed files but no bump has status
// "no-release" with the reason.
//
// # Performance
//
// Only the commits in range are walked (a date-ordered walk that stops once
// everything left is reachable from the base; only a first release walks to
// the root). Diffs compare tree hashes and descend only into subtrees that
// differ; rename detection is off. Objects are read from the pack files
// directly (memory-mapped, with a delta base cache; go-git's storage is the
// fallback for loose objects), because go-git's reader re-resolves delta
// chains (BenchmarkObjectRead keeps that measured). Every object read is
// hashed and compared with its name, so a damaged pack or index is an
// error, never wrong content; a pack index's own checksum is checked before
// any object is reported missing. Decoded trees live in a two-generation
// cache bounded in bytes.
//
// # Repositories
//
// Open accepts a work tree (or any directory inside it), a bare repository,
// a linked worktree (.git is a file; objects and refs come from the main
// repository's commondir) and clones with alternates (their packs are read
// too). Packs after `git gc` or `git repack -ad`, several packs, loose
// objects, .keep and .promisor files all read the same. Refused at Open,
// with the reason and the fix: SHA-256 repositories (extensions.objectFormat),
// reftable refs (extensions.refStorage),
// pack indexes other than version 2, and packs that do not match their index
// (all wrap ErrUnsupportedRepo). Objects that exist but cannot be read
// correctly give errors wrapping ErrDamaged.
// Reading every project (Discover, FullDiscovery) uses .git/index instead
// of walking every tree when the index's cache-tree says it is exactly the
// head tree (a CI checkout); BenchmarkIndexRead and BenchmarkFullDiscovery
// keep that measured. Decoded trees, commits, per-commit diffs, names and
// the projects of each head are cached on the Repo, so reuse one Repo for
// a run. scripts/bench-changes.sh compares Detect with the git CLI on two
// generated monorepos (300 projects and 20,000 files; 2,000 projects and
// 100,200 files; 3,000 commits each), side by side, against its goals.
package changes
