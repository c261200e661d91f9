package egress

import (
	"strings"
)

// Escapes of the runners' command syntax, as their toolkits write them.
var (
	ghData    = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	ghProp    = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	azData    = strings.NewReplacer("%", "%AZP25", "\r", "%0D", "\n", "%0A")
	azProp    = strings.NewReplacer("%", "%AZP25", "\r", "%0D", "\n", "%0A", ";", "%3B", "]", "%5D")
	ghUnData  = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%")
	ghUnProp  = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")
	azUnData  = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%AZP25", "%")
	azUnProp  = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3B", ";", "%5D", "]", "%AZP25", "%")
	ghCommand = "::"
	azCommand = "##vso["
	azFormat  = "##["
)

// EscapeGitHubData escapes a workflow command's message the way the
// Actions toolkit does: % → %25, \r → %0D, \n → %0A, so the message cannot
// end the line.
func EscapeGitHubData(s string) string { return ghData.Replace(s) }

// EscapeGitHubProperty escapes a workflow command property: the data
// escapes plus : → %3A and , → %2C.
func EscapeGitHubProperty(s string) string { return ghProp.Replace(s) }

// EscapeAzureData escapes a logging command's message the way
// azure-pipelines-task-lib does: % → %AZP25, \r → %0D, \n → %0A.
func EscapeAzureData(s string) string { return azData.Replace(s) }

// EscapeAzureProperty escapes a logging command property value: the data
// escapes plus ; → %3B and ] → %5D, so it cannot end the property list.
func EscapeAzureProperty(s string) string { return azProp.Replace(s) }

// command rebuilds a workflow command written by the program itself so that
// its untrusted parts are safe whatever the caller did: the line is parsed
// by the dialect's syntax, every property value and the message are
// unescaped, masked, made visible with their "##[" and "##vso[" defused,
// and escaped again; the command word and property names are kept. ok is false when
// the line is not a command of the dialect (or is one only the exit may
// write: a mask registration); the caller then writes it as log text.
func (x *Exit) command(line string) (string, bool) {
	switch x.dialect {
	case GitHub:
		return x.githubCommand(line)
	case Azure:
		return x.azureCommand(line)
	}
	return "", false
}

// githubCommand handles "::name k=v,k=v::data".
func (x *Exit) githubCommand(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, ghCommand)
	if !ok || strings.ContainsAny(line, "\r\n") {
		return "", false
	}
	head, data, ok := strings.Cut(rest, "::")
	if !ok {
		return "", false
	}
	name, props, _ := strings.Cut(head, " ")
	if name == "" || name == "add-mask" || strings.ContainsAny(name, " ,=") {
		return "", false
	}
	var b strings.Builder
	b.WriteString("::")
	b.WriteString(name)
	if props != "" {
		b.WriteByte(' ')
		for i, kv := range strings.Split(props, ",") {
			k, v, _ := strings.Cut(kv, "=")
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(EscapeGitHubProperty(x.safeProperty(k, ghUnProp.Replace(v))))
		}
	}
	b.WriteString("::")
	b.WriteString(EscapeGitHubData(x.safeValue(ghUnData.Replace(data))))
	return b.String(), true
}

// azureCommand handles "##vso[area.event k=v;k=v]data" and the formatting
// commands "##[name]data".
func (x *Exit) azureCommand(line string) (string, bool) {
	if strings.ContainsAny(line, "\r\n") {
		return "", false
	}
	if rest, ok := strings.CutPrefix(line, azFormat); ok {
		name, data, ok := strings.Cut(rest, "]")
		if !ok || name == "" || strings.ContainsAny(name, " ;=#[") {
			return "", false
		}
		return azFormat + name + "]" + EscapeAzureData(x.safeValue(azUnData.Replace(data))), true
	}
	rest, ok := strings.CutPrefix(line, azCommand)
	if !ok {
		return "", false
	}
	head, data, ok := strings.Cut(rest, "]")
	if !ok {
		return "", false
	}
	name, props, _ := strings.Cut(head, " ")
	if name == "" || name == "task.setsecret" || strings.ContainsAny(name, ";=#[") {
		return "", false
	}
	secretValue := false
	var b strings.Builder
	b.WriteString(azCommand)
	b.WriteString(name)
	if props != "" {
		b.WriteByte(' ')
		for i, kv := range strings.Split(props, ";") {
			if i > 0 {
				b.WriteByte(';')
			}
			k, v, hasValue := strings.Cut(kv, "=")
			b.WriteString(k)
			if !hasValue {
				continue
			}
			v = azUnProp.Replace(v)
			if name == "task.setvariable" && strings.EqualFold(k, "issecret") && strings.EqualFold(v, "true") {
				secretValue = true
			}
			b.WriteByte('=')
			b.WriteString(EscapeAzureProperty(x.safeProperty(k, v)))
		}
	}
	b.WriteByte(']')
	data = azUnData.Replace(data)
	if secretValue {
		// The agent must see the value to mask it: it is visible and
		// defused, never masked.
		data = defuseHashes(Visible(data))
	} else {
		data = x.safeValue(data)
	}
	b.WriteString(EscapeAzureData(data))
	return b.String(), true
}

// safeValue is an untrusted part of a command: masked, visible, its
// "##[" and "##vso[" defused (the escapes keep it on one line, so no "::"
// can start one).
func (x *Exit) safeValue(v string) string {
	v = x.mask(v, maskLog, false)
	w := defuseHashes(Visible(v))
	if w != v {
		w = x.mask(w, maskLog, false)
	}
	return w
}

// structural are the command properties whose values the program itself
// chooses from a fixed set (a level, a line number, an output's name, a
// result): a value made of plain word characters stays as it is there, so
// a secret that happens to equal "error" or "true" cannot break the
// command. Every other value (a file path, a title) is masked.
var structural = map[string]bool{
	"line": true, "col": true, "endLine": true, "endColumn": true,
	"type": true, "linenumber": true, "columnnumber": true, "variable": true,
	"isOutput": true, "issecret": true, "isreadonly": true, "result": true,
}

// safeProperty is a property value: structural ones that are plain words
// stay, the rest is a safeValue.
func (x *Exit) safeProperty(key, v string) string {
	if structural[key] && plainWord(v) {
		return v
	}
	return x.safeValue(v)
}

func plainWord(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
