/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_main.c - fusekey-sim: the fusekey core on Linux, as a virtual card in
 * pcscd's vpcd reader and a FIDO security key on a CTAPHID socket, with a
 * control socket for tests (docs/host-sim.md).
 *
 * Three threads: the main one serves the card over vpcd, one the CTAPHID
 * socket, one the control socket. One device lock keeps the card and the
 * CTAP endpoint from ever running core code at the same time; the control
 * commands about presence take no lock (they must reach a presence wait
 * that holds it).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "card/card.h"
#include "ctap_ep.h"
#include "ctaphid_sock.h"
#include "fusekey_product.h"
#include "hal.h"
#include "host_port.h"
#include "services/services.h"
#include "sim_control.h"
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
#define CTAPHID_FILE "ctaphid.sock"
#define CONTROL_FILE "control.sock"
#define SOCKET_NONE "none"

typedef struct sim_options {
    const char *flash_path; /* NULL: default */
    const char *otp_path;   /* NULL: default */
    const char *ctaphid_path; /* NULL: default; "none": no CTAPHID socket */
    const char *control_path; /* NULL: default; "none": no control socket */
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

/* The device: its services, its one card (~130 KiB of APDU buffers) and
 * its CTAP endpoint with the FIDO applet's own volatile state: static
 * objects, never on the stack. */
static fk_services_t services;
static fk_card_t card;
static fk_product_card_state_t card_state;
static fk_ctap_ep_t ctap_ep;
static _Alignas(8) uint8_t ctap_state[FK_FIDO_STATE_SIZE];
/* Held whenever core code runs (card, CTAP endpoint, power cycle). */
static pthread_mutex_t device_lock = PTHREAD_MUTEX_INITIALIZER;
/* Counts the device's power-ups: CTAPHID clients of an earlier one are
 * disconnected, as a USB device that goes away. */
static atomic_uint power_gen;
static fk_hidsock_t hidsock;
static bool hidsock_open;
static fk_simctl_t simctl;
static bool simctl_open;
/* The vpcd frame buffers (the transport wipes them after every frame). */
static uint8_t vpcd_rx[FK_VPCD_FRAME_MAX];
static uint8_t vpcd_tx[FK_VPCD_FRAME_MAX];
static volatile sig_atomic_t stop_flag;
/* Ends the vpcd loop: set with stop_flag, and alone when the card must
 * reconnect because the device restarted from another thread
 * (vpcd_restarts counts those requests). */
static volatile sig_atomic_t vpcd_stop;
static atomic_uint vpcd_restarts;
static atomic_bool fatal_stop;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROG " [OPTION]...\n"
            "Run the fusekey core as a virtual smart card in pcscd's vpcd reader.\n"
            "\n"
            "  --flash PATH              flash image (default: DATA/flash.bin)\n"
            "  --otp PATH                OTP image (default: DATA/otp.bin)\n"
            "  --ctaphid PATH|none       CTAPHID socket, the FIDO security key (default:\n"
            "                            " CTAPHID_FILE " beside the flash image)\n"
            "  --control PATH|none       control socket: presence answers, power cycle,\n"
            "                            clock (default: " CONTROL_FILE " beside the flash image)\n"
            "  --host ADDR               address vpcd listens on (default "
            FK_VPCD_DEFAULT_HOST ")\n"
            "  --port N                  vpcd port, 1-65535 (default %u: reader slot 0)\n"
            "  --presence auto|deny|ask  answer to user-presence requests (default: ask\n"
            "                            when standard input is a terminal, else auto)\n"
            "  --presence-timeout SECONDS  how long a presence wait lasts, 1-%lu\n"
            "                            (default: what the command asks for)\n"
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
    OPT_CTAPHID,
    OPT_CONTROL,
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
        {"ctaphid", required_argument, NULL, OPT_CTAPHID},
        {"control", required_argument, NULL, OPT_CONTROL},
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
        case OPT_CTAPHID:
            if (*optarg == '\0') usage_error("--ctaphid needs a path or 'none'");
            o->ctaphid_path = optarg;
            break;
        case OPT_CONTROL:
            if (*optarg == '\0') usage_error("--control needs a path or 'none'");
            o->control_path = optarg;
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

/* The card's entries each take the device lock: the CTAP endpoint may be
 * running a command (a presence wait holds the lock for seconds). */
static void card_power_on(void *ctx)
{
    pthread_mutex_lock(&device_lock);
    fk_card_power_on((fk_card_t *)ctx);
    pthread_mutex_unlock(&device_lock);
}

static void card_power_off(void *ctx)
{
    pthread_mutex_lock(&device_lock);
    fk_card_power_off((fk_card_t *)ctx);
    pthread_mutex_unlock(&device_lock);
}

static size_t card_atr(void *ctx, const uint8_t **atr)
{
    pthread_mutex_lock(&device_lock);
    const size_t n = fk_card_atr((const fk_card_t *)ctx, atr);
    pthread_mutex_unlock(&device_lock);
    return n;
}

static size_t card_transceive(void *ctx, const uint8_t *in, size_t len, uint8_t *out,
                              size_t out_cap)
{
    pthread_mutex_lock(&device_lock);
    const size_t n = fk_card_transceive((fk_card_t *)ctx, in, len, out, out_cap);
    pthread_mutex_unlock(&device_lock);
    return n;
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

/* (Re)start the virtual device: services, the card and the CTAP endpoint,
 * all powered up afresh. Device lock held (or no other thread yet). */
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
    const fk_ctap_ep_config_t ep_io = fk_hidsock_ep_config(&hidsock);
    if (fk_ctap_ep_init(&ctap_ep, &services, &fk_fido_applet, ctap_state, sizeof ctap_state,
                        &ep_io) != FK_CTAP_EP_OK) {
        fprintf(stderr, PROG ": cannot start the device (FIDO state area too small)\n");
        return -1;
    }
    atomic_fetch_add(&power_gen, 1u);
    report_start();
    return 0;
}

/* Stop the whole simulator from any thread (fatal: exit status 1). */
static void stop_simulator(bool fatal)
{
    if (fatal) atomic_store(&fatal_stop, true);
    stop_flag = 1;
    vpcd_stop = 1;
    fk_host_cancel_presence();
}

/* Make the vpcd loop drop its connection and connect again (pcscd sees the
 * card removed and inserted), from another thread than the loop's. */
static void vpcd_reconnect(void)
{
    atomic_fetch_add(&vpcd_restarts, 1u);
    vpcd_stop = 1;
}

/* Power everything off and start the device again. Device lock held. */
static int device_restart(void)
{
    fk_card_power_off(&card);
    fk_ctap_ep_power_off(&ctap_ep);
    if (device_start() != 0) return -1;
    if (hidsock_open) fk_hidsock_wake(&hidsock);
    return 0;
}

/* Carry out a reboot the device asked for (device lock held): false when
 * there is none. *stop: the simulator must end (bootloader, or the device
 * did not start again). */
static bool take_reboot(bool *stop)
{
    fk_reboot_mode_t mode;
    *stop = false;
    if (!fk_host_take_reboot(&mode)) return false;
    if (mode == FK_REBOOT_BOOTLOADER) {
        fk_card_power_off(&card);
        fk_ctap_ep_power_off(&ctap_ep);
        fprintf(stderr, PROG ": the device asked for the bootloader (BOOTSEL), which the "
                        "simulator does not have: exiting\n");
        *stop = true;
        stop_simulator(false);
        return true;
    }
    fprintf(stderr, PROG ": device reboot: restarting the virtual device\n");
    if (device_restart() != 0) {
        *stop = true;
        stop_simulator(true);
    }
    return true;
}

/* After each vpcd frame: a reboot the card's command asked for. */
static fk_vpcd_action_t after_frame(void *ctx)
{
    (void)ctx;
    bool stop = false;
    pthread_mutex_lock(&device_lock);
    const bool rebooted = take_reboot(&stop);
    pthread_mutex_unlock(&device_lock);
    if (!rebooted) return FK_VPCD_CONTINUE;
    return stop ? FK_VPCD_STOP : FK_VPCD_RECONNECT;
}

/* After each CTAPHID report (device lock held): a reboot its command asked
 * for also makes the card reconnect. */
static void after_report(void *ctx)
{
    (void)ctx;
    bool stop = false;
    if (take_reboot(&stop) && !stop) vpcd_reconnect();
}

static unsigned power_generation(void *ctx)
{
    (void)ctx;
    return atomic_load(&power_gen);
}

/* The control socket's power-cycle: a cold power cycle of the whole
 * device, as pulling it out and plugging it in again. A presence wait in
 * progress is called off first (the device loses power), then the command
 * it belonged to ends and the device restarts: volatile state is gone
 * (PIN tokens, per-boot PIN limits, key agreement key), the uptime starts
 * again (the FIDO reset window reopens), CTAPHID clients are disconnected
 * and the card is removed from the reader and inserted again. */
static int control_power_cycle(void *ctx)
{
    (void)ctx;
    fk_hal_presence_abort();
    pthread_mutex_lock(&device_lock);
    fprintf(stderr, PROG ": power cycle\n");
    const int rc = device_restart();
    pthread_mutex_unlock(&device_lock);
    if (rc != 0) {
        stop_simulator(true);
        return -1;
    }
    vpcd_reconnect();
    return 0;
}

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
    vpcd_stop = 1;
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

/* The default path of a socket: name in the flash image's directory. */
static int socket_beside(char *out, size_t cap, const char *flash, const char *name)
{
    const char *slash = strrchr(flash, '/');
    if (slash == NULL) return join_path(out, cap, ".", name);
    char dir[PATH_CAP];
    const size_t n = (size_t)(slash - flash);
    if (n >= sizeof dir) {
        fprintf(stderr, PROG ": path too long: %s\n", flash);
        return -1;
    }
    memcpy(dir, flash, n);
    dir[n] = '\0';
    return join_path(out, cap, n == 0 ? "" : dir, name);
}

/* The socket path an option asks for: NULL when disabled ("none"). */
static int socket_path(const char *opt, const char *flash, const char *name, char *buf,
                       size_t cap, const char **out)
{
    *out = NULL;
    if (opt != NULL && strcmp(opt, SOCKET_NONE) == 0) return 0;
    if (opt != NULL) {
        *out = opt;
        return 0;
    }
    if (socket_beside(buf, cap, flash, name) != 0) return -1;
    *out = buf;
    return 0;
}

/* Open the CTAPHID and control sockets the options ask for. */
static int open_sockets(const char *ctaphid, const char *control)
{
    if (ctaphid != NULL) {
        if (fk_hidsock_open(&hidsock, ctaphid) != 0) return -1;
        hidsock_open = true;
    }
    if (control != NULL) {
        if (fk_simctl_open(&simctl, control) != 0) return -1;
        simctl_open = true;
    }
    return 0;
}

static int start_socket_threads(void)
{
    if (hidsock_open) {
        const fk_hidsock_device_t dev = {
            .lock = &device_lock,
            .ep = &ctap_ep,
            .generation = power_generation,
            .after_report = after_report,
            .ctx = NULL,
            .stop = &stop_flag,
        };
        if (fk_hidsock_start(&hidsock, &dev) != 0) return -1;
    }
    if (simctl_open) {
        const fk_simctl_hooks_t hooks = {.power_cycle = control_power_cycle, .ctx = NULL};
        if (fk_simctl_start(&simctl, &hooks, &stop_flag) != 0) return -1;
    }
    return 0;
}

static void close_sockets(void)
{
    if (simctl_open) fk_simctl_close(&simctl);
    if (hidsock_open) fk_hidsock_close(&hidsock);
    simctl_open = hidsock_open = false;
}

/* Serve the card over vpcd until the simulator stops; a device restart
 * from another thread (power cycle, a reboot asked for over CTAPHID) ends
 * one serving round so that the card reconnects. 0, or -1 when the vpcd
 * host cannot be resolved. */
static int serve_vpcd(const sim_options_t *o)
{
    const fk_vpcd_card_t vcard = {
        .ctx = &card,
        .power_on = card_power_on,
        .power_off = card_power_off,
        .atr = card_atr,
        .transceive = card_transceive,
    };
    const fk_vpcd_options_t vopt = {
        .host = o->host,
        .port = o->port,
        .stop = &vpcd_stop,
        .after_frame = after_frame,
        .rx = vpcd_rx,
        .tx = vpcd_tx,
    };
    for (;;) {
        if (fk_vpcd_serve(&vcard, &vopt) != 0) return -1;
        if (stop_flag) return 0;
        /* A restart: serve again. A request that comes while the flag is
         * cleared must not be lost, hence the count. */
        const unsigned seen = atomic_load(&vpcd_restarts);
        vpcd_stop = 0;
        if (atomic_load(&vpcd_restarts) != seen || stop_flag) vpcd_stop = 1;
    }
}

int main(int argc, char **argv)
{
    sim_options_t o;
    parse_options(argc, argv, &o);

    static char dir[PATH_CAP], flash_path[PATH_CAP], otp_path[PATH_CAP];
    static char ctaphid_buf[PATH_CAP], control_buf[PATH_CAP];
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
    const char *hp = NULL, *cp = NULL;
    if (socket_path(o.ctaphid_path, fp, CTAPHID_FILE, ctaphid_buf, sizeof ctaphid_buf, &hp) != 0 ||
        socket_path(o.control_path, fp, CONTROL_FILE, control_buf, sizeof control_buf, &cp) != 0)
        return EXIT_FAILURE;

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
    if (open_sockets(hp, cp) == 0 && device_start() == 0) {
        static const char *const presence_names[] = {"auto", "deny", "ask"};
        fprintf(stderr,
                PROG " " FK_VERSION_STRING ": flash %s, OTP %s (%s), presence %s, vpcd %s:%u, "
                     "ctaphid %s, control %s\n",
                fp, op, o.stepping == FK_OTP_STEPPING_A3 ? "A3" : "A2",
                presence_names[o.presence], o.host, (unsigned)o.port,
                hp != NULL ? hp : SOCKET_NONE, cp != NULL ? cp : SOCKET_NONE);
        if (start_socket_threads() == 0 && serve_vpcd(&o) == 0 && !atomic_load(&fatal_stop))
            status = EXIT_SUCCESS;
        /* Whatever ended the loop, the other threads stop now. */
        stop_flag = 1;
        fk_host_cancel_presence();
        close_sockets();
        fk_card_power_off(&card);
        fk_ctap_ep_power_off(&ctap_ep);
    }
    close_sockets();
    fk_host_otp_close();
    fk_host_flash_close();
    return status;
}
