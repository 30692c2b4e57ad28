/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image.c - the image commands, over the boot module (boot/boot.h):
 *   seal          sign an RP2350 image (UF2 / ELF / BIN) as picotool does,
 *                 and write the boot-key fingerprint file;
 *   image verify  what the bootrom would do with an image on a chip in a
 *                 given OTP state (a factory-fresh chip without --otp);
 *   image boot    the bootrom's actual run on the emulated chip: it burns
 *                 the rollback thermometer and ROLLBACK_REQUIRED as it goes;
 *   image uf2     an image (ELF / BIN / UF2) written as a UF2 for the
 *                 BOOTSEL drive, its bytes unchanged (no block added).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "boot.h"
#include "crypto/pk_pem.h"
#include "tool_internal.h"
#include "util.h"

#define FLASH_WINDOW (16u * 1024u * 1024u) /* the RP2350 XIP window */
#define SEAL_ROOM 4096u                     /* padding and the new block */
#define IMAGE_CAP (FLASH_WINDOW + SEAL_ROOM)
#define INPUT_MAX (2u * FLASH_WINDOW + FK_UF2_BLOCK_SIZE) /* a UF2 doubles the bytes */
#define KEY_BLOB_CAP 512u
#define PASSWORD_CAP 256u
#define JSON_CAP 1024u
#define PATH_CAP 4096u /* an output path + ".otp.json" */
#define DESCRIBE_CAP 1024u
#define FP_HEX (2u * 32u + 1u)

typedef struct loaded {
    uint8_t *buf;
    fk_image_t img;
} loaded_t;

/* n bytes as lower-case hex into out (2n + 1 bytes). */
static void hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) (void)snprintf(out + 2u * i, 3, "%02x", b[i]);
}

/* The name of an input format. */
static const char *format_name(fk_image_format_t f)
{
    return f == FK_IMAGE_UF2 ? "UF2" : f == FK_IMAGE_ELF ? "ELF" : "BIN";
}

/* Read and parse an image file into l (buffer allocated). */
static int load_image(fk_run_t *r, const char *path, loaded_t *l)
{
    size_t len = 0;
    l->buf = NULL;
    char *in = fk_read_file(r, path, INPUT_MAX, &len);
    if (in == NULL) return FK_TOOL_EXIT_FAIL;
    l->buf = malloc(IMAGE_CAP);
    if (l->buf == NULL) {
        free(in);
        fk_complain(r, "out of memory");
        return FK_TOOL_EXIT_FAIL;
    }
    fk_image_init(&l->img, l->buf, IMAGE_CAP);
    const fk_boot_err_t e = fk_image_load(&l->img, (const uint8_t *)in, len, 0);
    free(in);
    if (e != FK_BOOT_OK) {
        fk_complain(r, "%s: %s (at byte %zu)", path, fk_boot_strerror(e), l->img.err_at);
        free(l->buf);
        l->buf = NULL;
        return FK_TOOL_EXIT_FAIL;
    }
    fk_say(r, "%s: %s, %zu bytes at 0x%08x%s%s", path, format_name(l->img.format), l->img.len,
           l->img.base, l->img.has_family ? ", family " : "",
           l->img.has_family ? fk_uf2_family_name(l->img.family) : "");
    return FK_TOOL_EXIT_OK;
}

/* Write len bytes to path through a temporary file renamed into place. */
static int write_file(fk_run_t *r, const char *path, const void *data, size_t len)
{
    const size_t n = strlen(path) + sizeof ".tmp-XXXXXX";
    char *tmp = malloc(n);
    if (tmp == NULL) {
        fk_complain(r, "out of memory");
        return FK_TOOL_EXIT_FAIL;
    }
    (void)snprintf(tmp, n, "%s.tmp-XXXXXX", path);
    const int fd = mkstemp(tmp);
    int rc = FK_TOOL_EXIT_FAIL;
    if (fd >= 0) {
        FILE *f = fdopen(fd, "wb");
        if (f != NULL) {
            const bool ok = fwrite(data, 1, len, f) == len && fflush(f) == 0 && fsync(fd) == 0;
            if (fclose(f) == 0 && ok && rename(tmp, path) == 0) rc = FK_TOOL_EXIT_OK;
        } else {
            (void)close(fd);
        }
    }
    if (rc != FK_TOOL_EXIT_OK) {
        fk_complain(r, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0) (void)unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* s ends with suffix (lower case), ignoring case. */
static bool ends_with(const char *s, const char *suffix)
{
    const size_t a = strlen(s), b = strlen(suffix);
    if (a < b) return false;
    for (size_t i = 0; i < b; i++) {
        if (tolower((unsigned char)s[a - b + i]) != suffix[i]) return false;
    }
    return true;
}

/* A password for an encrypted key, read from the input (no echo on a terminal). */
static size_t read_password(fk_run_t *r, const char *path, char *pw, size_t cap)
{
    const int fd = fileno(r->t->in);
    struct termios old, quiet;
    const bool tty = fd >= 0 && isatty(fd) && tcgetattr(fd, &old) == 0;
    (void)fprintf(r->t->err, "password for %s: ", path);
    (void)fflush(r->t->err);
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        (void)tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    const bool got = fgets(pw, (int)cap, r->t->in) != NULL;
    if (tty) (void)tcsetattr(fd, TCSAFLUSH, &old);
    (void)fputc('\n', r->t->err);
    if (!got) return 0;
    size_t n = strlen(pw);
    while (n > 0 && (pw[n - 1u] == '\n' || pw[n - 1u] == '\r')) pw[--n] = '\0';
    return n;
}

/* The signing key's blob; FK_TOOL_EXIT_FAIL after printing why. */
static int load_key(fk_run_t *r, uint8_t *blob, size_t cap, size_t *blob_len)
{
    size_t len = 0;
    char *pem = fk_read_file(r, r->sign_key, FK_PK_PEM_MAX_LEN, &len);
    if (pem == NULL) return FK_TOOL_EXIT_FAIL;
    int rc = fk_pk_pem_load_ec((const uint8_t *)pem, len, NULL, 0, blob, cap, blob_len);
    if (rc == FK_PK_PEM_ENEED_PASSWORD) {
        char pw[PASSWORD_CAP];
        const size_t pw_len = read_password(r, r->sign_key, pw, sizeof pw);
        rc = fk_pk_pem_load_ec((const uint8_t *)pem, len, (const uint8_t *)pw, pw_len, blob, cap,
                               blob_len);
        fk_wipe(pw, sizeof pw);
    }
    fk_wipe(pem, len);
    free(pem);
    if (rc != FK_CRYPTO_OK) {
        fk_complain(r, "%s: %s", r->sign_key,
                    rc == FK_CRYPTO_EAUTH ? "wrong password"
                                          : "not an EC private key fusekey can read (PEM or DER)");
        return FK_TOOL_EXIT_FAIL;
    }
    return FK_TOOL_EXIT_OK;
}

/* ---- seal ----------------------------------------------------------------------------- */

/* What seal made, for the user. */
static void print_seal(fk_run_t *r, const fk_image_seal_info_t *info, const char *out,
                       const char *fmt)
{
    fk_say(r, "sealed into %s (%s): new IMAGE_DEF block at 0x%08x, %u words", out, fmt,
           info->block_addr, info->block_words);
    fk_say(r, "  version %u.%u", info->major, info->minor);
    if (info->rollback != 0u) {
        (void)fprintf(r->t->out, "  rollback version %u in rows", info->rollback);
        for (unsigned i = 0; i < info->n_rows; i++) (void)fprintf(r->t->out, " 0x%03x", info->rows[i]);
        fk_say(r, "%s", "");
    } else {
        fk_say(r, "  no rollback version (refused by a chip with ROLLBACK_REQUIRED)");
    }
    if (info->ignored_blocks != 0u) {
        fk_say(r, "  %u earlier block(s) marked IGNORED (erratum E13)", info->ignored_blocks);
    }
    if (info->is_signed) {
        char fp[FP_HEX];
        hex(fp, info->fingerprint, sizeof info->fingerprint);
        fk_say(r, "  signed (secp256k1), boot-key fingerprint %s", fp);
    } else {
        fk_say(r, "  not signed: a chip with secure boot refuses it");
    }
}

/* `seal`: sign IN into OUT, and the fingerprint file when asked. */
int fk_cmd_seal(fk_run_t *r)
{
    const char *in_path = r->pos[0], *out_path = r->pos[1];
    if (r->otp_json != NULL && r->sign_key == NULL) {
        (void)fputs("fusekey: seal: --otp-json needs --sign (it records the signing key's "
                    "fingerprint)\n", r->t->err);
        return FK_TOOL_EXIT_USAGE;
    }
    if (r->has_rollback && r->sign_key == NULL) {
        (void)fputs("fusekey: seal: --rollback needs --sign\n", r->t->err);
        return FK_TOOL_EXIT_USAGE;
    }
    loaded_t l;
    if (load_image(r, in_path, &l) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    const bool uf2 = ends_with(out_path, ".uf2") ||
                     (!ends_with(out_path, ".bin") && l.img.format == FK_IMAGE_UF2);
    int result = FK_TOOL_EXIT_FAIL;
    uint8_t blob[KEY_BLOB_CAP];
    size_t blob_len = 0;
    uint8_t *out = NULL;

    fk_image_seal_opts_t opts;
    fk_image_seal_opts_init(&opts);
    opts.hash_value = r->opt_hash;
    opts.set_major = r->has_major;
    opts.major = (uint16_t)r->major;
    opts.set_minor = r->has_minor;
    opts.minor = (uint16_t)r->minor;
    opts.set_rollback = r->has_rollback;
    opts.rollback = (uint16_t)r->rollback;
    if (r->sign_key != NULL) {
        if (load_key(r, blob, sizeof blob, &blob_len) != FK_TOOL_EXIT_OK) goto done;
        opts.key_blob = blob;
        opts.key_blob_len = blob_len;
    }
    fk_image_seal_info_t info;
    const fk_boot_err_t e = fk_image_seal(&l.img, &opts, &info);
    if (e != FK_BOOT_OK) {
        fk_complain(r, "cannot seal %s: %s", in_path, fk_boot_strerror(e));
        goto done;
    }
    const size_t cap = uf2 ? fk_image_uf2_size(&l.img) : l.img.len;
    out = malloc(cap > 0u ? cap : 1u);
    size_t out_len = 0;
    if (out == NULL) {
        fk_complain(r, "out of memory");
        goto done;
    }
    const fk_boot_err_t w = uf2 ? fk_image_write_uf2(&l.img, 0, out, cap, &out_len)
                                : fk_image_write_bin(&l.img, out, cap, &out_len);
    if (w != FK_BOOT_OK) {
        fk_complain(r, "cannot write %s: %s", out_path, fk_boot_strerror(w));
        goto done;
    }
    if (write_file(r, out_path, out, out_len) != FK_TOOL_EXIT_OK) goto done;
    print_seal(r, &info, out_path, uf2 ? "UF2" : "BIN");
    if (r->sign_key != NULL) {
        /* A signed image always comes with the fingerprint file to fuse:
         * --otp-json names it, else it is OUT.otp.json. */
        char json[JSON_CAP];
        char default_path[PATH_CAP];
        const char *json_path = r->otp_json;
        size_t json_len = 0;
        if (json_path == NULL) {
            const int n = snprintf(default_path, sizeof default_path, "%s.otp.json", out_path);
            if (n < 0 || (size_t)n >= sizeof default_path) {
                fk_complain(r, "output name too long for its fingerprint file: %s", out_path);
                goto done;
            }
            json_path = default_path;
        }
        if (fk_image_seal_otp_json(info.fingerprint, json, sizeof json, &json_len) != FK_BOOT_OK ||
            write_file(r, json_path, json, json_len) != FK_TOOL_EXIT_OK) {
            goto done;
        }
        fk_say(r, "  boot-key fingerprint file %s: fuse it with `fusekey secure-boot load-key %s` "
                  "(never load it verbatim with picotool: it also enables secure boot)",
               json_path, json_path);
    }
    fk_say(r, "check it: `fusekey image verify %s [--otp FILE]`", out_path);
    result = FK_TOOL_EXIT_OK;
done:
    fk_wipe(blob, sizeof blob);
    free(out);
    free(l.buf);
    return result;
}

/* ---- image verify / image boot --------------------------------------------------------------- */

/* What an image says about itself (boot module inspection). */
static void print_info(fk_run_t *r, const fk_boot_info_t *in)
{
    if (in->loop != FK_BOOT_OK) {
        fk_say(r, "  block loop: %s", fk_boot_strerror(in->loop));
        return;
    }
    if (!in->has_block) {
        fk_say(r, "  no executable IMAGE_DEF (%u block(s))", in->blocks);
        return;
    }
    fk_say(r, "  IMAGE_DEF at 0x%08x (%u block(s)), flags 0x%04x%s%s", in->block_addr, in->blocks,
           in->image_flags, in->rejected != FK_BOOT_OK ? ", rejected: " : "",
           in->rejected != FK_BOOT_OK ? fk_boot_strerror(in->rejected) : "");
    if (in->has_version) {
        if (in->rows > 0u && in->rollback > 0u) {
            fk_say(r, "  version %u.%u, rollback version %u", in->major, in->minor, in->rollback);
        } else {
            fk_say(r, "  version %u.%u, no rollback version", in->major, in->minor);
        }
    } else {
        fk_say(r, "  no VERSION item (versionless)");
    }
    if (in->is_signed) {
        char fp[FP_HEX];
        hex(fp, in->fingerprint, sizeof in->fingerprint);
        fk_say(r, "  signed, key fingerprint %s; signature %s%s", fp,
               in->sig_ok ? "verified" : "DOES NOT VERIFY",
               in->all_signed ? "" : "; NOT everything is signed");
    } else {
        fk_say(r, "  not signed%s", in->has_hash_def ? " (hashed)" : "");
    }
}

/* The chip the bootrom runs on: the --otp file (or a test's chip) after a
 * reset, else a factory-fresh one in *blank. */
static int boot_chip(fk_run_t *r, fk_otp_t *blank, fk_otp_t **chip)
{
    if (r->otp_path != NULL || r->t->chip != NULL) {
        if (fk_chip_open(r, false) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
        fk_otp_reset(r->chip); /* power-on: the bootrom runs after an OTP reset */
        *chip = r->chip;
        fk_say(r, "chip: the OTP of %s", r->otp_path ? r->otp_path : "the given chip");
        return FK_TOOL_EXIT_OK;
    }
    static const uint8_t zero_id[FK_OTP_CHIPID_ROWS * 2u], zero_rand[FK_OTP_RANDID_ROWS * 2u];
    fk_otp_init(blank, r->stepping);
    if (fk_otp_factory(blank, zero_id, zero_rand) != FK_OTP_OK) {
        fk_complain(r, "internal: cannot make a blank chip");
        return FK_TOOL_EXIT_FAIL;
    }
    *chip = blank;
    fk_say(r, "chip: a factory-fresh RP2350 (no --otp: secure boot off, blank thermometer)");
    return FK_TOOL_EXIT_OK;
}

/* `image verify` (run false: predict) and `image boot` (run: burn too). */
static int image_decide(fk_run_t *r, bool run)
{
    loaded_t l;
    if (run && r->otp_path == NULL && r->t->chip == NULL) {
        fk_complain(r, "image boot runs the bootrom on the emulated chip: --otp OTPFILE (the "
                       "virtual device stopped). `image verify` predicts without one.");
        return FK_TOOL_EXIT_FAIL;
    }
    if (load_image(r, r->pos[0], &l) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    fk_boot_info_t *info = malloc(sizeof *info);
    fk_boot_result_t *res = malloc(sizeof *res);
    fk_otp_t *blank = malloc(sizeof *blank);
    int result = FK_TOOL_EXIT_FAIL;
    fk_otp_t *chip = NULL;
    if (info == NULL || res == NULL || blank == NULL) {
        fk_complain(r, "out of memory");
        goto done;
    }
    fk_boot_inspect(&l.img, info);
    print_info(r, info);
    if (boot_chip(r, blank, &chip) != FK_TOOL_EXIT_OK) goto done;
    const bool burn = run && !r->dry_run;
    if (burn) {
        fk_boot_run(chip, &l.img, res);
    } else {
        fk_boot_predict(chip, &l.img, res);
    }
    char text[DESCRIBE_CAP];
    (void)fk_boot_describe(res, text, sizeof text);
    fk_say(r, "bootrom: %s", text);
    if (res->verdict == FK_BOOT_LAUNCH) {
        if (burn) {
            fk_say(r, "verdict: boots; the emulated board runs %s.", r->pos[0]);
        } else {
            fk_say(r, "verdict: boots");
        }
        if (!burn && res->n_burns > 0u) {
            fk_say(r, "(%s: nothing burned; `image boot` does it)",
                   run ? "dry run" : "a prediction");
        }
        result = FK_TOOL_EXIT_OK;
    } else {
        fk_say(r, "verdict: does NOT boot%s", burn ? " (the board falls back to BOOTSEL)" : "");
    }
done:
    free(info);
    free(res);
    if (blank != NULL) fk_wipe(blank, sizeof *blank);
    free(blank);
    free(l.buf);
    return result;
}

int fk_cmd_image_verify(fk_run_t *r) { return image_decide(r, false); }

/* `image uf2`: IN as a UF2 of its own family (ELF and BIN: RP2350 Arm
 * secure), the bytes as they are: what `make firmware` writes. */
int fk_cmd_image_uf2(fk_run_t *r)
{
    const char *in_path = r->pos[0], *out_path = r->pos[1];
    loaded_t l;
    if (load_image(r, in_path, &l) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    int result = FK_TOOL_EXIT_FAIL;
    const size_t cap = fk_image_uf2_size(&l.img);
    uint8_t *out = malloc(cap > 0u ? cap : 1u);
    size_t out_len = 0;
    if (out == NULL) {
        fk_complain(r, "out of memory");
    } else {
        const fk_boot_err_t w = fk_image_write_uf2(&l.img, 0, out, cap, &out_len);
        if (w != FK_BOOT_OK) {
            fk_complain(r, "cannot write %s: %s", out_path, fk_boot_strerror(w));
        } else if (write_file(r, out_path, out, out_len) == FK_TOOL_EXIT_OK) {
            fk_say(r, "wrote %s: %zu UF2 block(s) for 0x%08x..0x%08zx, family %s", out_path,
                   out_len / FK_UF2_BLOCK_SIZE, l.img.base, (size_t)l.img.base + l.img.len,
                   fk_uf2_family_name(l.img.family));
            result = FK_TOOL_EXIT_OK;
        }
    }
    free(out);
    free(l.buf);
    return result;
}
int fk_cmd_image_boot(fk_run_t *r) { return image_decide(r, true); }
