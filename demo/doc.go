// Package demo builds what `amigo-release demo` shows, in parts that tests
// reuse: a git repository written with go-git (no git binary needed), a
// sample tools monorepo with a Conventional Commits history and a
// four-stage release plan, and a cluster of in-process Amigo emulators, one
// per region, behind one HTTP listener.
//
// # API
//
//	InitRepo(dir) (*Repo, error)                  // empty repository, branch main
//	(*Repo).Commit(msg, files) (sha, error)      // write (""=delete) and commit
//	(*Repo).Head() (sha, error)
//
//	StartCluster(ClusterOptions{Addr, Regions, Emulator}) (*Cluster, error)
//	(*Cluster).URL(region), URLs(), Injected(), Requests(), MutatingRequests(), Close()
//	Regions                                      // us, eu-central-1, ap-southeast-2, ca-central-1
//
//	WriteSample(dir, urls) (*Sample, error)      // the sample repository and its plan
//	(*Sample).Seed(*Cluster) error               // the tools' existing versions, every region
//	(*Sample).Describe(), Tool(name)
//	PlanYAML(urls), PlanPath, Org, Token, Env()
//
// # The sample
//
// Four projects under tools/, each a pyproject.toml with [project], the
// runtime contract [tool.amigo] and the release metadata
// [tool.amigo-release]: weather_lookup (already at 1.0.0, 1.1.0, 1.2.0; a
// feat and a fix since: 1.3.0, and pruning of 1.0.0 except where the plan
// pins it), currency_convert (1.0.0, 2.0.0, 2.1.0; a breaking change:
// 3.0.0), flight_status (new, with a secret envvar read from the
// environment: 1.0.0) and timezone_info (only a non-conventional commit: no
// release). The plan releases to us (test gate and smoke), then
// eu-central-1 (a 10-minute soak, a pinned version), then ap-southeast-2 and
// ca-central-1 in parallel (active_cap 3).
//
// The cluster's emulators take any API key triple and the static bearer
// Token; Env returns the variables a release needs.
package demo
