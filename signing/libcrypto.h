// The OpenSSL signer's C half (libcrypto.c): libcrypto loaded at run time,
// and the threads that sign outside the Go scheduler (threads.go).

#include <stddef.h>

#define ISSUER_DIGEST 32
#define ISSUER_MAX_SIG 512 /* RSA-4096 */

// issuer_job is one signature: the key and digest Go hands over, the
// signature (len 0 when libcrypto failed) a signing thread hands back.
typedef struct {
	void *key;
	unsigned char digest[ISSUER_DIGEST];
	unsigned char sig[ISSUER_MAX_SIG];
	size_t len;
} issuer_job;

const char *issuer_ssl_load(const char *name);
const char *issuer_ssl_version(void);
void *issuer_ssl_key(const unsigned char *der, long len);
void issuer_ssl_key_free(void *key);
size_t issuer_ssl_sign(void *key, const unsigned char *digest, unsigned char *sig, size_t cap);

issuer_job *issuer_ssl_start(int threads, int slots, int notify_fd);
void issuer_ssl_submit(int slot);
int issuer_ssl_collect(int *slots, int max);
