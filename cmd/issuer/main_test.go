package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// binDir holds the binary issuerBinary builds, once per test run.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

// TestMain lets `issuer bench` start its server from this test binary:
// under `go test`, os.Executable() is the test binary, and the bench marks
// its child with childEnv, on which the binary runs the CLI instead of the
// tests. Otherwise it makes the directory issuerBinary builds into.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
	}
	dir, err := os.MkdirTemp("", "issuer-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// issuerBinary builds the issuer binary (once for all the tests that run
// it as a separate process) and returns its path.
func issuerBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "issuer")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binError = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}
