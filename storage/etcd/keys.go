package etcd

import (
	"bytes"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/issuer-dev/issuer/storage"
)

// The keys of one directory under its prefix P (e.g. "/issuer"):
//
//	P/c/commit                       the commit marker: every write puts it,
//	                                 so its ModRevision is the revision of
//	                                 the directory's last write
//	P/c/kek                          a known text sealed with the
//	                                 key-encryption key: a replica given
//	                                 another key stops at start
//	P/d/B1/B2/…/                     bucket B1/B2/… of storage's layout exists
//	P/d/B1/B2/…//KEY                 KEY of that bucket; its value is the
//	                                 bucket's value, sealed (crypt.go) in the
//	                                 buckets holding private keys
//	P/l/…                            the cluster's sign-in log
//	                                 (signinlog.go), which replicas do
//	                                 not watch
//
// Bucket names never contain '/' and are never empty (storage's layout:
// fixed names and tenant GUIDs), so the first "//" ends the bucket path and
// a key may hold any byte. Deleting a bucket is one DeleteRange of
// "P/d/B1/…/", whatever it holds.

const (
	controlDir = "/c/"
	commitKey  = controlDir + "commit"
	kekKey     = controlDir + "kek"
	dataDir    = "/d/"
)

// watchRange is the range of keys a replica's watch follows: the commit
// marker and key check (P/c/) and the data area (P/d/), which sort next
// to each other. The sign-in log (P/l/, signinlog.go) sorts after them
// and stays out: its batches change nothing in the directory, and a
// watch over them would carry every replica's batches to every replica.
func (s *Store) watchRange() (key, end string) {
	return s.prefix + controlDir, clientv3.GetPrefixRangeEnd(s.prefix + dataDir)
}

// bucketPrefix is the etcd key of a bucket's marker, and the prefix of
// everything in it.
func (s *Store) bucketPrefix(path []string) (string, error) {
	var b strings.Builder
	b.WriteString(s.prefix)
	b.WriteString(dataDir)
	for _, name := range path {
		if name == "" || strings.Contains(name, "/") {
			return "", fmt.Errorf("etcd: bucket name %q cannot be stored (empty or containing '/')", name)
		}
		b.WriteString(name)
		b.WriteByte('/')
	}
	return b.String(), nil
}

// dataKey is the etcd key of key k of the bucket at path.
func (s *Store) dataKey(path []string, k []byte) (string, error) {
	p, err := s.bucketPrefix(path)
	if err != nil {
		return "", err
	}
	return p + "/" + string(k), nil
}

// parseKey turns an etcd key of the data area back into a bucket path and,
// for a key rather than a bucket marker, the key. ok is false for keys
// outside the data area.
func (s *Store) parseKey(etcdKey []byte) (path []string, k []byte, isKey, ok bool) {
	rest, found := bytes.CutPrefix(etcdKey, []byte(s.prefix+dataDir))
	if !found {
		return nil, nil, false, false
	}
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '/')
		if i < 0 {
			return nil, nil, false, false // no trailing '/': not ours
		}
		if i == 0 { // "//": the key follows
			return path, append([]byte{}, rest[1:]...), true, len(path) > 0
		}
		path = append(path, string(rest[:i]))
		rest = rest[i+1:]
	}
	return path, nil, false, len(path) > 0
}

// changeOf decodes one etcd key-value of the data area into the change
// that recreates it locally: a bucket marker creates the bucket, a key is
// put (its value opened when sealed). A deletion deletes.
func (s *Store) changeOf(etcdKey, value []byte, deleted bool) (storage.Change, bool, error) {
	path, k, isKey, ok := s.parseKey(etcdKey)
	if !ok {
		return storage.Change{}, false, nil
	}
	switch {
	case !isKey && deleted:
		return storage.Change{Kind: storage.ChangeDeleteBucket, Bucket: path}, true, nil
	case !isKey:
		return storage.Change{Kind: storage.ChangeCreateBucket, Bucket: path}, true, nil
	case deleted:
		return storage.Change{Kind: storage.ChangeDelete, Bucket: path, Key: k}, true, nil
	}
	v := append([]byte{}, value...)
	if sealedBucket(path) {
		var err error
		if v, err = s.crypt.open(string(etcdKey), value); err != nil {
			return storage.Change{}, false, err
		}
	}
	return storage.Change{Kind: storage.ChangePut, Bucket: path, Key: k, Value: v}, true, nil
}

// sealedBucket reports whether values of the bucket at path are private
// key material: the signing keys, and the settings (the local CA's key).
func sealedBucket(path []string) bool {
	return len(path) == 1 && (path[0] == "keys" || path[0] == "settings")
}
