package cmd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// flagSpec is one flag with the environment variable and the GitHub Action
// input that can also set it.
type flagSpec struct {
	name  string // flag name without dashes
	env   string // AMIGO_* variable, or ""
	input string // action.yml input name, or ""
	def   string // default as shown in --help
	arg   string // placeholder in --help; FILE and DIR also mean file and directory completion; "" for booleans
	usage string
	show  string // default as described in --help when it is not a value ("per tool: ..."); overrides def there
	// secret: the value is a credential; --verbose shows it as ***.
	secret bool
}

// flagSet parses one subcommand's flags with the precedence
// flag > action input (INPUT_*, only inside GitHub Actions) > AMIGO_* variable > default.
type flagSet struct {
	fs          *flag.FlagSet
	name        string // subcommand
	synopsis    string // "[flags]"
	description string
	specs       []flagSpec
	getenv      func(string) string
	inAction    bool
	onHelp      func(*flagSet) // Env.onHelp
	// origin records where each flag's value came from (for tests and
	// error messages): "flag", "input", "env" or "default".
	origin map[string]string
	phase  string // the source being applied by parse
	// after runs at the end of a successful parse (defaults that depend on
	// other variables, as --verbose's).
	after []func()
}

func newFlagSet(name, synopsis, description string, env *Env) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned and printed by Main
	return &flagSet{
		fs: fs, name: name, synopsis: synopsis, description: description,
		getenv: env.Getenv, inAction: env.Getenv("GITHUB_ACTIONS") == "true",
		onHelp: env.onHelp, origin: map[string]string{},
	}
}

func (f *flagSet) add(s flagSpec, v flag.Value) {
	f.specs = append(f.specs, s)
	f.origin[s.name] = "default"
	if b, ok := v.(*boolValue); ok {
		f.fs.Var(&trackedBool{tracked{b, f, s.name}}, s.name, s.usage)
		return
	}
	f.fs.Var(&tracked{v, f, s.name}, s.name, s.usage)
}

// tracked records in origin which source set a flag last.
type tracked struct {
	flag.Value
	f    *flagSet
	name string
}

func (t *tracked) Set(s string) error {
	if err := t.Value.Set(s); err != nil {
		return err
	}
	t.f.origin[t.name] = t.f.phase
	return nil
}

type trackedBool struct{ tracked }

func (*trackedBool) IsBoolFlag() bool { return true }

// String defines a string flag.
func (f *flagSet) String(p *string, name, env, input, def, arg, usage string) {
	*p = def
	f.add(flagSpec{name: name, env: env, input: input, def: def, arg: arg, usage: usage}, (*stringValue)(p))
}

// Secret marks flag name as a credential (--verbose hides its value).
func (f *flagSet) Secret(name string) {
	for i := range f.specs {
		if f.specs[i].name == name {
			f.specs[i].secret = true
		}
	}
}

// Bool defines a boolean flag; its variable accepts true/false/1/0/yes/no.
func (f *flagSet) Bool(p *bool, name, env, input string, def bool, usage string) {
	*p = def
	f.add(flagSpec{name: name, env: env, input: input, def: strconv.FormatBool(def), usage: usage}, (*boolValue)(p))
}

// Float defines a float flag.
func (f *flagSet) Float(p *float64, name, env, input string, def float64, arg, usage string) {
	*p = def
	f.add(flagSpec{name: name, env: env, input: input, def: strconv.FormatFloat(def, 'g', -1, 64), arg: arg, usage: usage}, (*floatValue)(p))
}

// Int defines an integer flag.
func (f *flagSet) Int(p *int, name, env, input string, def int, arg, usage string) {
	*p = def
	f.add(flagSpec{name: name, env: env, input: input, def: strconv.Itoa(def), arg: arg, usage: usage}, (*intValue)(p))
}

// Duration defines a duration flag (Go syntax: 90s, 5m).
func (f *flagSet) Duration(p *time.Duration, name, env, input string, def time.Duration, arg, usage string) {
	*p = def
	f.add(flagSpec{name: name, env: env, input: input, def: def.String(), arg: arg, usage: usage}, (*durationValue)(p))
}

// describeDefault replaces the default --help shows for flag name, for a
// default that is a rule rather than a value.
func (f *flagSet) describeDefault(name, text string) {
	for i := range f.specs {
		if f.specs[i].name == name {
			f.specs[i].show = text
		}
	}
}

// capture, when set (by tests), sees every flag set when it parses.
var capture func(*flagSet)

// errHelp is returned by parse when --help was asked for; the usage has
// already been written.
var errHelp = errors.New("help requested")

// parse applies variables, then inputs, then the command line. A bad value
// or an unknown flag is a usage error naming its source. Positional
// arguments are refused (see parseArgs).
func (f *flagSet) parse(args []string, stdout io.Writer) error {
	_, err := f.parseArgs(args, stdout, 0)
	return err
}

// parseArgs is parse for a command that takes up to max positional
// arguments (after its flags); it returns them.
func (f *flagSet) parseArgs(args []string, stdout io.Writer, max int) ([]string, error) {
	if capture != nil {
		capture(f)
	}
	for _, s := range f.specs {
		f.phase = "env"
		if v := f.getenv(s.env); s.env != "" && v != "" {
			if err := f.fs.Set(s.name, v); err != nil {
				return nil, usageErrorf("environment variable %s=%q: %v", s.env, v, err)
			}
		}
		if s.input == "" || !f.inAction {
			continue
		}
		f.phase = "input"
		key := "INPUT_" + strings.ToUpper(strings.ReplaceAll(s.input, " ", "_"))
		if v := strings.TrimSpace(f.getenv(key)); v != "" {
			if err := f.fs.Set(s.name, v); err != nil {
				return nil, usageErrorf("action input %q (%s=%q): %v", s.input, key, v, err)
			}
		}
	}
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			if f.onHelp != nil {
				f.onHelp(f)
				return nil, errHelp
			}
			f.usage(stdout)
			return nil, errHelp
		}
		if a == "--" {
			break
		}
	}
	f.phase = "flag"
	if err := f.fs.Parse(args); err != nil {
		return nil, usageErrorf("%v%s (see: amigo-release %s --help)", err, f.suggest(err), f.name)
	}
	if f.fs.NArg() > max {
		if max == 0 {
			return nil, usageErrorf("unexpected argument %q: %s takes flags only (see: amigo-release %s --help)", f.fs.Arg(0), f.name, f.name)
		}
		return nil, usageErrorf("unexpected argument %q: %s takes at most %d (see: amigo-release %s --help)", f.fs.Arg(max), f.name, max, f.name)
	}
	for _, fn := range f.after {
		fn()
	}
	return f.fs.Args(), nil
}

// suggest names the closest defined flag for an unknown one
// ("; did you mean --dry-run?"), or "" when none is close.
func (f *flagSet) suggest(err error) string {
	const prefix = "flag provided but not defined: -"
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) {
		return ""
	}
	bad := strings.TrimLeft(strings.TrimPrefix(msg, prefix), "-")
	best, bestD := "", 3
	for _, s := range f.specs {
		if d := editDistance(strings.ReplaceAll(bad, "_", "-"), s.name); d < bestD || (d == bestD && best == "" && strings.HasPrefix(s.name, bad)) {
			best, bestD = s.name, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean --" + best + "?"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// usage writes the subcommand's help: synopsis, description and every flag
// with its variable, action input and default.
func (f *flagSet) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: amigo-release %s %s\n\n%s\n\n", f.name, f.synopsis, strings.TrimSpace(f.description))
	if len(f.specs) == 0 {
		return
	}
	order := "a flag beats its environment variable, which beats the default"
	for _, s := range f.specs {
		if s.input != "" {
			order = "a flag beats its action input (inside GitHub Actions), which beats its environment variable, which beats the default"
			break
		}
	}
	fmt.Fprintf(w, "Flags (%s):\n", order)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range f.specs {
		name := "--" + s.name
		if s.arg != "" {
			name += " " + s.arg
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, s.usage)
		var src []string
		if s.env != "" {
			src = append(src, "env "+s.env)
		}
		if s.input != "" {
			src = append(src, "action input "+s.input)
		}
		def := s.def
		if s.show != "" {
			def = s.show
		} else if def == "" {
			def = "none"
		} else {
			def = strconv.Quote(def)
		}
		src = append(src, "default "+def)
		fmt.Fprintf(tw, "  \t(%s)\n", strings.Join(src, "; "))
	}
	fmt.Fprintf(tw, "  --help\tshow this help\n")
	tw.Flush()
}

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

type boolValue bool

func (v *boolValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "yes", "y", "on":
		*v = true
	case "0", "f", "false", "no", "n", "off":
		*v = false
	default:
		return fmt.Errorf("want true or false, got %q", s)
	}
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

type floatValue float64

func (v *floatValue) Set(s string) error {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("want a number, got %q", s)
	}
	*v = floatValue(x)
	return nil
}
func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }

type intValue int

func (v *intValue) Set(s string) error {
	x, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want an integer, got %q", s)
	}
	*v = intValue(x)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want a duration such as 90s or 5m, got %q", s)
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return time.Duration(*v).String() }
