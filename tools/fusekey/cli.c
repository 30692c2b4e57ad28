/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.c - the command line of the fusekey tool: options (global ones may
 * stand anywhere), the command words, which options each command takes,
 * dispatch, usage, and the output helpers every command uses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hal.h"
#include "hsm_tool.h"
#include "pcsc.h"
#include "tool_internal.h"
#include "util.h"
#include "version.h"

/* ---- Output -------------------------------------------------------------- */

void fk_say(fk_run_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vfprintf(r->t->out, fmt, ap);
    va_end(ap);
    (void)fputc('\n', r->t->out);
}

void fk_complain(fk_run_t *r, const char *fmt, ...)
{
    va_list ap;
    (void)fflush(r->t->out);
    (void)fputs("fusekey: ", r->t->err);
    va_start(ap, fmt);
    (void)vfprintf(r->t->err, fmt, ap);
    va_end(ap);
    (void)fputc('\n', r->t->err);
}

void fk_plan(fk_run_t *r, const char *fmt, ...)
{
    va_list ap;
    (void)fputs("   picotool ", r->t->out);
    va_start(ap, fmt);
    (void)vfprintf(r->t->out, fmt, ap);
    va_end(ap);
    (void)fputc('\n', r->t->out);
}

bool fk_parse_uint(const char *s, uint32_t max, uint32_t *out)
{
    if (s == NULL || *s < '0' || *s > '9') return false; /* no sign, no blank */
    char *end = NULL;
    errno = 0;
    const unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v > max) return false;
    *out = (uint32_t)v;
    return true;
}

char *fk_read_file(fk_run_t *r, const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fk_complain(r, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 1u);
    if (buf == NULL) {
        (void)fclose(f);
        fk_complain(r, "out of memory reading %s", path);
        return NULL;
    }
    const size_t n = fread(buf, 1, max + 1u, f);
    const bool failed = ferror(f) != 0;
    (void)fclose(f);
    if (failed || n > max) {
        fk_complain(r, failed ? "cannot read %s" : "%s is too large", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---- Defaults ------------------------------------------------------------- */

/* The default random source: the port's entropy (getrandom on Linux). */
static int kernel_random(void *arg, void *buf, size_t len)
{
    (void)arg;
    return fk_hal_random(buf, len) == FK_HAL_OK ? 0 : -1;
}

void fk_tool_defaults(fk_tool_t *t)
{
    memset(t, 0, sizeof *t);
    t->out = stdout;
    t->err = stderr;
    t->in = stdin;
    t->random = kernel_random;
    t->card = &fk_pcsc_ops;
    t->card_arg = fk_pcsc_context();
}

/* ---- Options ---------------------------------------------------------------- */

enum {
    OPT_OTP = 1u << 0,
    OPT_STEPPING = 1u << 1,
    OPT_READER = 1u << 2,
    OPT_DRY_RUN = 1u << 3,
    OPT_YES = 1u << 4,
    OPT_SLOT = 1u << 5,
    OPT_RAW = 1u << 6,
    OPT_ECC = 1u << 7,
    OPT_SETBITS = 1u << 8,
    OPT_BOOTSEL = 1u << 9,
    OPT_SIGN = 1u << 10,
    OPT_MAJOR = 1u << 11,
    OPT_MINOR = 1u << 12,
    OPT_ROLLBACK = 1u << 13,
    OPT_HASH = 1u << 14,
    OPT_OTP_JSON = 1u << 15,
    OPT_HELP = 1u << 16,
    OPT_VERSION = 1u << 17,
};
#define OPT_GLOBAL (OPT_OTP | OPT_STEPPING | OPT_READER | OPT_DRY_RUN | OPT_YES)

#define MAX_SLOT (FK_OTP_BOOTKEY_SLOTS - 1u)
#define MAX_VERSION_FIELD 0xFFFFu

static const struct option_spec {
    const char *name;
    bool has_arg;
    uint32_t id;
} k_options[] = {
    {"--otp", true, OPT_OTP},
    {"--stepping", true, OPT_STEPPING},
    {"--reader", true, OPT_READER},
    {"--dry-run", false, OPT_DRY_RUN},
    {"--yes-i-understand", true, OPT_YES},
    {"--slot", true, OPT_SLOT},
    {"-r", false, OPT_RAW},
    {"-e", false, OPT_ECC},
    {"-s", false, OPT_SETBITS},
    {"--bootsel", false, OPT_BOOTSEL},
    {"--sign", true, OPT_SIGN},
    {"--major", true, OPT_MAJOR},
    {"--minor", true, OPT_MINOR},
    {"--rollback", true, OPT_ROLLBACK},
    {"--hash", false, OPT_HASH},
    {"--otp-json", true, OPT_OTP_JSON},
    {"--help", false, OPT_HELP},
    {"-h", false, OPT_HELP},
    {"--version", false, OPT_VERSION},
};

static const char k_usage[] =
    "usage: fusekey [options] COMMAND ...\n"
    "\n"
    "Options (anywhere on the line):\n"
    "  --otp PATH                 the emulated chip's OTP file (fusekey-sim stopped:\n"
    "                             the chip in BOOTSEL); without it BOOTSEL commands\n"
    "                             only print the picotool lines for a real board\n"
    "  --stepping a2|a3           chip stepping (default a2)\n"
    "  --reader NAME              PC/SC reader of the running device\n"
    "                             (default: the first reader holding a card)\n"
    "  --dry-run                  preflight, print the exact write commands, write nothing\n"
    "  --yes-i-understand TOKEN   confirm an irreversible command without the prompt\n"
    "\n"
    "Commands:\n"
    "  status                                 keys, secure-boot and rollback state\n"
    "  otp burn                               DEVK, MKEK and chaff into page 58 (BOOTSEL)\n"
    "  otp lock-page58                        the page-58 lock, by the running firmware\n"
    "  otp rollback-require                   ROLLBACK_REQUIRED, by the running firmware\n"
    "  otp get [-r|-e] ROW [COUNT]            read OTP rows (BOOTSEL)\n"
    "  otp set -r [-s] ROW VALUE              write one raw OTP row (BOOTSEL)\n"
    "  secure-boot status                     the secure-boot and rollback rows\n"
    "  secure-boot load-key OTP.json [--slot N]   1. boot-key fingerprint + KEY_VALID\n"
    "  secure-boot harden                     2. DEBUG_DISABLE + glitch detector\n"
    "  secure-boot enable                     3. SECURE_BOOT_ENABLE (the brick bit)\n"
    "  secure-boot lock                       4. revoke unused slots, lock pages 1 and 2\n"
    "  secure-boot revoke N                   KEY_INVALID for slot N\n"
    "  secure-boot rotate NEW.json [--slot N] a new key into a free slot\n"
    "  reboot [--bootsel]                     reboot the running device\n"
    "  seal --sign KEY.pem [--major M --minor N] [--rollback R] [--hash]\n"
    "       [--otp-json OUT.json] IN OUT      sign an image for secure boot\n"
    "  image verify IMAGE [--otp OTPFILE]     what the bootrom would do with IMAGE\n"
    "  image boot IMAGE --otp OTPFILE         boot IMAGE on the emulated chip\n"
    "  image uf2 IN OUT                       IN (ELF, BIN, UF2) as a UF2, bytes unchanged\n"
    "  hsm COMMAND ...                        a SmartCard-HSM card: keys, PINs, DKEK, ...\n"
    "                                         (fusekey hsm --help, docs/fusekey-hsm.md)\n"
    "  fido attestation COMMAND ...           FIDO attestation from your CA\n"
    "                                         (fusekey fido --help, docs/fido-attestation.md)\n"
    "\n"
    "Exit status: 0 done, 1 refused or failed, 2 bad command line.\n"
    "Tokens: BURN-OTP-PAGE58 LOCK-PAGE58 ROLLBACK-REQUIRED LOAD-BOOTKEY\n"
    "  HARDEN-SECURE-BOOT ENABLE-SECURE-BOOT LOCK-SECURE-BOOT REVOKE-BOOTKEY WRITE-OTP-ROW\n";

/* Print a command-line error and return FK_TOOL_EXIT_USAGE. */
static int __attribute__((format(printf, 2, 3))) usage_error(fk_run_t *r, const char *fmt, ...)
{
    va_list ap;
    (void)fputs("fusekey: ", r->t->err);
    va_start(ap, fmt);
    (void)vfprintf(r->t->err, fmt, ap);
    va_end(ap);
    (void)fputs("\n(fusekey --help for the commands)\n", r->t->err);
    return FK_TOOL_EXIT_USAGE;
}

/* Take one option's value into the run; FK_TOOL_EXIT_USAGE when it is bad. */
static int take_value(fk_run_t *r, uint32_t id, const char *name, const char *v)
{
    uint32_t n = 0;
    switch (id) {
    case OPT_OTP:
        r->otp_path = v;
        return 0;
    case OPT_STEPPING:
        if (strcmp(v, "a2") == 0 || strcmp(v, "A2") == 0) {
            r->stepping = FK_OTP_STEPPING_A2;
        } else if (strcmp(v, "a3") == 0 || strcmp(v, "A3") == 0) {
            r->stepping = FK_OTP_STEPPING_A3;
        } else {
            return usage_error(r, "--stepping takes a2 or a3, not '%s'", v);
        }
        return 0;
    case OPT_READER:
        r->reader = v;
        return 0;
    case OPT_YES:
        r->yes = v;
        return 0;
    case OPT_SLOT:
        if (!fk_parse_uint(v, MAX_SLOT, &n)) return usage_error(r, "--slot takes 0-3, not '%s'", v);
        r->has_slot = true;
        r->slot = n;
        return 0;
    case OPT_SIGN:
        r->sign_key = v;
        return 0;
    case OPT_OTP_JSON:
        r->otp_json = v;
        return 0;
    case OPT_MAJOR:
    case OPT_MINOR:
    case OPT_ROLLBACK:
        if (!fk_parse_uint(v, MAX_VERSION_FIELD, &n)) {
            return usage_error(r, "%s takes a number 0-65535, not '%s'", name, v);
        }
        if (id == OPT_MAJOR) {
            r->has_major = true;
            r->major = n;
        } else if (id == OPT_MINOR) {
            r->has_minor = true;
            r->minor = n;
        } else {
            r->has_rollback = true;
            r->rollback = n;
        }
        return 0;
    default:
        return usage_error(r, "internal: option %s", name);
    }
}

/* Set the run's flag for a valueless option. */
static void take_flag(fk_run_t *r, uint32_t id)
{
    switch (id) {
    case OPT_DRY_RUN:
        r->dry_run = true;
        break;
    case OPT_RAW:
        r->opt_raw = true;
        break;
    case OPT_ECC:
        r->opt_ecc = true;
        break;
    case OPT_SETBITS:
        r->opt_setbits = true;
        break;
    case OPT_BOOTSEL:
        r->opt_bootsel = true;
        break;
    case OPT_HASH:
        r->opt_hash = true;
        break;
    default:
        break;
    }
}

/* Split argv into options and positional words; *seen gets the options. */
static int parse(fk_run_t *r, int argc, char **argv, uint32_t *seen)
{
    bool only_words = false;
    *seen = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_words && strcmp(a, "--") == 0) {
            only_words = true;
            continue;
        }
        if (only_words || a[0] != '-' || a[1] == '\0') {
            if (r->npos >= FK_RUN_MAX_POS) return usage_error(r, "too many arguments at '%s'", a);
            r->pos[r->npos++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        const size_t name_len = eq != NULL && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
        const struct option_spec *spec = NULL;
        for (size_t k = 0; k < FK_ARRAY_SIZE(k_options); k++) {
            if (strlen(k_options[k].name) == name_len && strncmp(a, k_options[k].name, name_len) == 0) {
                spec = &k_options[k];
                break;
            }
        }
        if (spec == NULL) return usage_error(r, "unknown option '%s'", a);
        if ((*seen & spec->id) != 0u) return usage_error(r, "option %s given twice", spec->name);
        *seen |= spec->id;
        if (!spec->has_arg) {
            if (eq != NULL && a[1] == '-') return usage_error(r, "option %s takes no value", spec->name);
            take_flag(r, spec->id);
            continue;
        }
        const char *v = NULL;
        if (eq != NULL && a[1] == '-') {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            return usage_error(r, "option %s needs a value", spec->name);
        }
        const int rc = take_value(r, spec->id, spec->name, v);
        if (rc != 0) return rc;
    }
    return 0;
}

/* ---- Commands ----------------------------------------------------------------- */

typedef int (*command_fn)(fk_run_t *r);

/* Adapters from the command table to the functions with flags. */
static int cmd_sb_load(fk_run_t *r) { return fk_cmd_sb_load_key(r, false); }
static int cmd_sb_rotate(fk_run_t *r) { return fk_cmd_sb_load_key(r, true); }
static int cmd_sb_status(fk_run_t *r) { return fk_cmd_sb_status(r); }

static const struct command {
    const char *group;
    const char *sub;      /* NULL: none */
    unsigned min_args;    /* positional words after the command words */
    unsigned max_args;
    uint32_t options;     /* command options allowed besides the global ones */
    command_fn fn;
} k_commands[] = {
    {"status", NULL, 0, 0, 0, fk_cmd_status},
    {"otp", "burn", 0, 0, 0, fk_cmd_otp_burn},
    {"otp", "lock-page58", 0, 0, 0, fk_cmd_lock_page58},
    {"otp", "rollback-require", 0, 0, 0, fk_cmd_rollback_require},
    {"otp", "get", 1, 2, OPT_RAW | OPT_ECC, fk_cmd_otp_get},
    {"otp", "set", 2, 2, OPT_RAW | OPT_SETBITS | OPT_ECC, fk_cmd_otp_set},
    {"secure-boot", "status", 0, 0, 0, cmd_sb_status},
    {"secure-boot", "load-key", 1, 1, OPT_SLOT, cmd_sb_load},
    {"secure-boot", "harden", 0, 0, 0, fk_cmd_sb_harden},
    {"secure-boot", "enable", 0, 0, 0, fk_cmd_sb_enable},
    {"secure-boot", "lock", 0, 0, 0, fk_cmd_sb_lock},
    {"secure-boot", "revoke", 1, 1, 0, fk_cmd_sb_revoke},
    {"secure-boot", "rotate", 1, 1, OPT_SLOT, cmd_sb_rotate},
    {"reboot", NULL, 0, 0, OPT_BOOTSEL, fk_cmd_reboot},
    {"seal", NULL, 2, 2,
     OPT_SIGN | OPT_MAJOR | OPT_MINOR | OPT_ROLLBACK | OPT_HASH | OPT_OTP_JSON, fk_cmd_seal},
    {"image", "verify", 1, 1, 0, fk_cmd_image_verify},
    {"image", "boot", 1, 1, 0, fk_cmd_image_boot},
    {"image", "uf2", 2, 2, 0, fk_cmd_image_uf2},
};

/* The spelling of an option id, for messages. */
static const char *option_name(uint32_t id)
{
    for (size_t k = 0; k < FK_ARRAY_SIZE(k_options); k++) {
        if (k_options[k].id == id) return k_options[k].name;
    }
    return "?";
}

/* The first command word, past the global options and their values (NULL
 * when there is none): `hsm` hands the whole line to its own parser. */
static const char *first_word(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) return i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' || a[1] == '\0') return a;
        for (size_t k = 0; k < FK_ARRAY_SIZE(k_options); k++) {
            if (k_options[k].has_arg && strcmp(a, k_options[k].name) == 0) {
                i++;
                break;
            }
        }
    }
    return NULL;
}

/* Parse, find the command, check its options and arguments, run it, close. */
int fk_tool_main(fk_tool_t *t, int argc, char **argv)
{
    const char *word = first_word(argc, argv);
    if (word != NULL && strcmp(word, "hsm") == 0) return fk_hsm_main(t, argc, argv);
    if (word != NULL && strcmp(word, "fido") == 0) return fk_fido_main(t, argc, argv);

    fk_run_t run;
    memset(&run, 0, sizeof run);
    run.t = t;
    run.stepping = FK_OTP_STEPPING_A2;
    run.file.fd = -1;
    fk_run_t *r = &run;

    uint32_t seen = 0;
    const int prc = parse(r, argc, argv, &seen);
    if (prc != 0) return prc;
    if ((seen & OPT_HELP) != 0u) {
        (void)fputs(k_usage, t->out);
        return FK_TOOL_EXIT_OK;
    }
    if ((seen & OPT_VERSION) != 0u) {
        fk_say(r, "fusekey %s", FK_VERSION_STRING);
        return FK_TOOL_EXIT_OK;
    }
    if (r->npos == 0) {
        (void)fputs(k_usage, t->err);
        return FK_TOOL_EXIT_USAGE;
    }
    if (strcmp(r->pos[0], "help") == 0) {
        (void)fputs(k_usage, t->out);
        return FK_TOOL_EXIT_OK;
    }

    const struct command *c = NULL;
    bool group_known = false;
    for (size_t k = 0; k < FK_ARRAY_SIZE(k_commands); k++) {
        if (strcmp(k_commands[k].group, r->pos[0]) != 0) continue;
        group_known = true;
        if (k_commands[k].sub == NULL ||
            (r->npos > 1 && strcmp(k_commands[k].sub, r->pos[1]) == 0)) {
            c = &k_commands[k];
            break;
        }
    }
    if (c == NULL) {
        if (group_known && r->npos > 1) return usage_error(r, "unknown command '%s'", r->pos[1]);
        if (group_known) return usage_error(r, "'%s' needs a command word", r->pos[0]);
        return usage_error(r, "unknown command '%s'", r->pos[0]);
    }

    char name[64];
    (void)snprintf(name, sizeof name, "%s%s%s", c->group, c->sub ? " " : "", c->sub ? c->sub : "");
    r->cmd = name;
    const unsigned words = c->sub ? 2u : 1u;
    const unsigned nargs = r->npos - words;
    if (nargs < c->min_args || nargs > c->max_args) {
        return usage_error(r, "'%s': %s", name,
                           nargs < c->min_args ? "missing argument" : "too many arguments");
    }
    /* Shift the command words away: pos[] holds the arguments. */
    for (unsigned i = 0; i < nargs; i++) r->pos[i] = r->pos[i + words];
    r->npos = nargs;

    const uint32_t stray = seen & ~(OPT_GLOBAL | c->options);
    if (stray != 0u) {
        for (uint32_t bit = 1; bit != 0u; bit <<= 1) {
            if ((stray & bit) != 0u) {
                (void)fprintf(t->err, "fusekey: option %s does not apply to '%s'\n",
                              option_name(bit), name);
                return FK_TOOL_EXIT_USAGE;
            }
        }
    }

    const int rc = c->fn(r);
    fk_chip_close(r);
    if (r->card_open) {
        t->card->disconnect(t->card_arg);
        r->card_open = false;
    }
    (void)fflush(t->out);
    (void)fflush(t->err);
    return rc;
}
