package promote

import (
	"fmt"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
	"gopkg.in/yaml.v3"
)

// finish applies defaults and checks what spans several keys: required keys,
// region vs base_url, duplicate stage names, needs (unknown, cycles) and
// stage names referenced from tools.
func (d *decoder) finish(root *yaml.Node, p *Plan, r *rawPlan) {
	if p.Version == 0 {
		p.Version = 1
	}
	d.finishDiscovery(p, r)
	d.finishRecords(root, p)
	pub := &p.Publish
	if pub.RetryBudget == 0 && !d.wasSet(root, "publish", "retry_budget") {
		pub.RetryBudget = DefaultRetryBudget
	}
	if pub.InitialInterval == 0 {
		pub.InitialInterval = DefaultInitialInterval
	}
	if pub.MaxInterval == 0 {
		pub.MaxInterval = DefaultMaxInterval
	}
	if pub.InitialInterval > pub.MaxInterval {
		d.errAt(mapValue(mapValue(root, "publish"), "initial_interval"), "publish.initial_interval",
			fmt.Sprintf("initial_interval %s is longer than max_interval %s", fmtDur(pub.InitialInterval), fmtDur(pub.MaxInterval)),
			"make initial_interval at most max_interval")
	}
	if pub.Timeout == 0 {
		pub.Timeout = DefaultPublishTimeout
	}

	def := &p.Defaults
	if def.Branch == "" {
		def.Branch = DefaultBranch
	}
	if def.ActiveCap == 0 {
		def.ActiveCap = DefaultActiveCap
	}
	if def.Concurrency == 0 {
		def.Concurrency = DefaultConcurrency
	}
	if def.OnFailure == "" {
		def.OnFailure = DefaultOnFailure
	}
	def.Credentials = mergeCredentials(def.Credentials, Credentials{
		APIKeyEnv: DefaultAPIKeyEnv, APIKeyIDEnv: DefaultAPIKeyIDEnv, UserIDEnv: DefaultUserIDEnv})

	if r.stagesNode == nil {
		d.errAt(root, "stages", "the plan has no stages", "add `stages:` with at least one stage, e.g. `- {name: us, region: us, organization: my-org}`")
		return
	}
	if len(r.stages) == 0 && r.stagesNode.Kind == yaml.SequenceNode {
		d.errAt(r.stagesNode, "stages", "the plan has no stages", "add at least one stage, e.g. `- {name: us, region: us, organization: my-org}`")
		return
	}

	names := map[string]*rawStage{}
	for i, rs := range r.stages {
		path := index("stages", i)
		s := &rs.Stage
		s.line, s.col = rs.node.Line, rs.node.Column
		if rs.node.Kind != yaml.MappingNode {
			continue // already reported
		}
		if rs.set["name"] == nil {
			d.errAt(rs.node, path, "the stage has no name", "add `name: ...` (e.g. the region's name)")
		} else if s.Name != "" {
			if prev, dup := names[s.Name]; dup {
				d.errAt(rs.nameNode, join(path, "name"), fmt.Sprintf("duplicate stage name %q (first at line %d)", s.Name, prev.nameNode.Line), "give every stage a unique name")
			} else {
				names[s.Name] = rs
			}
		}
		_, hasRegion := rs.set["region"]
		_, hasURL := rs.set["base_url"]
		switch {
		case hasRegion && hasURL:
			d.errAt(rs.set["base_url"], join(path, "base_url"), "the stage sets both region and base_url", "keep one: region for a documented Amigo server, base_url for any other (an emulator, a private endpoint)")
		case !hasRegion && !hasURL && !rs.hadErrors:
			d.errAt(rs.node, path, fmt.Sprintf("stage %q has neither region nor base_url", s.Name), "add `region: ` one of "+strings.Join(regionNames(), ", ")+", or `base_url: https://...`")
		}
		if s.Organization == "" {
			s.Organization = def.Organization
			if s.Organization == "" && rs.set["organization"] == nil && !rs.hadErrors {
				d.errAt(rs.node, path, fmt.Sprintf("stage %q has no organization", s.Name), "add `organization: <org id>` to the stage, or to defaults: for every stage")
			}
		}
		if s.Branch == "" {
			s.Branch = def.Branch
		}
		s.Credentials = mergeCredentials(s.Credentials, def.Credentials)
		if rs.set["active_cap"] == nil {
			s.ActiveCap = def.ActiveCap
		}
		if rs.set["concurrency"] == nil {
			s.Concurrency = def.Concurrency
		}
		if rs.set["on_failure"] == nil {
			s.OnFailure = def.OnFailure
		}
		if s.Keep == nil {
			s.Keep = map[string][]amigo.Version{}
		}
		if rs.set["needs"] == nil {
			s.Needs = []string{}
			if i > 0 && r.stages[i-1].Name != "" {
				s.Needs = []string{r.stages[i-1].Name}
			}
		}
	}
	for _, rs := range r.stages {
		if rs.node.Kind == yaml.MappingNode {
			p.Stages = append(p.Stages, rs.Stage)
		}
	}
	d.checkNeeds(r, names)

	for tool, nodes := range r.toolSkipNode {
		for _, n := range nodes {
			if n.Kind == yaml.ScalarNode && names[n.Value] == nil {
				d.errAt(n, "tools."+tool+".skip_stages", fmt.Sprintf("unknown stage %q", n.Value), suggest(n.Value, p.StageNames(), "stage names"))
			}
		}
	}
}

func (d *decoder) finishDiscovery(p *Plan, r *rawPlan) {
	disc := &p.Discovery
	if disc.Roots == nil || len(disc.Roots) == 0 {
		disc.Roots = []string{"."}
	}
	if disc.Include == nil {
		disc.Include = []string{}
	}
	if disc.Exclude == nil {
		disc.Exclude = []string{}
	}
	if disc.Shared == nil {
		disc.Shared = map[string][]string{}
	}
	if disc.Names == nil {
		disc.Names = map[string]string{}
	}
	types := map[string]string{}
	for k, v := range DefaultBumpTypes {
		types[k] = v
	}
	for k, v := range r.bumpTypes {
		types[k] = v
	}
	disc.Bump.Types = types
	if disc.Bump.NonConventional == "" {
		disc.Bump.NonConventional = DefaultNonConventional
	}
}

// checkNeeds reports unknown or repeated needs targets and cycles.
func (d *decoder) checkNeeds(r *rawPlan, names map[string]*rawStage) {
	for i, rs := range r.stages {
		path := index("stages", i) + ".needs"
		seen := map[string]bool{}
		for j, n := range rs.Needs {
			var node *yaml.Node
			if j < len(rs.needsNode) {
				node = rs.needsNode[j]
			} else {
				node = rs.node
			}
			switch {
			case n == rs.Name && j < len(rs.needsNode):
				d.errAt(node, index(path, j), fmt.Sprintf("stage %q needs itself", n), "remove it from its own needs")
			case names[n] == nil:
				others := []string{}
				for name := range names {
					if name != rs.Name {
						others = append(others, name)
					}
				}
				fix := "remove it (needs: [] for a stage that needs none)"
				if len(others) > 0 {
					fix = suggest(n, others, "stage names")
				}
				d.errAt(node, index(path, j), fmt.Sprintf("unknown stage %q in needs", n), fix)
			case seen[n]:
				d.errAt(node, index(path, j), fmt.Sprintf("stage %q is listed twice in needs", n), "remove the repeat")
			}
			seen[n] = true
		}
	}
	if cycle := findCycle(r.stages, names); cycle != nil {
		first := names[cycle[0]]
		d.errAt(first.node, "stages", "the stages' needs form a cycle: "+strings.Join(append(cycle, cycle[0]), " needs "),
			fmt.Sprintf("remove one of these needs (a stage can only need stages released before it), e.g. %q from the needs of %q", cycle[1%len(cycle)], cycle[0]))
	}
}

// findCycle returns the stages of one cycle in needs order (a needs b needs
// ... needs a), starting from the earliest stage in the file, or nil.
func findCycle(stages []*rawStage, names map[string]*rawStage) []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var found []string
	var visit func(name string) bool
	visit = func(name string) bool {
		color[name] = grey
		stack = append(stack, name)
		for _, n := range names[name].Needs {
			if names[n] == nil || n == name {
				continue
			}
			switch color[n] {
			case grey:
				for i := len(stack) - 1; i >= 0; i-- {
					if stack[i] == n {
						found = append([]string(nil), stack[i:]...)
						break
					}
				}
				return true
			case white:
				if visit(n) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[name] = black
		return false
	}
	for _, rs := range stages {
		if rs.Name != "" && names[rs.Name] == rs && color[rs.Name] == white {
			if visit(rs.Name) {
				// rotate so the cycle starts at its earliest stage in the file
				best := 0
				pos := map[string]int{}
				for i, s := range stages {
					pos[s.Name] = i
				}
				for i, n := range found {
					if pos[n] < pos[found[best]] {
						best = i
					}
				}
				rot := append(append([]string(nil), found[best:]...), found[:best]...)
				// found is in "needs" direction: rot[0] needs rot[1] ...
				return rot
			}
		}
	}
	return nil
}

// Order returns the stages in DAG order: a stage comes after every stage it
// needs, and otherwise stages keep their file order (Kahn's algorithm, always
// taking the earliest ready stage in the file).
func (p *Plan) Order() []Stage {
	done := map[string]bool{}
	out := make([]Stage, 0, len(p.Stages))
	for len(out) < len(p.Stages) {
		progressed := false
		for _, s := range p.Stages {
			if done[s.Name] {
				continue
			}
			ready := true
			for _, n := range s.Needs {
				if !done[n] {
					ready = false
					break
				}
			}
			if ready {
				done[s.Name] = true
				out = append(out, s)
				progressed = true
				break
			}
		}
		if !progressed { // unreachable for a Plan from Parse (no cycles)
			for _, s := range p.Stages {
				if !done[s.Name] {
					out = append(out, s)
					done[s.Name] = true
				}
			}
		}
	}
	return out
}

// Dependents returns the names of the stages that need the named stage
// directly, in file order.
func (p *Plan) Dependents(name string) []string {
	var out []string
	for _, s := range p.Stages {
		for _, n := range s.Needs {
			if n == name {
				out = append(out, s.Name)
			}
		}
	}
	return out
}

func mergeCredentials(c, def Credentials) Credentials {
	if c.APIKeyEnv == "" {
		c.APIKeyEnv = def.APIKeyEnv
	}
	if c.APIKeyIDEnv == "" {
		c.APIKeyIDEnv = def.APIKeyIDEnv
	}
	if c.UserIDEnv == "" {
		c.UserIDEnv = def.UserIDEnv
	}
	if c.TokenEnv == "" {
		c.TokenEnv = def.TokenEnv
	}
	return c
}

// wasSet reports whether the root mapping sets section.key.
func (d *decoder) wasSet(root *yaml.Node, section, key string) bool {
	return mapValue(mapValue(root, section), key) != nil
}

// mapValue returns the value node of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
