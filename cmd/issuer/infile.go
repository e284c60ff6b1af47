package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// Files a command reads (apply -f, app cert add --cert) are the client's,
// whichever way the command runs: the client reads them, and a command sent
// to a server carries their content, by the name given on the command
// line. A server reads only what the client sent, never a file of its own
// that a client names. The flag's type says which flags name such files,
// so that route reads them before the command is sent.

// maxInputBytes bounds a file a command reads (a seed).
const maxInputBytes = 16 << 20

// inputFileFlag is a flag naming a file the command reads; "-" is standard
// input.
type inputFileFlag struct{ cli.PathFlag }

func inputFile(f cli.PathFlag) *inputFileFlag { return &inputFileFlag{f} }

// inputFiles returns the names the command line gives its inputFileFlags.
func inputFiles(c *cli.Context) []string {
	var names []string
	for _, f := range c.Command.Flags {
		if _, ok := f.(*inputFileFlag); ok && c.IsSet(f.Names()[0]) {
			names = append(names, c.Path(f.Names()[0]))
		}
	}
	return names
}

// readInput returns the content of a file an inputFileFlag names: inside a
// server, what the client sent; elsewhere, the file itself.
func readInput(c *cli.Context, name string) ([]byte, error) {
	e := envOf(c)
	if e.admin != nil {
		data, ok := e.admin.files[name]
		if !ok {
			return nil, fmt.Errorf("%s: the client did not send this file", name)
		}
		return data, nil
	}
	return readClientFile(e, name)
}

// readClientFile reads the file name, or standard input for "-", up to
// maxInputBytes.
func readClientFile(e *env, name string) ([]byte, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > maxInputBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, maxInputBytes)
	}
	return data, nil
}
