package cmd

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/amigo-release/amigo-release/internal/buildinfo"
)

func init() {
	register(command{name: "version", order: 50, summary: "print version, commit, build date and Go version", run: runVersion})
}

func runVersion(_ context.Context, env *Env, args []string) error {
	var asJSON bool
	f := newFlagSet("version", "[--json]", "Prints the version, git commit, build date, Go version and platform of this binary.\n"+
		"Release builds carry them from -ldflags; other builds show what the Go toolchain recorded.", env)
	f.Bool(&asJSON, "json", "", "", false, "print as a JSON object")
	if err := f.parse(args, env.Stdout); err != nil {
		return err
	}
	info := buildinfo.Get()
	if asJSON {
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(env.Stdout, "%s\n", b)
		return err
	}
	_, err := fmt.Fprint(env.Stdout, info.String())
	return err
}
