//go:build cgo && unix && !issuer_noopenssl

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcrypto.h"

// libcrypto is loaded at run time, so building needs no OpenSSL headers and
// the binary runs where none is installed. These are the few functions the
// signer uses, with the signatures they have in OpenSSL 1.1 and 3.x alike.
static struct {
	void *(*d2i_PrivateKey)(int, void **, const unsigned char **, long);
	void (*EVP_PKEY_free)(void *);
	void *(*EVP_PKEY_CTX_new)(void *, void *);
	void (*EVP_PKEY_CTX_free)(void *);
	int (*EVP_PKEY_sign_init)(void *);
	int (*EVP_PKEY_sign)(void *, unsigned char *, size_t *, const unsigned char *, size_t);
	void (*ERR_clear_error)(void);
	const char *(*OpenSSL_version)(int);
} ssl;

// issuer_ssl_load opens name and resolves the functions above: NULL, or
// what is missing (name itself when it does not open).
const char *issuer_ssl_load(const char *name) {
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) return name;
#define SYM(f) if ((*(void **)&ssl.f = dlsym(h, #f)) == NULL) return #f
	SYM(d2i_PrivateKey); SYM(EVP_PKEY_free); SYM(EVP_PKEY_CTX_new);
	SYM(EVP_PKEY_CTX_free); SYM(EVP_PKEY_sign_init); SYM(EVP_PKEY_sign);
	SYM(ERR_clear_error); SYM(OpenSSL_version);
#undef SYM
	return NULL;
}

const char *issuer_ssl_version(void) { return ssl.OpenSSL_version(0); }

// issuer_ssl_key parses a PKCS #1 RSAPrivateKey (EVP_PKEY_RSA is 6).
void *issuer_ssl_key(const unsigned char *der, long len) {
	void *k = ssl.d2i_PrivateKey(6, NULL, &der, len);
	if (k == NULL) ssl.ERR_clear_error();
	return k;
}

void issuer_ssl_key_free(void *key) { ssl.EVP_PKEY_free(key); }

// Each thread keeps the signing context of the key it used last, so that
// consecutive signatures with one key (nearly all of them) set up nothing.
// The context holds a reference to its key: a key Go frees stays alive,
// and its address unused, until its last context moves on.
static __thread void *ctx_key, *ctx;

// issuer_ssl_sign writes the RS256 signature of a SHA-256 digest to sig and
// returns its length, or 0 when libcrypto fails. RSASSA-PKCS1-v1_5 signs
// the DER DigestInfo of the digest (RFC 8017 §9.2); a context's defaults
// (PKCS #1 v1.5 padding, no digest set) make EVP_PKEY_sign pad and sign
// that DigestInfo as given, in OpenSSL 1.1 and 3.x alike.
size_t issuer_ssl_sign(void *key, const unsigned char *digest, unsigned char *sig, size_t cap) {
	static const unsigned char sha256_prefix[19] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
	unsigned char tbs[sizeof sha256_prefix + ISSUER_DIGEST];
	if (key != ctx_key || ctx == NULL) {
		if (ctx != NULL) ssl.EVP_PKEY_CTX_free(ctx);
		ctx_key = key;
		ctx = ssl.EVP_PKEY_CTX_new(key, NULL);
		if (ctx != NULL && ssl.EVP_PKEY_sign_init(ctx) <= 0) {
			ssl.EVP_PKEY_CTX_free(ctx);
			ctx = NULL;
		}
		if (ctx == NULL) {
			ssl.ERR_clear_error();
			return 0;
		}
	}
	memcpy(tbs, sha256_prefix, sizeof sha256_prefix);
	memcpy(tbs + sizeof sha256_prefix, digest, ISSUER_DIGEST);
	size_t len = cap;
	if (ssl.EVP_PKEY_sign(ctx, sig, &len, tbs, sizeof tbs) <= 0) {
		ssl.ERR_clear_error();
		return 0;
	}
	return len;
}

// The signing threads. Go fills a job slot and submits its number; a
// thread signs it and moves the number to the done queue; Go collects done
// numbers. When Go finds the done queue empty it says so (armed), and a
// thread that finishes a job writes a byte to notify_fd, a pipe Go reads
// through its network poller: one wake-up for all the jobs finished while
// Go was busy. Both queues are rings of slot numbers, never fuller than
// the number of slots.
//
// An armed thread writes only once NOTIFY_BATCH jobs are done, or when the
// jobs still queued are no more than the threads (they are about to run
// out of work, and Go must answer and submit more). On a core shared by Go
// and a signing thread, each wake-up of Go's threads preempts a signature
// and restarts the Go runtime's monitor, which then polls every 20 µs
// while Go works: waking Go once a batch rather than once a job halves the
// context switches per token. Go callers that submit a job collect what
// is done on the way (threads.go), so answers wait for a batch only while
// Go has nothing else to do.
static struct {
	pthread_mutex_t mu;
	pthread_cond_t work;
	issuer_job *jobs;
	int slots;
	int *pending, pending_head, pending_len;
	int *done, done_head, done_len;
	int armed;
	int notify_fd;
	int threads;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

#define NOTIFY_BATCH 8

static void *sign_thread(void *arg) {
	(void)arg;
	pthread_mutex_lock(&q.mu);
	for (;;) {
		while (q.pending_len == 0) pthread_cond_wait(&q.work, &q.mu);
		int slot = q.pending[q.pending_head];
		q.pending_head = (q.pending_head + 1) % q.slots;
		q.pending_len--;
		pthread_mutex_unlock(&q.mu);

		issuer_job *j = &q.jobs[slot];
		j->len = issuer_ssl_sign(j->key, j->digest, j->sig, sizeof j->sig);

		pthread_mutex_lock(&q.mu);
		q.done[(q.done_head + q.done_len) % q.slots] = slot;
		q.done_len++;
		if (q.armed && (q.done_len >= NOTIFY_BATCH || q.pending_len <= q.threads)) {
			q.armed = 0;
			// Written without the lock: the write wakes a Go thread that
			// may preempt this one at once, and would then block on the
			// lock this one holds, a round trip of two more switches.
			pthread_mutex_unlock(&q.mu);
			char b = 1;
			while (write(q.notify_fd, &b, 1) < 0 && errno == EINTR) {
			}
			pthread_mutex_lock(&q.mu);
		}
	}
	return NULL;
}

// issuer_ssl_start allocates the slots and starts the threads, once per
// process; it returns the slots, or NULL when that fails.
issuer_job *issuer_ssl_start(int threads, int slots, int notify_fd) {
	q.jobs = calloc(slots, sizeof *q.jobs);
	q.pending = calloc(slots, sizeof *q.pending);
	q.done = calloc(slots, sizeof *q.done);
	if (q.jobs == NULL || q.pending == NULL || q.done == NULL) return NULL;
	q.slots = slots;
	q.notify_fd = notify_fd;
	q.threads = threads;
	int started = 0;
	for (int i = 0; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, sign_thread, NULL) == 0) {
			pthread_detach(t);
			started++;
		}
	}
	return started > 0 ? q.jobs : NULL;
}

// issuer_ssl_submit queues a filled slot.
// A waiting thread is signalled after the lock is released, for the same
// reason as the notification above: woken, it may preempt the caller.
void issuer_ssl_submit(int slot) {
	pthread_mutex_lock(&q.mu);
	q.pending[(q.pending_head + q.pending_len) % q.slots] = slot;
	q.pending_len++;
	pthread_mutex_unlock(&q.mu);
	pthread_cond_signal(&q.work);
}

// issuer_ssl_collect moves up to max done slot numbers to slots and
// returns how many; 0 means none was done, and arms the notification.
int issuer_ssl_collect(int *slots, int max) {
	pthread_mutex_lock(&q.mu);
	int n = 0;
	while (n < max && q.done_len > 0) {
		slots[n++] = q.done[q.done_head];
		q.done_head = (q.done_head + 1) % q.slots;
		q.done_len--;
	}
	if (n == 0) q.armed = 1;
	pthread_mutex_unlock(&q.mu);
	return n;
}
