package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/urfave/cli/v2"
)

// Files a command writes (app cert create's key and certificate, db
// backup's copy) go where the user who typed the command asked, whichever
// way the command runs:
//
//   - run directly, the command creates them;
//   - sent over the admin socket, the server creates them: the socket
//     (mode 0600) means the server and the client are the same user on the
//     same machine, and the client sends its working directory so that a
//     relative name means what it meant to the user;
//   - sent over HTTPS, the server creates nothing on its own machine (a
//     remote client naming a path there could create files anywhere the
//     server may write): it returns the files in its answer, and the
//     client creates them, but only those the command line named.
//
// Files are created exclusively (an existing file is never overwritten)
// with their mode, synced before the command reports success. The files are
// named by outputFileFlags (or, for db backup, the arguments), so route
// checks, before the command runs or is sent, that none exists, and the
// client accepts from a server only the files they name.

// maxAdminOutputBytes bounds what a command sent over HTTPS may return as
// files, within the answer's limit (maxAdminResponseBytes, which base64
// inflates by a third).
const maxAdminOutputBytes = 32 << 20

// adminFile is a file a command sent over HTTPS wrote, returned to the
// client.
type adminFile struct {
	Name string      `json:"name"`
	Mode fs.FileMode `json:"mode"`
	Data []byte      `json:"data"`
}

// outputFileFlag is a flag naming a file the command writes.
type outputFileFlag struct{ cli.PathFlag }

func outputFile(f cli.PathFlag) *outputFileFlag { return &outputFileFlag{f} }

// outputFiles returns the names of the files the command line asks the
// command to write: the values of its outputFileFlags, and its arguments
// when its placement says they name files (db backup FILE).
func outputFiles(c *cli.Context, p placement) []string {
	var names []string
	for _, f := range c.Command.Flags {
		if _, ok := f.(*outputFileFlag); ok && c.IsSet(f.Names()[0]) {
			names = append(names, c.Path(f.Names()[0]))
		}
	}
	if p.outputArgs {
		names = append(names, c.Args().Slice()...)
	}
	return names
}

// checkOutputs checks, before the command does anything, that none of the
// files it will write exists where it would be created.
func checkOutputs(c *cli.Context, names []string) error {
	e := envOf(c)
	for _, name := range names {
		if name == "" {
			return usageError("an output file name is empty")
		}
		path, err := e.outputPath(name)
		if err != nil {
			return err
		}
		if path == "" {
			continue // returned to the client, which checked it
		}
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s already exists; not overwriting it", name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// outputPath is where the file name is created here, or "" when it is
// returned to the client instead (HTTPS).
func (e *env) outputPath(name string) (string, error) {
	switch a := e.admin; {
	case a == nil:
		return name, nil
	case a.collect:
		return "", nil
	case filepath.IsAbs(name):
		return name, nil
	case a.dir == "":
		return "", fmt.Errorf("%s: a relative file name, and the client did not send its working directory", name)
	}
	return filepath.Join(e.admin.dir, name), nil
}

// writeOutputFile creates the file name with mode from what write writes:
// here, or, for a command sent over HTTPS, in the answer.
func writeOutputFile(c *cli.Context, name string, mode fs.FileMode, write func(io.Writer) error) error {
	e := envOf(c)
	path, err := e.outputPath(name)
	if err != nil {
		return err
	}
	if path != "" {
		return createFile(path, mode, write)
	}
	used := 0
	for _, f := range e.admin.outFiles {
		used += len(f.Data)
	}
	buf := &cappedBuffer{max: maxAdminOutputBytes - used}
	if err := write(buf); err != nil {
		return err
	}
	e.admin.outFiles = append(e.admin.outFiles, adminFile{Name: name, Mode: mode, Data: buf.Bytes()})
	return nil
}

// createFile creates path exclusively with mode, holding what write
// writes. The data goes to a temporary file in the same directory, is
// synced, and only then is linked to path (link fails if path exists, so
// nothing is overwritten): a process killed half way leaves a stray
// temporary file, never a truncated file under the name asked for (a torn
// backup would look like a backup). The directory is synced so that the
// name survives a crash too.
func createFile(path string, mode fs.FileMode, write func(io.Writer) error) error {
	return writeViaTemp(path, mode, write, os.Link)
}

// writeViaTemp writes a temporary file beside path with mode, syncs it, and
// puts it in place with place(temp, path), then syncs the directory. On any
// failure the temporary file is removed.
func writeViaTemp(path string, mode fs.FileMode, write func(io.Writer) error, place func(oldname, newname string) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		os.Remove(tmp) // after link, the temporary name only
	}()
	// fchmod is not subject to the umask: the file gets exactly mode.
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	err = f.Close()
	f = nil
	if err != nil {
		return err
	}
	if err := place(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes the directory entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeNewFile creates path with mode holding data, failing if it exists.
func writeNewFile(path string, data []byte, mode fs.FileMode) error {
	return createFile(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// cappedBuffer is a bytes.Buffer that refuses to grow beyond max.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("the output is larger than the %d MiB the remote admin API returns; run the command on the server's machine, where it goes over the admin socket", maxAdminOutputBytes>>20)
	}
	return b.Buffer.Write(p)
}

// writeReturnedFiles creates, on the client, the files a server returned
// with a command sent over HTTPS. Only files the command line named
// (outputs) are accepted: a server cannot make the client write elsewhere.
func writeReturnedFiles(outputs []string, files []adminFile) error {
	for _, f := range files {
		if !slices.Contains(outputs, f.Name) {
			return fmt.Errorf("the server returned a file %q the command did not name; nothing was written", f.Name)
		}
	}
	for _, f := range files {
		if err := writeNewFile(f.Name, f.Data, f.Mode.Perm()&0o666); err != nil {
			return fmt.Errorf("writing %s: %w", f.Name, err)
		}
	}
	return nil
}
