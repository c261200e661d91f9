// Package cilog reads a CI log the way the runners do, for tests: which
// lines GitHub Actions and Azure Pipelines would run as workflow commands,
// and which of those amigo-release did not mean to write. The fuzz targets
// of internal/egress and the hostile-input campaign in e2e judge the
// program's output with it.
//
// GitHub Actions (actions/runner): a line (lines end at \n, \r\n and \r)
// whose text after leading whitespace starts with "::" and has a second
// "::" is a command, "::name k=v,k=v::data"; on other lines "##[" anywhere
// starts a command of the older syntax. After "::stop-commands::TOKEN" no
// line is a command until one reads "::TOKEN::".
//
// Azure Pipelines (azure-pipelines-agent): "##vso[area.event k=v;k=v]data"
// anywhere in a line, and the formatting commands "##[name]data" anywhere
// too. The agent runs the first one of a line; this package reports every
// one, which is stricter.
package cilog

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/amigo-release/amigo-release/internal/egress"
)

// Command is one workflow command the runner would run.
type Command struct {
	Line int    // 1-based
	Text string // the whole line
	// Name is the command word: "error", "add-mask", "stop-commands",
	// "end-stop-commands" (GitHub), "task.logissue", "[group]" (Azure),
	// "v1:[name]" (GitHub's older syntax).
	Name string
	// Keys are the property names in order, Props their unescaped values.
	Keys  []string
	Props map[string]string
	// Data is the unescaped message.
	Data string
}

// Lines splits a log the way the runners' line readers do: at \n, \r\n
// and \r.
func Lines(log string) []string {
	log = strings.ReplaceAll(log, "\r\n", "\n")
	log = strings.ReplaceAll(log, "\r", "\n")
	return strings.Split(strings.TrimSuffix(log, "\n"), "\n")
}

// Parse returns the commands the runner of dialect d would run on reading
// log, in order. Plain logs are read as both runners would read them.
func Parse(d egress.Dialect, log string) []Command {
	if d == egress.Plain {
		return append(Parse(egress.GitHub, log), Parse(egress.Azure, log)...)
	}
	var out []Command
	stop := ""
	for i, line := range Lines(log) {
		n := i + 1
		if d == egress.GitHub {
			trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
			if rest, ok := strings.CutPrefix(trimmed, "::"); ok {
				if head, data, ok := strings.Cut(rest, "::"); ok {
					c := githubCommand(n, line, head, data)
					switch {
					case stop != "" && c.Name == stop:
						c.Name, stop = "end-stop-commands", ""
						out = append(out, c)
					case stop != "":
					default:
						if c.Name == "stop-commands" {
							stop = c.Data
						}
						out = append(out, c)
					}
					continue
				}
			}
			if stop != "" {
				continue
			}
			for _, rest := range after(line, "##[") {
				name, data, _ := strings.Cut(rest, "]")
				out = append(out, Command{Line: n, Text: line, Name: "v1:[" + name + "]", Props: map[string]string{}, Data: data})
			}
			continue
		}
		for _, rest := range after(line, "##vso[") {
			head, data, _ := strings.Cut(rest, "]")
			out = append(out, azureCommand(n, line, head, data))
		}
		for _, rest := range after(line, "##[") {
			name, data, _ := strings.Cut(rest, "]")
			out = append(out, Command{Line: n, Text: line, Name: "[" + name + "]", Props: map[string]string{}, Data: unAzureData(data)})
		}
	}
	return out
}

// after returns what follows each occurrence of marker in line.
func after(line, marker string) []string {
	var out []string
	for {
		i := strings.Index(line, marker)
		if i < 0 {
			return out
		}
		line = line[i+len(marker):]
		out = append(out, line)
	}
}

var (
	unGHData  = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%")
	unGHProp  = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")
	unAZData  = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%AZP25", "%")
	unAZProp  = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3B", ";", "%5D", "]", "%AZP25", "%")
	hex32     = regexp.MustCompile(`^[0-9a-f]{32}$`)
	outputVar = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
)

func unAzureData(s string) string { return unAZData.Replace(s) }

func githubCommand(n int, line, head, data string) Command {
	name, props, _ := strings.Cut(head, " ")
	c := Command{Line: n, Text: line, Name: name, Props: map[string]string{}, Data: unGHData.Replace(data)}
	if props != "" {
		for _, kv := range strings.Split(props, ",") {
			k, v, _ := strings.Cut(kv, "=")
			c.Keys = append(c.Keys, k)
			c.Props[k] = unGHProp.Replace(v)
		}
	}
	return c
}

func azureCommand(n int, line, head, data string) Command {
	name, props, _ := strings.Cut(head, " ")
	c := Command{Line: n, Text: line, Name: name, Props: map[string]string{}, Data: unAZData.Replace(data)}
	if props != "" {
		for _, kv := range strings.Split(props, ";") {
			if strings.TrimSpace(kv) == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			k = strings.TrimSpace(k)
			c.Keys = append(c.Keys, k)
			c.Props[k] = unAZProp.Replace(v)
		}
	}
	return c
}

// Policy is what amigo-release may write as commands.
type Policy struct {
	// Secrets are the lines a mask registration may carry.
	Secrets []string
	// Canary marks hostile text: a command whose name, property names, or
	// the start of whose message or property values is the canary came
	// from that text. "" turns the check off.
	Canary string
}

// The commands amigo-release writes, and the properties each may have.
var (
	githubVocabulary = map[string][]string{
		"add-mask": nil, "group": nil, "endgroup": nil, "stop-commands": nil, "end-stop-commands": nil,
		"error":   {"file", "line", "col", "endLine", "endColumn", "title"},
		"warning": {"file", "line", "col", "endLine", "endColumn", "title"},
		"notice":  {"file", "line", "col", "endLine", "endColumn", "title"},
	}
	azureVocabulary = map[string][]string{
		"task.setsecret":     nil,
		"task.logissue":      {"type", "sourcepath", "linenumber", "columnnumber"},
		"task.setvariable":   {"variable", "isOutput", "issecret"},
		"task.uploadsummary": nil,
		"task.complete":      {"result"},
		"[group]":            nil, "[endgroup]": nil,
	}
)

// Injections returns a description of every command in log that
// amigo-release did not mean to write: a command word or property it does
// not use, a second command on an Azure line, a mask registration of
// something that is not a secret, a stop-commands token that is not one
// of its random ones, and (with a canary) a command the canary starts.
// An empty result means the log runs only the program's own commands.
func Injections(d egress.Dialect, log string, p Policy) []string {
	var out []string
	bad := func(c Command, why string) {
		out = append(out, "line "+itoa(c.Line)+": "+why+": "+clip(c.Text))
	}
	vocab := githubVocabulary
	if d == egress.Azure {
		vocab = azureVocabulary
	}
	seen := map[int]int{}
	for _, c := range Parse(d, log) {
		if d == egress.Azure {
			seen[c.Line]++
			if seen[c.Line] > 1 {
				bad(c, "a second command on the line")
				continue
			}
			if !strings.HasPrefix(c.Text, "##vso["+c.Name) && !strings.HasPrefix(c.Text, "##"+c.Name) {
				bad(c, "a command that does not start its line")
				continue
			}
		}
		allowed, known := vocab[c.Name]
		if !known && d == egress.GitHub && strings.HasPrefix(c.Name, "v1:") {
			bad(c, "GitHub's older ##[ command syntax")
			continue
		}
		if !known && d == egress.GitHub && hex32.MatchString(c.Name) {
			known = true // the end of a stop-commands block that was not open: harmless
		}
		if !known {
			bad(c, "command "+quote(c.Name)+" is not one amigo-release writes")
			continue
		}
		for _, k := range c.Keys {
			if !slices.Contains(allowed, k) {
				bad(c, "property "+quote(k)+" of "+c.Name)
			}
		}
		switch c.Name {
		case "add-mask", "task.setsecret":
			if !slices.Contains(p.Secrets, c.Data) {
				bad(c, "a mask registration of "+quote(c.Data)+", not a secret")
			}
		case "stop-commands":
			if !hex32.MatchString(c.Data) {
				bad(c, "a stop-commands token that is not a random one")
			}
		case "task.setvariable":
			if !outputVar.MatchString(c.Props["variable"]) {
				bad(c, "a variable name "+quote(c.Props["variable"]))
			}
		}
		if p.Canary != "" {
			starts := func(s string) bool {
				return strings.HasPrefix(strings.TrimLeftFunc(s, unicode.IsSpace), p.Canary)
			}
			hostile := strings.Contains(c.Name, p.Canary) || starts(c.Data)
			for _, k := range c.Keys {
				hostile = hostile || strings.Contains(k, p.Canary) || starts(c.Props[k])
			}
			if hostile {
				bad(c, "a command made of hostile text")
			}
		}
	}
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func quote(s string) string { return "\"" + clip(s) + "\"" }

func clip(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}
