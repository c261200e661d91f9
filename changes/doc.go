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
//	})
//	for _, p := range res.Projects { ... p.Name, p.Status, p.Bump, p.Reason, p.Commits ... }
//	b, _ := res.JSON()
//
// Other entry points: Discover (projects at a commit), ParseMessage (the
// Conventional Commits parser), ProjectName and NormalizeName (the
// pyproject.toml name rules), Rules.BumpOf, and on *Repo: Resolve, HasCommit
// (is a released tool_commit_hash in local history?), IsAncestor, MergeBase,
// IsShallow and Deepen.
//
// # Projects
//
// A project is a directory holding pyproject.toml, under Options.Roots (all
// of the repository by default), filtered by Include/Exclude globs. A file
// belongs to the deepest project that contains it. The name is [project].name
// (or [tool.poetry].name) normalised to ^[a-z0-9_]+$ (lower case, '-' and '.'
// to '_'), or Options.Names[path]. Invalid names and duplicate names are
// errors naming the files. Options.Shared maps globs of shared code to the
// projects a change there triggers.
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
// # Bumps
//
// Conventional Commits 1.0.0: "!" or a BREAKING CHANGE / BREAKING-CHANGE
// footer → major; feat → minor; fix, perf → patch; other types none
// (Options.Types); non-conventional messages get Options.NonConventional
// (none by default, as in the plan file, or patch). A revert and the commit it reverts, both in
// range, cancel out; a lone revert is a patch. A "Release-As: major|minor|
// patch" footer overrides the project's bump (the highest one wins). A
// project's bump is the highest over its commits; a project with changed
// files but no bump has status "no-release" with the reason.
//
// # Performance
//
// Only the commits in range are walked (a date-ordered walk that stops once
// everything left is reachable from the base; only a first release walks to
// the root). Diffs compare tree hashes and descend only into subtrees that
// differ; rename detection is off. Objects are read from the pack files
// directly (memory-mapped, with a delta base cache; go-git's storage is the
// fallback for loose objects), because go-git's reader re-resolves delta
// chains. Every object read is hashed and compared with its name, so a
// damaged pack or index is an error, never wrong content.
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
// Discovery reads .git/index instead of walking
// every tree when the index's cache-tree says it is exactly the head tree
// (a CI checkout). Decoded trees, commits, per-commit diffs and Discover
// results are cached on the Repo, so reuse one Repo for a run.
// scripts/bench-changes.sh compares Detect with the git CLI on a generated
// monorepo (300 projects, 20k files, 3,000 commits); bench_test.go has the
// `go test -bench` benchmarks.
package changes
