package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"syscall"
)

var (
	// ErrTruncated means the file is shorter than its own meta page says:
	// it was cut (a copy or a disk that ran out of room). bbolt would map
	// the missing pages and the process would die of SIGBUS reading them.
	ErrTruncated = errors.New("truncated")
	// ErrDamaged means bbolt could not read the file's pages (a torn or
	// overwritten file).
	ErrDamaged = errors.New("damaged")
	// ErrUnsafeFile means the database file, or the directory entry
	// naming it, belongs to another user or can be read by group or
	// other: it holds signing keys and password hashes, so a file
	// somebody else planted, or one others can read, is refused rather
	// than adopted.
	ErrUnsafeFile = errors.New("not private to this user")
	// errBadMeta means a valid meta page names pages past its own
	// high-water mark.
	errBadMeta = errors.New("meta page out of range")
)

// openFile is bbolt's Options.OpenFile: it opens the database file and,
// before bbolt locks or maps anything, checks the open file (fstat, so
// nothing can be swapped in between) and its length against its meta
// pages. A new file gets mode 0600 from flag O_CREATE.
func openFile(path string, flag int, mode os.FileMode) (*os.File, error) {
	if err := checkEntry(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, flag, mode)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkPrivate(path, fi)
	}
	if err == nil {
		err = checkLength(path, f, fi.Size())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkEntry refuses a directory entry at path owned by another user: a
// symbolic link somebody else planted where the database belongs. An
// absent entry is fine (Open creates the file).
func checkEntry(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if uid, ok := owner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("storage: database %s is %w: the directory entry belongs to uid %d, not to uid %d running issuer; remove it",
			path, ErrUnsafeFile, uid, os.Geteuid())
	}
	return nil
}

// checkPrivate refuses an open database file that is not a regular file,
// belongs to another user, or has any group or other permission bit.
func checkPrivate(path string, fi fs.FileInfo) error {
	switch uid, ok := owner(fi); {
	case !fi.Mode().IsRegular():
		return fmt.Errorf("storage: database %s is not a regular file (%v)", path, fi.Mode().Type())
	case ok && uid != os.Geteuid():
		return fmt.Errorf("storage: database %s is %w: it belongs to uid %d, not to uid %d running issuer (somebody else created it; remove it, or run issuer as its owner)",
			path, ErrUnsafeFile, uid, os.Geteuid())
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("storage: database %s is %w: mode %04o lets group or other read it, and it holds signing keys and password hashes (chmod 600 %s)",
			path, ErrUnsafeFile, fi.Mode().Perm(), path)
	}
	return nil
}

// owner is the uid owning fi's file.
func owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// bbolt's file format (go.etcd.io/bbolt internal/common): every page starts
// with a 16-byte header; pages 0 and 1 hold a meta each, right after it.
// Integers are in the machine's byte order, which is little-endian on every
// platform issuer is built for.
const (
	boltPageHeader = 16
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	boltMetaSize   = 64 // magic, version, pageSize, flags, root (16), freelist, pgid, txid, checksum
	boltNoFreelist = ^uint64(0)
)

// boltMeta is the part of a bbolt meta page the length check needs.
type boltMeta struct {
	pageSize       uint64
	root, freelist uint64
	pages, txid    uint64 // pages: the high-water mark, one past the last page id in use
	valid          bool
}

// parseBoltMeta reads the meta of the page starting at b[0], as bbolt's
// Meta.Validate does: magic, version and the FNV-64a checksum of the bytes
// before it.
func parseBoltMeta(b []byte) boltMeta {
	if len(b) < boltPageHeader+boltMetaSize {
		return boltMeta{}
	}
	m := b[boltPageHeader : boltPageHeader+boltMetaSize]
	le := binary.LittleEndian
	h := fnv.New64a()
	h.Write(m[:56])
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion || le.Uint64(m[56:]) != h.Sum64() {
		return boltMeta{}
	}
	return boltMeta{
		pageSize: uint64(le.Uint32(m[8:])), root: le.Uint64(m[16:]), freelist: le.Uint64(m[32:]),
		pages: le.Uint64(m[40:]), txid: le.Uint64(m[48:]), valid: true,
	}
}

// checkLength refuses a file shorter than the meta page bbolt would use
// says it is, or whose meta names a root or freelist page past its
// high-water mark. bbolt maps the file and reads pages through the
// mapping; a page past the end of the file is a SIGBUS, which no recover
// catches, so this runs before bbolt reads any page. A file whose metas
// are both invalid is left to bbolt, which refuses it with an error
// without mapping anything past them.
func checkLength(path string, f io.ReaderAt, size int64) error {
	if size == 0 {
		return nil // a new file: bbolt writes the first pages
	}
	meta := readBoltMeta(f, size)
	if !meta.valid {
		return nil
	}
	need := meta.pages * meta.pageSize
	switch {
	case meta.pageSize == 0 || meta.pages > uint64(size) || need > uint64(size):
		return fmt.Errorf("storage: damaged database %s: %w: its meta page counts %d pages of %d bytes (%d bytes) but the file has %d bytes (restore a backup)",
			path, ErrTruncated, meta.pages, meta.pageSize, need, size)
	case meta.root >= meta.pages || (meta.freelist >= meta.pages && meta.freelist != boltNoFreelist):
		return fmt.Errorf("storage: damaged database %s: %w: it names root page %d and freelist page %d beyond its %d pages (restore a backup)",
			path, errBadMeta, meta.root, meta.freelist, meta.pages)
	}
	return nil
}

// readBoltMeta returns the meta bbolt would use: the page size comes from
// meta 0, or else from meta 1 found at the page sizes bbolt tries (1 KiB to
// 16 MiB); of the two metas, the valid one with the higher transaction id.
func readBoltMeta(f io.ReaderAt, size int64) boltMeta {
	page := func(off int64) boltMeta {
		b := make([]byte, boltPageHeader+boltMetaSize)
		if _, err := f.ReadAt(b, off); err != nil {
			return boltMeta{}
		}
		return parseBoltMeta(b)
	}
	m0 := page(0)
	pageSize := m0.pageSize
	var m1 boltMeta
	if m0.valid {
		m1 = page(int64(pageSize))
	} else {
		for i := 0; i <= 14 && int64(1024)<<i < size-1024; i++ {
			if m1 = page(int64(1024) << i); m1.valid {
				break
			}
		}
	}
	switch {
	case m0.valid && m1.valid && m1.txid > m0.txid:
		return m1
	case m0.valid:
		return m0
	}
	return m1
}
