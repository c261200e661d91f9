// Package platform is the CI face of amigo-release: it hides whether the
// binary runs in GitHub Actions, Azure Pipelines or a terminal behind one
// small interface, so the CLI writes the same code for all three and the
// pipeline never knows.
//
//	p := platform.DetectCI(os.Getenv)      // GITHUB_ACTIONS=true → GitHub, TF_BUILD=True → Azure, else Local
//	p.Mask(apiKey)                          // every secret, before anything else prints
//	ev, err := p.Trigger()                  // push | pull_request | manual, before/head, branch, PR, repo
//	cfg := p.Input("config")                // GitHub: INPUT_CONFIG; Azure/Local: AMIGO_CONFIG
//	p.Group("weather_lookup"); p.Infof(…); p.EndGroup()   // also a pipeline.Logger
//	p.Annotate(platform.Annotation{Level: platform.LevelError, File: "tools/x/pyproject.toml", Line: 3, Message: …})
//	rep := pipeline.Run(…)
//	o := platform.OutputsOf(rep)            // released, changed, matrix, failed
//	o.ReportJSON = "/abs/report.json"       // report-json: the file --report-json wrote, if any
//	o.Write(p)                              // (platform.WriteOutputs(p, rep) without a report file)
//	platform.AnnotateFailures(p, rep)       // error annotation on each failed tool's pyproject.toml
//	p.Summary(report.Summary(rep))
//	res, err := p.PostComment(ctx, report.Marker(key), report.Markdown(rep, report.Options{
//		RunURL: p.RunURL(), Marker: key, Preview: ev.Kind == platform.PullRequest, MaxBytes: p.CommentLimit()}))
//	for _, w := range res.Warnings { p.Warningf("%s", w) }   // 403/404/no token: the release goes on
//	p.Complete(platform.Succeeded, "")      // Azure only
//
// # What each platform does
//
//	                GitHub Actions                       Azure Pipelines                                   Local
//	Input(name)     INPUT_<NAME> (go-githubactions),     AMIGO_<NAME>                                      AMIGO_<NAME>
//	                INPUT_<NAME_>, AMIGO_<NAME>
//	Mask            ::add-mask::                         ##vso[task.setsecret]                             redaction only
//	Group           ::group:: / ::endgroup::             ##[group] / ##[endgroup]                          "▸ title", indent
//	Warningf        ::warning::                          ##vso[task.logissue type=warning]                 "warning: "
//	Annotate        ::error file=,line=,col=,title=::    ##vso[task.logissue type=error;sourcepath=;…]     "error: file:line: "
//	SetOutput       $GITHUB_OUTPUT, random heredoc       ##vso[task.setvariable variable=;isOutput=true]   $AMIGO_OUTPUT file if set
//	                                                     (;issecret=true when the value holds a secret)
//	Summary         $GITHUB_STEP_SUMMARY                 file + ##vso[task.uploadsummary]                  $AMIGO_SUMMARY file if set
//	Complete        (exit code)                          ##vso[task.complete result=]                      (exit code)
//	PostComment     go-github: PR of the event, or the   azure-devops-go-api git threads: the PR of a      nothing
//	                merged PRs of the pushed commit      PullRequest build, or "Merged PR N:" on CI builds
//
// Every platform writes through the process's exit (internal/egress; the
// CLI passes it with WithExit): Mask registers a secret with it, and from
// then on it is masked ("***") in everything that leaves the process, in
// every form (each line, JSON, URL, base64), in log lines, in the values
// and messages of workflow commands (never the command words), in step
// output files, and ("•••", in every form the report renders it:
// report.RenderedForms) in the PR comment and job summary bodies, which no
// CI masks because they go through an API. An Azure output that holds a
// secret is set with issecret=true instead.
//
// # Untrusted text
//
// Commit subjects, tool names and server messages must never run as
// workflow commands. Infof and Print write log lines through the exit (a
// line never starts with "::", "##[" and "##vso[" get a zero-width space,
// control characters are made visible; on GitHub Print also wraps the
// block in ::stop-commands::<random token>); Warningf, Errorf, Group and
// Annotate escape their text by each runner's rules
// (EscapeGitHubData/Property: % \r \n , :; EscapeAzureData/Property:
// %AZP25 %0D %0A ; ]) and the exit rebuilds the command with its values
// made safe.
//
// # Outputs
//
// OutputsOf(report) computes released ([{"tool","stage","version"}]),
// changed (["tool", …]), matrix ({"include":[{"tool","project_path"}]},
// each entry with a "slot" when the plan scheduled a fan-out; the same on
// both systems, for a GitHub strategy.matrix via fromJSON) and
// failed (true/false); the caller adds report-json, the absolute path of
// the JSON report file it wrote ("" for none). Write sets every output,
// empty ones too (Azure leaves an unset output's $(step.name) as literal
// text), and on Azure turns '-' in names into '_' (report_json), since
// Azure variable names take letters, digits, '.' and '_'. No one JSON
// value can feed both fan-outs: GitHub's
// strategy.matrix takes lists ("include" is a list of objects), Azure's
// strategy: matrix takes a map from job name to an object of variables.
// So on Azure WriteOutputs also sets azure_matrix
// ({"<tool>":{"tool","project_path"}}): the same entries, keyed by job name.
// The entry key is project_path, never path: Azure turns matrix variables
// into environment variables, and "path" would replace PATH.
//
// # PR comments
//
// One comment per pull request, found by the hidden marker that starts the
// body (report.Marker) and edited in place. GitHub: on pull_request events
// the event's PR; on push the PRs into the pushed branch that GitHub
// associates with the pushed commit, or (GitHub lists only open ones for a
// branch other than the default) the closed PR into that branch whose
// merge commit is the pushed commit; comments are searched through every
// page; GITHUB_API_URL (or the github-api-url input) selects GitHub
// Enterprise. Azure: PullRequest builds, and CI builds of a commit with
// Azure Repos' default merge message ("Merged PR 123: …"), through
// SYSTEM_ACCESSTOKEN. A missing token and 401/403/404 answers are
// CommentResult.Warnings carrying the fix, never errors: the release goes
// on.
package platform
