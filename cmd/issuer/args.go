package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed lets flags follow arguments, as the documented command lines
// do (`issuer app update APPID --token-version 2`, `issuer tenant list -o
// json`). urfave/cli v2 stops reading flags at a command's first argument,
// so before running we move each command's flags in front of its arguments,
// and global flags written after a command name to the front. A flag's value
// is the next word unless the flag is a boolean or written --flag=value.
// Anything after "--" stays an argument; unknown flags stay where urfave/cli
// will report them.
func interspersed(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	type level struct {
		name  string
		flags []string
	}
	levels := []level{{}} // levels[0] holds the global flags
	cmds, flags := app.Commands, app.Flags
	var positional []string
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' && !(a[1] >= '0' && a[1] <= '9') { // -30m is an argument
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			dst := &levels[len(levels)-1].flags
			f := lookupFlag(flags, name)
			if f == nil && len(levels) > 1 {
				if f = lookupFlag(app.Flags, name); f != nil {
					dst = &levels[0].flags
				}
			}
			switch {
			case f != nil && takesValue(f) && !hasValue && i+1 < len(rest):
				*dst = append(*dst, a, rest[i+1])
				i++
			case f != nil && !takesValue(f) && !hasValue && i+1 < len(rest) && isBoolWord(rest[i+1]):
				// "--enabled false", as people write it: Go's flag
				// package reads a boolean's value only after "=".
				*dst = append(*dst, a+"="+rest[i+1])
				i++
			default:
				*dst = append(*dst, a)
			}
			continue
		}
		if len(positional) == 0 {
			if cmd := lookupCommand(cmds, a); cmd != nil {
				levels = append(levels, level{name: a})
				cmds, flags = cmd.Subcommands, cmd.Flags
				continue
			}
		}
		positional = append(positional, a)
	}
	out := []string{args[0]}
	for i, l := range levels {
		if i > 0 {
			out = append(out, l.name)
		}
		out = append(out, l.flags...)
	}
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

func lookupFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func lookupCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether a flag reads the next word as its value
// (every flag but a boolean one).
func takesValue(f cli.Flag) bool {
	if d, ok := f.(cli.DocGenerationFlag); ok {
		return d.TakesValue()
	}
	return true
}

// isBoolWord reports whether s is a boolean value a user would write after
// a boolean flag.
func isBoolWord(s string) bool {
	return strings.EqualFold(s, "true") || strings.EqualFold(s, "false")
}
