/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal.c - sealing at rest (format and threat model: docs/sealing.md).
 *
 *   root material --HKDF(salt, info = root byte)--> kbase
 *   kbase --HKDF-Expand("...seal v1")--> seal key --ChaCha20-Poly1305--> records
 *   kbase --HKDF-Expand("...pin v1")---> pin key  --HMAC-SHA256--------> PIN verifiers
 *
 * Root material is the OTP master key (MKEK) when provisioned, else the
 * device seed (two store records of the services' namespace, ids
 * FK_ID_DEVICE_SEED and FK_ID_DEVICE_SEED_COPY, holding the same 32 bytes)
 * followed by the chip serial. kbase and the subkeys are derived inside each
 * call and wiped before it returns, on every path.
 *
 * IMPLEMENTATION NOTE: OTP read errors. Any error reading the MKEK through
 * the HAL (fk_hal_otp_key: FK_HAL_EIO for a damaged key, FK_HAL_EPERM when
 * the firmware may not read it, so we cannot know whether one is there) is
 * FK_SEAL_EOTP: we never fall back to the weaker device root because the
 * stronger one could not be read. Only FK_HAL_ENOENT, a key never
 * programmed, means "no MKEK".
 *
 * IMPLEMENTATION NOTE: the device seed is kept twice so that one damaged
 * record costs nothing. Both copies are written in one store batch and
 * deleted in one range delete; a lost copy is written again by
 * fk_seal_init from the other. Two readable copies that differ are an
 * error, never a choice.
 *
 * IMPLEMENTATION NOTE: moving to the OTP root (docs/migration.md). The
 * seal layer gives the steps: fk_seal_reseal moves one record,
 * fk_pin_verifier_root tells which verifiers still need their PIN, and
 * fk_seal_forget_device_root deletes the seed once the services
 * (core/services/services.c) know from every applet that nothing needs it
 * any more. Only the applets know which ids hold sealed records, so the
 * seal layer never scans the store. Once the OTP key storage is locked
 * (fk_seal_device_root_retired) nothing of the device root opens at all.
 *
 * IMPLEMENTATION NOTE: one static scratch buffer (s_scratch) holds a whole
 * sealed record for fk_seal_store, fk_seal_load and fk_seal_reseal, instead
 * of a large stack buffer. The core is single-threaded (hal.h), so these
 * functions are not reentrant by design. The buffer is wiped after use.
 */
#include "seal/seal.h"

#include <string.h>

#include "crypto/crypto.h"
#include "hal.h"
#include "services/ns.h"
#include "util.h"

#define SEED_LEN 32u
#define SERIAL_LEN 8u
#define MKEK_LEN FK_HAL_OTP_KEY_LEN
#define KEY_LEN 32u

/* Sealed record layout. */
#define REC_OFF_VERSION 0u
#define REC_OFF_ROOT 1u
#define REC_OFF_NONCE 2u
#define REC_OFF_CT (REC_OFF_NONCE + FK_AEAD_NONCE_LEN)

/* PIN verifier layout. */
#define PIN_VERIFIER_VERSION 2u
#define PIN_SALT_LEN 16u
#define PIN_OFF_VERSION 0u
#define PIN_OFF_ROOT 1u
#define PIN_OFF_SALT 2u
#define PIN_OFF_TAG (PIN_OFF_SALT + PIN_SALT_LEN)
#define PIN_HASH_LEN 32u
#define KEY_ID_LEN 3u /* namespace(1) || id(2, big-endian) */
#define SEED_KEY FK_STORE_KEY(FK_NS_SERVICES, FK_ID_DEVICE_SEED)
#define SEED_COPY_KEY FK_STORE_KEY(FK_NS_SERVICES, FK_ID_DEVICE_SEED_COPY)
_Static_assert(FK_ID_DEVICE_SEED_COPY == FK_ID_DEVICE_SEED + 1u, "the seed records are a range");

/* PBKDF2 work factor of PIN verifiers (docs/sealing.md, "PIN verifiers"). */
#define PIN_PBKDF2_ITERATIONS 4096u

_Static_assert(FK_SEAL_OVERHEAD == REC_OFF_CT + FK_AEAD_TAG_LEN, "sealed record layout");
_Static_assert(FK_PIN_VERIFIER_LEN == PIN_OFF_TAG + FK_SHA256_LEN, "PIN verifier layout");
_Static_assert(MKEK_LEN == 32u, "the MKEK is 32 bytes");
_Static_assert(FK_SEAL_MAX_PLAINTEXT + FK_SEAL_OVERHEAD <= FK_STORE_MAX_RECORD,
               "sealed records must fit a store record");

static const char k_kbase_salt[] = "fusekey kbase v1";
static const char k_label_seal[] = "fusekey seal v1";
static const char k_label_pin[] = "fusekey pin v1";
static const char k_aad_domain[] = "fusekey sealed record";

#define LABEL_LEN(s) (sizeof(s) - 1u)
#define AAD_LEN (2u + KEY_ID_LEN + LABEL_LEN(k_aad_domain))

/* Internal: the key material of a root is not on this device (no MKEK for
 * an OTP-root record, no device seed). Callers map it to a public code. */
#define KEY_ABSENT 1

static uint8_t s_scratch[FK_SEAL_MAX_PLAINTEXT + FK_SEAL_OVERHEAD];

static bool root_known(uint8_t root) { return root == FK_ROOT_DEVICE || root == FK_ROOT_OTP; }

/* Read the MKEK through the HAL. *present is false, and mkek zero, when it
 * was never programmed; a damaged or unreadable one is FK_SEAL_EOTP (mkek
 * zero), never "absent". */
static int read_mkek(uint8_t mkek[MKEK_LEN], bool *present)
{
    const int rc = fk_hal_otp_key(FK_HAL_OTP_MKEK, mkek);

    *present = rc == FK_HAL_OK;
    if (rc == FK_HAL_OK || rc == FK_HAL_ENOENT) return FK_SEAL_OK;
    fk_wipe(mkek, MKEK_LEN);
    return FK_SEAL_EOTP;
}

int fk_seal_current_root(fk_root_t *root)
{
    uint8_t mkek[MKEK_LEN];
    bool present = false;
    int rc = read_mkek(mkek, &present);

    fk_wipe(mkek, sizeof(mkek));
    if (rc != FK_SEAL_OK) return rc;
    *root = present ? FK_ROOT_OTP : FK_ROOT_DEVICE;
    return FK_SEAL_OK;
}

int fk_seal_device_root_retired(bool *retired)
{
    fk_hal_otp_state_t st;

    FK_ASSERT(retired != NULL);
    *retired = true; /* fail closed */
    if (fk_hal_otp_state(&st) != FK_HAL_OK) return FK_SEAL_EOTP;
    *retired = st.keys_lock != FK_HAL_KEYS_UNLOCKED;
    return FK_SEAL_OK;
}

/* Read one copy of the 32-byte device seed: KEY_ABSENT when there is none,
 * FK_SEAL_ESTORE when it cannot be read or has the wrong size. */
static int read_seed_copy(const fk_store_t *store, fk_store_key_t key, uint8_t seed[SEED_LEN])
{
    uint32_t size = 0;
    int rc = fk_store_size(store, key, &size);

    if (rc == FK_STORE_ENOENT) return KEY_ABSENT;
    if (rc != FK_STORE_OK || size != SEED_LEN) return FK_SEAL_ESTORE;
    if (fk_store_read(store, key, 0, seed, SEED_LEN) != FK_STORE_OK) {
        fk_wipe(seed, SEED_LEN);
        return FK_SEAL_ESTORE;
    }
    return FK_SEAL_OK;
}

/* Read the device seed from whichever of its two records is intact.
 * *damaged (may be NULL) tells that one copy was missing or unreadable while
 * the other was good. Two readable copies that differ are FK_SEAL_ESTORE:
 * no guess between them. KEY_ABSENT only when neither record exists. */
static int read_seed(const fk_store_t *store, uint8_t seed[SEED_LEN], bool *damaged)
{
    uint8_t copy[SEED_LEN];
    int rc = read_seed_copy(store, SEED_KEY, seed);
    const int rc_copy = read_seed_copy(store, SEED_COPY_KEY, copy);

    if (damaged != NULL) *damaged = false;
    if (rc == FK_SEAL_OK && rc_copy == FK_SEAL_OK) {
        if (!fk_ct_equal(seed, copy, SEED_LEN)) rc = FK_SEAL_ESTORE;
    } else if (rc == FK_SEAL_OK || rc_copy == FK_SEAL_OK) {
        if (rc_copy == FK_SEAL_OK) memcpy(seed, copy, SEED_LEN);
        if (damaged != NULL) *damaged = true;
        rc = FK_SEAL_OK;
    } else if (rc == KEY_ABSENT && rc_copy == KEY_ABSENT) {
        rc = KEY_ABSENT;
    } else {
        rc = FK_SEAL_ESTORE;
    }
    fk_wipe(copy, sizeof(copy));
    if (rc != FK_SEAL_OK) fk_wipe(seed, SEED_LEN);
    return rc;
}

/* kbase for `root`: HKDF-SHA256(salt, root material, info = root byte).
 * KEY_ABSENT when this device lacks that root's material. */
static int derive_kbase(const fk_store_t *store, fk_root_t root, uint8_t kbase[KEY_LEN])
{
    uint8_t ikm[SEED_LEN + SERIAL_LEN];
    const uint8_t info = (uint8_t)root;
    size_t ikm_len;
    bool present = false;
    int rc;

    _Static_assert(sizeof(ikm) >= MKEK_LEN, "ikm holds either root's material");
    if (root == FK_ROOT_OTP) {
        rc = read_mkek(ikm, &present);
        if (rc == FK_SEAL_OK && !present) rc = KEY_ABSENT;
        ikm_len = MKEK_LEN;
    } else {
        bool retired = true;
        FK_ASSERT(root == FK_ROOT_DEVICE);
        /* Once the key page is locked nothing of the device root opens,
         * whatever seed a flash writer may have put back. */
        rc = fk_seal_device_root_retired(&retired);
        if (rc == FK_SEAL_OK && retired) rc = KEY_ABSENT;
        if (rc == FK_SEAL_OK) rc = read_seed(store, ikm, NULL);
        if (rc == FK_SEAL_OK) fk_hal_serial(ikm + SEED_LEN);
        ikm_len = SEED_LEN + SERIAL_LEN;
    }
    if (rc == FK_SEAL_OK &&
        fk_hkdf_sha256(k_kbase_salt, LABEL_LEN(k_kbase_salt), ikm, ikm_len, &info, sizeof(info),
                       kbase, KEY_LEN) != FK_CRYPTO_OK)
        rc = FK_SEAL_ECRYPTO;
    fk_wipe(ikm, sizeof(ikm));
    if (rc != FK_SEAL_OK) fk_wipe(kbase, KEY_LEN);
    return rc;
}

/* A per-purpose subkey of `root`'s kbase (kbase itself is wiped here). */
static int derive_subkey(const fk_store_t *store, fk_root_t root, const char *label,
                         size_t label_len, uint8_t key[KEY_LEN])
{
    uint8_t kbase[KEY_LEN];
    int rc = derive_kbase(store, root, kbase);

    if (rc == FK_SEAL_OK &&
        fk_hkdf_sha256_expand(kbase, sizeof(kbase), label, label_len, key, KEY_LEN) !=
            FK_CRYPTO_OK)
        rc = FK_SEAL_ECRYPTO;
    fk_wipe(kbase, sizeof(kbase));
    if (rc != FK_SEAL_OK) fk_wipe(key, KEY_LEN);
    return rc;
}

/* ns || id (big-endian): the record's name, bound into seals and verifiers. */
static void put_key_id(uint8_t out[KEY_ID_LEN], const fk_space_t *sp, uint16_t id)
{
    out[0] = sp->ns;
    fk_put_be16(out + 1, id);
}

/* AAD = version || root || ns || id (big-endian) || domain label. */
static void build_aad(uint8_t aad[AAD_LEN], uint8_t version, uint8_t root, const fk_space_t *sp,
                      uint16_t id)
{
    aad[0] = version;
    aad[1] = root;
    put_key_id(aad + 2, sp, id);
    memcpy(aad + 2 + KEY_ID_LEN, k_aad_domain, LABEL_LEN(k_aad_domain));
}

/* Seal pt (len bytes) into rec under `root`; rec[REC_OFF_CT..] may hold pt
 * itself (in place). On failure rec is wiped. */
static int seal_under(const fk_space_t *sp, fk_root_t root, uint16_t id, const uint8_t *pt,
                      size_t len, uint8_t *rec)
{
    uint8_t key[KEY_LEN];
    uint8_t aad[AAD_LEN];
    int rc;

    if (fk_rng_bytes(rec + REC_OFF_NONCE, FK_AEAD_NONCE_LEN) != FK_CRYPTO_OK) {
        rc = FK_SEAL_ERNG;
        goto out;
    }
    rc = derive_subkey(sp->store, root, k_label_seal, LABEL_LEN(k_label_seal), key);
    if (rc == KEY_ABSENT) rc = root == FK_ROOT_OTP ? FK_SEAL_EOTP : FK_SEAL_ESTORE;
    if (rc != FK_SEAL_OK) goto out;
    rec[REC_OFF_VERSION] = FK_SEAL_VERSION;
    rec[REC_OFF_ROOT] = (uint8_t)root;
    build_aad(aad, FK_SEAL_VERSION, (uint8_t)root, sp, id);
    if (fk_aead_seal(key, rec + REC_OFF_NONCE, aad, sizeof(aad), pt, len, rec + REC_OFF_CT,
                     rec + REC_OFF_CT + len) != FK_CRYPTO_OK)
        rc = FK_SEAL_ECRYPTO;
out:
    fk_wipe(key, sizeof(key));
    if (rc != FK_SEAL_OK) fk_wipe(rec, len + FK_SEAL_OVERHEAD);
    return rc;
}

/* Check a record's header: FK_SEAL_OK, or FK_SEAL_EFORMAT. */
static int check_header(const uint8_t *rec, size_t rec_len)
{
    if (rec_len < FK_SEAL_OVERHEAD) return FK_SEAL_EFORMAT;
    if (rec[REC_OFF_VERSION] != FK_SEAL_VERSION) return FK_SEAL_EFORMAT;
    if (!root_known(rec[REC_OFF_ROOT])) return FK_SEAL_EFORMAT;
    return FK_SEAL_OK;
}

/* Open a record whose header passed check_header under the root its root
 * byte names; pt may equal rec + REC_OFF_CT (in place). pt (rec_len -
 * overhead bytes) is zeroed on failure. */
static int open_record(const fk_space_t *sp, uint16_t id, const uint8_t *rec,
                       size_t rec_len, uint8_t *pt)
{
    const size_t len = rec_len - FK_SEAL_OVERHEAD;
    const fk_root_t root = (fk_root_t)rec[REC_OFF_ROOT];
    uint8_t key[KEY_LEN];
    uint8_t aad[AAD_LEN];
    int rc = derive_subkey(sp->store, root, k_label_seal, LABEL_LEN(k_label_seal), key);

    /* No key of that root on this device: nothing here can open it. */
    if (rc == KEY_ABSENT) rc = FK_SEAL_EAUTH;
    if (rc == FK_SEAL_OK) {
        build_aad(aad, rec[REC_OFF_VERSION], rec[REC_OFF_ROOT], sp, id);
        rc = fk_aead_open(key, rec + REC_OFF_NONCE, aad, sizeof(aad), rec + REC_OFF_CT, len,
                          rec + REC_OFF_CT + len, pt);
        if (rc == FK_CRYPTO_EAUTH)
            rc = FK_SEAL_EAUTH;
        else if (rc != FK_CRYPTO_OK)
            rc = FK_SEAL_ECRYPTO;
    }
    fk_wipe(key, sizeof(key));
    if (rc != FK_SEAL_OK && len > 0) fk_wipe(pt, len);
    return rc;
}

static bool overlaps(const void *a, size_t a_len, const void *b, size_t b_len)
{
    const uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return a_len > 0 && b_len > 0 && x < y + b_len && y < x + a_len;
}

int fk_seal(const fk_space_t *sp, uint16_t id, const void *pt, size_t len, uint8_t *out,
            size_t out_cap, size_t *out_len)
{
    fk_root_t root;
    int rc;

    FK_ASSERT(sp != NULL && out != NULL && out_len != NULL && (pt != NULL || len == 0));
    *out_len = 0;
    if (len > SIZE_MAX - FK_SEAL_OVERHEAD || out_cap < len + FK_SEAL_OVERHEAD)
        return FK_SEAL_ENOSPC;
    FK_ASSERT(!overlaps(pt, len, out, len + FK_SEAL_OVERHEAD));
    rc = fk_seal_current_root(&root);
    if (rc != FK_SEAL_OK) return rc;
    rc = seal_under(sp, root, id, (const uint8_t *)pt, len, out);
    if (rc == FK_SEAL_OK) *out_len = len + FK_SEAL_OVERHEAD;
    return rc;
}

int fk_unseal(const fk_space_t *sp, uint16_t id, const uint8_t *in, size_t in_len, void *pt,
              size_t pt_cap, size_t *pt_len)
{
    int rc;

    FK_ASSERT(sp != NULL && pt_len != NULL && (in != NULL || in_len == 0));
    FK_ASSERT(pt != NULL || pt_cap == 0);
    *pt_len = 0;
    rc = check_header(in, in_len);
    if (rc == FK_SEAL_OK && pt_cap < in_len - FK_SEAL_OVERHEAD) rc = FK_SEAL_ENOSPC;
    if (rc == FK_SEAL_OK) {
        FK_ASSERT(!overlaps(pt, pt_cap, in, in_len));
        rc = open_record(sp, id, in, in_len, (uint8_t *)pt);
    }
    if (rc != FK_SEAL_OK) {
        if (pt_cap > 0) fk_wipe(pt, pt_cap);
        return rc;
    }
    *pt_len = in_len - FK_SEAL_OVERHEAD;
    return FK_SEAL_OK;
}

/* The records that hold the seed itself are never sealed records. */
static bool is_seed(const fk_space_t *sp, uint16_t id)
{
    return sp->ns == FK_NS_SERVICES && (id == FK_ID_DEVICE_SEED || id == FK_ID_DEVICE_SEED_COPY);
}

int fk_seal_store(const fk_space_t *sp, uint16_t id, const void *pt, size_t len)
{
    size_t rec_len = 0;
    int rc;

    FK_ASSERT(sp != NULL && (pt != NULL || len == 0));
    if (len > FK_SEAL_MAX_PLAINTEXT) return FK_SEAL_ENOSPC;
    /* Never let a sealed record replace the seed that opens the others. */
    if (is_seed(sp, id)) return FK_SEAL_ESTORE;
    rc = fk_seal(sp, id, pt, len, s_scratch, sizeof(s_scratch), &rec_len);
    if (rc == FK_SEAL_OK) {
        const int wrc = fk_space_write(sp, id, s_scratch, rec_len);
        if (wrc != FK_STORE_OK) rc = wrc == FK_STORE_ENOSPC ? FK_SEAL_EFULL : FK_SEAL_ESTORE;
    }
    fk_wipe(s_scratch, sizeof(s_scratch));
    return rc;
}

/* Read stored record `id` into s_scratch: its length in *rec_len. */
static int load_record(const fk_space_t *sp, uint16_t id, size_t *rec_len)
{
    uint32_t size = 0;
    int rc = fk_space_size(sp, id, &size);

    if (rc == FK_STORE_ENOENT) return FK_SEAL_ENOENT;
    if (rc != FK_STORE_OK) return FK_SEAL_ESTORE;
    /* Larger than anything fk_seal_store writes: not a sealed record. */
    if (size < FK_SEAL_OVERHEAD || size > sizeof(s_scratch)) return FK_SEAL_EFORMAT;
    if (fk_space_read(sp, id, 0, s_scratch, size) != FK_STORE_OK) return FK_SEAL_ESTORE;
    *rec_len = size;
    return check_header(s_scratch, size);
}

int fk_seal_load(const fk_space_t *sp, uint16_t id, void *pt, size_t pt_cap, size_t *pt_len)
{
    size_t rec_len = 0;
    int rc;

    FK_ASSERT(sp != NULL && pt_len != NULL && (pt != NULL || pt_cap == 0));
    *pt_len = 0;
    rc = load_record(sp, id, &rec_len);
    if (rc == FK_SEAL_OK) rc = fk_unseal(sp, id, s_scratch, rec_len, pt, pt_cap, pt_len);
    fk_wipe(s_scratch, sizeof(s_scratch));
    if (rc != FK_SEAL_OK && pt_cap > 0) fk_wipe(pt, pt_cap);
    return rc;
}

int fk_seal_reseal(const fk_space_t *sp, uint16_t id, bool *resealed)
{
    size_t rec_len = 0, len;
    fk_root_t root;
    int rc;

    FK_ASSERT(sp != NULL);
    if (resealed != NULL) *resealed = false;
    if (is_seed(sp, id)) return FK_SEAL_EFORMAT;
    rc = fk_seal_current_root(&root);
    if (rc == FK_SEAL_OK) rc = load_record(sp, id, &rec_len);
    if (rc != FK_SEAL_OK || s_scratch[REC_OFF_ROOT] == (uint8_t)root) goto out;

    /* In place: the plaintext replaces the ciphertext, then is sealed again
     * under the current root with a fresh nonce. */
    len = rec_len - FK_SEAL_OVERHEAD;
    rc = open_record(sp, id, s_scratch, rec_len, s_scratch + REC_OFF_CT);
    if (rc == FK_SEAL_OK) rc = seal_under(sp, root, id, s_scratch + REC_OFF_CT, len, s_scratch);
    if (rc == FK_SEAL_OK && fk_space_write(sp, id, s_scratch, rec_len) != FK_STORE_OK)
        rc = FK_SEAL_ESTORE;
    if (rc == FK_SEAL_OK && resealed != NULL) *resealed = true;
out:
    fk_wipe(s_scratch, sizeof(s_scratch));
    return rc;
}

int fk_seal_record_root(const fk_space_t *sp, uint16_t id, fk_root_t *root)
{
    uint8_t hdr[REC_OFF_NONCE];
    uint32_t size = 0;
    int rc;

    FK_ASSERT(sp != NULL && root != NULL);
    rc = fk_space_size(sp, id, &size);
    if (rc == FK_STORE_ENOENT) return FK_SEAL_ENOENT;
    if (rc != FK_STORE_OK) return FK_SEAL_ESTORE;
    if (size < FK_SEAL_OVERHEAD || size > sizeof(s_scratch)) return FK_SEAL_EFORMAT;
    if (fk_space_read(sp, id, 0, hdr, sizeof(hdr)) != FK_STORE_OK) return FK_SEAL_ESTORE;
    if (hdr[REC_OFF_VERSION] != FK_SEAL_VERSION || !root_known(hdr[REC_OFF_ROOT]))
        return FK_SEAL_EFORMAT;
    *root = (fk_root_t)hdr[REC_OFF_ROOT];
    return FK_SEAL_OK;
}

int fk_seal_device_root_present(const fk_store_t *store, bool *present)
{
    fk_store_key_t key = 0;
    int rc;

    FK_ASSERT(store != NULL && present != NULL);
    /* Either copy, readable or not: a damaged seed is still a device root
     * that records may need, never a reason to call the migration done. */
    rc = fk_store_first(store, SEED_KEY, &key);
    if (rc != FK_STORE_OK && rc != FK_STORE_ENOENT) return FK_SEAL_ESTORE;
    *present = rc == FK_STORE_OK && key <= SEED_COPY_KEY;
    return FK_SEAL_OK;
}

int fk_seal_forget_device_root(fk_store_t *store)
{
    fk_root_t root;
    int rc;

    FK_ASSERT(store != NULL);
    rc = fk_seal_current_root(&root);
    if (rc != FK_SEAL_OK) return rc;
    /* Without the MKEK the seed is the only root: deleting it loses all. */
    if (root != FK_ROOT_OTP) return FK_SEAL_ESTATE;
    /* Both copies in one marker: never one copy left to be "repaired". */
    rc = fk_store_delete_range(store, SEED_KEY, SEED_COPY_KEY);
    return rc == FK_STORE_OK ? FK_SEAL_OK : FK_SEAL_ESTORE;
}

/* Write a fresh seed as both of its records at once. */
static int new_seed(fk_store_t *store, const uint8_t seed[SEED_LEN])
{
    if (fk_store_batch_begin(store) != FK_STORE_OK) return FK_SEAL_ESTORE;
    if (fk_store_write(store, SEED_KEY, seed, SEED_LEN) != FK_STORE_OK ||
        fk_store_write(store, SEED_COPY_KEY, seed, SEED_LEN) != FK_STORE_OK) {
        fk_store_batch_abort(store);
        return FK_SEAL_ESTORE;
    }
    return fk_store_batch_commit(store) == FK_STORE_OK ? FK_SEAL_OK : FK_SEAL_ESTORE;
}

int fk_seal_init(fk_store_t *store, fk_seal_init_info_t *info)
{
    uint8_t seed[SEED_LEN];
    bool damaged = false;
    fk_root_t root;
    int rc;

    FK_ASSERT(store != NULL);
    if (info != NULL) memset(info, 0, sizeof(*info));
    rc = fk_seal_current_root(&root);
    if (rc != FK_SEAL_OK) return rc;
    rc = read_seed(store, seed, &damaged);
    if (rc == FK_SEAL_OK && damaged) {
        /* One copy was lost: write both again from the good one, so that
         * the next damage costs nothing either. A failure here is no reason
         * to refuse the seed that was read; the next start tries again. */
        const bool repaired = new_seed(store, seed) == FK_SEAL_OK;
        if (info != NULL) {
            info->seed_damaged = true;
            info->seed_repaired = repaired;
        }
        goto out;
    }
    /* A seed that exists is kept as it is (it opens device-root records,
     * also after an MKEK is provisioned); one that cannot be read is
     * reported, never replaced. A device with an MKEK needs no new seed. */
    if (rc != KEY_ABSENT || root == FK_ROOT_OTP) goto out;
    if (fk_rng_bytes(seed, sizeof(seed)) != FK_CRYPTO_OK)
        rc = FK_SEAL_ERNG;
    else
        rc = new_seed(store, seed);
    if (rc == FK_SEAL_OK && info != NULL) info->seed_created = true;
out:
    fk_wipe(seed, sizeof(seed));
    return rc == KEY_ABSENT ? FK_SEAL_OK : rc;
}

/* ---- PIN verifiers ------------------------------------------------------ */

/* tag = HMAC-SHA256(pin key of `root`, ns || id BE || PBKDF2(pin, salt)). */
static int pin_tag(const fk_space_t *sp, fk_root_t root, uint16_t id, const void *pin,
                   size_t pin_len, const uint8_t salt[PIN_SALT_LEN], uint8_t tag[FK_SHA256_LEN])
{
    uint8_t key[KEY_LEN];
    uint8_t msg[KEY_ID_LEN + PIN_HASH_LEN];
    int rc = derive_subkey(sp->store, root, k_label_pin, LABEL_LEN(k_label_pin), key);

    if (rc == FK_SEAL_OK) {
        put_key_id(msg, sp, id);
        if (fk_pbkdf2_sha256(pin, pin_len, salt, PIN_SALT_LEN, PIN_PBKDF2_ITERATIONS,
                             msg + KEY_ID_LEN, PIN_HASH_LEN) != FK_CRYPTO_OK)
            rc = FK_SEAL_ECRYPTO;
    }
    if (rc == FK_SEAL_OK) fk_hmac_sha256(key, sizeof(key), msg, sizeof(msg), tag);
    fk_wipe(key, sizeof(key));
    fk_wipe(msg, sizeof(msg));
    if (rc != FK_SEAL_OK) fk_wipe(tag, FK_SHA256_LEN);
    return rc;
}

int fk_pin_verifier_make(const fk_space_t *sp, uint16_t id, const void *pin, size_t pin_len,
                         uint8_t out[FK_PIN_VERIFIER_LEN])
{
    fk_root_t root;
    int rc;

    FK_ASSERT(sp != NULL && out != NULL && (pin != NULL || pin_len == 0));
    rc = fk_seal_current_root(&root);
    if (rc == FK_SEAL_OK && fk_rng_bytes(out + PIN_OFF_SALT, PIN_SALT_LEN) != FK_CRYPTO_OK)
        rc = FK_SEAL_ERNG;
    if (rc == FK_SEAL_OK) {
        rc = pin_tag(sp, root, id, pin, pin_len, out + PIN_OFF_SALT, out + PIN_OFF_TAG);
        if (rc == KEY_ABSENT) rc = FK_SEAL_ESTORE;
    }
    if (rc != FK_SEAL_OK) {
        fk_wipe(out, FK_PIN_VERIFIER_LEN);
        return rc;
    }
    out[PIN_OFF_VERSION] = PIN_VERIFIER_VERSION;
    out[PIN_OFF_ROOT] = (uint8_t)root;
    return FK_SEAL_OK;
}

int fk_pin_verifier_check(const fk_space_t *sp, uint16_t id, const void *pin, size_t pin_len,
                          const uint8_t verifier[FK_PIN_VERIFIER_LEN])
{
    uint8_t tag[FK_SHA256_LEN];
    int rc;

    FK_ASSERT(sp != NULL && verifier != NULL && (pin != NULL || pin_len == 0));
    if (verifier[PIN_OFF_VERSION] != PIN_VERIFIER_VERSION || !root_known(verifier[PIN_OFF_ROOT]))
        return FK_SEAL_EFORMAT;
    rc = pin_tag(sp, (fk_root_t)verifier[PIN_OFF_ROOT], id, pin, pin_len,
                 verifier + PIN_OFF_SALT, tag);
    if (rc == KEY_ABSENT) rc = FK_SEAL_EAUTH;
    if (rc == FK_SEAL_OK && !fk_ct_equal(tag, verifier + PIN_OFF_TAG, FK_SHA256_LEN))
        rc = FK_SEAL_EAUTH;
    fk_wipe(tag, sizeof(tag));
    return rc;
}

int fk_pin_verifier_root(const uint8_t verifier[FK_PIN_VERIFIER_LEN], fk_root_t *root)
{
    FK_ASSERT(verifier != NULL && root != NULL);
    if (verifier[PIN_OFF_VERSION] != PIN_VERIFIER_VERSION || !root_known(verifier[PIN_OFF_ROOT]))
        return FK_SEAL_EFORMAT;
    *root = (fk_root_t)verifier[PIN_OFF_ROOT];
    return FK_SEAL_OK;
}
