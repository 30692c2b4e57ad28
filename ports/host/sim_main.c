/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_main.c - fusekey-sim: the fusekey core on Linux, as a virtual card in
 * pcscd's vpcd reader (docs/host-sim.md).
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "card/card.h"
#include "fusekey_product.h"
#include "hal.h"
#include "host_port.h"
#include "services/services.h"
#include "util.h"
#include "version.h"
#include "vpcd.h"

#define PROG "fusekey-sim"
#define EXIT_USAGE 2
#define PATH_CAP 4096u
#define SERIAL_LEN 8u
#define SERIAL_HEX_LEN (2u * SERIAL_LEN)
#define PORT_MAX 65535ul
#define PRESENCE_TIMEOUT_MAX_S 3600ul
#define MS_PER_S 1000u
#define DATA_DIR_MODE 0700
#define DATA_SUBDIR "fusekey"
#define FLASH_FILE "flash.bin"
#define OTP_FILE "otp.bin"

typedef struct sim_options {
    const char *flash_path; /* NULL: default */
    const char *otp_path;   /* NULL: default */
    const char *host;
    uint16_t port;
    bool presence_set;
    fk_host_presence_t presence;
    uint32_t presence_timeout_ms; /* 0: the core's */
    bool serial_set;
    uint8_t serial[SERIAL_LEN];
    fk_otp_stepping_t stepping;
    int verbose;
} sim_options_t;

/* The device: its services and its one card (~130 KiB of APDU buffers):
 * static objects, never on the stack. */
static fk_services_t services;
static fk_card_t card;
static fk_product_card_state_t card_state;
/* The vpcd frame buffers (the transport wipes them after every frame). */
static uint8_t vpcd_rx[FK_VPCD_FRAME_MAX];
static uint8_t vpcd_tx[FK_VPCD_FRAME_MAX];
static volatile sig_atomic_t stop_flag;
static bool fatal_stop;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROG " [OPTION]...\n"
            "Run the fusekey core as a virtual smart card in pcscd's vpcd reader.\n"
            "\n"
            "  --flash PATH              flash image (default: DATA/flash.bin)\n"
            "  --otp PATH                OTP image (default: DATA/otp.bin)\n"
            "  --host ADDR               address vpcd listens on (default "
            FK_VPCD_DEFAULT_HOST ")\n"
            "  --port N                  vpcd port, 1-65535 (default %u: reader slot 0)\n"
            "  --presence auto|deny|ask  answer to user-presence requests (default: ask\n"
            "                            when standard input is a terminal, else auto)\n"
            "  --presence-timeout SECONDS  how long 'ask' waits, 1-%lu (default: what\n"
            "                            the command asks for)\n"
            "  --serial HEX              chip serial, 16 hex digits (default: derived\n"
            "                            from the machine id); a new OTP image gets it\n"
            "                            as its CHIPID\n"
            "  --stepping a2|a3          RP2350 stepping the OTP model follows (default\n"
            "                            a2)\n"
            "  -v, --verbose             log card events on stderr (twice: more)\n"
            "  -h, --help                show this help and exit\n"
            "  -V, --version             show the version and exit\n"
            "\n"
            "DATA is $XDG_DATA_HOME/fusekey, or ~/.local/share/fusekey; it is created\n"
            "when a default path is used. SIGINT or SIGTERM stops the simulator after\n"
            "the command in progress. Exit status: 0 stopped, 1 error, 2 bad usage.\n",
            FK_VPCD_DEFAULT_PORT, PRESENCE_TIMEOUT_MAX_S);
}

/* Print a usage error and exit with status 2. */
static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROG " --help' for more information.\n", stderr);
    exit(EXIT_USAGE);
}

/* Parse a decimal number in [min, max]; false when s is anything else. */
static bool parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    if (*s < '0' || *s > '9') return false;
    errno = 0;
    char *end = NULL;
    const unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) return false;
    *out = v;
    return true;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parse exactly SERIAL_HEX_LEN hex digits into serial. */
static bool parse_serial(const char *s, uint8_t serial[SERIAL_LEN])
{
    if (strlen(s) != SERIAL_HEX_LEN) return false;
    for (unsigned i = 0; i < SERIAL_LEN; i++) {
        const int hi = hex_value(s[2 * i]);
        const int lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        serial[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

enum {
    OPT_FLASH = 256,
    OPT_OTP,
    OPT_HOST,
    OPT_PORT,
    OPT_PRESENCE,
    OPT_PRESENCE_TIMEOUT,
    OPT_SERIAL,
    OPT_STEPPING,
};

/* Fill *o from the command line; exits on --help, --version and errors. */
static void parse_options(int argc, char **argv, sim_options_t *o)
{
    static const struct option longopts[] = {
        {"flash", required_argument, NULL, OPT_FLASH},
        {"otp", required_argument, NULL, OPT_OTP},
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"presence", required_argument, NULL, OPT_PRESENCE},
        {"presence-timeout", required_argument, NULL, OPT_PRESENCE_TIMEOUT},
        {"serial", required_argument, NULL, OPT_SERIAL},
        {"stepping", required_argument, NULL, OPT_STEPPING},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->host = FK_VPCD_DEFAULT_HOST;
    o->port = (uint16_t)FK_VPCD_DEFAULT_PORT;
    o->stepping = FK_OTP_STEPPING_A2;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":vhV", longopts, NULL)) != -1) {
        unsigned long v = 0;
        switch (c) {
        case OPT_FLASH:
            if (*optarg == '\0') usage_error("--flash needs a non-empty path");
            o->flash_path = optarg;
            break;
        case OPT_OTP:
            if (*optarg == '\0') usage_error("--otp needs a non-empty path");
            o->otp_path = optarg;
            break;
        case OPT_HOST:
            if (*optarg == '\0') usage_error("--host needs a non-empty address");
            o->host = optarg;
            break;
        case OPT_PORT:
            if (!parse_ulong(optarg, 1, PORT_MAX, &v)) {
                usage_error("invalid --port '%s': expected a number from 1 to %lu", optarg,
                            PORT_MAX);
            }
            o->port = (uint16_t)v;
            break;
        case OPT_PRESENCE:
            if (strcmp(optarg, "auto") == 0) {
                o->presence = FK_HOST_PRESENCE_AUTO;
            } else if (strcmp(optarg, "deny") == 0) {
                o->presence = FK_HOST_PRESENCE_DENY;
            } else if (strcmp(optarg, "ask") == 0) {
                o->presence = FK_HOST_PRESENCE_ASK;
            } else {
                usage_error("invalid --presence '%s': expected auto, deny or ask", optarg);
            }
            o->presence_set = true;
            break;
        case OPT_PRESENCE_TIMEOUT:
            if (!parse_ulong(optarg, 1, PRESENCE_TIMEOUT_MAX_S, &v)) {
                usage_error("invalid --presence-timeout '%s': expected whole seconds from 1 to %lu",
                            optarg, PRESENCE_TIMEOUT_MAX_S);
            }
            o->presence_timeout_ms = (uint32_t)(v * MS_PER_S);
            break;
        case OPT_SERIAL:
            if (!parse_serial(optarg, o->serial)) {
                usage_error("invalid --serial '%s': expected exactly %u hex digits", optarg,
                            SERIAL_HEX_LEN);
            }
            o->serial_set = true;
            break;
        case OPT_STEPPING:
            if (strcmp(optarg, "a2") == 0 || strcmp(optarg, "A2") == 0) {
                o->stepping = FK_OTP_STEPPING_A2;
            } else if (strcmp(optarg, "a3") == 0 || strcmp(optarg, "A3") == 0) {
                o->stepping = FK_OTP_STEPPING_A3;
            } else {
                usage_error("invalid --stepping '%s': expected a2 or a3", optarg);
            }
            break;
        case 'v':
            o->verbose++;
            break;
        case 'h':
            usage(stdout);
            exit(EXIT_SUCCESS);
        case 'V':
            printf(PROG " " FK_VERSION_STRING "\n");
            exit(EXIT_SUCCESS);
        case ':':
            usage_error("option '%s' needs an argument", argv[optind - 1]);
        default: {
            const char *arg = argv[optind - 1];
            if (strncmp(arg, "--", 2) != 0) usage_error("unknown option '-%c'", optopt);
            const char *eq = strchr(arg, '=');
            if (eq != NULL && optopt != 0) {
                usage_error("option '%.*s' takes no argument", (int)(eq - arg), arg);
            }
            usage_error("unknown option '%s'", arg);
        }
        }
    }
    if (optind < argc) usage_error("unexpected argument '%s'", argv[optind]);
    if (!o->presence_set) {
        o->presence = isatty(STDIN_FILENO) ? FK_HOST_PRESENCE_ASK : FK_HOST_PRESENCE_AUTO;
    }
}

/* Create dir and its missing parents (mode DATA_DIR_MODE). */
static int make_dirs(char *dir)
{
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        const char saved = *p;
        *p = '\0';
        const int rc = mkdir(dir, DATA_DIR_MODE);
        *p = saved;
        if (rc != 0 && errno != EEXIST) return -1;
        if (saved == '\0') return 0;
    }
}

/* The default data directory, created if missing. */
static int data_dir(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    int n;
    if (xdg != NULL && xdg[0] == '/') { /* relative values are invalid per XDG: ignored */
        n = snprintf(out, cap, "%s/%s", xdg, DATA_SUBDIR);
    } else {
        const char *home = getenv("HOME");
        if (home == NULL || home[0] == '\0') {
            const struct passwd *pw = getpwuid(getuid());
            home = pw != NULL ? pw->pw_dir : NULL;
        }
        if (home == NULL) {
            fprintf(stderr, PROG ": no home directory: give --flash and --otp\n");
            return -1;
        }
        n = snprintf(out, cap, "%s/.local/share/%s", home, DATA_SUBDIR);
    }
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, PROG ": data directory path too long\n");
        return -1;
    }
    if (make_dirs(out) != 0) {
        fprintf(stderr, PROG ": cannot create %s: %s\n", out, strerror(errno));
        return -1;
    }
    return 0;
}

/* dir/name into out; -1 with a message when it does not fit. */
static int join_path(char *out, size_t cap, const char *dir, const char *name)
{
    const int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, PROG ": path too long: %s/%s\n", dir, name);
        return -1;
    }
    return 0;
}

/* Open the OTP image: a new one is a chip whose CHIPID is the serial the
 * simulator reports; an existing one whose CHIPID differs gets a warning. */
static int otp_open(const char *path, fk_otp_stepping_t stepping)
{
    uint8_t serial[SERIAL_LEN];
    fk_hal_serial(serial);
    if (fk_host_otp_open_chip(path, stepping, serial) != 0) return -1;
    uint8_t chipid[SERIAL_LEN];
    if (fk_host_otp_chipid(chipid) != 0) return 0;
    bool blank = true;
    for (unsigned i = 0; i < SERIAL_LEN; i++) blank = blank && chipid[i] == 0u;
    if (!blank && memcmp(chipid, serial, SERIAL_LEN) != 0) {
        fprintf(stderr, PROG ": warning: OTP image %s holds another chip id than the serial "
                        "in use (--serial)\n", path);
    }
    return 0;
}

/* ---- The device behind vpcd -------------------------------------------- */

static void card_power_on(void *ctx) { fk_card_power_on((fk_card_t *)ctx); }
static void card_power_off(void *ctx) { fk_card_power_off((fk_card_t *)ctx); }

static size_t card_atr(void *ctx, const uint8_t **atr)
{
    return fk_card_atr((const fk_card_t *)ctx, atr);
}

static size_t card_transceive(void *ctx, const uint8_t *in, size_t len, uint8_t *out,
                              size_t out_cap)
{
    return fk_card_transceive((fk_card_t *)ctx, in, len, out, out_cap);
}

/* The device's keepalive hook. The vpcd protocol has no message that asks
 * the reader to wait longer (unlike CCID's time extension): vpcd simply
 * waits for the reply, so there is nothing to send; it only logs. */
static void vpcd_keepalive(void *arg)
{
    (void)arg;
    if (fk_host_verbose() >= FK_HOST_VERBOSE_DETAIL) {
        fprintf(stderr, PROG ": long command in progress (vpcd has no time extension)\n");
    }
}

/* Say what the start found that the user should know: flash damage the
 * store repaired or could not, a device seed lost or unreadable, a
 * migration to the OTP root still waiting. Silent on a healthy device. */
static void report_start(void)
{
    static const char *const names[] = {"main", "counters"};
    const fk_store_t *const parts[] = {&services.store, &services.counters};
    for (size_t i = 0; i < 2; i++) {
        fk_store_stats_t st;
        fk_store_stats(parts[i], &st);
        if (st.repaired > 0)
            fprintf(stderr, PROG ": flash store (%s): %u damaged header(s) repaired\n", names[i],
                    (unsigned)st.repaired);
        if (st.damaged > 0)
            fprintf(stderr, PROG ": flash store (%s): %u damaged record(s) found\n", names[i],
                    (unsigned)st.damaged);
    }
    if (services.seal_info.seed_damaged)
        fprintf(stderr, PROG ": device seed: one copy was damaged; %s\n",
                services.seal_info.seed_repaired ? "both are written again from the other"
                                                 : "writing it again failed (next start retries)");
    if (services.seal_rc != FK_SEAL_OK)
        fprintf(stderr, PROG ": device seed unreadable: sealed keys and PINs cannot be used\n");
    fk_migration_status_t m;
    fk_services_migration_state(&services, &m);
    if (m.state == FK_MIGRATION_IN_PROGRESS)
        fprintf(stderr,
                PROG ": migration to the OTP root in progress: %u secret(s) wait for their PIN, "
                     "%u step(s) failed\n",
                m.pending, m.failed);
}

static int device_start(void)
{
    const int rc = fk_services_init(&services, &fk_product);
    if (rc != FK_SERVICES_OK) {
        fprintf(stderr, PROG ": cannot start the device (%s)\n",
                rc == FK_SERVICES_ESTORE ? "the flash store could not be mounted"
                : rc == FK_SERVICES_ESEAL ? "sealing could not be prepared"
                                          : "unknown error");
        return -1;
    }
    if (fk_card_init(&card, &services, &card_state, sizeof card_state) != FK_CARD_OK) {
        fprintf(stderr, PROG ": cannot start the device (applet state area too small)\n");
        return -1;
    }
    fk_card_set_keepalive(&card, vpcd_keepalive, NULL);
    report_start();
    return 0;
}

/* After each frame: carry out a reboot the device asked for. */
static fk_vpcd_action_t after_frame(void *ctx)
{
    (void)ctx;
    fk_reboot_mode_t mode;
    if (!fk_host_take_reboot(&mode)) return FK_VPCD_CONTINUE;
    fk_card_power_off(&card);
    if (mode == FK_REBOOT_BOOTLOADER) {
        fprintf(stderr, PROG ": the device asked for the bootloader (BOOTSEL), which the "
                        "simulator does not have: exiting\n");
        return FK_VPCD_STOP;
    }
    fprintf(stderr, PROG ": device reboot: restarting the virtual device\n");
    if (device_start() != 0) {
        fatal_stop = true;
        return FK_VPCD_STOP;
    }
    return FK_VPCD_RECONNECT;
}

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
    fk_host_cancel_presence();
}

/* SIGINT/SIGTERM set the stop flag; no SA_RESTART, so blocking calls wake. */
static int install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

int main(int argc, char **argv)
{
    sim_options_t o;
    parse_options(argc, argv, &o);

    static char dir[PATH_CAP], flash_path[PATH_CAP], otp_path[PATH_CAP];
    const char *fp = o.flash_path, *op = o.otp_path;
    if (fp == NULL || op == NULL) {
        if (data_dir(dir, sizeof dir) != 0) return EXIT_FAILURE;
        if (fp == NULL) {
            if (join_path(flash_path, sizeof flash_path, dir, FLASH_FILE) != 0) return EXIT_FAILURE;
            fp = flash_path;
        }
        if (op == NULL) {
            if (join_path(otp_path, sizeof otp_path, dir, OTP_FILE) != 0) return EXIT_FAILURE;
            op = otp_path;
        }
    }

    if (install_signals() != 0) {
        fprintf(stderr, PROG ": cannot install signal handlers: %s\n", strerror(errno));
        return EXIT_FAILURE;
    }
    fk_host_set_verbose(o.verbose);
    fk_host_set_presence(o.presence);
    fk_host_set_presence_timeout(o.presence_timeout_ms);
    if (o.serial_set) fk_host_set_serial(o.serial);

    if (fk_host_flash_open(fp, 0) != 0) return EXIT_FAILURE;
    if (otp_open(op, o.stepping) != 0) {
        fk_host_flash_close();
        return EXIT_FAILURE;
    }
    int status = EXIT_FAILURE;
    if (device_start() == 0) {
        static const char *const presence_names[] = {"auto", "deny", "ask"};
        fprintf(stderr,
                PROG " " FK_VERSION_STRING ": flash %s, OTP %s (%s), presence %s, vpcd %s:%u\n",
                fp, op, o.stepping == FK_OTP_STEPPING_A3 ? "A3" : "A2",
                presence_names[o.presence], o.host, (unsigned)o.port);
        const fk_vpcd_card_t vcard = {
            .ctx = &card,
            .power_on = card_power_on,
            .power_off = card_power_off,
            .atr = card_atr,
            .transceive = card_transceive,
        };
        const fk_vpcd_options_t vopt = {
            .host = o.host,
            .port = o.port,
            .stop = &stop_flag,
            .after_frame = after_frame,
            .rx = vpcd_rx,
            .tx = vpcd_tx,
        };
        if (fk_vpcd_serve(&vcard, &vopt) == 0 && !fatal_stop) status = EXIT_SUCCESS;
        fk_card_power_off(&card);
    }
    fk_host_otp_close();
    fk_host_flash_close();
    return status;
}
