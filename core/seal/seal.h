/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal.h - sealing at rest. Every secret the device keeps in flash is a
 * sealed record: AEAD-encrypted under a key derived from the root key
 * `kbase`, with the record's namespace and id and the format version bound in
 * as associated data, so a record cannot be moved to another id or another
 * applet's namespace, or replayed as another format. The scheme and its
 * threat model are in docs/sealing.md.
 *
 * kbase = HKDF-SHA256 over the OTP master key (MKEK, fk_hal_otp_key) when
 * it is provisioned, else over device-bound material (a random seed kept in
 * the store plus the chip serial: weaker, a flash dump together with the
 * serial opens everything). kbase is derived for each operation and wiped
 * before the function returns; it never stays in RAM.
 */
#ifndef FUSEKEY_SEAL_H
#define FUSEKEY_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/space.h"
#include "store/store.h"

#define FK_SEAL_VERSION 2u

/* Sealed record: version(1) root(1) nonce(12) ciphertext(n) tag(16). */
#define FK_SEAL_OVERHEAD (1u + 1u + 12u + 16u)

/* The largest plaintext fk_seal_store / fk_seal_load / fk_seal_reseal
 * handle (they work in one static buffer). Secrets are small: an RSA-4096
 * CRT key is about 2.5 KiB. fk_seal / fk_unseal on caller buffers have no
 * such limit. */
#define FK_SEAL_MAX_PLAINTEXT 4096u

/* The device-bound seed: main partition, the services' namespace
 * (core/services/ns.h: FK_NS_SERVICES, FK_ID_DEVICE_SEED), 32 random bytes. */

typedef enum fk_root {
    FK_ROOT_DEVICE = 1, /* device-bound material (no OTP master key yet) */
    FK_ROOT_OTP = 2,    /* OTP master key */
} fk_root_t;

enum {
    FK_SEAL_OK = 0,
    FK_SEAL_EAUTH = -1,    /* wrong key, tampered record, or moved to another id */
    FK_SEAL_EFORMAT = -2,  /* unknown version / root byte, or too short */
    FK_SEAL_ENOSPC = -3,   /* output buffer too small, or over FK_SEAL_MAX_PLAINTEXT */
    FK_SEAL_ERNG = -4,     /* no entropy */
    FK_SEAL_ESTORE = -5,   /* the store failed */
    FK_SEAL_EOTP = -6,     /* the OTP could not be read */
    FK_SEAL_ENOENT = -7,   /* fk_seal_load: no record with that id */
    FK_SEAL_ECRYPTO = -8,  /* the crypto library failed (e.g. out of its memory pool) */
    FK_SEAL_ESTATE = -9,   /* refused in this state (the device root is still current) */
    FK_SEAL_EFULL = -10,   /* fk_seal_store: the store is full (nothing written) */
};

/* What fk_seal_init did to the device seed. */
typedef struct fk_seal_init_info {
    bool seed_created;  /* there was none (and no MKEK): a fresh one was made */
    bool seed_damaged;  /* one of its two records was lost or unreadable */
    bool seed_repaired; /* ... and both are written again (false: that write failed,
                         * which may have left the store unmounted) */
} fk_seal_init_info_t;

/* Prepare sealing on the main partition: create the device-bound seed (two
 * records, written at once) when there is none and no MKEK, and write a lost
 * copy again from the intact one. A seed neither of whose records can be
 * read, or whose two copies differ, is FK_SEAL_ESTORE and is never replaced
 * (records sealed under it stay unopenable rather than silently orphaned).
 * Call once after mounting it; info may be NULL. */
int fk_seal_init(fk_store_t *store, fk_seal_init_info_t *info);

/* Which root new records are sealed under right now. */
int fk_seal_current_root(fk_root_t *root);

/* Every function below that names a record takes the space it lives in (a
 * namespace of the main partition: the device seed is looked up in the same
 * partition) and its id; both are bound into the record. */

/* Seal len bytes for record `id` of sp into out (len + FK_SEAL_OVERHEAD
 * bytes; out must not overlap pt) under the current root. */
int fk_seal(const fk_space_t *sp, uint16_t id, const void *pt, size_t len, uint8_t *out,
            size_t out_cap, size_t *out_len);

/* Open a sealed record for `id` of sp. pt may not alias in. On any failure
 * pt is zeroed. FK_SEAL_EAUTH if the record was sealed for another id,
 * namespace or key. */
int fk_unseal(const fk_space_t *sp, uint16_t id, const uint8_t *in, size_t in_len, void *pt,
              size_t pt_cap, size_t *pt_len);

/* Seal and write record `id` of sp (one store write: atomic, or staged in
 * the partition's open batch). */
int fk_seal_store(const fk_space_t *sp, uint16_t id, const void *pt, size_t len);

/* Read record `id` of sp and open it. */
int fk_seal_load(const fk_space_t *sp, uint16_t id, void *pt, size_t pt_cap, size_t *pt_len);

/* Migration step: if stored record `id` is sealed under another root than
 * the current one, open it under its own root and seal it again under the
 * current root (one atomic store write; a power cut leaves the old or the
 * new record, both of which open). *resealed (may be NULL) says whether
 * anything was written. */
int fk_seal_reseal(const fk_space_t *sp, uint16_t id, bool *resealed);

/* The root stored record `id` is sealed under, read from its header
 * without opening it (no key derived, no OTP read). FK_SEAL_ENOENT when
 * there is no such record, FK_SEAL_EFORMAT when it is not a sealed record
 * of a version and root this firmware knows. */
int fk_seal_record_root(const fk_space_t *sp, uint16_t id, fk_root_t *root);

/* Whether the device root is retired for good: the OTP key storage is locked
 * (fk_hal_otp_state: a lock value is programmed), state no flash writer can
 * undo. From then on no record or verifier of the device root opens, even
 * with a seed back in flash (docs/sealing.md). FK_SEAL_EOTP when the OTP
 * cannot be read (*retired is then true: fail closed). */
int fk_seal_device_root_retired(bool *retired);

/* Whether the device seed (the device root's material) is still stored:
 * either of its records, readable or not. */
int fk_seal_device_root_present(const fk_store_t *store, bool *present);

/* The last step of the migration (docs/migration.md): delete the device
 * seed, both records in one atomic store delete (the store destroys their
 * bytes). Refused with FK_SEAL_ESTATE while the device root is current,
 * FK_SEAL_EOTP when the MKEK cannot be read. FK_SEAL_OK once the seed is gone (also when it
 * already was). Every record still sealed under the device root is lost for
 * good: the caller must know that none is left. */
int fk_seal_forget_device_root(fk_store_t *store);

/* ---- PIN verifiers ------------------------------------------------------
 * A verifier is version(1) root(1) salt(16) tag(32): tag = HMAC-SHA256 under
 * a kbase-derived key of PBKDF2(pin, salt) with the namespace and id of the
 * PIN's record bound in. The PIN itself is never stored. */
#define FK_PIN_VERIFIER_LEN (1u + 1u + 16u + 32u)

int fk_pin_verifier_make(const fk_space_t *sp, uint16_t id, const void *pin, size_t pin_len,
                         uint8_t out[FK_PIN_VERIFIER_LEN]);

/* FK_SEAL_OK when pin matches (compared in constant time), FK_SEAL_EAUTH
 * when it does not. */
int fk_pin_verifier_check(const fk_space_t *sp, uint16_t id, const void *pin, size_t pin_len,
                          const uint8_t verifier[FK_PIN_VERIFIER_LEN]);

/* The root a verifier was made under (FK_SEAL_EFORMAT for an unknown
 * version or root byte). A verifier under another root than the current one
 * can only be made again with the PIN (docs/migration.md). */
int fk_pin_verifier_root(const uint8_t verifier[FK_PIN_VERIFIER_LEN], fk_root_t *root);

#endif /* FUSEKEY_SEAL_H */
