#!/usr/bin/env bash
# Lints everything CI systems read from this repository:
#   - actionlint (pinned) over the project's workflows and the example workflows; the
#     CI workflow uses the action with `uses: ./`, so actionlint also checks action.yml's
#     inputs against it, and runs shellcheck on every run: script (shellcheck is
#     required under CI=true; .ci/run installs it);
#   - shellcheck over the project's own scripts (scripts/*.sh, .ci/run);
#   - Go tests that check action.yml (every input and output documented and used,
#     pinned actions, bash everywhere, shellcheck of its scripts, the download/verify
#     and build steps run for real), the workflows (SHA pins, least permissions,
#     concurrency, fetch-depth), the example plans (loaded with the real loader) and
#     azure-pipelines.yml (parsed with yaml.v3: container jobs, outputs, matrix fan-out) and
#     azure-pipelines-rollback.yml (a manual pipeline: parameters reach the script as env).
# Exits non-zero on any finding. Needs Go (it reaches the Go module proxy once) and
# bash, curl, git, jq and shellcheck for the tests (.ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

actionlint_version=v1.7.12
workflows=()
for f in .github/workflows/*.yml examples/workflows/*.yml; do
	case "$(basename "$f")" in azure-pipelines*.yml) continue ;; esac # not GitHub workflows
	workflows+=("$f")
done

shellcheck=$(command -v shellcheck || true)
if [ -z "$shellcheck" ]; then
	if [ "${CI:-}" = true ]; then
		echo "lint-workflows.sh: shellcheck is not installed; under CI=true it is required (.ci/run installs it)" >&2
		exit 1
	fi
	echo "warning: shellcheck is not installed: actionlint does not check run: scripts, and the scripts are not checked" >&2
fi

echo "== actionlint ${actionlint_version} (${#workflows[@]} workflows, shellcheck ${shellcheck:-none})"
go run "github.com/rhysd/actionlint/cmd/actionlint@${actionlint_version}" -no-color -shellcheck="$shellcheck" "${workflows[@]}"

if [ -n "$shellcheck" ]; then
	echo "== shellcheck scripts/*.sh .ci/run"
	"$shellcheck" scripts/*.sh .ci/run
fi

echo "== action.yml, workflows, example plans, azure-pipelines.yml"
go test -count=1 ./cmd -run 'TestActionYAML|TestActionFetchStep|TestActionRunStep|TestActionBuildStep|TestWorkflows|TestReleaseWorkflow|TestExamplePlans|TestAzurePipelines|TestAzureRollbackPipeline|TestDockerfile|TestDependabot'
