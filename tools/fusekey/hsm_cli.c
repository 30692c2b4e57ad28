/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_cli.c - the command line of `fusekey hsm`: its options (a table of
 * its own: the group has far more options than the provisioning commands,
 * and each command says which it takes), its command words, dispatch and
 * usage; the output helpers (human lines, --json, progress); secrets from an
 * option, the environment or the terminal without echo; hex and whole files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "hsm_tool.h"
#include "util.h"

#define OPT_BIT(o) (UINT64_C(1) << (o))
#define SECRET_MAX 256u
#define LINE_MAX_LEN 1024u

/* ---- Output ------------------------------------------------------------------ */

void hsm_say(hsm_run_t *h, const char *fmt, ...)
{
    if (h->json) return;
    va_list ap;
    va_start(ap, fmt);
    (void)vfprintf(h->base.t->out, fmt, ap);
    va_end(ap);
    (void)fputc('\n', h->base.t->out);
}

int hsm_fail(hsm_run_t *h, const char *fmt, ...)
{
    char msg[FK_RUN_ERR_CAP];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fk_complain(&h->base, "%s", msg);
    if (h->error[0] == '\0') (void)snprintf(h->error, sizeof h->error, "%s", msg);
    return FK_TOOL_EXIT_FAIL;
}

void hsm_progress(hsm_run_t *h, const char *fmt, ...)
{
    if (h->json) return;
    va_list ap;
    (void)fflush(h->base.t->out);
    va_start(ap, fmt);
    (void)vfprintf(h->base.t->err, fmt, ap);
    va_end(ap);
    (void)fputc('\n', h->base.t->err);
    (void)fflush(h->base.t->err);
}

/* ---- Numbers, hex, files --------------------------------------------------------- */

static const char *opt_name(hsm_opt_t id);

bool hsm_opt_uint(hsm_run_t *h, hsm_opt_t opt, uint32_t min, uint32_t max, uint32_t *out)
{
    uint32_t v = 0;
    if (!fk_parse_uint(h->val[opt], max, &v) || v < min) {
        (void)hsm_fail(h, "%s takes a number %lu-%lu, not '%s'", opt_name(opt), (unsigned long)min,
                       (unsigned long)max, h->val[opt]);
        return false;
    }
    *out = v;
    return true;
}

bool hsm_parse_key_id(hsm_run_t *h, const char *s, uint8_t *id)
{
    uint32_t v = 0;
    if (!fk_parse_uint(s, 255, &v) || v == 0u) {
        (void)hsm_fail(h, "a key id is a number 1-255 (0 is the device key), not '%s'", s);
        return false;
    }
    *id = (uint8_t)v;
    return true;
}

/* A hex digit's value, -1 otherwise. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int hsm_unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r') {
            if (hi >= 0) return -1; /* a separator inside a byte */
            continue;
        }
        const int v = hexval(*p);
        if (v < 0) return -1;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= cap) return -1;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    if (hi >= 0) return -1;
    *len = n;
    return 0;
}

uint8_t *hsm_read_file(hsm_run_t *h, const char *path, size_t max, size_t *len)
{
    const bool std_in = strcmp(path, "-") == 0;
    FILE *f = std_in ? h->base.t->in : fopen(path, "rb");
    if (f == NULL) {
        (void)hsm_fail(h, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = malloc(max + 1u);
    if (buf == NULL) {
        if (!std_in) (void)fclose(f);
        (void)hsm_fail(h, "out of memory reading %s", path);
        return NULL;
    }
    const size_t n = fread(buf, 1, max + 1u, f);
    const bool failed = ferror(f) != 0;
    if (!std_in) (void)fclose(f);
    if (failed || n > max) {
        free(buf);
        (void)hsm_fail(h, failed ? "cannot read %s" : "%s is too large (more than %zu bytes)", path, max);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

int hsm_write_file(hsm_run_t *h, const char *path, const uint8_t *data, size_t len, bool secret,
                   bool exclusive)
{
    if (strcmp(path, "-") == 0) {
        if (fwrite(data, 1, len, h->base.t->out) != len) return hsm_fail(h, "cannot write the output");
        (void)fflush(h->base.t->out);
        return 0;
    }
    const int flags = O_WRONLY | O_CREAT | O_TRUNC | (exclusive ? O_EXCL : 0);
    const int fd = open(path, flags, secret ? 0600 : 0644);
    if (fd < 0) {
        if (errno == EEXIST) {
            return hsm_fail(h, "%s exists: not overwritten (--force replaces it)", path);
        }
        return hsm_fail(h, "cannot create %s: %s", path, strerror(errno));
    }
    size_t done = 0;
    while (done < len) {
        const ssize_t w = write(fd, data + done, len - done);
        if (w <= 0) {
            const int e = errno;
            (void)close(fd);
            return hsm_fail(h, "cannot write %s: %s", path, strerror(e));
        }
        done += (size_t)w;
    }
    if (close(fd) != 0) return hsm_fail(h, "cannot write %s: %s", path, strerror(errno));
    return 0;
}

/* ---- Secrets ------------------------------------------------------------------------- */

/* One line from the input, without its newline; echo off on a terminal. */
static char *read_line(hsm_run_t *h, const char *prompt, bool secret)
{
    FILE *in = h->base.t->in;
    const int fd = fileno(in);
    const bool tty = fd >= 0 && isatty(fd);
    struct termios old, quiet;
    bool restored = true;
    (void)fflush(h->base.t->out);
    (void)fputs(prompt, h->base.t->err);
    (void)fflush(h->base.t->err);
    if (secret && tty && tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        restored = tcsetattr(fd, TCSAFLUSH, &quiet) != 0;
    }
    char *line = malloc(LINE_MAX_LEN);
    bool got = false;
    if (line != NULL) got = fgets(line, LINE_MAX_LEN, in) != NULL;
    if (!restored) (void)tcsetattr(fd, TCSAFLUSH, &old);
    if (!tty) (void)fputc('\n', h->base.t->err); /* the answer was not echoed */
    if (!got) {
        if (line != NULL) free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

char *hsm_ask(hsm_run_t *h, const char *prompt) { return read_line(h, prompt, false); }

char *hsm_ask_secret(hsm_run_t *h, const char *prompt) { return read_line(h, prompt, true); }

void hsm_forget(char *secret)
{
    if (secret == NULL) return;
    fk_wipe(secret, strlen(secret));
    free(secret);
}

char *hsm_secret(hsm_run_t *h, hsm_opt_t opt, const char *env, const char *prompt, bool confirm)
{
    const char *given = h->set[opt] ? h->val[opt] : (env != NULL ? getenv(env) : NULL);
    if (given != NULL) {
        char *copy = strdup(given);
        if (copy == NULL) (void)hsm_fail(h, "out of memory");
        return copy;
    }
    char *s = read_line(h, prompt, true);
    if (s == NULL) {
        (void)hsm_fail(h, "no answer to \"%.*s\" (give it with an option%s%s, or type it)",
                       (int)strcspn(prompt, ":"), prompt, env != NULL ? " or " : "",
                       env != NULL ? env : "");
        return NULL;
    }
    if (strlen(s) > SECRET_MAX) {
        hsm_forget(s);
        (void)hsm_fail(h, "that is longer than %u characters", SECRET_MAX);
        return NULL;
    }
    const int fd = fileno(h->base.t->in);
    if (confirm && fd >= 0 && isatty(fd)) {
        char *again = read_line(h, "Again, to confirm: ", true);
        const bool same = again != NULL && strcmp(again, s) == 0;
        hsm_forget(again);
        if (!same) {
            hsm_forget(s);
            (void)hsm_fail(h, "the two entries differ: nothing done");
            return NULL;
        }
    }
    return s;
}

/* ---- Options and commands ----------------------------------------------------------- */

typedef struct hsm_option {
    const char *name;
    bool has_arg;
    hsm_opt_t id;
} hsm_option_t;

static const hsm_option_t k_opts[] = {
    {"--reader", true, HO_READER},
    {"--json", false, HO_JSON},
    {"--yes-i-understand", true, HO_YES},
    {"--help", false, HO_HELP},
    {"-h", false, HO_HELP},
    {"--pin", true, HO_PIN},
    {"--so-pin", true, HO_SO_PIN},
    {"--new-pin", true, HO_NEW_PIN},
    {"--new-so-pin", true, HO_NEW_SO_PIN},
    {"--so", false, HO_SO},
    {"--transport-pin", false, HO_TRANSPORT_PIN},
    {"--retries", true, HO_RETRIES},
    {"--dkek-shares", true, HO_DKEK_SHARES},
    {"--key-domains", true, HO_KEY_DOMAINS},
    {"--press-to-confirm", false, HO_PRESS_TO_CONFIRM},
    {"--key-use-counters", false, HO_KEY_USE_COUNTERS},
    {"--no-unblock", false, HO_NO_UNBLOCK},
    {"--unblock-counter-only", false, HO_UNBLOCK_COUNTER_ONLY},
    {"--options", true, HO_OPTIONS},
    {"--label", true, HO_LABEL},
    {"--password", true, HO_PASSWORD},
    {"--pwd-shares-total", true, HO_PWD_TOTAL},
    {"--pwd-shares-threshold", true, HO_PWD_THRESHOLD},
    {"--prime", true, HO_PRIME},
    {"--pwd-share", true, HO_PWD_SHARE},
    {"--domain", true, HO_DOMAIN},
    {"--shares", true, HO_SHARES},
    {"--id", true, HO_ID},
    {"--use-counter", true, HO_USE_COUNTER},
    {"--algorithms", true, HO_ALGORITHMS},
    {"--exponent", true, HO_EXPONENT},
    {"--force", false, HO_FORCE},
    {"--via-2f10", false, HO_VIA_2F10},
    {"--dkek-share", true, HO_DKEK_SHARE},
    {"--p12-password", true, HO_P12_PASSWORD},
    {"--alg", true, HO_ALG},
    {"--in", true, HO_IN},
    {"--out", true, HO_OUT},
    {"--sig", true, HO_SIG},
    {"--hash", true, HO_HASH},
    {"--iv", true, HO_IV},
    {"--aad", true, HO_AAD},
    {"--decrypt", false, HO_DECRYPT},
    {"--salt", true, HO_SALT},
    {"--iterations", true, HO_ITERATIONS},
    {"--length", true, HO_LENGTH},
    {"--peer", true, HO_PEER},
    {"--counter-only", false, HO_COUNTER_ONLY},
    {"--all", false, HO_ALL},
    {"--raw", false, HO_RAW},
    {"--chain", true, HO_CHAIN},
    {"--data", true, HO_DATA},
};

typedef int (*hsm_fn)(hsm_run_t *h);

typedef struct hsm_command {
    const char *group;
    const char *sub; /* NULL: none */
    unsigned min_args, max_args;
    uint64_t options;
    hsm_fn fn;
} hsm_command_t;

#define PIN_OPTS (OPT_BIT(HO_PIN))
#define IO_OPTS (OPT_BIT(HO_IN) | OPT_BIT(HO_DATA) | OPT_BIT(HO_OUT))
#define PWD_OPTS (OPT_BIT(HO_PASSWORD) | OPT_BIT(HO_PWD_THRESHOLD) | OPT_BIT(HO_PRIME) | \
                  OPT_BIT(HO_PWD_SHARE))

static const hsm_command_t k_cmds[] = {
    {"status", NULL, 0, 0, 0, hsm_cmd_status},
    {"initialize", NULL, 0, 0,
     OPT_BIT(HO_SO_PIN) | OPT_BIT(HO_PIN) | OPT_BIT(HO_TRANSPORT_PIN) | OPT_BIT(HO_RETRIES) |
         OPT_BIT(HO_DKEK_SHARES) | OPT_BIT(HO_KEY_DOMAINS) | OPT_BIT(HO_PRESS_TO_CONFIRM) |
         OPT_BIT(HO_KEY_USE_COUNTERS) | OPT_BIT(HO_NO_UNBLOCK) | OPT_BIT(HO_UNBLOCK_COUNTER_ONLY) |
         OPT_BIT(HO_OPTIONS) | OPT_BIT(HO_LABEL),
     hsm_cmd_initialize},
    {"pin", "status", 0, 0, 0, hsm_cmd_pin_status},
    {"pin", "change", 0, 0,
     OPT_BIT(HO_SO) | OPT_BIT(HO_PIN) | OPT_BIT(HO_SO_PIN) | OPT_BIT(HO_NEW_PIN) | OPT_BIT(HO_NEW_SO_PIN),
     hsm_cmd_pin_change},
    {"pin", "unblock", 0, 0, OPT_BIT(HO_SO_PIN) | OPT_BIT(HO_NEW_PIN) | OPT_BIT(HO_COUNTER_ONLY),
     hsm_cmd_pin_unblock},
    {"dkek", "create-share", 1, 1,
     OPT_BIT(HO_PASSWORD) | OPT_BIT(HO_PWD_TOTAL) | OPT_BIT(HO_PWD_THRESHOLD) | OPT_BIT(HO_FORCE),
     hsm_cmd_dkek_create},
    {"dkek", "import", 1, 1, PWD_OPTS | OPT_BIT(HO_DOMAIN), hsm_cmd_dkek_import},
    {"dkek", "check-share", 1, 1, PWD_OPTS, hsm_cmd_dkek_check},
    {"dkek", "status", 0, 0, OPT_BIT(HO_DOMAIN), hsm_cmd_dkek_status},
    {"domain", "create", 1, 1, OPT_BIT(HO_SHARES) | PIN_OPTS, hsm_cmd_domain_create},
    {"domain", "list", 0, 0, 0, hsm_cmd_domain_list},
    {"domain", "clear", 1, 1, PIN_OPTS, hsm_cmd_domain_clear},
    {"domain", "delete", 1, 1, PIN_OPTS, hsm_cmd_domain_delete},
    {"key", "generate", 1, 1,
     OPT_BIT(HO_ID) | OPT_BIT(HO_USE_COUNTER) | OPT_BIT(HO_ALGORITHMS) | OPT_BIT(HO_DOMAIN) |
         OPT_BIT(HO_EXPONENT) | OPT_BIT(HO_LABEL) | PIN_OPTS,
     hsm_cmd_key_generate},
    {"key", "list", 0, 0, OPT_BIT(HO_ALL), hsm_cmd_key_list},
    {"key", "delete", 1, 1, PIN_OPTS, hsm_cmd_key_delete},
    {"key", "public", 1, 1, OPT_BIT(HO_OUT), hsm_cmd_key_public},
    {"key", "wrap", 2, 2, PIN_OPTS | OPT_BIT(HO_FORCE), hsm_cmd_key_wrap},
    {"key", "unwrap", 2, 2, PIN_OPTS | OPT_BIT(HO_FORCE) | OPT_BIT(HO_VIA_2F10), hsm_cmd_key_unwrap},
    {"key", "import", 2, 2,
     PIN_OPTS | OPT_BIT(HO_DKEK_SHARE) | OPT_BIT(HO_PASSWORD) | OPT_BIT(HO_P12_PASSWORD) |
         OPT_BIT(HO_ALGORITHMS) | OPT_BIT(HO_USE_COUNTER) | OPT_BIT(HO_FORCE) | OPT_BIT(HO_LABEL) |
         OPT_BIT(HO_VIA_2F10),
     hsm_cmd_key_import},
    {"sign", NULL, 1, 1, OPT_BIT(HO_ALG) | IO_OPTS | OPT_BIT(HO_RAW) | PIN_OPTS, hsm_cmd_sign},
    {"verify", NULL, 1, 1, OPT_BIT(HO_ALG) | OPT_BIT(HO_IN) | OPT_BIT(HO_DATA) | OPT_BIT(HO_SIG),
     hsm_cmd_verify},
    {"decrypt", NULL, 1, 1, OPT_BIT(HO_ALG) | IO_OPTS | PIN_OPTS, hsm_cmd_decrypt},
    {"encrypt", NULL, 1, 1, OPT_BIT(HO_ALG) | OPT_BIT(HO_LABEL) | IO_OPTS, hsm_cmd_encrypt},
    {"derive", NULL, 1, 1, OPT_BIT(HO_PEER) | OPT_BIT(HO_OUT) | PIN_OPTS, hsm_cmd_derive},
    {"cipher", NULL, 1, 1,
     OPT_BIT(HO_ALG) | OPT_BIT(HO_DECRYPT) | IO_OPTS | OPT_BIT(HO_IV) | OPT_BIT(HO_AAD) |
         OPT_BIT(HO_SALT) | OPT_BIT(HO_ITERATIONS) | OPT_BIT(HO_LENGTH) | OPT_BIT(HO_HASH) | PIN_OPTS,
     hsm_cmd_cipher},
    {"rtc", "get", 0, 0, 0, hsm_cmd_rtc_get},
    {"rtc", "set", 0, 1, 0, hsm_cmd_rtc_set},
    {"cert", "show", 0, 0, OPT_BIT(HO_CHAIN), hsm_cmd_cert_show},
    {"cert", "enroll", 1, 1, OPT_BIT(HO_FORCE), hsm_cmd_cert_enroll},
    {"cert", "install", 1, 1, PIN_OPTS, hsm_cmd_cert_install},
};

#define GLOBAL_OPTS (OPT_BIT(HO_READER) | OPT_BIT(HO_JSON) | OPT_BIT(HO_YES) | OPT_BIT(HO_HELP))

static const char k_usage[] =
    "usage: fusekey [--reader NAME] hsm [--json] COMMAND ...\n"
    "\n"
    "Any SmartCard-HSM-compatible card over PC/SC (docs/fusekey-hsm.md).\n"
    "Secrets: --pin / FUSEKEY_PIN, --so-pin / FUSEKEY_SO_PIN, --new-pin / FUSEKEY_NEW_PIN,\n"
    "--new-so-pin / FUSEKEY_NEW_SO_PIN, --password / FUSEKEY_DKEK_PASSWORD,\n"
    "--p12-password / FUSEKEY_P12_PASSWORD; otherwise asked without echo.\n"
    "\n"
    "  status                                  version, options, PINs, DKEK\n"
    "  initialize [--so-pin S] [--pin P] [--retries N] [--transport-pin]\n"
    "       [--dkek-shares N] [--key-domains N] [--press-to-confirm] [--key-use-counters]\n"
    "       [--no-unblock] [--unblock-counter-only] [--options HEX] [--label L]\n"
    "  pin status | pin change [--so] | pin unblock [--new-pin P | --counter-only]\n"
    "  dkek create-share FILE [--password P | --pwd-shares-total N --pwd-shares-threshold T]\n"
    "  dkek import FILE [--domain N] [--password P | --pwd-shares-threshold T\n"
    "       [--prime HEX] [--pwd-share ID:HEX ...]]\n"
    "  dkek check-share FILE [password options]  decrypt a share file, print its KCV\n"
    "  dkek status [--domain N]\n"
    "  domain create N --shares K | domain list | domain clear N | domain delete N\n"
    "  key generate TYPE [--id N] [--use-counter N] [--algorithms LIST] [--domain N]\n"
    "       [--exponent E] [--label L]       TYPE: rsa:BITS ec:CURVE ed25519 ed448\n"
    "                                        x25519 x448 aes:128|192|256|512\n"
    "  key list [--all] | key delete ID | key public ID [--out FILE]\n"
    "  key wrap ID FILE | key unwrap ID FILE [--via-2f10] [--force]\n"
    "  key import ID FILE.p12 --dkek-share F [--dkek-share F ...] [--algorithms LIST]\n"
    "       [--use-counter N] [--label L] [--force]  (the blob is made on the host)\n"
    "  sign ID --alg ALG [--in F | --data HEX] [--out F] [--raw]\n"
    "  verify ID --alg ALG [--in F | --data HEX] --sig F\n"
    "  decrypt ID --alg rsa-raw|rsa-pkcs1|rsa-oaep [--in F | --data HEX] [--out F]\n"
    "  encrypt ID --alg rsa-pkcs1|rsa-oaep[-sha1|-sha256|-sha384|-sha512] [--label L]\n"
    "       [--in F | --data HEX] [--out F]     with the public key of CE<id>, no PIN\n"
    "  derive ID --peer PUBKEY [--out F]\n"
    "  cipher ID --alg MODE [--decrypt] [--in F | --data HEX] [--out F] [--iv HEX]\n"
    "       [--aad HEX] [--salt HEX] [--iterations N] [--length N] [--hash H]\n"
    "  rtc get | rtc set [now | EPOCH | YYYY-MM-DDTHH:MM:SS]\n"
    "  cert show [--chain FILE] | cert enroll OUT | cert install FILE\n"
    "\n"
    "Exit status: 0 done, 1 refused or failed, 2 bad command line,\n"
    "3 (verify) the signature does not verify.\n";

/* A command-line error (exit 2). */
static int __attribute__((format(printf, 2, 3))) usage_error(hsm_run_t *h, const char *fmt, ...)
{
    va_list ap;
    (void)fputs("fusekey: ", h->base.t->err);
    va_start(ap, fmt);
    (void)vfprintf(h->base.t->err, fmt, ap);
    va_end(ap);
    (void)fputs("\n(fusekey hsm --help for the commands)\n", h->base.t->err);
    return FK_TOOL_EXIT_USAGE;
}

static const char *opt_name(hsm_opt_t id)
{
    for (size_t k = 0; k < FK_ARRAY_SIZE(k_opts); k++)
        if (k_opts[k].id == id) return k_opts[k].name;
    return "?";
}

/* Split argv into options and words; *seen gets the options. */
static int parse(hsm_run_t *h, int argc, char **argv, uint64_t *seen)
{
    bool only_words = false, past_hsm = false;
    *seen = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_words && strcmp(a, "--") == 0) {
            only_words = true;
            continue;
        }
        if (only_words || a[0] != '-' || a[1] == '\0') {
            if (!past_hsm) { /* the word "hsm" itself */
                past_hsm = true;
                continue;
            }
            if (h->npos >= HSM_MAX_POS) return usage_error(h, "too many arguments at '%s'", a);
            h->pos[h->npos++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        const size_t name_len = eq != NULL && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
        const hsm_option_t *spec = NULL;
        for (size_t k = 0; k < FK_ARRAY_SIZE(k_opts); k++) {
            if (strlen(k_opts[k].name) == name_len && strncmp(a, k_opts[k].name, name_len) == 0) {
                spec = &k_opts[k];
                break;
            }
        }
        if (spec == NULL) return usage_error(h, "unknown option '%s'", a);
        const bool repeatable = spec->id == HO_PWD_SHARE || spec->id == HO_DKEK_SHARE;
        if ((*seen & OPT_BIT(spec->id)) != 0u && !repeatable)
            return usage_error(h, "option %s given twice", spec->name);
        *seen |= OPT_BIT(spec->id);
        const char *v = "1";
        if (spec->has_arg) {
            if (eq != NULL && a[1] == '-') {
                v = eq + 1;
            } else if (i + 1 < argc) {
                v = argv[++i];
            } else {
                return usage_error(h, "option %s needs a value", spec->name);
            }
        } else if (eq != NULL && a[1] == '-') {
            return usage_error(h, "option %s takes no value", spec->name);
        }
        h->set[spec->id] = true;
        h->val[spec->id] = v;
        if (spec->id == HO_PWD_SHARE || spec->id == HO_DKEK_SHARE) {
            const char **list = spec->id == HO_PWD_SHARE ? h->shares : h->dkek_files;
            unsigned *n = spec->id == HO_PWD_SHARE ? &h->n_shares : &h->n_dkek_files;
            if (*n >= HSM_MAX_REPEAT) return usage_error(h, "%s given more than %u times", spec->name, HSM_MAX_REPEAT);
            list[(*n)++] = v;
        }
    }
    return 0;
}

/* Print the --json document (with ok / error) to the output. */
static void finish_json(hsm_run_t *h, int rc)
{
    hj_bool(&h->js, "ok", rc == FK_TOOL_EXIT_OK);
    if (rc != FK_TOOL_EXIT_OK) {
        hj_int(&h->js, "exit", rc);
        if (h->error[0] != '\0') hj_string(&h->js, "error", h->error);
        if (h->error_sw != 0u) {
            char sw[5];
            (void)snprintf(sw, sizeof sw, "%04X", h->error_sw);
            hj_string(&h->js, "sw", sw);
        }
    }
    hj_end_object(&h->js);
    if (h->js.oom) {
        fk_complain(&h->base, "out of memory writing the JSON output");
        return;
    }
    (void)fputs(h->js.buf, h->base.t->out);
    (void)fputc('\n', h->base.t->out);
}

int fk_hsm_main(fk_tool_t *t, int argc, char **argv)
{
    hsm_run_t *h = calloc(1, sizeof *h);
    if (h == NULL) {
        (void)fputs("fusekey: out of memory\n", t->err);
        return FK_TOOL_EXIT_FAIL;
    }
    h->base.t = t;
    h->base.file.fd = -1;
    uint64_t seen = 0;
    int rc = parse(h, argc, argv, &seen);
    if (rc != 0) goto out;
    if ((seen & OPT_BIT(HO_HELP)) != 0u || (h->npos == 1 && strcmp(h->pos[0], "help") == 0)) {
        (void)fputs(k_usage, t->out);
        goto out;
    }
    if (h->npos == 0) {
        (void)fputs(k_usage, t->err);
        rc = FK_TOOL_EXIT_USAGE;
        goto out;
    }
    const hsm_command_t *c = NULL;
    bool group_known = false;
    for (size_t k = 0; k < FK_ARRAY_SIZE(k_cmds); k++) {
        if (strcmp(k_cmds[k].group, h->pos[0]) != 0) continue;
        group_known = true;
        if (k_cmds[k].sub == NULL || (h->npos > 1 && strcmp(k_cmds[k].sub, h->pos[1]) == 0)) {
            c = &k_cmds[k];
            break;
        }
    }
    if (c == NULL) {
        if (group_known && h->npos > 1) rc = usage_error(h, "unknown command 'hsm %s %s'", h->pos[0], h->pos[1]);
        else if (group_known) rc = usage_error(h, "'hsm %s' needs a command word", h->pos[0]);
        else rc = usage_error(h, "unknown command 'hsm %s'", h->pos[0]);
        goto out;
    }
    char name[64];
    (void)snprintf(name, sizeof name, "hsm %s%s%s", c->group, c->sub ? " " : "", c->sub ? c->sub : "");
    h->base.cmd = name;
    const unsigned words = c->sub ? 2u : 1u;
    const unsigned nargs = h->npos - words;
    if (nargs < c->min_args || nargs > c->max_args) {
        rc = usage_error(h, "'%s': %s", name, nargs < c->min_args ? "missing argument" : "too many arguments");
        goto out;
    }
    for (unsigned i = 0; i < nargs; i++) h->pos[i] = h->pos[i + words];
    h->npos = nargs;
    const uint64_t stray = seen & ~(GLOBAL_OPTS | c->options);
    for (unsigned b = 0; b < HO_COUNT && stray != 0u; b++) {
        if ((stray & OPT_BIT(b)) != 0u) {
            rc = usage_error(h, "option %s does not apply to '%s'", opt_name((hsm_opt_t)b), name);
            goto out;
        }
    }
    h->base.reader = h->val[HO_READER];
    h->base.yes = h->val[HO_YES];
    h->json = h->set[HO_JSON];
    h->resp = malloc(FK_HSM_RESP_MAX);
    if (h->resp == NULL) {
        rc = hsm_fail(h, "out of memory");
        goto out;
    }
    if (h->json) {
        hj_begin_object(&h->js, NULL);
        hj_string(&h->js, "command", name);
    }
    rc = c->fn(h);
    if (rc == FK_TOOL_EXIT_FAIL && h->error[0] == '\0') (void)hsm_fail(h, "'%s' failed", name);
    if (h->json) finish_json(h, rc);
out:
    if (h->card_open) t->card->disconnect(t->card_arg);
    if (h->resp != NULL) {
        fk_wipe(h->resp, FK_HSM_RESP_MAX);
        free(h->resp);
    }
    hj_free(&h->js);
    (void)fflush(t->out);
    (void)fflush(t->err);
    fk_wipe(h, sizeof *h);
    free(h);
    return rc;
}
