/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_internal.h - what the HSM applet's source files share: the session
 * state, the ids of its records, and each module's commands and helpers.
 *
 *   hsm.c        selection, session state, dispatch, GET CHALLENGE
 *   hsm_pin.c    INITIALIZE, VERIFY, CHANGE REFERENCE DATA, RESET RETRY
 *                COUNTER over the PIN service; the configuration; the master
 *                key wrapped under each PIN; the migration hook
 *   hsm_files.c  SELECT of files, READ/UPDATE BINARY, DELETE FILE,
 *                ENUMERATE OBJECTS; access rules per FID prefix
 *   hsm_keys.c   device key and certificate, GENERATE ASYMMETRIC KEY PAIR,
 *                COMPUTE SIGNATURE, DECIPHER over the key-object service
 *   hsm_cipher.c GENERATE SYMMETRIC KEY, CIPHER (secret keys)
 *   hsm_dkek.c   MANAGE KEY DOMAIN; the key domains and their DKEKs
 *   hsm_wrap.c   WRAP KEY, UNWRAP KEY (the key blob: hsm_blob.h)
 *
 * The applet's records live in its own namespace (FK_NS_HSM, in both store
 * partitions; docs/store-map.md): it names them by 16-bit ids and reaches no
 * other namespace.
 */
#ifndef FUSEKEY_HSM_INTERNAL_H
#define FUSEKEY_HSM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "applet.h"
#include "crypto/pk.h"
#include "crypto/sym.h"
#include "services/keyobj.h"
#include "services/pin.h"
#include "tlv.h"

/* ---- Record ids (namespace FK_NS_HSM) --------------------------------------
 * Host-visible files use their FID as id (2Fxx, C4xx ... CFxx; CCxx holds a
 * key object and is never readable). Internal records live in 0x1000-0x1FFF
 * and are never selectable. The counters partition holds the retry counter
 * of each PIN and the use counter of each key under the same id. */
#define HSM_FID_DIR 0x2F00u
#define HSM_FID_DEVAUT 0x2F02u   /* device CV certificate chain */
#define HSM_FID_TOKENINFO 0x2F03u
#define HSM_FID_UNWRAP 0x2F10u

#define HSM_PREFIX_PRKD 0xC4u    /* PKCS#15 private key description */
#define HSM_PREFIX_CD 0xC8u      /* PKCS#15 certificate description */
#define HSM_PREFIX_DCOD 0xC9u    /* PKCS#15 data object description */
#define HSM_PREFIX_CA 0xCAu      /* CA certificate */
#define HSM_PREFIX_KEY 0xCCu     /* key object (key-object service, never readable) */
#define HSM_PREFIX_PRIVDATA 0xCDu /* private data object (user PIN to read) */
#define HSM_PREFIX_EECERT 0xCEu  /* end-entity certificate / request of key CCxx */
#define HSM_PREFIX_DATA 0xCFu    /* public data object */
#define HSM_FID(prefix, id) ((uint16_t)(((prefix) << 8) | (id)))
#define HSM_DEVICE_KEY_ID 0x00u

#define HSM_ID_INTERNAL_FIRST 0x1000u
#define HSM_ID_CONFIG 0x1000u    /* options, retry limit, DKEK/PKA/domain settings */
#define HSM_ID_USER_PIN 0x1081u  /* the user PIN (PIN service), wrapping the MK */
#define HSM_ID_SO_PIN 0x1088u    /* the SO-PIN (PIN service), wrapping the MK */
#define HSM_ID_INTERNAL_LAST 0x1FFFu

#define HSM_MK_LEN FK_PIN_SECRET_LEN

/* The two PINs (PIN service references). */
extern const fk_pin_ref_t hsm_user_pin;
extern const fk_pin_ref_t hsm_so_pin;

/* ---- Session (a card's volatile state; cleared on SELECT, deselect,
 * power-off) ---------------------------------------------------------------- */
typedef struct hsm_state {
    fk_pin_session_t pins;     /* which of the two PINs are verified */
    uint16_t current_ef;       /* selected EF, 0 when none */
    bool mk_loaded;            /* mk holds the master key (user PIN verified) */
    bool so_mk_loaded;         /* mk holds it from the SO-PIN (no user rights) */
    uint8_t mk[HSM_MK_LEN];
} hsm_state_t;

/* The session of the card running the command (ctx->state; never NULL
 * inside a command). */
hsm_state_t *hsm_state(const fk_applet_ctx_t *ctx);
void hsm_session_clear(const fk_applet_ctx_t *ctx); /* wipes the master key too */
/* The user PIN is verified in this session and the master key is loaded. */
bool hsm_user_ready(const fk_applet_ctx_t *ctx);

/* ---- Module command tables (dispatched by hsm.c) ------------------------- */
extern const fk_command_t hsm_pin_commands[];
extern const size_t hsm_pin_commands_len;
extern const fk_command_t hsm_file_commands[];
extern const size_t hsm_file_commands_len;
extern const fk_command_t hsm_key_commands[];
extern const size_t hsm_key_commands_len;
extern const fk_command_t hsm_cipher_commands[];
extern const size_t hsm_cipher_commands_len;
extern const fk_command_t hsm_dkek_commands[];
extern const size_t hsm_dkek_commands_len;
extern const fk_command_t hsm_wrap_commands[];
extern const size_t hsm_wrap_commands_len;

/* ---- hsm_pin.c ------------------------------------------------------------ */
/* True once INITIALIZE has run (the configuration says so). */
bool hsm_initialized(const fk_applet_ctx_t *ctx);
/* Device options of INITIALIZE tag 80 (0 before the first INITIALIZE). */
uint16_t hsm_options(const fk_applet_ctx_t *ctx);
/* Number of key domains INITIALIZE configured: tag 97, else 1 (domain 0
 * only); 0 before the first INITIALIZE. */
uint8_t hsm_key_domains(const fk_applet_ctx_t *ctx);
/* The applet's migrate hook (fk_applet_t.migrate, docs/migration.md):
 * re-seal the PIN records and every key object under the current root and
 * add to *pending the PIN verifiers still under another root (each moves at
 * the next successful check of its PIN). 6581 when a record could not be
 * moved or read; the others are moved all the same. */
fk_sw_t hsm_migrate(const fk_applet_ctx_t *ctx, unsigned *pending);

/* ---- hsm_files.c ---------------------------------------------------------- */
/* Write a whole file as the card itself (no access check), e.g. CE<id> after
 * key generation. One store write (staged in an open batch). */
fk_sw_t hsm_file_put(const fk_applet_ctx_t *ctx, uint16_t fid, const uint8_t *data, size_t len);
/* The status word of a store result. */
fk_sw_t hsm_store_sw(int rc);
/* End the batch a command opened with fk_space_batch_begin: commit it when
 * staging went well (staged == 9000; the commit's status is returned),
 * else abort it and return staged. */
fk_sw_t hsm_batch_end(const fk_applet_ctx_t *ctx, fk_sw_t staged);

/* ---- hsm_keys.c ----------------------------------------------------------- */
/* Make sure the device key CC00, its certificate chain 2F02 and its
 * authenticated request CE00 exist (made on the first start and whenever
 * one is missing; kept across INITIALIZE; docs/hsm.md, "Device identity"). */
fk_sw_t hsm_device_ensure(const fk_applet_ctx_t *ctx);

/* ---- hsm_cipher.c ---------------------------------------------------------
 * CIPHER's algorithm ids (its P2; entries of a key's tag-91 list). */
#define HSM_ALG_AES_CBC_ENCRYPT 0x10u /* AES-CBC, IV 0, data a multiple of 16 */
#define HSM_ALG_AES_CBC_DECRYPT 0x11u
#define HSM_ALG_AES_CMAC 0x18u        /* 16 bytes */
#define HSM_ALG_EXT_ENCRYPT 0x51u     /* extended form: 06 OID, 81 in, 82 IV, 83 AAD */
#define HSM_ALG_EXT_DECRYPT 0x52u
#define HSM_ALG_AES_DERIVE 0x99u      /* HKDF-SHA-256, as many bytes out as in */

typedef enum hsm_cipher_alg {
    HSM_CIPHER_NONE = 0,
    HSM_CIPHER_AES,        /* ECB, CBC, CFB128, OFB, CTR, XTS (fk_aes_crypt) */
    HSM_CIPHER_AEAD,       /* GCM, CCM, 16-byte tag after the ciphertext */
    HSM_CIPHER_CHACHAPOLY, /* ChaCha20-Poly1305, 16-byte tag after the ciphertext */
    HSM_CIPHER_CMAC,
    HSM_CIPHER_HMAC,
    HSM_CIPHER_HKDF,       /* also P2 99 */
    HSM_CIPHER_PBKDF2,
    HSM_CIPHER_PBES2,      /* PBKDF2 then AES-CBC with PKCS#7 padding */
    HSM_CIPHER_X963,
} hsm_cipher_alg_t;

/* One CIPHER operation, checked against its key and ready to run. Spans
 * point into the command (and iv possibly into iv_buf: do not copy). */
typedef struct hsm_cipher {
    hsm_cipher_alg_t alg;
    bool encrypt;
    fk_aes_mode_t mode;    /* AES, AEAD */
    fk_hash_t hash;        /* HMAC, KDFs */
    size_t key_len;        /* the key length the algorithm needs (AES kinds; PBES2: derived) */
    fk_bytes_t in;         /* data, plaintext, ciphertext (with its tag), message */
    fk_bytes_t iv;         /* IV, nonce, tweak */
    fk_bytes_t aad;
    fk_bytes_t salt, info; /* KDFs (X9.63: info = SharedInfo) */
    uint32_t iterations;   /* PBKDF2, PBES2 */
    size_t out_len;        /* the output's length (PBES2 decryption: at most) */
    uint8_t iv_buf[FK_AES_BLOCK];
} hsm_cipher_t;

/* Check CIPHER's command against a key of kind key_kind (fk_key_kind_t) and
 * key_len bytes, with room bytes of response left, and fill *c. Pure: reads
 * the command only. FK_SW_OK, or the status word of the first failure:
 * 6A86 unknown P2, 6A80 malformed or missing input (bad IV/nonce/tag or
 * data length included), 6A81 an algorithm or OID not supported or not
 * for this key, 6700 an output that does not fit (or a KDF length out of
 * range). docs/hsm-cipher.md has the details. */
fk_sw_t hsm_cipher_prepare(const fk_apdu_t *cmd, uint8_t key_kind, size_t key_len, size_t room,
                           hsm_cipher_t *c);

/* Run a prepared operation with the key into out (room for c->out_len
 * bytes); *out_len gets the output's length (c->out_len but for a PBES2
 * decryption, whose padding comes off). PBKDF2 and PBES2 call
 * keepalive(arg) as they go. 6A80 when a tag or a padding does not verify,
 * 6400 when the crypto module fails; out is then zero. */
fk_sw_t hsm_cipher_run(const hsm_cipher_t *c, const uint8_t *key, size_t key_len,
                       fk_keepalive_fn keepalive, void *arg, uint8_t *out, size_t *out_len);
/* ---- hsm_dkek.c: key domains and their DKEKs (docs/key-domains.md) -------
 * Domain d (0-15) is one sealed record HSM_ID_DOMAIN(d), sealed under the
 * device's root but not under the master key, so that shares are imported
 * and the KCV reported without a PIN. A key belongs to the domain of its
 * policy; a key without one (FK_KEY_NO_DOMAIN) to domain 0. */
#define HSM_DOMAINS_MAX 16u
#define HSM_ID_DOMAIN_FIRST 0x1090u
#define HSM_ID_DOMAIN(d) ((uint16_t)(HSM_ID_DOMAIN_FIRST + (d)))
#define HSM_ID_DOMAIN_LAST HSM_ID_DOMAIN(HSM_DOMAINS_MAX - 1u)
#define HSM_DKEK_LEN 32u
#define HSM_KCV_LEN 8u

/* The domain key `pol_domain` (a policy's domain byte) belongs to. */
uint8_t hsm_key_domain(uint8_t pol_domain);

/* May a key be created in `domain` (the value of tag 92 of GENERATE; FF:
 * none given)? FK_SW_OK for FF and for a configured domain (its DKEK may be
 * incomplete: wrapping waits for it); 6A88 for a domain that is not
 * configured or beyond the configured count; 6581 when its record does not
 * open. Reads only. */
fk_sw_t hsm_domain_check(const fk_applet_ctx_t *ctx, uint8_t domain);

/* The complete DKEK of `domain` (FF: domain 0) into dkek; the caller wipes
 * it after use. 6A88 when the domain is not configured or its DKEK is not
 * complete, 6581 when its record does not open. dkek is zero on failure. */
fk_sw_t hsm_domain_dkek(const fk_applet_ctx_t *ctx, uint8_t domain, uint8_t dkek[HSM_DKEK_LEN]);

/* The configured domain whose complete DKEK has key check value kcv
 * (SHA-256(DKEK)[0..7]): *domain and its DKEK (wiped by the caller). 6A80
 * when none has, 6581 when a domain record does not open. */
fk_sw_t hsm_domain_find(const fk_applet_ctx_t *ctx, const uint8_t kcv[HSM_KCV_LEN],
                        uint8_t *domain, uint8_t dkek[HSM_DKEK_LEN]);

/* INITIALIZE's part, staged in its open batch (the old records are erased
 * by its range delete): domain 0 configured for `shares` shares when tag 92
 * was given (0 shares: a random DKEK made here, complete), or configured
 * without a DKEK when neither 92 nor 97 was; the other domains stay
 * unconfigured (no record). */
fk_sw_t hsm_domains_init(const fk_applet_ctx_t *ctx, bool has_shares, uint8_t shares,
                         bool has_domains);

/* The migrate hook's part: re-seal every domain record under the current
 * root. 6581 when one could not be moved (the others are moved all the
 * same). */
fk_sw_t hsm_domains_migrate(const fk_applet_ctx_t *ctx);

/* Whether an UPDATE BINARY of len bytes at offset may make 2F02: an
 * issued chain, written whole (offset 0), CV certificates back to back and
 * nothing else (at most HSM_DEVAUT_MAX bytes), the first one holding the
 * device key CC00 on P-256 and a device CHR (8-16 characters, OpenSC takes
 * the token serial from it). FK_SW_OK, else 6A80 (nothing is written). */
#define HSM_DEVAUT_MAX 2048u
fk_sw_t hsm_device_chain_check(const fk_applet_ctx_t *ctx, uint32_t offset, const uint8_t *data,
                               size_t len);

/* ---- hsm_keys.c: what every command that uses or makes a user key checks --
 * The options of INITIALIZE tag 80 that concern keys, and the metadata tags
 * of GENERATE (46, 48): use counter, algorithm list, key domain. */
#define HSM_OPT_PRESS_TO_CONFIRM 0x0100u /* presence before every private/secret key use */
#define HSM_OPT_KEY_USE_COUNTER 0x0200u  /* every new key gets a use counter */
#define HSM_DEFAULT_USE_COUNTER 0xFFFFFFFEu
#define HSM_TAG_USE_COUNTER 0x90u
#define HSM_TAG_ALGORITHMS 0x91u
#define HSM_TAG_KEY_DOMAIN 0x92u

/* The checks of a key use that need no input, in this order: key id 00 is
 * the device's (6982), the key exists (6A82), the user PIN is verified and
 * the master key loaded (6982), the key object opens (6400), alg is in its
 * list (6985). Reads only. On success the caller holds *key open. */
fk_sw_t hsm_key_open(const fk_applet_ctx_t *ctx, uint8_t id, uint8_t alg, fk_key_t *key);

/* After the caller has checked its input against the key: uses left (6A84),
 * presence when the device asks for it (6600 / 6985), one use spent on flash
 * (6581). Until this returns nothing is written and nobody is asked. */
fk_sw_t hsm_key_use(const fk_applet_ctx_t *ctx, fk_key_t *key);

/* One metadata TLV of GENERATE (tag 90, 91 or 92) into *pol: 6A80 when its
 * length is wrong. */
fk_sw_t hsm_key_metadata(const fk_tlv_t *t, fk_key_policy_t *pol);

/* Stage key object CC<id> (policy and material, encrypted under the
 * session's master key) in the command's open batch: 6A84 when the store
 * is full, 6400 when the crypto fails, 6581 for another store error. */
fk_sw_t hsm_key_store(const fk_applet_ctx_t *ctx, uint8_t id, const fk_key_policy_t *pol,
                      const uint8_t *material, size_t len);

/* After the metadata: the default use counter when the device wants one
 * and none was given, and the key domain checked (hsm_domain_check). */
fk_sw_t hsm_key_policy_finish(const fk_applet_ctx_t *ctx, fk_key_policy_t *pol);

/* ---- hsm_keys.c: what every command that makes a key writes -----------------
 * GENERATE, DERIVE EC KEY and UNWRAP give a new key its request CE<id> and
 * a default description C4<id> (docs/hsm.md, "Requests and descriptions");
 * a command stages them in the same store batch as the key object. */

/* Room an authenticated request needs at most (RSA-4096, 16-character
 * references, the P-256 device key: 1195 bytes). */
#define HSM_KEY_REQUEST_MAX 1280u

/* Append to out the authenticated request 67 of a key: its public key with
 * the domain parameters, CAR and CHR the device CHR, the inner signature by
 * the key itself over the 7F4E TLV (RSA v1.5 / ECDSA with SHA-256, pure
 * EdDSA; zeros for X25519/X448, which cannot sign), the outer signature by
 * the device key CC00 over the 7F21 and 42 TLVs. The key is
 *   - the caller's (pol and material as fk_key_put takes them, e.g. an
 *     unwrapped key not stored yet): pol->kind FK_KEY_RSA, FK_KEY_EC,
 *     FK_KEY_MONT (a key blob of crypto/pk.h, of pol->size) or
 *     FK_KEY_EDWARDS (seed || public key); id is then not used; or
 *   - with pol == NULL, the key object CC<id> opened with the session's
 *     master key: 6982 without a verified user PIN, 6A82 when there is none
 *     (id 00: the device key's own request, CE00's content, needs no PIN).
 * No key may be open (keyobj.h: the device key is opened here). Writes
 * nothing to the store. 6A81 for a kind without a public key (AES, HMAC) or
 * a material that does not fit its kind; 6A84 when out lacks room (give it
 * HSM_KEY_REQUEST_MAX); 6400 when a signature fails; 6581 when the device
 * key does not open. On failure out is as it was. */
fk_sw_t hsm_key_request(const fk_applet_ctx_t *ctx, uint8_t id, const fk_key_policy_t *pol,
                        const uint8_t *material, size_t len, fk_rbuf_t *out);

/* Write the default PKCS#15 description C4<id> of a key with policy pol:
 * label empty, ID the key id in ASCII decimal ("1" for key 01), usage and
 * size of its kind (RSA 30 {..}, EC / X25519 / X448 / Ed25519 / Ed448
 * A0 {..}, AES A8 {..}; docs/hsm.md). It replaces a C4<id> that is there.
 * One store write, staged in an open batch. 6A81 for HMAC keys (no
 * description); store errors as hsm_store_sw. */
fk_sw_t hsm_default_prkd(const fk_applet_ctx_t *ctx, uint8_t id, const fk_key_policy_t *pol);

#endif /* FUSEKEY_HSM_INTERNAL_H */
