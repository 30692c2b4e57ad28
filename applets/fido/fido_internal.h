/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_internal.h - what the files of the FIDO applet share (docs/fido.md).
 *
 *   fido.c         descriptor, APDU entry (NFCCTAP_MSG, U2F), CBOR command
 *                  dispatch, getInfo, reset, selection
 *   fido_cred.c    master secret, credential ids, resident credentials,
 *                  signature counter, credential keys (fido_cred_int.h)
 *   fido_assert.c  makeCredential, getAssertion, getNextAssertion, extensions
 *   fido_cm.c      credentialManagement
 *   fido_pin.c     clientPIN, PIN/UV auth protocols 1 and 2, the
 *                  pinUvAuthToken and its permissions
 *   fido_config.c  the config record, authenticatorConfig, largeBlobs
 *   fido_u2f.c     U2F REGISTER / AUTHENTICATE / VERSION
 *
 * Command handlers share one signature: the decoded request map (NULL when
 * the command byte came alone), a canonical CBOR writer over the response
 * buffer after the status byte; they return a CTAP status. On any status but
 * CTAP_OK whatever they wrote is dropped and the response is the status byte
 * alone. A handler checks everything it can before any effect: a refused
 * command spends no PIN try, no presence prompt and writes nothing.
 */
#ifndef FUSEKEY_FIDO_INTERNAL_H
#define FUSEKEY_FIDO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "applet.h"
#include "cbor.h"
#include "fido.h"
#include "services/pin.h"

/* ---- CTAP status codes (CTAP 2.1 §8.2) -------------------------------- */
enum {
    CTAP_OK = 0x00,
    CTAP1_ERR_INVALID_COMMAND = 0x01,
    CTAP1_ERR_INVALID_PARAMETER = 0x02,
    CTAP1_ERR_INVALID_LENGTH = 0x03,
    CTAP1_ERR_INVALID_SEQ = 0x04,
    CTAP1_ERR_TIMEOUT = 0x05,
    CTAP1_ERR_CHANNEL_BUSY = 0x06,
    CTAP2_ERR_CBOR_UNEXPECTED_TYPE = 0x11,
    CTAP2_ERR_INVALID_CBOR = 0x12,
    CTAP2_ERR_MISSING_PARAMETER = 0x14,
    CTAP2_ERR_LIMIT_EXCEEDED = 0x15,
    CTAP2_ERR_LARGE_BLOB_STORAGE_FULL = 0x18,
    CTAP2_ERR_CREDENTIAL_EXCLUDED = 0x19,
    CTAP2_ERR_PROCESSING = 0x21,
    CTAP2_ERR_INVALID_CREDENTIAL = 0x22,
    CTAP2_ERR_USER_ACTION_PENDING = 0x23,
    CTAP2_ERR_OPERATION_PENDING = 0x24,
    CTAP2_ERR_NO_OPERATIONS = 0x25,
    CTAP2_ERR_UNSUPPORTED_ALGORITHM = 0x26,
    CTAP2_ERR_OPERATION_DENIED = 0x27,
    CTAP2_ERR_KEY_STORE_FULL = 0x28,
    CTAP2_ERR_UNSUPPORTED_OPTION = 0x2B,
    CTAP2_ERR_INVALID_OPTION = 0x2C,
    CTAP2_ERR_KEEPALIVE_CANCEL = 0x2D,
    CTAP2_ERR_NO_CREDENTIALS = 0x2E,
    CTAP2_ERR_USER_ACTION_TIMEOUT = 0x2F,
    CTAP2_ERR_NOT_ALLOWED = 0x30,
    CTAP2_ERR_PIN_INVALID = 0x31,
    CTAP2_ERR_PIN_BLOCKED = 0x32,
    CTAP2_ERR_PIN_AUTH_INVALID = 0x33,
    CTAP2_ERR_PIN_AUTH_BLOCKED = 0x34,
    CTAP2_ERR_PIN_NOT_SET = 0x35,
    CTAP2_ERR_PUAT_REQUIRED = 0x36,
    CTAP2_ERR_PIN_POLICY_VIOLATION = 0x37,
    CTAP2_ERR_REQUEST_TOO_LARGE = 0x39,
    CTAP2_ERR_ACTION_TIMEOUT = 0x3A,
    CTAP2_ERR_UP_REQUIRED = 0x3B,
    CTAP2_ERR_UV_BLOCKED = 0x3C,
    CTAP2_ERR_INTEGRITY_FAILURE = 0x3D,
    CTAP2_ERR_INVALID_SUBCOMMAND = 0x3E,
    CTAP2_ERR_UV_INVALID = 0x3F,
    CTAP2_ERR_UNAUTHORIZED_PERMISSION = 0x40,
    CTAP1_ERR_OTHER = 0x7F,
};

/* ---- CTAP2 commands ----------------------------------------------------- */
#define FIDO_CMD_MAKE_CREDENTIAL 0x01u
#define FIDO_CMD_GET_ASSERTION 0x02u
#define FIDO_CMD_GET_INFO 0x04u
#define FIDO_CMD_CLIENT_PIN 0x06u
#define FIDO_CMD_RESET 0x07u
#define FIDO_CMD_GET_NEXT_ASSERTION 0x08u
#define FIDO_CMD_CRED_MGMT 0x0Au
#define FIDO_CMD_SELECTION 0x0Bu
#define FIDO_CMD_LARGE_BLOBS 0x0Cu
#define FIDO_CMD_CONFIG 0x0Du
#define FIDO_CMD_CRED_MGMT_PRE 0x41u /* credentialManagement preview (FIDO_2_1_PRE) */

/* pinUvAuthToken permissions. */
#define FIDO_PERM_MC 0x01u
#define FIDO_PERM_GA 0x02u
#define FIDO_PERM_CM 0x04u
#define FIDO_PERM_BE 0x08u
#define FIDO_PERM_LBW 0x10u
#define FIDO_PERM_ACFG 0x20u

/* COSE algorithms. */
#define FIDO_COSE_ES256 (-7)
#define FIDO_COSE_EDDSA (-8)
#define FIDO_COSE_ECDH_ES_HKDF_256 (-25)

/* authenticator data flags. */
#define FIDO_AD_UP 0x01u
#define FIDO_AD_UV 0x04u
#define FIDO_AD_AT 0x40u
#define FIDO_AD_ED 0x80u

/* Limits reported in getInfo and enforced. */
#define FIDO_RPID_MAX 255u         /* RP id text kept with a resident credential */
#define FIDO_USER_ID_MAX 64u
#define FIDO_USER_NAME_MAX 64u     /* name and displayName kept (longer ones are cut
                                      at a UTF-8 boundary, as CTAP 2.1 allows) */
#define FIDO_CRED_BLOB_MAX 32u     /* maxCredBlobLength */
#define FIDO_LIST_MAX 16u          /* maxCredentialCountInList */
#define FIDO_MIN_PIN_DEFAULT 4u
#define FIDO_PIN_RETRIES 8u        /* pinRetries after a set or a correct PIN */
#define FIDO_PIN_FAILS_PER_BOOT 3u /* consecutive mismatches before PIN_AUTH_BLOCKED */
#define FIDO_RESET_WINDOW_MS 10000u
#define FIDO_TOKEN_LEN 32u
#define FIDO_TOKEN_LIFETIME_MS 600000u /* a pinUvAuthToken works 10 minutes after it was issued */
#define FIDO_SHARED_MAX 64u        /* protocol 2's shared secret; protocol 1 uses 32 */

/* ---- Store records of the FIDO namespace (docs/store-map.md) ----------- */
/* Main partition. */
#define FIDO_ID_MASTER 0x0001u     /* sealed: version 1 | 32-byte secret of credential ids,
                                      hmac-secret and largeBlobKey (new at reset) */
#define FIDO_ID_CONFIG 0x0002u     /* sealed: fido_config_t (fido_config.c) */
#define FIDO_ID_PIN 0x0003u        /* the PIN service's record of the clientPIN */
#define FIDO_ID_LARGE_BLOBS 0x0004u /* the serialized large-blob array (fido_config.c) */
#define FIDO_ID_LARGE_BLOBS_NEW 0x0005u /* a large-blob array being written in fragments */
#define FIDO_ID_ATT_KEY 0x0006u    /* sealed: version 1 | the attestation key's P-256 scalar */
#define FIDO_ID_ATT_CERT 0x0007u   /* the attestation certificate (DER), plain */
#define FIDO_ID_BATCH_KEY 0x0008u  /* sealed: version 1 | an imported batch attestation key */
#define FIDO_ID_BATCH_CERT 0x0009u /* its certificate chain: DER certificates, leaf first */
#define FIDO_ID_EP_CERT 0x000Au    /* the per-device key's chain from the user's CA (enterprise) */
#define FIDO_ID_EP_RPIDS 0x000Bu   /* RP ids of enterprise attestation mode 1: (len, id)... */
#define FIDO_ID_RK_FIRST 0x0100u   /* sealed resident credentials (fido_cred.c) */
#define FIDO_RK_MAX 128u
#define FIDO_ID_RK_LAST (FIDO_ID_RK_FIRST + FIDO_RK_MAX - 1u)
/* Counters partition. FIDO_ID_PIN holds the PIN's retry counter there. */
#define FIDO_ID_SIGN_COUNTER 0x0010u /* the global signature counter (fido_cred.c) */

/* The clientPIN as the PIN service keeps it: LEFT(SHA-256(PIN), 16), any
 * bytes, 8 tries. Its length in code points and the policy live in the
 * config record. */
extern const fk_pin_ref_t fido_pin_ref;
#define FIDO_PIN_HASH_LEN 16u

/* ---- Volatile state: one per endpoint (fk_applet_ctx_t.state) ---------- */

/* The PIN/UV auth session (fido_pin.c). All zero after power-up. */
typedef struct fido_pin_session {
    fk_pin_session_t pin;          /* fk_pin_check's verified bit */
    bool ka_ready;                 /* key agreement key made (lazily, after power-up) */
    uint8_t ka_priv[32];           /* its P-256 scalar */
    uint8_t ka_pub[65];            /* 04 || x || y */
    uint8_t fails;                 /* consecutive mismatches since power-up */
    bool token_ready;              /* token made (lazily, after power-up) */
    uint8_t token[FIDO_TOKEN_LEN];
    uint8_t token_proto;           /* 0: no token in force; else the protocol it was issued under */
    uint8_t perms;                 /* FIDO_PERM_* */
    bool has_rpid;                 /* permissions RP ID bound */
    uint8_t rpid_hash[32];
    bool user_present, user_verified;
    uint64_t issued_ms;            /* fk_services_uptime_ms when issued */
    uint8_t pin_tag[16];           /* the PIN record the token was issued under (its digest) */
    /* A largeBlobs write in progress (fido_config.c): the announced total
     * (0: none) and the offset the next fragment must have. */
    uint32_t lb_expected, lb_next;
} fido_pin_session_t;

/* What one getAssertion asked for, which its getNextAssertions answer too
 * (fido_assert.c). */
typedef struct fido_ga_common {
    uint8_t rpid_hash[32];
    uint8_t cdh[32];         /* clientDataHash */
    uint8_t flags;           /* FIDO_AD_UP / FIDO_AD_UV of the assertions */
    uint8_t ext;             /* extensions asked for (fido_assert.c's EXT_* bits) */
    uint8_t hs_proto;        /* hmac-secret asked: its protocol, else 0 */
    uint8_t hs_salt_len;     /* 32 or 64 */
    size_t hs_shared_len;
    uint8_t hs_salt[64];
    uint8_t hs_shared[FIDO_SHARED_MAX];
} fido_ga_common_t;

/* getNextAssertion and credentialManagement enumerations (fido_cred.c,
 * fido_cm.c). Record ids are FIDO_ID_RK_FIRST + index. */
#define FIDO_GNA_MAX 16u
typedef struct fido_cred_session {
    /* getNextAssertion */
    uint8_t gna_left;              /* credentials still to return (0: none) */
    uint8_t gna_total;
    uint16_t gna_ids[FIDO_GNA_MAX];
    uint64_t gna_ms;               /* when the getAssertion ran */
    fido_ga_common_t gna;          /* what the getAssertion asked, for the next ones */
    /* credentialManagement enumerations */
    uint8_t cm_kind;               /* 0 none, 1 RPs, 2 credentials */
    uint8_t cm_left;
    uint8_t cm_next;               /* index into cm_ids of the next answer */
    uint16_t cm_ids[FIDO_RK_MAX];
} fido_cred_session_t;

typedef struct fido_state {
    fido_pin_session_t ps;
    fido_cred_session_t cs;
} fido_state_t;

_Static_assert(sizeof(fido_state_t) <= FK_FIDO_STATE_SIZE, "FIDO state fits its area");

static inline fido_state_t *fido_state(const fk_applet_ctx_t *ctx)
{
    return (fido_state_t *)ctx->state;
}

/* ---- fido.c ------------------------------------------------------------- */

/* User presence for a CTAP command: CTAP_OK, CTAP2_ERR_OPERATION_DENIED,
 * CTAP2_ERR_USER_ACTION_TIMEOUT or CTAP2_ERR_KEEPALIVE_CANCEL. */
uint8_t fido_presence(const fk_applet_ctx_t *ctx);

/* The AAGUID of this authenticator (getInfo, attested credential data). */
extern const uint8_t fido_aaguid[16];

uint8_t fido_cmd_get_info(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req, fk_cbor_writer_t *w);
uint8_t fido_cmd_reset(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req, fk_cbor_writer_t *w);
uint8_t fido_cmd_selection(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req, fk_cbor_writer_t *w);

/* ---- fido_cred.c -------------------------------------------------------- */

/* The applet's master secret (FIDO_ID_MASTER), made on first use: CTAP_OK
 * or CTAP1_ERR_OTHER (no entropy, store or seal failure, damaged record). */
uint8_t fido_master(const fk_applet_ctx_t *ctx, uint8_t master[32]);

/* Credential ids (docs/fido.md): authenticated encryption under a key
 * derived from the master secret, bound to the RP id hash. The credential's
 * private key comes out of its id. */
#define FIDO_ALG_ES256 1u
#define FIDO_ALG_EDDSA 2u
typedef struct fido_cred_key {
    uint8_t alg;                   /* FIDO_ALG_* */
    uint8_t cred_protect;          /* 1..3 (0 is sealed as 1) */
    bool resident;
    uint8_t secret[32];            /* P-256 scalar or Ed25519 seed */
    bool hmac_secret;              /* made with the hmac-secret extension (U2F: false) */
} fido_cred_key_t;
#define FIDO_CRED_ID_LEN 64u
uint8_t fido_credid_seal(const fk_applet_ctx_t *ctx, const uint8_t rpid_hash[32],
                         const fido_cred_key_t *key, uint8_t id[FIDO_CRED_ID_LEN]);
/* CTAP_OK, CTAP2_ERR_INVALID_CREDENTIAL (not ours, other RP, tampered) or
 * CTAP1_ERR_OTHER. key is wiped on failure. */
uint8_t fido_credid_open(const fk_applet_ctx_t *ctx, const uint8_t rpid_hash[32],
                         const uint8_t *id, size_t len, fido_cred_key_t *key);

/* Next value of the global signature counter, on flash before it returns
 * (a power cut never lets a value be used twice). */
uint8_t fido_counter_next(const fk_applet_ctx_t *ctx, uint32_t *value);

uint8_t fido_cmd_make_credential(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                                 fk_cbor_writer_t *w);
uint8_t fido_cmd_get_assertion(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                               fk_cbor_writer_t *w);
uint8_t fido_cmd_get_next_assertion(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                                    fk_cbor_writer_t *w);
/* How many resident credentials exist, and how many more fit. */
uint8_t fido_rk_count(const fk_applet_ctx_t *ctx, unsigned *used, unsigned *free_slots);

/* A resident credential as its record (FIDO_ID_RK_FIRST..LAST) keeps it. */
#define FIDO_RK_LBK 0x01u          /* made with largeBlobKey */
typedef struct fido_rk {
    uint16_t rec_id;               /* its record id (not stored in the record) */
    uint32_t serial;               /* creation order: larger is newer */
    uint8_t rpid_hash[32];
    uint8_t cred_id[FIDO_CRED_ID_LEN];
    uint8_t cred_protect;          /* 1..3 */
    uint8_t flags;                 /* FIDO_RK_* */
    uint8_t rpid_len, uid_len, name_len, dn_len, blob_len;
    char rpid[FIDO_RPID_MAX];
    uint8_t uid[FIDO_USER_ID_MAX];
    char name[FIDO_USER_NAME_MAX];
    char dn[FIDO_USER_NAME_MAX];   /* displayName */
    uint8_t blob[FIDO_CRED_BLOB_MAX];
} fido_rk_t;

/* Walk the resident-credential records: *from starts at FIDO_ID_RK_FIRST;
 * 1 with the next record id in *id, 0 at the end, -1 on a store error. */
int fido_rk_iter(const fk_applet_ctx_t *ctx, uint32_t *from, uint16_t *id);
/* Load and open record id: CTAP_OK or CTAP1_ERR_OTHER (damaged; callers
 * skip such a record: it cannot be used, and it keeps its slot). */
uint8_t fido_rk_load(const fk_applet_ctx_t *ctx, uint16_t id, fido_rk_t *rk);
/* Write rk to its record rk->rec_id (one atomic write). */
uint8_t fido_rk_save(const fk_applet_ctx_t *ctx, const fido_rk_t *rk);
/* The resident credential whose id is cred_id (len bytes): CTAP_OK,
 * CTAP2_ERR_NO_CREDENTIALS or CTAP1_ERR_OTHER. */
uint8_t fido_rk_find(const fk_applet_ctx_t *ctx, const uint8_t *cred_id, size_t len,
                     fido_rk_t *rk);
/* Write the COSE public key of a credential key. */
uint8_t fido_cose_key(const fido_cred_key_t *key, fk_cbor_writer_t *w);
/* The largeBlobKey of a credential (HMAC under a master-derived key). */
uint8_t fido_large_blob_key(const fk_applet_ctx_t *ctx, const uint8_t cred_id[FIDO_CRED_ID_LEN],
                            uint8_t out[32]);
/* Truncate text of len bytes to at most max bytes at a UTF-8 boundary. */
size_t fido_utf8_cut(const char *s, size_t len, size_t max);

/* Request parsing: the value of integer key k (fido_field) or text key k
 * (fido_tfield) of map m, of CBOR type t (FK_CBOR_NINT stands for any
 * integer): CTAP_OK, CTAP2_ERR_MISSING_PARAMETER when absent,
 * CTAP2_ERR_CBOR_UNEXPECTED_TYPE for another type. */
uint8_t fido_field(const fk_cbor_item_t *m, int64_t k, fk_cbor_type_t t, fk_cbor_item_t *v);
uint8_t fido_tfield(const fk_cbor_item_t *m, const char *k, fk_cbor_type_t t, fk_cbor_item_t *v);

/* ---- fido_cm.c ---------------------------------------------------------- */
uint8_t fido_cmd_cred_mgmt(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                           fk_cbor_writer_t *w);

/* ---- fido_pin.c --------------------------------------------------------- */

/* Whether a PIN is set (also when its record is damaged: such a PIN exists
 * but cannot be used; it fails closed). */
bool fido_pin_is_set(const fk_applet_ctx_t *ctx);

/* Check a request's pinUvAuthParam over msg with the token in force under
 * protocol proto (constant time): CTAP_OK, CTAP2_ERR_PIN_AUTH_INVALID (no
 * token, other protocol, mismatch), CTAP1_ERR_INVALID_PARAMETER (unknown
 * protocol). */
uint8_t fido_token_verify(const fk_applet_ctx_t *ctx, uint64_t proto, const uint8_t *param,
                          size_t param_len, const uint8_t *msg, size_t msg_len);

/* The token in force has permission perm (and, when rpid_hash is not
 * NULL, is bound to that RP or to none, in which case it becomes bound to
 * it): CTAP_OK or CTAP2_ERR_PIN_AUTH_INVALID. */
uint8_t fido_token_permit(const fk_applet_ctx_t *ctx, uint8_t perm, const uint8_t *rpid_hash);

/* The token's user-present flag (set when it was issued with a presence
 * check, cleared once used for an operation that needs presence). */
bool fido_token_user_present(const fk_applet_ctx_t *ctx);
void fido_token_clear_user_present(const fk_applet_ctx_t *ctx);

/* The shared secret with the platform's key agreement key (a COSE_Key map
 * item) under protocol proto: 32 bytes (protocol 1) or 64 (protocol 2) into
 * shared, *len set. CTAP_OK, CTAP1_ERR_INVALID_PARAMETER (bad key or point,
 * unknown protocol), CTAP1_ERR_OTHER. */
uint8_t fido_pin_shared_secret(const fk_applet_ctx_t *ctx, uint64_t proto,
                               const fk_cbor_item_t *cose_key, uint8_t shared[FIDO_SHARED_MAX],
                               size_t *len);
/* encrypt / decrypt / authenticate of the protocol (CTAP 2.1 §6.5.6, §6.5.7).
 * encrypt: out gets 16 + len bytes under protocol 2 (IV first), len under 1;
 * decrypt: the reverse; len must be a multiple of 16 (plus the IV).
 * verify: constant time; protocol 1 takes the first 16 bytes of the HMAC. */
uint8_t fido_pin_encrypt(uint64_t proto, const uint8_t *shared, const uint8_t *in, size_t len,
                         uint8_t *out, size_t *out_len);
uint8_t fido_pin_decrypt(uint64_t proto, const uint8_t *shared, const uint8_t *in, size_t len,
                         uint8_t *out, size_t *out_len);
bool fido_pin_verify(uint64_t proto, const uint8_t *key, size_t key_len, const uint8_t *msg,
                     size_t msg_len, const uint8_t *sig, size_t sig_len);

uint8_t fido_cmd_client_pin(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                            fk_cbor_writer_t *w);

/* ---- fido_config.c ------------------------------------------------------ */

#define FIDO_CFG_ALWAYS_UV 0x01u
#define FIDO_CFG_EP 0x02u           /* enterprise attestation enabled */
#define FIDO_CFG_FORCE_CHANGE 0x04u /* forcePINChange until the next changePIN */
#define FIDO_MINPIN_RPIDS_MAX 4u
#define FIDO_LARGE_BLOB_MAX 4096u   /* maxSerializedLargeBlobArray */
typedef struct fido_config {
    uint8_t flags;                  /* FIDO_CFG_* */
    uint8_t min_pin_len;            /* code points; FIDO_MIN_PIN_DEFAULT when never set */
    uint8_t pin_cp_len;             /* the current PIN's length in code points (0: none) */
    uint8_t n_rpids;                /* RP ids the minPinLength extension answers */
    uint8_t rpid_len[FIDO_MINPIN_RPIDS_MAX];
    char rpids[FIDO_MINPIN_RPIDS_MAX][64];
} fido_config_t;

/* The config record, or the defaults when there is none: CTAP_OK, or
 * CTAP1_ERR_OTHER when the record is damaged (callers fail closed: the
 * defaults are not used in its place). */
uint8_t fido_config_load(const fk_applet_ctx_t *ctx, fido_config_t *cfg);
/* Write it (one atomic write, staged in a batch the caller has open). */
uint8_t fido_config_save(const fk_applet_ctx_t *ctx, const fido_config_t *cfg);

uint8_t fido_cmd_config(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req, fk_cbor_writer_t *w);
uint8_t fido_cmd_large_blobs(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                             fk_cbor_writer_t *w);

/* ---- fido_attest.c -------------------------------------------------------- */
/* Attestation (docs/fido-attestation.md). Three keys can sign a new
 * credential's attestation:
 * - the per-device key (P-256, sealed in FIDO_ID_ATT_KEY, made on first use
 *   with a self-signed certificate in FIDO_ID_ATT_CERT); a certificate from
 *   the user's CA for it (FIDO_ID_EP_CERT) makes enterprise attestation;
 * - a batch key and chain imported from the user's CA (FIDO_ID_BATCH_*):
 *   packed attestation with x5c, and U2F REGISTER's attestation;
 * - none: self attestation, the credential's own key (the default).
 * Errors are CTAP1_ERR_OTHER (no entropy, store full or failing, a damaged
 * record or half a pair: fails closed). Keys never leave the file. */
#define FIDO_ATT_CERT_MAX 1024u    /* one certificate the device serves (U2F's attCert) */
#define FIDO_ATT_CHAIN_MAX 3072u   /* an imported chain, all certificates together */
#define FIDO_ATT_CHAIN_DEPTH 4u
#define FIDO_EP_RPIDS_MAX 512u     /* the mode-1 RP id list record */
/* CTAP_OK when U2F's pair (batch, else per-device) is whole or not made yet. */
uint8_t fido_attest_check(const fk_applet_ctx_t *ctx);
/* U2F's certificate into out (cap >= FIDO_ATT_CERT_MAX is always enough, and
 * needed for the first call, which builds the per-device one there): the
 * batch certificate when one is imported, else the per-device one. */
uint8_t fido_attest_cert(const fk_applet_ctx_t *ctx, uint8_t *out, size_t cap, size_t *len);
/* ECDSA P-256 over a SHA-256 hash, DER (at most 72 bytes), with the key of
 * fido_attest_cert (which must have been called once). */
uint8_t fido_attest_sign(const fk_applet_ctx_t *ctx, const uint8_t hash[32], uint8_t *sig,
                         size_t cap, size_t *sig_len);

/* makeCredential's attestation: which key signs (no effect; checks that the
 * records it needs are whole). ep is the request's enterpriseAttestation
 * (0: absent; 1 or 2, already checked against the config). */
#define FIDO_ATT_SELF 0u
#define FIDO_ATT_BATCH 1u
#define FIDO_ATT_EP 2u
uint8_t fido_attest_choose(const fk_applet_ctx_t *ctx, uint64_t ep, const char *rpid,
                           size_t rpid_len, uint8_t *kind);
/* Sign hash with kind's key (not FIDO_ATT_SELF) and write "x5c": its chain
 * as an array of byte strings. */
uint8_t fido_attest_kind_sign(const fk_applet_ctx_t *ctx, uint8_t kind, const uint8_t hash[32],
                              uint8_t *sig, size_t cap, size_t *sig_len);
uint8_t fido_attest_put_x5c(const fk_applet_ctx_t *ctx, uint8_t kind, fk_cbor_writer_t *w);
/* Whether a certificate from the user's CA is installed for the per-device
 * key (enterprise attestation possible: getInfo's "ep", config). */
bool fido_attest_ep_capable(const fk_applet_ctx_t *ctx);
/* The vendor APDU (CLA 80, INS FK_FIDO_INS_ATTEST) that provisions all this. */
fk_sw_t fido_attest_apdu(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp);

/* ---- fido_u2f.c --------------------------------------------------------- */
/* One U2F APDU (CLA 00, INS 01/02/03): response data into resp, the
 * status word returned. */
fk_sw_t fido_u2f(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp);

#endif /* FUSEKEY_FIDO_INTERNAL_H */
