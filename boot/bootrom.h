/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bootrom.h - a model of what the RP2350 bootrom decides about a flash image
 * on a chip in a given OTP state (docs/boot.md "The bootrom's decision"):
 * secure boot from the critical rows, the boot-key fingerprints, the block
 * loop and the choice between IMAGE_DEFs (erratum E13 on A2), hash and
 * signature, the rollback floor and ROLLBACK_REQUIRED, and the burns of the
 * thermometer and ROLLBACK_REQUIRED when an image advances the floor.
 *
 * The model reads the OTP as the bootrom does: secure guarded raw reads of
 * the redundant rows (voted with otp_map.h), unguarded raw reads to test the
 * thermometer rows for readability, guarded ECC reads of the fingerprints.
 * Call it on an OTP in its state after a reset (fk_otp_reset).
 *
 * Two entry points: fk_boot_predict() only reads and says what would
 * happen, burns and reboots included; fk_boot_run() does it, burning with
 * secure raw writes of cur|bit and resetting the OTP between passes when a
 * rollback above 24 needs a reboot.
 */
#ifndef FUSEKEY_BOOT_BOOTROM_H
#define FUSEKEY_BOOT_BOOTROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot_err.h"
#include "image.h"
#include "otp_model.h"

#define FK_BOOT_MAX_PASSES 8u
#define FK_BOOT_MAX_BURNS (2u * FK_BOOT_MAX_PASSES)

typedef enum fk_boot_verdict {
    FK_BOOT_LAUNCH = 0, /* the image runs */
    FK_BOOT_REFUSED,    /* no bootable image: the bootrom goes on to BOOTSEL */
    FK_BOOT_FAULT,      /* the bootrom faults (a guarded OTP read): nothing boots */
    FK_BOOT_ABORTED,    /* a rollback burn failed: the launch is abandoned */
} fk_boot_verdict_t;

/* One RBIT-3 burn: raw write of cur | 1 << bit to row, row + 1, row + 2. */
typedef struct fk_boot_burn {
    uint16_t row;
    uint8_t bit;
    bool rollback_required; /* the ROLLBACK_REQUIRED flag, not a thermometer bit */
    bool changes;           /* at least one copy lacked the bit */
    bool reboot_after;      /* the bootrom reboots after this pass */
    int rc;                 /* FK_OTP_OK or the otp error (predicted or actual) */
} fk_boot_burn_t;

typedef struct fk_boot_result {
    fk_boot_verdict_t verdict;
    fk_boot_err_t reason;    /* FK_BOOT_OK when launched */
    fk_boot_err_t cause;     /* FK_BOOT_RE13: why the earlier IMAGE_DEF was rejected */
    bool secure;             /* CRIT1.SECURE_BOOT_ENABLE (3 of 8 rows) */
    bool rollback_required;  /* BOOT_FLAGS0.ROLLBACK_REQUIRED (2 of 3) */
    bool has_block;          /* an IMAGE_DEF was chosen */
    uint32_t block_addr;     /* its address */
    uint16_t image_flags;    /* its IMAGE_TYPE flags */
    int key_slot;            /* boot-key slot its key matched, -1 none */
    bool has_rollback;       /* it carries a rollback version (rows > 0, version > 0) */
    uint16_t rollback;
    unsigned floor;          /* floor before: over the image's rows if it has any,
                                else over 0x4E / 0x51 */
    unsigned floor_after;    /* floor once every burn is done */
    bool tbyb;               /* try-before-you-buy: burns deferred to explicit_buy */
    bool arch_switch;        /* image for the other architecture (non-secure only) */
    unsigned passes;         /* boot passes (1 + rollback reboots) */
    unsigned n_burns;
    fk_boot_burn_t burns[FK_BOOT_MAX_BURNS];
    int otp_rc;              /* FAULT / ABORTED: the otp error */
    uint16_t otp_row;        /* FAULT / ABORTED: the row involved */
} fk_boot_result_t;

/* What the bootrom would do with img on a chip whose OTP is otp. Reads only
 * (the OTP is not changed); the burns are listed with the result a secure
 * raw write would have under the current page locks. */
void fk_boot_predict(const fk_otp_t *otp, const fk_image_t *img, fk_boot_result_t *res);

/* The same, done: burns are written (secure raw writes of cur|bit; a
 * failure aborts the launch, rows already written stay written) and, for a
 * rollback that needs a reboot, the OTP is reset and the boot runs again. */
void fk_boot_run(fk_otp_t *otp, const fk_image_t *img, fk_boot_result_t *res);

/* What the image says about itself, checked as on an ideal chip (secure,
 * its own key fused, blank thermometer, stepping A3): the block the bootrom
 * would choose and whether its hash, HASH_VALUE and signature verify. */
typedef struct fk_boot_info {
    fk_boot_err_t loop;       /* the block loop: FK_BOOT_OK or why it is broken */
    unsigned blocks;          /* blocks in the loop */
    bool has_block;           /* an executable IMAGE_DEF was chosen */
    uint32_t block_addr;
    uint16_t block_words;     /* words START .. END */
    uint16_t image_flags;
    fk_boot_err_t rejected;   /* structural rejection, FK_BOOT_OK if none */
    bool has_version;
    uint16_t major, minor;
    uint8_t rows;             /* rollback rows */
    uint16_t rollback;
    uint16_t row[FK_BOOT_MAX_PASSES]; /* the first rows (up to 8) */
    bool has_hash_def;
    uint32_t hash_words;
    uint8_t hash[32];         /* the image hash (valid when hash_ok) */
    bool hash_ok;             /* the hash could be computed */
    bool has_hash_value;
    bool hash_value_ok;
    bool is_signed;           /* a secp256k1 SIGNATURE item */
    uint8_t pubkey[64];       /* X || Y */
    uint8_t fingerprint[32];  /* SHA-256 of pubkey */
    bool all_signed;          /* HASH_DEF covers everything before the signature */
    bool sig_ok;              /* the signature verifies over the hash */
    bool has_vector_table, has_entry_point;
    uint32_t vector_table, pc, sp;
} fk_boot_info_t;

/* Fill *info from img (never fails: problems are in the fields). */
void fk_boot_inspect(const fk_image_t *img, fk_boot_info_t *info);

/* The same for the executable IMAGE_DEF of the loop at address addr instead
 * of the chosen one (has_block false when there is none). */
void fk_boot_inspect_at(const fk_image_t *img, uint32_t addr, fk_boot_info_t *info);

/* The boot-key fingerprint: SHA-256 of the 64-byte public key X || Y. */
void fk_boot_fingerprint(const uint8_t pubkey[64], uint8_t fp[32]);

/* The 16 ECC data words of a BOOTKEY slot for a fingerprint (row base + i =
 * fp[2i] | fp[2i+1] << 8). */
void fk_boot_bootkey_rows(const uint8_t fp[32], uint16_t rows[16]);

/* A one-paragraph description of a result ("boots ...; burns ...",
 * "refused: ...") into out, NUL-terminated when cap > 0. Returns the length
 * written, or cap when the text did not fit (it is then truncated). */
size_t fk_boot_describe(const fk_boot_result_t *res, char *out, size_t cap);

#endif /* FUSEKEY_BOOT_BOOTROM_H */
