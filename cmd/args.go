package cmd

import "strings"

// splitPositional separates the positional arguments of a command that
// takes some (`notes <tool>`, `rollback <tool>`) from its flags, wherever
// they stand: `rollback weather --to 1.2.0` and `rollback --to 1.2.0
// weather` mean the same. An argument is a flag when it starts with '-';
// a flag that takes a value (not a boolean, no "=") takes the next
// argument with it; everything after "--" is positional.
func (f *flagSet) splitPositional(args []string) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(positional, args[i+1:]...)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		fl := f.fs.Lookup(name)
		if fl == nil {
			continue // unknown: parse reports it
		}
		if b, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return flags, positional
}
