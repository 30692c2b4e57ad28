/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pin.h - the PIN service: one implementation of a PIN for every applet (the
 * HSM's user PIN and SO-PIN; OpenPGP's PW1, PW3 and reset code; PIV's PIN
 * and PUK; FIDO's clientPIN, whose "PIN" is the hash the platform sends).
 *
 * A PIN is a sealed record in the applet's main space (docs/pin.md):
 * its length, retry limit, flags, generation, a verifier (never the PIN) and
 * optionally a 32-byte secret wrapped under a key derived from the PIN (the
 * HSM's master key), plus a retry counter in the applet's counters space,
 * under the same id, bound to the record's generation (counter.h).
 *
 * Guarantees:
 * - A comparison spends its try on flash before the verifier is read: a
 *   power cut at any point either leaves the try unspent and nothing
 *   compared, or spends it. A correct PIN restores the tries.
 * - Checks come before effects: a PIN of a length or with characters its
 *   rules refuse, a blocked PIN and a transport PIN (outside a change) are
 *   refused without spending anything.
 * - Comparisons are constant time (fk_pin_verifier_check); the PIN and the
 *   wrapped secret are wiped from every buffer of this module on every path.
 * - Fails closed: a record that does not open, or a missing or unreadable
 *   counter, makes the PIN unusable (FK_PIN_EDAMAGED / blocked), never open.
 * - The verified state is per card: bits of an fk_pin_session_t in the
 *   applet's volatile state, which the card wipes at power-off and reset and
 *   the applet clears at deselect.
 * - A verifier made under the device root moves to the OTP root at the next
 *   successful check (docs/migration.md), after the tries were restored.
 */
#ifndef FUSEKEY_PIN_H
#define FUSEKEY_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "applet.h"
#include "seal/seal.h"

#define FK_PIN_LEN_MAX 127u   /* longest PIN any applet takes (OpenPGP's limit) */
#define FK_PIN_SECRET_LEN 32u /* the optional wrapped secret */
#define FK_PIN_LIMIT_MAX 15u  /* retry limits are 1..15 */
#define FK_PIN_RECORD_MAX 256u /* no stored PIN record (sealed) is longer */

/* Which bytes a PIN may contain. */
typedef enum fk_pin_charset {
    FK_PIN_BYTES = 0,   /* any byte (the HSM's binary PINs, FIDO's PIN hash) */
    FK_PIN_DIGITS,      /* '0'..'9' */
    FK_PIN_PRINTABLE,   /* printable ASCII, 0x20..0x7E (alphanumeric PINs) */
} fk_pin_charset_t;

/* One PIN of an applet: where it lives and its rules. A const table entry. */
typedef struct fk_pin_ref {
    uint16_t id;         /* record id (main space) and counter id (counters space) */
    uint8_t min_len;     /* 1..max_len */
    uint8_t max_len;     /* up to FK_PIN_LEN_MAX */
    uint8_t charset;     /* fk_pin_charset_t */
    uint8_t session_bit; /* 0..31: the bit of fk_pin_session_t.verified for it */
} fk_pin_ref_t;

/* The PINs verified in one card (part of the applet's volatile state). */
typedef struct fk_pin_session {
    uint32_t verified;
} fk_pin_session_t;

/* Record flags. */
#define FK_PIN_F_MUST_CHANGE 0x01u /* a transport PIN: only a change is allowed */

/* What a PIN looks like now (no try spent to learn it). */
typedef struct fk_pin_status {
    uint8_t len;   /* the PIN's length */
    uint8_t limit; /* its retry limit */
    uint8_t tries; /* tries left; 0: blocked (also when the counter is missing) */
    uint8_t flags; /* FK_PIN_F_* */
} fk_pin_status_t;

enum {
    FK_PIN_OK = 0,
    FK_PIN_ENOENT = -1,      /* no such PIN: never set */
    FK_PIN_EWRONG = -2,      /* wrong PIN; one try spent, status.tries say how many are left */
    FK_PIN_EBLOCKED = -3,    /* no try left: nothing compared (or the wrong PIN used the last) */
    FK_PIN_EMUSTCHANGE = -4, /* a transport PIN outside a change: nothing spent */
    FK_PIN_EFORMAT = -5,     /* length or characters outside the rules: nothing spent */
    FK_PIN_EDAMAGED = -6,    /* the record does not open or is malformed: unusable */
    FK_PIN_ESTORE = -7,      /* the store refused a write (full, flash error) */
    FK_PIN_ECRYPTO = -8,     /* no entropy, or the crypto library failed */
};

/* fk_pin_check flags. */
#define FK_PIN_CHECK_PREFIX 0x01u     /* compare the first (stored length) bytes of data */
#define FK_PIN_CHECK_FOR_CHANGE 0x02u /* a transport PIN may be checked (to change it) */

/* The status of a PIN (FK_PIN_OK, FK_PIN_ENOENT, FK_PIN_EDAMAGED). */
int fk_pin_status(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, fk_pin_status_t *st);

/* Check a PIN given in data (len bytes): all of it, or with
 * FK_PIN_CHECK_PREFIX its first (stored length) bytes, fewer when len is
 * shorter; *used (may be NULL) says how many were compared. The order is:
 * the rules (FK_PIN_EFORMAT, only without PREFIX), transport state, tries
 * left (FK_PIN_EBLOCKED), then the try spent on flash, then the comparison.
 * On success the tries are restored, the session bit is set, secret (may be
 * NULL) gets the wrapped secret, and an outdated verifier moves to the
 * current root. Any result but FK_PIN_OK clears the PIN's session bit.
 * st (may be NULL) gets the status after the check. */
int fk_pin_check(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, fk_pin_session_t *session,
                 const uint8_t *data, size_t len, unsigned flags, size_t *used,
                 uint8_t secret[FK_PIN_SECRET_LEN], fk_pin_status_t *st);

/* Set the PIN: a new record with a new generation, limit tries (1..15) and
 * flags (FK_PIN_F_*), wrapping secret (may be NULL). The rules are checked
 * first (FK_PIN_EFORMAT, nothing written). Then the retry counter of the new
 * generation is written (the current generation keeps its own value), then
 * the record: when the caller has a batch open on the main partition, the
 * record is staged in it, and the old PIN stays in force until the commit. */
int fk_pin_set(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, const uint8_t *pin, size_t len,
               uint8_t limit, uint8_t flags, const uint8_t secret[FK_PIN_SECRET_LEN]);

/* Give the PIN its full tries again (an unblock proven by another
 * credential). One write. */
int fk_pin_reset_tries(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref);

/* The root the PIN's verifier was made under (docs/migration.md):
 * FK_PIN_OK, FK_PIN_ENOENT or FK_PIN_EDAMAGED. */
int fk_pin_root(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, fk_root_t *root);

/* The migration hook's part for one PIN (applet.h, docs/migration.md):
 * re-seal its record under the current root and add 1 to *pending when its
 * verifier is still under another root. FK_PIN_ENOENT counts as done. */
int fk_pin_migrate(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, unsigned *pending);

static inline bool fk_pin_verified(const fk_pin_session_t *s, const fk_pin_ref_t *ref)
{
    return (s->verified >> ref->session_bit) & 1u;
}

static inline void fk_pin_session_drop(fk_pin_session_t *s, const fk_pin_ref_t *ref)
{
    s->verified &= ~(1u << ref->session_bit);
}

static inline void fk_pin_session_clear(fk_pin_session_t *s) { s->verified = 0; }

#endif /* FUSEKEY_PIN_H */
