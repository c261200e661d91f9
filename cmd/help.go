package cmd

import (
	"context"
	"fmt"
	"strings"
)

func init() {
	register(command{name: "help", order: 90, summary: "show a command's help (help run), or this list", run: runHelpCommand, args: commandNames})
}

const helpHelp = `Shows the help of COMMAND: what it does, each flag with its environment variable,
action input and default, the same text as 'amigo-release COMMAND --help'. Without
COMMAND, the list of commands and the exit codes.`

func runHelpCommand(ctx context.Context, env *Env, args []string) error {
	f := newFlagSet("help", "[COMMAND]", helpHelp, env)
	rest, err := f.parseArgs(args, env.Stdout, 1)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		usage(env.Stdout)
		return nil
	}
	c, ok := lookup(rest[0])
	if !ok {
		return usageErrorf("unknown command %q%s; the commands are %s", rest[0], suggestCommand(rest[0]), strings.Join(commandNames(), ", "))
	}
	// Every command prints its help for --help before doing anything else
	// (see register); errHelp tells Main to exit 0.
	return c.run(ctx, env, []string{"--help"})
}

// commandNames lists the registered commands in help order.
func commandNames() []string {
	var out []string
	for _, c := range commands() {
		out = append(out, c.name)
	}
	return out
}

// suggestCommand is "; did you mean \"run\"?" for a near miss, or "".
func suggestCommand(name string) string {
	for _, c := range commands() {
		if editDistance(name, c.name) <= 2 {
			return fmt.Sprintf("; did you mean %q?", c.name)
		}
	}
	return ""
}
