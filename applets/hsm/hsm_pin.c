/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_pin.c - the PINs of the SmartCard-HSM applet: INITIALIZE DEVICE,
 * VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER; the device
 * configuration; the master key (MK) wrapped under each PIN; private-key
 * blobs encrypted under the MK. Record formats, the order of every write and
 * what a power cut at each point leaves are in docs/hsm-pin.md.
 *
 *   main store                                 counters partition
 *   HSM_ID_CONFIG    options, state (plain)    HSM_CTR_USER_PIN  tries left
 *   HSM_ID_USER_PIN  sealed {len, flags,       HSM_CTR_SO_PIN    tries left
 *                    verifier, MK wrap}
 *   HSM_ID_SO_PIN    sealed {same}
 *   CCxx             sealed {AEAD(MK-derived key, private-key blob)}
 *
 * IMPLEMENTATION NOTE: retry counters. A try is spent by writing the
 * decremented counter (one atomic store write that has returned, hence is on
 * flash) before the PIN verifier is read. A power cut at any point of a
 * PIN check therefore either leaves the try unspent and nothing compared, or
 * spends it. A correct PIN restores the counter with a second write.
 *
 * IMPLEMENTATION NOTE: one verifier and one MK wrap per PIN live in the
 * same sealed record, so changing a PIN is one atomic store write: the
 * verifier and the wrap never disagree. HSM_ID_MK_USER and HSM_ID_MK_SO are
 * therefore not used as records.
 *
 * IMPLEMENTATION NOTE: constant time. PINs are compared only through
 * fk_pin_verifier_check (fk_ct_equal over HMAC tags) and MK wraps and key
 * blobs are opened by the AEAD's constant-time tag check. Which PIN record
 * is read depends only on the command; CHANGE splits its data by the stored
 * PIN length, which no answer reveals (docs/hsm-pin.md).
 *
 * IMPLEMENTATION NOTE: migration to the OTP root (docs/migration.md). The
 * start-up hook (hsm_migrate) re-seals every record this applet sealed. A
 * verifier inside a PIN record can only be made again with the PIN, so it
 * moves at the next successful check of that PIN (verifier_migrate), after
 * the tries were restored; the device is then told (ctx->migrated) and
 * deletes the device seed once nothing needs it.
 *
 * IMPLEMENTATION NOTE: one static work area (s_work) holds a key blob or the
 * two PIN records of an INITIALIZE instead of large stack buffers. The core
 * is single-threaded (hal.h); the area is wiped after every use.
 */
#include <string.h>

#include "hsm.h"
#include "hsm_internal.h"

#include "crypto/crypto.h"
#include "seal/seal.h"
#include "store/store.h"
#include "tlv.h"
#include "util.h"

/* ---- Protocol constants --------------------------------------------------- */
#define INS_INITIALIZE 0x50u

#define PIN_REF_USER 0x81u
#define PIN_REF_SO 0x88u
#define P1_NONE 0x00u

/* RESET RETRY COUNTER P1 */
#define RRC_SO_AND_NEW_PIN 0x00u /* data: SO-PIN || new user PIN */
#define RRC_SO_ONLY 0x01u        /* data: SO-PIN; counter only */
#define RRC_NEW_PIN 0x02u        /* data: new user PIN; SO-PIN verified in session */
#define RRC_SESSION 0x03u        /* no data; SO-PIN verified in session; counter only */

#define USER_PIN_MIN 6u
#define USER_PIN_MAX 16u
#define SO_PIN_LEN 8u
#define USER_TRIES_MIN 1u
#define USER_TRIES_MAX 10u
#define USER_TRIES_DEFAULT 3u
#define SO_TRIES 15u

/* INITIALIZE DEVICE tags */
#define TAG_OPTIONS 0x80u
#define TAG_USER_PIN 0x81u
#define TAG_SO_PIN 0x82u
#define TAG_USER_TRIES 0x91u
#define TAG_DKEK_SHARES 0x92u
#define TAG_PKA 0x93u
#define TAG_BIO_SERVER1 0x95u
#define TAG_BIO_SERVER2 0x96u
#define TAG_KEY_DOMAINS 0x97u
#define BIO_AID_MAX 16u
#define PKA_KEYS_MAX 90u

/* Device options (tag 80, FCP tag 85) */
#define OPT_RRC 0x0001u              /* RESET RETRY COUNTER enabled */
#define OPT_TRANSPORT_PIN 0x0002u    /* an SO-set user PIN must be changed before use */
#define OPT_SESSION_PIN 0x0004u      /* not implemented: never stored */
#define OPT_RRC_COUNTER_ONLY 0x0020u /* RESET RETRY COUNTER P1 01/03 allowed */

/* INITIALIZE without data: free memory (4), 00, version major, minor. */
#define VERSION_INFO_LEN 7u

/* ---- The configuration record (HSM_ID_CONFIG, plain, docs/hsm-pin.md) ----- */
#define CONFIG_VERSION 1u
#define CONFIG_LEN 10u
#define CFG_INITIALIZING 1u /* an INITIALIZE is under way: wipe and forget */
#define CFG_READY 2u
#define CFG_HAS_DKEK 0x01u
#define CFG_HAS_PKA 0x02u
#define CFG_HAS_DOMAINS 0x04u

typedef struct hsm_config {
    uint8_t state;
    uint8_t flags; /* CFG_HAS_* */
    uint16_t options;
    uint8_t user_tries; /* retry limit of the user PIN */
    uint8_t dkek_shares;
    uint8_t pka_total, pka_required;
    uint8_t key_domains;
} hsm_config_t;

/* ---- Retry counter records (counters partition) ---------------------------- */
#define CTR_VERSION 1u
#define CTR_LEN 2u

/* ---- PIN records (sealed, main store) --------------------------------------
 * version(1) pin length(1) flags(1) verifier(50) salt(16) nonce(12)
 * wrapped MK(32) tag(16). */
#define PINREC_VERSION 1u
#define PINREC_SALT_LEN 16u
#define PINREC_OFF_VERSION 0u
#define PINREC_OFF_LEN 1u
#define PINREC_OFF_FLAGS 2u
#define PINREC_OFF_VERIFIER 3u
#define PINREC_OFF_SALT (PINREC_OFF_VERIFIER + FK_PIN_VERIFIER_LEN)
#define PINREC_OFF_NONCE (PINREC_OFF_SALT + PINREC_SALT_LEN)
#define PINREC_OFF_MK (PINREC_OFF_NONCE + FK_AEAD_NONCE_LEN)
#define PINREC_OFF_TAG (PINREC_OFF_MK + HSM_MK_LEN)
#define PINREC_LEN (PINREC_OFF_TAG + FK_AEAD_TAG_LEN)
#define PINREC_F_TRANSPORT 0x01u /* the user PIN must be changed before VERIFY */

/* PBKDF2 work factor of the wrapping keys: the same as the verifiers', so
 * that the MK wrap is no cheaper to attack offline than the verifier. */
#define WRAP_PBKDF2_ITERATIONS 4096u
#define KEY_LEN 32u
#define FID_LEN 2u

/* ---- Key blobs (CCxx): version(1) nonce(12) ciphertext(n) tag(16), sealed */
#define KEYBLOB_VERSION 1u
#define KEYBLOB_OFF_NONCE 1u
#define KEYBLOB_OFF_CT (KEYBLOB_OFF_NONCE + FK_AEAD_NONCE_LEN)
#define KEYBLOB_OVERHEAD (KEYBLOB_OFF_CT + FK_AEAD_TAG_LEN)

_Static_assert(PINREC_LEN == 129u, "PIN record layout (docs/hsm-pin.md)");
_Static_assert(KEYBLOB_OVERHEAD == HSM_KEY_OVERHEAD, "key blob layout (hsm_internal.h)");
_Static_assert(HSM_KEY_BLOB_MAX + KEYBLOB_OVERHEAD == FK_SEAL_MAX_PLAINTEXT,
               "a key blob fills at most one sealed record");
_Static_assert(SO_TRIES <= 0x0Fu, "63Cx carries at most 15 tries");

static const char k_label_wrap[] = "fusekey hsm mk wrap v1";
static const char k_label_key[] = "fusekey hsm key v1";
static const char k_aad_key[] = "fusekey hsm key blob";
#define LABEL_LEN(s) (sizeof(s) - 1u)

typedef struct pin_ref {
    uint8_t ref;     /* P2 of the PIN commands */
    uint16_t rec_id; /* sealed record, main store */
    uint16_t ctr_id; /* retry counter, counters partition */
    uint8_t min_len, max_len;
} pin_ref_t;

static const pin_ref_t k_user = {PIN_REF_USER, HSM_ID_USER_PIN, HSM_CTR_USER_PIN, USER_PIN_MIN,
                                 USER_PIN_MAX};
static const pin_ref_t k_so = {PIN_REF_SO, HSM_ID_SO_PIN, HSM_CTR_SO_PIN, SO_PIN_LEN, SO_PIN_LEN};

static union {
    uint8_t blob[FK_SEAL_MAX_PLAINTEXT]; /* a key blob being sealed or opened */
    uint8_t rec[2][PINREC_LEN];          /* INITIALIZE: the new user and SO records */
} s_work;

/* ---- Configuration --------------------------------------------------------- */

enum { CFG_LOADED = 0, CFG_ABSENT = 1, CFG_UNREADABLE = -1 };

/* Read HSM_ID_CONFIG into *cfg: CFG_LOADED, CFG_ABSENT, or CFG_UNREADABLE
 * (damaged, or a format this firmware does not know). */
static int config_load(const fk_applet_ctx_t *ctx, hsm_config_t *cfg)
{
    uint8_t b[CONFIG_LEN];
    uint32_t size = 0;
    int rc = fk_store_size(ctx->store, HSM_ID_CONFIG, &size);

    memset(cfg, 0, sizeof(*cfg));
    if (rc == FK_STORE_ENOENT) return CFG_ABSENT;
    if (rc != FK_STORE_OK || size != CONFIG_LEN) return CFG_UNREADABLE;
    if (fk_store_read(ctx->store, HSM_ID_CONFIG, 0, b, sizeof(b)) != FK_STORE_OK)
        return CFG_UNREADABLE;
    if (b[0] != CONFIG_VERSION || (b[1] != CFG_INITIALIZING && b[1] != CFG_READY))
        return CFG_UNREADABLE;
    cfg->state = b[1];
    cfg->flags = b[2];
    cfg->options = fk_be16(b + 3);
    cfg->user_tries = b[5];
    cfg->dkek_shares = b[6];
    cfg->pka_total = b[7];
    cfg->pka_required = b[8];
    cfg->key_domains = b[9];
    if (cfg->user_tries < USER_TRIES_MIN || cfg->user_tries > USER_TRIES_MAX) {
        memset(cfg, 0, sizeof(*cfg));
        return CFG_UNREADABLE;
    }
    return CFG_LOADED;
}

/* Write *cfg as HSM_ID_CONFIG (one atomic store write). */
static bool config_write(const fk_applet_ctx_t *ctx, const hsm_config_t *cfg)
{
    uint8_t b[CONFIG_LEN] = {CONFIG_VERSION, cfg->state, cfg->flags};

    fk_put_be16(b + 3, cfg->options);
    b[5] = cfg->user_tries;
    b[6] = cfg->dkek_shares;
    b[7] = cfg->pka_total;
    b[8] = cfg->pka_required;
    b[9] = cfg->key_domains;
    return fk_store_write(ctx->store, HSM_ID_CONFIG, b, sizeof(b)) == FK_STORE_OK;
}

/* True for the records a (re-)INITIALIZE erases in the main store: every
 * host object except the device key CC00 and its C400 / CE00, TokenInfo,
 * the unwrap transport file, and every internal record except the
 * configuration and the device key's metadata. 2F02 and other ids stay. */
static bool is_user_object(uint16_t id)
{
    const uint8_t prefix = (uint8_t)(id >> 8);
    const uint8_t low = (uint8_t)id;

    if (id >= 0x1000u && id <= 0x1FFFu)
        return id != HSM_ID_CONFIG && id != HSM_ID_KEY_META(HSM_DEVICE_KEY_ID);
    if (id == HSM_FID_TOKENINFO || id == HSM_FID_UNWRAP) return true;
    switch (prefix) {
    case HSM_PREFIX_PRKD:
    case HSM_PREFIX_KEY:
    case HSM_PREFIX_EECERT:
        return low != HSM_DEVICE_KEY_ID;
    case HSM_PREFIX_CD:
    case HSM_PREFIX_DCOD:
    case HSM_PREFIX_CA:
    case HSM_PREFIX_PRIVDATA:
    case HSM_PREFIX_DATA:
        return true;
    default:
        return false;
    }
}

/* The same for the counters partition: every HSM counter except the device
 * key's usage counter (the PIN counters are rewritten by INITIALIZE). */
static bool is_user_counter(uint16_t id)
{
    return id >= 0x1000u && id <= 0x1FFFu && id != HSM_CTR_KEY_USE(HSM_DEVICE_KEY_ID);
}

/* Delete every id of `s` that `doomed` selects (each delete atomic; the
 * caller's "initializing" configuration makes the sequence restartable). */
static bool delete_matching(fk_store_t *s, bool (*doomed)(uint16_t))
{
    fk_store_key_t from = 0, key;

    while (fk_store_first(s, from, &key) == FK_STORE_OK && key <= UINT16_MAX) {
        if (doomed((uint16_t)key)) {
            int rc = fk_store_delete(s, key);
            if (rc != FK_STORE_OK && rc != FK_STORE_ENOENT) return false;
        }
        from = key + 1u;
    }
    return true;
}

/* Erase the user objects of both partitions (docs/hsm-pin.md lists them). */
static bool wipe_user_objects(const fk_applet_ctx_t *ctx)
{
    return delete_matching(ctx->store, is_user_object) &&
           delete_matching(ctx->counters, is_user_counter);
}

/* Finish what an interrupted INITIALIZE left: with the configuration in
 * state "initializing", erase the user objects and PIN records, then the
 * configuration, so the device is uninitialized (device identity kept).
 * Idempotent; a cut in the middle is finished by the next call. */
static void recover(const fk_applet_ctx_t *ctx)
{
    hsm_config_t cfg;

    if (config_load(ctx, &cfg) != CFG_LOADED || cfg.state != CFG_INITIALIZING) return;
    if (!wipe_user_objects(ctx)) return;
    (void)fk_store_delete(ctx->store, HSM_ID_CONFIG);
}

/* Recover if needed, then load the configuration of an initialized device. */
static bool config_ready(const fk_applet_ctx_t *ctx, hsm_config_t *cfg)
{
    recover(ctx);
    return config_load(ctx, cfg) == CFG_LOADED && cfg->state == CFG_READY;
}

/* Both finish an interrupted INITIALIZE first (recover). */
bool hsm_initialized(const fk_applet_ctx_t *ctx)
{
    hsm_config_t cfg;
    return config_ready(ctx, &cfg);
}

uint16_t hsm_options(const fk_applet_ctx_t *ctx)
{
    hsm_config_t cfg;
    return config_ready(ctx, &cfg) ? cfg.options : 0u;
}

/* ---- Retry counters --------------------------------------------------------- */

/* Tries left of counter `id`; 0 (blocked) when it is absent or unreadable. */
static uint8_t ctr_read(const fk_applet_ctx_t *ctx, uint16_t id)
{
    uint8_t b[CTR_LEN];
    uint32_t size = 0;

    if (fk_store_size(ctx->counters, id, &size) != FK_STORE_OK || size != CTR_LEN) return 0;
    if (fk_store_read(ctx->counters, id, 0, b, sizeof(b)) != FK_STORE_OK) return 0;
    return b[0] == CTR_VERSION ? b[1] : 0u;
}

/* Set counter `id` (one atomic write; on flash when it returns true). */
static bool ctr_write(const fk_applet_ctx_t *ctx, uint16_t id, uint8_t tries)
{
    const uint8_t b[CTR_LEN] = {CTR_VERSION, tries};
    return fk_store_write(ctx->counters, id, b, sizeof(b)) == FK_STORE_OK;
}

static uint8_t max_tries(const pin_ref_t *ref, const hsm_config_t *cfg)
{
    return ref == &k_so ? (uint8_t)SO_TRIES : cfg->user_tries;
}

/* The answer to a wrong PIN: 63Cx, or 6983 once no try is left. */
static fk_sw_t tries_sw(uint8_t left)
{
    return left == 0 ? FK_SW_AUTH_BLOCKED : FK_SW_VERIFY_FAILED(left);
}

/* ---- PIN records and the master key wrap ------------------------------------ */

/* The key that wraps the MK in record rec_id: HKDF-Expand(PBKDF2(pin, salt),
 * label || rec_id). */
static bool wrap_key(uint16_t rec_id, const uint8_t *pin, size_t len,
                     const uint8_t salt[PINREC_SALT_LEN], uint8_t key[KEY_LEN])
{
    uint8_t prk[KEY_LEN];
    uint8_t info[LABEL_LEN(k_label_wrap) + FID_LEN];
    bool ok;

    memcpy(info, k_label_wrap, LABEL_LEN(k_label_wrap));
    fk_put_be16(info + LABEL_LEN(k_label_wrap), rec_id);
    ok = fk_pbkdf2_sha256(pin, len, salt, PINREC_SALT_LEN, WRAP_PBKDF2_ITERATIONS, prk,
                          sizeof(prk)) == FK_CRYPTO_OK &&
         fk_hkdf_sha256_expand(prk, sizeof(prk), info, sizeof(info), key, KEY_LEN) ==
             FK_CRYPTO_OK;
    fk_wipe(prk, sizeof(prk));
    if (!ok) fk_wipe(key, KEY_LEN);
    return ok;
}

/* AAD of the MK wrap: version, PIN length, flags and record id. */
#define WRAP_AAD_LEN (3u + FID_LEN)
static void wrap_aad(const uint8_t *rec, uint16_t rec_id, uint8_t aad[WRAP_AAD_LEN])
{
    aad[0] = rec[PINREC_OFF_VERSION];
    aad[1] = rec[PINREC_OFF_LEN];
    aad[2] = rec[PINREC_OFF_FLAGS];
    fk_put_be16(aad + 3, rec_id);
}

/* Build the record of PIN `ref` = pin in rec: a fresh verifier and the MK
 * wrapped under a key derived from pin. rec is wiped on failure. */
static fk_sw_t pinrec_build(const fk_applet_ctx_t *ctx, const pin_ref_t *ref, const uint8_t *pin,
                            size_t len, uint8_t flags, const uint8_t mk[HSM_MK_LEN],
                            uint8_t rec[PINREC_LEN])
{
    uint8_t key[KEY_LEN];
    uint8_t aad[WRAP_AAD_LEN];
    fk_sw_t sw = FK_SW_EXEC_ERROR;

    FK_ASSERT(len >= ref->min_len && len <= ref->max_len);
    rec[PINREC_OFF_VERSION] = PINREC_VERSION;
    rec[PINREC_OFF_LEN] = (uint8_t)len;
    rec[PINREC_OFF_FLAGS] = flags;
    if (fk_pin_verifier_make(ctx->store, ref->rec_id, pin, len, rec + PINREC_OFF_VERIFIER) !=
        FK_SEAL_OK)
        goto out;
    if (fk_rng_bytes(rec + PINREC_OFF_SALT, PINREC_SALT_LEN + FK_AEAD_NONCE_LEN) != FK_CRYPTO_OK)
        goto out;
    if (!wrap_key(ref->rec_id, pin, len, rec + PINREC_OFF_SALT, key)) goto out;
    wrap_aad(rec, ref->rec_id, aad);
    if (fk_aead_seal(key, rec + PINREC_OFF_NONCE, aad, sizeof(aad), mk, HSM_MK_LEN,
                     rec + PINREC_OFF_MK, rec + PINREC_OFF_TAG) == FK_CRYPTO_OK)
        sw = FK_SW_OK;
out:
    fk_wipe(key, sizeof(key));
    if (sw != FK_SW_OK) fk_wipe(rec, PINREC_LEN);
    return sw;
}

/* Open the MK wrapped in rec with pin (already verified). mk is wiped on
 * failure. */
static fk_sw_t pinrec_unwrap(const pin_ref_t *ref, const uint8_t rec[PINREC_LEN],
                             const uint8_t *pin, size_t len, uint8_t mk[HSM_MK_LEN])
{
    uint8_t key[KEY_LEN];
    uint8_t aad[WRAP_AAD_LEN];
    fk_sw_t sw = FK_SW_EXEC_ERROR;

    wrap_aad(rec, ref->rec_id, aad);
    if (wrap_key(ref->rec_id, pin, len, rec + PINREC_OFF_SALT, key) &&
        fk_aead_open(key, rec + PINREC_OFF_NONCE, aad, sizeof(aad), rec + PINREC_OFF_MK,
                     HSM_MK_LEN, rec + PINREC_OFF_TAG, mk) == FK_CRYPTO_OK)
        sw = FK_SW_OK;
    fk_wipe(key, sizeof(key));
    if (sw != FK_SW_OK) fk_wipe(mk, HSM_MK_LEN);
    return sw;
}

/* Load and open the record of PIN `ref`; 6581 when it is missing or
 * malformed. rec is wiped on failure. */
static fk_sw_t pinrec_load(const fk_applet_ctx_t *ctx, const pin_ref_t *ref,
                           uint8_t rec[PINREC_LEN])
{
    size_t n = 0;

    if (fk_seal_load(ctx->store, ref->rec_id, rec, PINREC_LEN, &n) == FK_SEAL_OK &&
        n == PINREC_LEN && rec[PINREC_OFF_VERSION] == PINREC_VERSION &&
        rec[PINREC_OFF_LEN] >= ref->min_len && rec[PINREC_OFF_LEN] <= ref->max_len)
        return FK_SW_OK;
    fk_wipe(rec, PINREC_LEN);
    return FK_SW_MEMORY_FAILURE;
}

/* Seal and write the record of PIN `ref`: the commit point of a PIN change. */
static fk_sw_t pinrec_store(const fk_applet_ctx_t *ctx, const pin_ref_t *ref,
                            const uint8_t rec[PINREC_LEN])
{
    return fk_seal_store(ctx->store, ref->rec_id, rec, PINREC_LEN) == FK_SEAL_OK
               ? FK_SW_OK
               : FK_SW_MEMORY_FAILURE;
}

/* Spend one try of PIN `ref` and compare. The PIN compared is data[0, nc),
 * or with `split` its first (stored PIN length) bytes (fewer if nc is
 * shorter): *used says how many. The decremented counter is written before
 * the verifier is read. On success rec holds the PIN record and the try
 * stays spent (the caller restores the counter); on failure rec is wiped. */
static fk_sw_t pin_try(const fk_applet_ctx_t *ctx, const pin_ref_t *ref, const uint8_t *data,
                       size_t nc, bool split, uint8_t rec[PINREC_LEN], size_t *used)
{
    uint8_t left = ctr_read(ctx, ref->ctr_id);
    fk_sw_t sw;
    int rc;

    *used = 0;
    if (left == 0) return FK_SW_AUTH_BLOCKED;
    sw = pinrec_load(ctx, ref, rec);
    if (sw != FK_SW_OK) return sw;
    *used = split ? FK_MIN(nc, (size_t)rec[PINREC_OFF_LEN]) : nc;
    left--;
    if (!ctr_write(ctx, ref->ctr_id, left)) {
        fk_wipe(rec, PINREC_LEN);
        return FK_SW_MEMORY_FAILURE;
    }
    rc = fk_pin_verifier_check(ctx->store, ref->rec_id, data, *used, rec + PINREC_OFF_VERIFIER);
    if (rc == FK_SEAL_OK) return FK_SW_OK;
    fk_wipe(rec, PINREC_LEN);
    return rc == FK_SEAL_EAUTH ? tries_sw(left) : FK_SW_EXEC_ERROR;
}

/* ---- Migration to the OTP root (docs/migration.md) ---------------------------- */

/* Tell the device that a PIN record was written again: if it was the last
 * secret the device root was kept for, the device deletes it now. */
static void notify_migrated(const fk_applet_ctx_t *ctx)
{
    if (ctx->migrated != NULL) ctx->migrated(ctx->migrated_arg);
}

/* True when the verifier in rec is under another root than the current one
 * (a device-root verifier once the MKEK is provisioned). */
static bool verifier_outdated(const uint8_t rec[PINREC_LEN])
{
    fk_root_t vroot, root;

    return fk_pin_verifier_root(rec + PINREC_OFF_VERIFIER, &vroot) == FK_SEAL_OK &&
           fk_seal_current_root(&root) == FK_SEAL_OK && vroot != root;
}

/* Lazy migration of a verifier, after pin was proven against rec (the record
 * of `ref` as stored) and its tries were restored: when the verifier is not
 * under the current root, write the record again with a fresh verifier made
 * with pin under the current root; length, flags and MK wrap stay as they
 * are. One atomic store write, so a cut leaves the old or the new record and
 * both accept the same PIN and open the same MK. A failure changes nothing,
 * is retried at the next proof and never fails the command. */
static void verifier_migrate(const fk_applet_ctx_t *ctx, const pin_ref_t *ref,
                             const uint8_t rec[PINREC_LEN], const uint8_t *pin, size_t len)
{
    uint8_t next[PINREC_LEN];
    bool moved;

    if (!verifier_outdated(rec)) return;
    memcpy(next, rec, sizeof(next));
    moved = fk_pin_verifier_make(ctx->store, ref->rec_id, pin, len, next + PINREC_OFF_VERIFIER) ==
                FK_SEAL_OK &&
            pinrec_store(ctx, ref, next) == FK_SW_OK;
    fk_wipe(next, sizeof(next));
    if (moved) notify_migrated(ctx);
}

/* The HSM's migrate hook (fk_applet_t.migrate): finish an interrupted
 * INITIALIZE, re-seal the PIN records and every key blob CCxx (the device
 * key CC00 included) under the current root, one atomic write each and
 * nothing for a record already there; then count the PIN verifiers that
 * only their PIN can move. Every record is tried even after a failure. */
fk_sw_t hsm_migrate(const fk_applet_ctx_t *ctx, unsigned *pending)
{
    static const pin_ref_t *const refs[] = {&k_user, &k_so};
    const uint16_t first_key = HSM_FID(HSM_PREFIX_KEY, 0x00u);
    const uint16_t last_key = HSM_FID(HSM_PREFIX_KEY, 0xFFu);
    uint8_t rec[PINREC_LEN];
    fk_sw_t sw = FK_SW_OK;
    fk_store_key_t from = first_key, key;
    int rc;

    (void)hsm_initialized(ctx);
    for (size_t i = 0; i < FK_ARRAY_SIZE(refs); i++) {
        rc = fk_seal_reseal(ctx->store, refs[i]->rec_id, NULL);
        if (rc != FK_SEAL_OK && rc != FK_SEAL_ENOENT) sw = FK_SW_MEMORY_FAILURE;
    }
    while ((rc = fk_store_first(ctx->store, from, &key)) == FK_STORE_OK && key <= last_key) {
        if (fk_seal_reseal(ctx->store, (uint16_t)key, NULL) != FK_SEAL_OK)
            sw = FK_SW_MEMORY_FAILURE;
        from = key + 1u;
    }
    if (rc != FK_STORE_OK && rc != FK_STORE_ENOENT) sw = FK_SW_MEMORY_FAILURE;

    for (size_t i = 0; i < FK_ARRAY_SIZE(refs); i++) {
        uint32_t size;
        if (fk_store_size(ctx->store, refs[i]->rec_id, &size) == FK_STORE_ENOENT) continue;
        if (pinrec_load(ctx, refs[i], rec) != FK_SW_OK)
            sw = FK_SW_MEMORY_FAILURE;
        else if (verifier_outdated(rec))
            (*pending)++;
    }
    fk_wipe(rec, sizeof(rec));
    return sw;
}

/* ---- Session ---------------------------------------------------------------- */

/* Forget that `ref` was verified; the MK goes when no PIN holds it. */
static void session_drop(const pin_ref_t *ref)
{
    hsm_state_t *st = hsm_state();

    if (ref == &k_user) {
        st->user_verified = false;
        st->mk_loaded = false;
    } else {
        st->so_verified = false;
        st->so_mk_loaded = false;
    }
    if (!st->mk_loaded && !st->so_mk_loaded) fk_wipe(st->mk, sizeof(st->mk));
}

/* `ref` is verified and mk is the MK it opened. */
static void session_grant(const pin_ref_t *ref, const uint8_t mk[HSM_MK_LEN])
{
    hsm_state_t *st = hsm_state();

    memcpy(st->mk, mk, HSM_MK_LEN);
    if (ref == &k_user) {
        st->user_verified = true;
        st->mk_loaded = true;
    } else {
        st->so_verified = true;
        st->so_mk_loaded = true;
    }
}

static const pin_ref_t *pin_ref_of(uint8_t p2)
{
    if (p2 == PIN_REF_USER) return &k_user;
    if (p2 == PIN_REF_SO) return &k_so;
    return NULL;
}

/* ---- VERIFY ------------------------------------------------------------------ */

/* VERIFY status (no data): 9000 verified in this session, 63Cx tries left,
 * 6983 blocked, 6984 transport PIN not yet changed. */
static fk_sw_t verify_status(const fk_applet_ctx_t *ctx, const pin_ref_t *ref)
{
    const hsm_state_t *st = hsm_state();
    uint8_t left;

    if (ref == &k_user ? st->user_verified : st->so_verified) return FK_SW_OK;
    left = ctr_read(ctx, ref->ctr_id);
    return tries_sw(left);
}

/* True when the user PIN record says the PIN must be changed first. A
 * record that cannot be read counts as not transport: VERIFY then fails on
 * it with its own status. */
static bool user_transport(const fk_applet_ctx_t *ctx)
{
    uint8_t rec[PINREC_LEN];
    bool transport = false;

    if (pinrec_load(ctx, &k_user, rec) == FK_SW_OK)
        transport = (rec[PINREC_OFF_FLAGS] & PINREC_F_TRANSPORT) != 0;
    fk_wipe(rec, sizeof(rec));
    return transport;
}

/* VERIFY (20): status without data, or check a PIN (one try spent first). A
 * correct user PIN loads the MK into the session; any failure forgets the
 * verified state of that PIN. */
static fk_sw_t cmd_verify(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    uint8_t rec[PINREC_LEN];
    uint8_t mk[HSM_MK_LEN];
    const pin_ref_t *ref;
    hsm_config_t cfg;
    size_t used;
    fk_sw_t sw;

    (void)resp;
    if (cmd->p1 != P1_NONE) return FK_SW_WRONG_P1P2;
    ref = pin_ref_of(cmd->p2);
    if (ref == NULL || !config_ready(ctx, &cfg)) return FK_SW_REF_NOT_FOUND;
    if (ref == &k_user && user_transport(ctx)) return FK_SW_REF_DATA_NOT_USABLE;
    if (cmd->nc == 0) return verify_status(ctx, ref);
    /* The length bounds are public: refusing outside them reveals nothing. */
    if (cmd->nc < ref->min_len || cmd->nc > ref->max_len) return FK_SW_WRONG_LENGTH;

    session_drop(ref);
    sw = pin_try(ctx, ref, cmd->data, cmd->nc, false, rec, &used);
    if (sw == FK_SW_OK) sw = pinrec_unwrap(ref, rec, cmd->data, cmd->nc, mk);
    if (sw == FK_SW_OK && !ctr_write(ctx, ref->ctr_id, max_tries(ref, &cfg)))
        sw = FK_SW_MEMORY_FAILURE;
    if (sw == FK_SW_OK) {
        session_grant(ref, mk);
        /* After the tries are restored: a cut in the rewrite costs none. */
        verifier_migrate(ctx, ref, rec, cmd->data, cmd->nc);
    }
    fk_wipe(rec, sizeof(rec));
    fk_wipe(mk, sizeof(mk));
    return sw;
}

/* ---- CHANGE REFERENCE DATA ------------------------------------------------------ */

/* CHANGE REFERENCE DATA (24): data = old PIN || new PIN, split by the stored
 * PIN length (8 || 8 for the SO-PIN). The old PIN costs a try; the new record
 * (verifier and MK wrap, transport state cleared) is one atomic write. A
 * new PIN of a bad length is refused only after the old one was proven, so
 * the response never reveals the stored length. */
static fk_sw_t cmd_change(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    uint8_t rec[PINREC_LEN];
    uint8_t mk[HSM_MK_LEN];
    const pin_ref_t *ref;
    hsm_config_t cfg;
    size_t used, new_len;
    fk_sw_t sw;

    (void)resp;
    if (cmd->p1 != P1_NONE) return FK_SW_WRONG_P1P2;
    ref = pin_ref_of(cmd->p2);
    if (ref == NULL || !config_ready(ctx, &cfg)) return FK_SW_REF_NOT_FOUND;
    if (cmd->nc == 0 || cmd->nc > 2u * ref->max_len) return FK_SW_WRONG_LENGTH;
    if (ref->min_len == ref->max_len && cmd->nc != 2u * ref->max_len) return FK_SW_WRONG_LENGTH;

    sw = pin_try(ctx, ref, cmd->data, cmd->nc, true, rec, &used);
    if (sw != FK_SW_OK) {
        session_drop(ref);
        return sw;
    }
    new_len = cmd->nc - used;
    if (new_len < ref->min_len || new_len > ref->max_len) {
        sw = ctr_write(ctx, ref->ctr_id, max_tries(ref, &cfg)) ? FK_SW_WRONG_LENGTH
                                                               : FK_SW_MEMORY_FAILURE;
        /* The old PIN was proven all the same. */
        if (sw == FK_SW_WRONG_LENGTH) verifier_migrate(ctx, ref, rec, cmd->data, used);
        goto out;
    }
    sw = pinrec_unwrap(ref, rec, cmd->data, used, mk);
    if (sw == FK_SW_OK) sw = pinrec_build(ctx, ref, cmd->data + used, new_len, 0, mk, rec);
    /* The counter first: a cut before the record write leaves the old PIN
     * with its tries restored (it was just proven). */
    if (sw == FK_SW_OK && !ctr_write(ctx, ref->ctr_id, max_tries(ref, &cfg)))
        sw = FK_SW_MEMORY_FAILURE;
    if (sw == FK_SW_OK) sw = pinrec_store(ctx, ref, rec);
    if (sw == FK_SW_OK) {
        session_grant(ref, mk);
        notify_migrated(ctx); /* the new verifier is under the current root */
    }
out:
    fk_wipe(rec, sizeof(rec));
    fk_wipe(mk, sizeof(mk));
    return sw;
}

/* ---- RESET RETRY COUNTER ------------------------------------------------------- */

/* Prove the SO-PIN in so_pin (one SO try spent first, restored on success);
 * with mk != NULL also open the MK from the SO record. */
static fk_sw_t so_prove(const fk_applet_ctx_t *ctx, const uint8_t *so_pin, uint8_t *mk)
{
    uint8_t rec[PINREC_LEN];
    size_t used;
    fk_sw_t sw = pin_try(ctx, &k_so, so_pin, SO_PIN_LEN, false, rec, &used);

    if (sw == FK_SW_OK && mk != NULL) sw = pinrec_unwrap(&k_so, rec, so_pin, SO_PIN_LEN, mk);
    if (sw == FK_SW_OK && !ctr_write(ctx, k_so.ctr_id, SO_TRIES)) sw = FK_SW_MEMORY_FAILURE;
    if (sw == FK_SW_OK) verifier_migrate(ctx, &k_so, rec, so_pin, SO_PIN_LEN);
    if (sw != FK_SW_OK) session_drop(&k_so);
    fk_wipe(rec, sizeof(rec));
    return sw;
}

/* Set a new user PIN wrapping mk (a transport PIN when the options say
 * so), then reset its counter. The record write is the commit point. */
static fk_sw_t user_pin_set(const fk_applet_ctx_t *ctx, const hsm_config_t *cfg,
                            const uint8_t *pin, size_t len, const uint8_t mk[HSM_MK_LEN])
{
    uint8_t rec[PINREC_LEN];
    const uint8_t flags = (cfg->options & OPT_TRANSPORT_PIN) ? PINREC_F_TRANSPORT : 0u;
    fk_sw_t sw = pinrec_build(ctx, &k_user, pin, len, flags, mk, rec);

    if (sw == FK_SW_OK) sw = pinrec_store(ctx, &k_user, rec);
    if (sw == FK_SW_OK) {
        if (!ctr_write(ctx, k_user.ctr_id, cfg->user_tries)) sw = FK_SW_MEMORY_FAILURE;
        notify_migrated(ctx); /* the new verifier is under the current root */
    }
    fk_wipe(rec, sizeof(rec));
    return sw;
}

/* RESET RETRY COUNTER (2C), P2 = 81 only, option 0001 required:
 *   P1 00  SO-PIN || new PIN   P1 01  SO-PIN (counter only, option 0020)
 *   P1 02  new PIN             P1 03  nothing (counter only, option 0020)
 * P1 02/03 need the SO-PIN verified in this session (VERIFY 88). A new PIN
 * gets the MK re-wrapped (opened through the SO record), so keys stay
 * usable. Grants no user rights. */
static fk_sw_t cmd_reset_retry(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    const hsm_state_t *st = hsm_state();
    uint8_t mk[HSM_MK_LEN];
    hsm_config_t cfg;
    fk_sw_t sw;

    (void)resp;
    if (cmd->p1 > RRC_SESSION) return FK_SW_WRONG_P1P2;
    if (cmd->p2 != PIN_REF_USER || !config_ready(ctx, &cfg)) return FK_SW_REF_NOT_FOUND;
    if (!(cfg.options & OPT_RRC)) return FK_SW_COMMAND_NOT_ALLOWED;
    if ((cmd->p1 == RRC_SO_ONLY || cmd->p1 == RRC_SESSION) && !(cfg.options & OPT_RRC_COUNTER_ONLY))
        return FK_SW_COMMAND_NOT_ALLOWED;

    switch (cmd->p1) {
    case RRC_SO_AND_NEW_PIN:
        if (cmd->nc < SO_PIN_LEN + USER_PIN_MIN || cmd->nc > SO_PIN_LEN + USER_PIN_MAX)
            return FK_SW_WRONG_LENGTH;
        sw = so_prove(ctx, cmd->data, mk);
        if (sw == FK_SW_OK)
            sw = user_pin_set(ctx, &cfg, cmd->data + SO_PIN_LEN, cmd->nc - SO_PIN_LEN, mk);
        fk_wipe(mk, sizeof(mk));
        return sw;
    case RRC_SO_ONLY:
        if (cmd->nc != SO_PIN_LEN) return FK_SW_WRONG_LENGTH;
        sw = so_prove(ctx, cmd->data, NULL);
        if (sw == FK_SW_OK && !ctr_write(ctx, k_user.ctr_id, cfg.user_tries))
            sw = FK_SW_MEMORY_FAILURE;
        return sw;
    case RRC_NEW_PIN:
        if (cmd->nc < USER_PIN_MIN || cmd->nc > USER_PIN_MAX) return FK_SW_WRONG_LENGTH;
        if (!st->so_verified || !st->so_mk_loaded) return FK_SW_SECURITY_NOT_SATISFIED;
        return user_pin_set(ctx, &cfg, cmd->data, cmd->nc, st->mk);
    default: /* RRC_SESSION */
        if (cmd->nc != 0) return FK_SW_WRONG_LENGTH;
        if (!st->so_verified) return FK_SW_SECURITY_NOT_SATISFIED;
        return ctr_write(ctx, k_user.ctr_id, cfg.user_tries) ? FK_SW_OK : FK_SW_MEMORY_FAILURE;
    }
}

/* ---- INITIALIZE DEVICE ----------------------------------------------------------- */

typedef struct init_req {
    const uint8_t *user_pin;
    size_t user_pin_len;
    const uint8_t *so_pin;
    hsm_config_t cfg;
} init_req_t;

/* Tags INITIALIZE accepts, with their value lengths; the index is the bit in
 * the "seen" mask. */
typedef struct init_tag {
    uint8_t tag;
    uint8_t min_len, max_len;
} init_tag_t;

static const init_tag_t k_init_tags[] = {
    {TAG_OPTIONS, 2, 2},
    {TAG_USER_PIN, USER_PIN_MIN, USER_PIN_MAX},
    {TAG_SO_PIN, SO_PIN_LEN, SO_PIN_LEN},
    {TAG_USER_TRIES, 1, 1},
    {TAG_DKEK_SHARES, 1, 1},
    {TAG_PKA, 2, 2},
    {TAG_BIO_SERVER1, 0, BIO_AID_MAX},
    {TAG_BIO_SERVER2, 0, BIO_AID_MAX},
    {TAG_KEY_DOMAINS, 1, 1},
};
_Static_assert(FK_ARRAY_SIZE(k_init_tags) <= 32u, "one bit per tag in the seen mask");

/* Parse and validate every TLV of INITIALIZE: unknown or repeated tags, bad
 * lengths or values, a missing user PIN or SO-PIN are 6A80. */
static fk_sw_t init_parse(const uint8_t *data, size_t len, init_req_t *req)
{
    const uint8_t *pos = data;
    const uint8_t *const end = data + len;
    uint32_t seen = 0;
    fk_tlv_t t;
    int rc;

    memset(req, 0, sizeof(*req));
    req->cfg.user_tries = USER_TRIES_DEFAULT;
    while ((rc = fk_tlv_next(&pos, end, &t)) == FK_TLV_OK) {
        size_t i = 0;
        while (i < FK_ARRAY_SIZE(k_init_tags) && k_init_tags[i].tag != t.tag) i++;
        if (i == FK_ARRAY_SIZE(k_init_tags) || (seen & (1u << i)) != 0 ||
            t.len < k_init_tags[i].min_len || t.len > k_init_tags[i].max_len)
            return FK_SW_WRONG_DATA;
        seen |= 1u << i;
        switch (t.tag) {
        case TAG_OPTIONS:
            req->cfg.options = (uint16_t)(fk_be16(t.value) & ~OPT_SESSION_PIN);
            break;
        case TAG_USER_PIN:
            req->user_pin = t.value;
            req->user_pin_len = t.len;
            break;
        case TAG_SO_PIN:
            req->so_pin = t.value;
            break;
        case TAG_USER_TRIES:
            if (t.value[0] < USER_TRIES_MIN || t.value[0] > USER_TRIES_MAX) return FK_SW_WRONG_DATA;
            req->cfg.user_tries = t.value[0];
            break;
        case TAG_DKEK_SHARES:
            req->cfg.flags |= CFG_HAS_DKEK;
            req->cfg.dkek_shares = t.value[0];
            break;
        case TAG_PKA:
            if (t.value[0] < 1u || t.value[0] > PKA_KEYS_MAX || t.value[1] < 1u ||
                t.value[1] > t.value[0])
                return FK_SW_WRONG_DATA;
            req->cfg.flags |= CFG_HAS_PKA;
            req->cfg.pka_total = t.value[0];
            req->cfg.pka_required = t.value[1];
            break;
        case TAG_KEY_DOMAINS:
            if (t.value[0] == 0) return FK_SW_WRONG_DATA;
            req->cfg.flags |= CFG_HAS_DOMAINS;
            req->cfg.key_domains = t.value[0];
            break;
        default: /* biometric server AIDs: accepted and ignored */
            break;
        }
    }
    if (rc != FK_TLV_END || req->user_pin == NULL || req->so_pin == NULL) return FK_SW_WRONG_DATA;
    return FK_SW_OK;
}

/* INITIALIZE without data: free memory of the main store, then the version. */
static fk_sw_t init_version_info(const fk_applet_ctx_t *ctx, fk_rbuf_t *resp)
{
    fk_store_stats_t stats;
    uint8_t *out = fk_rbuf_reserve(resp, VERSION_INFO_LEN);

    if (out == NULL) return FK_SW_UNKNOWN;
    fk_store_stats(ctx->store, &stats);
    fk_put_be32(out, stats.free);
    out[4] = 0;
    out[5] = FK_HSM_VERSION_MAJOR;
    out[6] = FK_HSM_VERSION_MINOR;
    return FK_SW_OK;
}

/* Write the new device state (the records were built beforehand):
 * configuration "initializing", wipe, counters, PIN records, configuration
 * "ready". A cut anywhere before the last write leaves "initializing",
 * which recover() turns into an uninitialized device. */
static fk_sw_t init_commit(const fk_applet_ctx_t *ctx, hsm_config_t *cfg,
                           const uint8_t user_rec[PINREC_LEN], const uint8_t so_rec[PINREC_LEN])
{
    cfg->state = CFG_INITIALIZING;
    if (!config_write(ctx, cfg) || !wipe_user_objects(ctx)) return FK_SW_MEMORY_FAILURE;
    if (!ctr_write(ctx, k_user.ctr_id, cfg->user_tries) || !ctr_write(ctx, k_so.ctr_id, SO_TRIES))
        return FK_SW_MEMORY_FAILURE;
    if (pinrec_store(ctx, &k_user, user_rec) != FK_SW_OK ||
        pinrec_store(ctx, &k_so, so_rec) != FK_SW_OK)
        return FK_SW_MEMORY_FAILURE;
    cfg->state = CFG_READY;
    return config_write(ctx, cfg) ? FK_SW_OK : FK_SW_MEMORY_FAILURE;
}

/* INITIALIZE DEVICE (80 50): without data, the version information; with
 * data, (re-)initialize. Once an SO-PIN exists, tag 82 must prove it (one SO
 * try spent first). Everything is validated and the new PIN records (with a
 * fresh MK) are built before the first write. The session is logged out. */
static fk_sw_t cmd_initialize(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    uint8_t *const user_rec = s_work.rec[0];
    uint8_t *const so_rec = s_work.rec[1];
    uint8_t mk[HSM_MK_LEN];
    init_req_t req;
    uint32_t size;
    size_t used;
    bool proven = false;
    fk_sw_t sw;

    if (cmd->p1 != 0 || cmd->p2 != 0) return FK_SW_INCORRECT_P1P2;
    recover(ctx);
    if (cmd->nc == 0) return init_version_info(ctx, resp);
    sw = init_parse(cmd->data, cmd->nc, &req);
    if (sw != FK_SW_OK) return sw;

    if (fk_store_size(ctx->store, HSM_ID_SO_PIN, &size) != FK_STORE_ENOENT) {
        sw = pin_try(ctx, &k_so, req.so_pin, SO_PIN_LEN, false, so_rec, &used);
        fk_wipe(so_rec, PINREC_LEN);
        if (sw != FK_SW_OK) {
            session_drop(&k_so);
            return sw;
        }
        proven = true;
    }

    sw = fk_rng_bytes(mk, sizeof(mk)) == FK_CRYPTO_OK ? FK_SW_OK : FK_SW_EXEC_ERROR;
    if (sw == FK_SW_OK)
        sw = pinrec_build(ctx, &k_user, req.user_pin, req.user_pin_len,
                          (req.cfg.options & OPT_TRANSPORT_PIN) ? PINREC_F_TRANSPORT : 0u, mk,
                          user_rec);
    if (sw == FK_SW_OK) sw = pinrec_build(ctx, &k_so, req.so_pin, SO_PIN_LEN, 0, mk, so_rec);
    fk_wipe(mk, sizeof(mk));
    if (sw != FK_SW_OK && proven) (void)ctr_write(ctx, k_so.ctr_id, SO_TRIES);
    if (sw == FK_SW_OK) {
        session_drop(&k_user);
        session_drop(&k_so);
        sw = init_commit(ctx, &req.cfg, user_rec, so_rec);
    }
    fk_wipe(&s_work, sizeof(s_work));
    /* Both verifiers were made anew, under the current root. */
    if (sw == FK_SW_OK) notify_migrated(ctx);
    return sw;
}

const fk_command_t hsm_pin_commands[] = {
    {FK_INS_VERIFY, cmd_verify},
    {FK_INS_CHANGE_REF_DATA, cmd_change},
    {FK_INS_RESET_RETRY, cmd_reset_retry},
    {INS_INITIALIZE, cmd_initialize},
};
const size_t hsm_pin_commands_len = FK_ARRAY_SIZE(hsm_pin_commands);

/* ---- Key blobs ---------------------------------------------------------------------- */

/* The AEAD key of key blob `fid`: HKDF-SHA256(salt = label, ikm = MK, info = fid). */
static bool blob_key(const uint8_t mk[HSM_MK_LEN], uint16_t fid, uint8_t key[KEY_LEN])
{
    uint8_t info[FID_LEN];

    fk_put_be16(info, fid);
    return fk_hkdf_sha256(k_label_key, LABEL_LEN(k_label_key), mk, HSM_MK_LEN, info,
                          sizeof(info), key, KEY_LEN) == FK_CRYPTO_OK;
}

#define BLOB_AAD_LEN (1u + FID_LEN + LABEL_LEN(k_aad_key))
static void blob_aad(uint8_t version, uint16_t fid, uint8_t aad[BLOB_AAD_LEN])
{
    aad[0] = version;
    fk_put_be16(aad + 1, fid);
    memcpy(aad + 1 + FID_LEN, k_aad_key, LABEL_LEN(k_aad_key));
}

/* Checks shared by hsm_key_write and hsm_key_read. */
static fk_sw_t blob_access(uint8_t key_id)
{
    if (!hsm_state()->mk_loaded) return FK_SW_SECURITY_NOT_SATISFIED;
    /* The device key is sealed without the MK (it outlives re-initialization). */
    if (key_id == HSM_DEVICE_KEY_ID) return FK_SW_INCORRECT_P1P2;
    return FK_SW_OK;
}

fk_sw_t hsm_key_write(const fk_applet_ctx_t *ctx, uint8_t key_id, const uint8_t *blob, size_t len)
{
    const uint16_t fid = HSM_FID(HSM_PREFIX_KEY, key_id);
    uint8_t key[KEY_LEN];
    uint8_t aad[BLOB_AAD_LEN];
    fk_sw_t sw = blob_access(key_id);

    if (sw != FK_SW_OK) return sw;
    if (blob == NULL || len == 0) return FK_SW_WRONG_DATA;
    if (len > HSM_KEY_BLOB_MAX) return FK_SW_NOT_ENOUGH_MEMORY;

    sw = FK_SW_EXEC_ERROR;
    s_work.blob[0] = KEYBLOB_VERSION;
    blob_aad(KEYBLOB_VERSION, fid, aad);
    if (fk_rng_bytes(s_work.blob + KEYBLOB_OFF_NONCE, FK_AEAD_NONCE_LEN) == FK_CRYPTO_OK &&
        blob_key(hsm_state()->mk, fid, key) &&
        fk_aead_seal(key, s_work.blob + KEYBLOB_OFF_NONCE, aad, sizeof(aad), blob, len,
                     s_work.blob + KEYBLOB_OFF_CT, s_work.blob + KEYBLOB_OFF_CT + len) ==
            FK_CRYPTO_OK) {
        sw = fk_seal_store(ctx->store, fid, s_work.blob, len + KEYBLOB_OVERHEAD) == FK_SEAL_OK
                 ? FK_SW_OK
                 : FK_SW_MEMORY_FAILURE;
    }
    fk_wipe(key, sizeof(key));
    fk_wipe(&s_work, sizeof(s_work));
    return sw;
}

fk_sw_t hsm_key_read(const fk_applet_ctx_t *ctx, uint8_t key_id, uint8_t *blob, size_t cap,
                     size_t *len)
{
    const uint16_t fid = HSM_FID(HSM_PREFIX_KEY, key_id);
    uint8_t key[KEY_LEN];
    uint8_t aad[BLOB_AAD_LEN];
    size_t n = 0, pt_len;
    fk_sw_t sw = blob_access(key_id);
    int rc;

    *len = 0;
    if (sw != FK_SW_OK) return sw;
    rc = fk_seal_load(ctx->store, fid, s_work.blob, sizeof(s_work.blob), &n);
    if (rc == FK_SEAL_ENOENT) return FK_SW_FILE_NOT_FOUND;
    if (rc == FK_SEAL_ESTORE) return FK_SW_MEMORY_FAILURE;
    sw = FK_SW_EXEC_ERROR;
    if (rc != FK_SEAL_OK || n <= KEYBLOB_OVERHEAD || s_work.blob[0] != KEYBLOB_VERSION) goto out;
    pt_len = n - KEYBLOB_OVERHEAD;
    if (blob == NULL || cap < pt_len) goto out;
    blob_aad(KEYBLOB_VERSION, fid, aad);
    if (blob_key(hsm_state()->mk, fid, key) &&
        fk_aead_open(key, s_work.blob + KEYBLOB_OFF_NONCE, aad, sizeof(aad),
                     s_work.blob + KEYBLOB_OFF_CT, pt_len, s_work.blob + KEYBLOB_OFF_CT + pt_len,
                     blob) == FK_CRYPTO_OK) {
        *len = pt_len;
        sw = FK_SW_OK;
    }
out:
    fk_wipe(key, sizeof(key));
    fk_wipe(&s_work, sizeof(s_work));
    return sw;
}
