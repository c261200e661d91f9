package demo

import (
	"fmt"
	"sort"
	"strings"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
)

// Org is the organization the sample plan releases to.
const Org = "demo"

// PlanPath is where the sample repository keeps its release plan.
const PlanPath = ".amigo/release.yaml"

// Token is a static bearer token the demo's emulators accept (for curl),
// standing for the user "demo-user".
const Token = "demo-token"

// Env returns the environment a release against the demo emulators needs:
// the API key triple the plan names (the emulator accepts any) and the
// value of the flight_status tool's secret, read through from_env.
func Env() map[string]string {
	return map[string]string{
		"AMIGO_API_KEY":       "demo-api-key",
		"AMIGO_API_KEY_ID":    "demo-api-key-id",
		"AMIGO_USER_ID":       "demo-user",
		"DEMO_FLIGHT_API_KEY": "fk-demo-0123456789abcdef",
	}
}

// SampleTool is one tool project of the sample repository.
type SampleTool struct {
	// Name is the tool name ([project].name normalised).
	Name string
	// Path is the project directory, relative to the repository root.
	Path string
	// Seeded are the versions the tool already has in every region (Seed),
	// oldest first; none for a tool released for the first time.
	Seeded []string
	// Expect is the outcome the sample history is built for: the version
	// the release publishes in every stage, "" for no release.
	Expect string
	// Why explains Expect in one line.
	Why string
}

// Commit is one commit of the sample history.
type Commit struct {
	SHA     string
	Message string
}

// Sample is the generated repository.
type Sample struct {
	Repo *Repo
	// Tools are the projects, in path order.
	Tools []SampleTool
	// Commits are the history, oldest first.
	Commits []Commit
	// Released is the commit the newest seeded versions pin: the last
	// release, from which the next release's changes are counted.
	Released string
	// Head is the tip of main.
	Head string
	// Pinned is the version the plan keeps in the eu stage (weather_lookup).
	Pinned string
}

// The sample projects. Each pyproject.toml carries the three tables a real
// project has: [project], the runtime contract [tool.amigo] (read by the
// Amigo API) and the release metadata [tool.amigo-release].
const weatherTOML = `[project]
name = "weather-lookup"
version = "1.2.0"
description = "Current weather and a short forecast for a city."

[tool.amigo]
required_envvars = ["WEATHER_API_URL"]

[tool.amigo.input_schema]
type = "object"
required = ["city"]

[tool.amigo.input_schema.properties.city]
type = "string"

[tool.amigo.input_schema.properties.days]
type = "integer"

[tool.amigo-release]
tags = { team = "weather", tier = "gold" }

[[tool.amigo-release.envvars]]
name = "WEATHER_API_URL"
value = "https://api.weather.example/v2"

[[tool.amigo-release.test_inputs]]
input_parameters = { city = "Paris", days = 3 }

[[tool.amigo-release.test_inputs]]
input_parameters = { city = "Sydney" }
`

const currencyTOML = `[project]
name = "currency-convert"
version = "2.1.0"
description = "Converts an amount between two currencies at today's rate."

[tool.amigo]
input_schema = { type = "object", required = ["amount", "from", "to"], properties = { amount = { type = "string" }, from = { type = "string" }, to = { type = "string" } } }

[tool.amigo-release]
tags = { team = "payments" }

[[tool.amigo-release.test_inputs]]
input_parameters = { amount = "12.50", from = "EUR", to = "AUD" }
`

const flightTOML = `[project]
name = "flight-status"
version = "0.1.0"
description = "Live status of a flight by its number."

[tool.amigo]
required_envvars = ["FLIGHT_API_URL"]
required_secret_envvars = ["FLIGHT_API_KEY"]
input_schema = { type = "object", required = ["flight"], properties = { flight = { type = "string" } } }

[tool.amigo-release]
tags = { team = "travel", beta = "" }

[[tool.amigo-release.envvars]]
name = "FLIGHT_API_URL"
value = "https://flights.example/api"

# The secret's value comes from the release job's environment, never from the repository.
[[tool.amigo-release.envvars]]
name = "FLIGHT_API_KEY"
from_env = "DEMO_FLIGHT_API_KEY"
secret = true

[[tool.amigo-release.test_inputs]]
input_parameters = { flight = "QF1" }
`

const timezoneTOML = `[project]
name = "timezone-info"
version = "1.0.0"
description = "The time zone and UTC offset of a place."

[tool.amigo]
input_schema = { type = "object", required = ["place"], properties = { place = { type = "string" } } }

[[tool.amigo-release.test_inputs]]
input_parameters = { place = "Toronto" }
`

func pyMain(body string) string {
	return "\"\"\"Amigo tool entry point.\"\"\"\n\n\ndef run(**params):\n" + body
}

// PlanYAML is the sample's four-stage release plan, its stages pointing
// at urls (region name → base URL, as Cluster.URLs gives).
func PlanYAML(urls map[string]string) string {
	return fmt.Sprintf(`# The demo's release plan (see promote/REFERENCE.md for every key).
# Four regions of the in-process emulator: the US first, gated by a test run
# and a smoke invoke; then Frankfurt after a 10-minute soak; then Sydney and
# Canada in parallel.
version: 1

discovery:
  roots: [tools]
  bump:
    non_conventional: none   # a message that is not a Conventional Commit releases nothing

defaults:
  organization: %s
  branch: main
  active_cap: 3

stages:
  - name: us
    base_url: %s
    test: true
    smoke: true
    needs: []

  - name: eu
    base_url: %s
    soak: 10m
    keep:
      weather_lookup: ["1.0.0"]   # pinned: pruning never deprecates it here

  - name: ap
    base_url: %s
    needs: [eu]

  - name: ca
    base_url: %s
    needs: [eu]
    active_cap: 3                 # keep the newest three, deprecate the rest
`, Org, urls["us"], urls["eu-central-1"], urls["ap-southeast-2"], urls["ca-central-1"])
}

// WriteSample builds the sample repository in dir: four tool projects under
// tools/, the release plan (PlanYAML(urls)) and a history of ten commits:
// three that the seeded versions stand for, then a feat, a new tool, a
// breaking change (a "!" and a BREAKING CHANGE footer), a non-conventional
// message, a docs change and a chore outside every project.
func WriteSample(dir string, urls map[string]string) (*Sample, error) {
	r, err := InitRepo(dir)
	if err != nil {
		return nil, err
	}
	s := &Sample{Repo: r, Pinned: "1.0.0"}
	commit := func(msg string, files map[string]string) error {
		sha, err := r.Commit(msg, files)
		if err != nil {
			return err
		}
		s.Commits = append(s.Commits, Commit{SHA: sha, Message: msg})
		return nil
	}
	steps := []struct {
		msg   string
		files map[string]string
	}{
		{"chore: import the tools monorepo", map[string]string{
			"README.md":                     "# Tools\n\nAmigo tools released by amigo-release.\n",
			PlanPath:                        PlanYAML(urls),
			"tools/weather/pyproject.toml":  weatherTOML,
			"tools/weather/main.py":         pyMain("    return {\"city\": params[\"city\"], \"forecast\": []}\n"),
			"tools/currency/pyproject.toml": currencyTOML,
			"tools/currency/main.py":        pyMain("    return {\"amount\": float(params[\"amount\"])}\n"),
			"tools/timezone/pyproject.toml": timezoneTOML,
			"tools/timezone/main.py":        pyMain("    return {\"place\": params[\"place\"], \"offset\": 0}\n"),
			"tools/timezone/zones.csv":      "place,zone\nToronto,America/Toronto\n",
			"libs/README.md":                "Shared code lives here.\n",
		}},
		{"feat(weather): hourly forecasts", map[string]string{
			"tools/weather/main.py": pyMain("    return {\"city\": params[\"city\"], \"forecast\": [], \"hourly\": True}\n"),
		}},
		{"fix(currency): round to the currency's minor unit", map[string]string{
			"tools/currency/main.py": pyMain("    return {\"amount\": round(float(params[\"amount\"]), 2)}\n"),
		}},
		{"feat(weather): add a multi-day forecast\n\nThe days parameter asks for up to seven days.", map[string]string{
			"tools/weather/main.py": pyMain("    days = params.get(\"days\", 1)\n    return {\"city\": params[\"city\"], \"forecast\": [None] * days}\n"),
		}},
		{"feat: add the flight status tool", map[string]string{
			"tools/flight-status/pyproject.toml": flightTOML,
			"tools/flight-status/main.py":        pyMain("    return {\"flight\": params[\"flight\"], \"status\": \"on time\"}\n"),
		}},
		{"refactor(currency)!: amounts are decimal strings\n\nBREAKING CHANGE: the amount parameter and the result are strings such as \"12.50\", not numbers.", map[string]string{
			"tools/currency/main.py": pyMain("    from decimal import Decimal\n    return {\"amount\": str(Decimal(params[\"amount\"]).quantize(Decimal(\"0.01\")))}\n"),
		}},
		{"Tweak the time zone table", map[string]string{
			"tools/timezone/zones.csv": "place,zone\nToronto,America/Toronto\nVancouver,America/Vancouver\n",
		}},
		{"fix(weather): retry the upstream API once", map[string]string{
			"tools/weather/main.py": pyMain("    days = params.get(\"days\", 1)\n    return {\"city\": params[\"city\"], \"forecast\": [None] * days, \"retried\": False}\n"),
		}},
		{"docs: how the tools are released", map[string]string{
			"README.md": "# Tools\n\nAmigo tools released by amigo-release: see .amigo/release.yaml.\n",
		}},
	}
	for i, st := range steps {
		if err := commit(st.msg, st.files); err != nil {
			return nil, err
		}
		if i == 2 {
			s.Released = s.Commits[i].SHA
		}
	}
	if s.Head, err = r.Head(); err != nil {
		return nil, err
	}
	s.Tools = []SampleTool{
		{Name: "currency_convert", Path: "tools/currency", Seeded: []string{"1.0.0", "2.0.0", "2.1.0"}, Expect: "3.0.0",
			Why: "a breaking change (refactor!): major; over the cap of 3, so 1.0.0 is deprecated"},
		{Name: "flight_status", Path: "tools/flight-status", Expect: "1.0.0",
			Why: "a new tool: its first version is always major (1.0.0); its secret comes from the environment"},
		{Name: "timezone_info", Path: "tools/timezone", Seeded: []string{"1.0.0"}, Expect: "",
			Why: "only a non-conventional commit: no release (non_conventional: none)"},
		{Name: "weather_lookup", Path: "tools/weather", Seeded: []string{"1.0.0", "1.1.0", "1.2.0"}, Expect: "1.3.0",
			Why: "a feat and a fix: minor; 1.0.0 is pruned beyond the cap of 3, except in eu, which pins it"},
	}
	return s, nil
}

// Seed gives every region the tools' existing versions: the older ones pin
// the first commit, the newest one pins Released (so the release starts
// from there). Seeded tools already have their non-secret envvars, the
// weather URL with an outdated value that the release updates.
func (s *Sample) Seed(c *Cluster) error {
	first := s.Commits[0].SHA
	for _, r := range c.Names {
		srv := c.Servers[r]
		for _, t := range s.Tools {
			if len(t.Seeded) == 0 {
				continue
			}
			st := amigotest.SeedTool{Name: t.Name, Description: "(seeded) " + t.Name, User: "demo-user"}
			var required []string
			if t.Name == "weather_lookup" {
				st.Envvars = []amigotest.Envvar{{Name: "WEATHER_API_URL", Value: "https://api.weather.example/v1"}}
				required = []string{"WEATHER_API_URL"}
			}
			id, err := srv.AddTool(Org, st)
			if err != nil {
				return fmt.Errorf("seed %s in %s: %w", t.Name, r, err)
			}
			for i, v := range t.Seeded {
				commit := first
				if i == len(t.Seeded)-1 {
					commit = s.Released
				}
				if _, err := srv.AddVersion(Org, id, amigotest.SeedVersion{Version: v, Commit: commit, ProjectDirectory: t.Path,
					RequiredEnvvars: required, User: "demo-user"}); err != nil {
					return fmt.Errorf("seed %s %s in %s: %w", t.Name, v, r, err)
				}
			}
		}
	}
	return nil
}

// Tool returns the sample tool called name.
func (s *Sample) Tool(name string) (SampleTool, bool) {
	for _, t := range s.Tools {
		if t.Name == name {
			return t, true
		}
	}
	return SampleTool{}, false
}

// State describes what the cluster serves for every sample tool, from the
// emulators' own state: per region the active versions (pinned ones marked)
// and the deprecated ones.
func (s *Sample) State(c *Cluster) string {
	var b strings.Builder
	for _, t := range s.Tools {
		fmt.Fprintf(&b, "%s\n", t.Name)
		for _, r := range c.Names {
			tl, ok := c.Servers[r].ToolByName(Org, t.Name)
			if !ok {
				fmt.Fprintf(&b, "  %-15s no tool\n", r)
				continue
			}
			vs := c.Servers[r].Versions(Org, tl.ID)
			sort.Slice(vs, func(i, j int) bool { return vs[i].Version.Less(vs[j].Version) })
			var active, gone []string
			for _, v := range vs {
				name := v.Version.String()
				if v.Deprecated {
					gone = append(gone, name)
					continue
				}
				if r == "eu-central-1" && t.Name == "weather_lookup" && name == s.Pinned {
					name += " (pinned)"
				}
				active = append(active, name)
			}
			line := "active " + orNone(active)
			if len(gone) > 0 {
				line += "; deprecated " + strings.Join(gone, ", ")
			}
			fmt.Fprintf(&b, "  %-15s %s\n", r, line)
		}
	}
	return b.String()
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// Describe is a few lines saying what the sample holds and what the
// release should do with it.
func (s *Sample) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d tool projects, %d commits since the last release (%s):\n", len(s.Tools), s.commitsSinceRelease(), changes.DisplaySHA(s.Released))
	for _, t := range s.Tools {
		seeded := "new"
		if len(t.Seeded) > 0 {
			seeded = "has " + strings.Join(t.Seeded, ", ")
		}
		fmt.Fprintf(&b, "  %-17s %-20s %-22s %s\n", t.Name, t.Path, seeded, t.Why)
	}
	return b.String()
}

func (s *Sample) commitsSinceRelease() int {
	for i, c := range s.Commits {
		if c.SHA == s.Released {
			return len(s.Commits) - 1 - i
		}
	}
	return len(s.Commits)
}
