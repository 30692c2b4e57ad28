/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_tool.h - `fusekey hsm`: the tool's command group for any
 * SmartCard-HSM-compatible card over PC/SC (docs/fusekey-hsm.md). What the
 * hsm_*.c files share: the run (options, the card, output), the card
 * helpers, the JSON writer, and the host-side formats the unit tests drive
 * (wrap files, key types, algorithm names).
 *
 *   hsm_cli.c      options, commands, dispatch, usage, secrets input
 *   hsm_json.c     the --json writer
 *   hsm_card.c     APDUs, status words as sentences, files, PINs
 *   hsm_format.c   key types and templates, algorithms, wrap files, PrKDs
 *   hsm_admin.c    status, initialize, pin, rtc, device certificates
 *   hsm_dkek.c     DKEK shares, key domains
 *   hsm_keys.c     key generate / list / delete / public / wrap / unwrap / import
 *   hsm_ops.c      sign, verify, decrypt, encrypt, derive, cipher
 */
#ifndef FUSEKEY_HSM_TOOL_H
#define FUSEKEY_HSM_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/hsm_host.h"
#include "crypto/pk.h"
#include "tool_internal.h"

/* Exit status of `verify` when the signature is wrong (0/1/2 as everywhere). */
#define FK_TOOL_EXIT_BAD_SIGNATURE 3

/* Typed confirmation tokens of the commands that erase. */
#define FK_TOKEN_HSM_INIT "INITIALIZE-HSM"
#define FK_TOKEN_HSM_DELETE_KEY "DELETE-KEY"
#define FK_TOKEN_HSM_OVERWRITE_KEY "OVERWRITE-KEY"
#define FK_TOKEN_HSM_DELETE_DOMAIN "DELETE-DOMAIN"
#define FK_TOKEN_HSM_CLEAR_DKEK "CLEAR-DKEK"
#define FK_TOKEN_HSM_CERTS "REPLACE-DEVICE-CERTIFICATES"

/* ---- The JSON writer (hsm_json.c) ---------------------------------------------- */

#define HJ_MAX_DEPTH 8

typedef struct hj {
    char *buf;
    size_t len, cap;
    bool oom;
    int depth;
    bool first[HJ_MAX_DEPTH]; /* no member written yet at this level */
} hj_t;

/* Members take a key inside objects and NULL inside arrays. */
void hj_begin_object(hj_t *j, const char *key);
void hj_end_object(hj_t *j);
void hj_begin_array(hj_t *j, const char *key);
void hj_end_array(hj_t *j);
void hj_string(hj_t *j, const char *key, const char *value);
void hj_hex(hj_t *j, const char *key, const uint8_t *data, size_t len);
void hj_uint(hj_t *j, const char *key, uint64_t value);
void hj_int(hj_t *j, const char *key, long long value);
void hj_bool(hj_t *j, const char *key, bool value);
void hj_null(hj_t *j, const char *key);
void hj_free(hj_t *j);

/* ---- Options ---------------------------------------------------------------------- */

typedef enum hsm_opt {
    HO_READER, HO_JSON, HO_YES, HO_HELP,
    HO_PIN, HO_SO_PIN, HO_NEW_PIN, HO_NEW_SO_PIN, HO_SO,
    HO_TRANSPORT_PIN, HO_RETRIES, HO_DKEK_SHARES, HO_KEY_DOMAINS, HO_PRESS_TO_CONFIRM,
    HO_KEY_USE_COUNTERS, HO_NO_UNBLOCK, HO_UNBLOCK_COUNTER_ONLY, HO_OPTIONS, HO_LABEL,
    HO_PASSWORD, HO_PWD_TOTAL, HO_PWD_THRESHOLD, HO_PRIME, HO_PWD_SHARE, HO_DOMAIN, HO_SHARES,
    HO_ID, HO_USE_COUNTER, HO_ALGORITHMS, HO_EXPONENT, HO_FORCE, HO_VIA_2F10, HO_DKEK_SHARE,
    HO_P12_PASSWORD, HO_ALG, HO_IN, HO_OUT, HO_SIG, HO_HASH, HO_IV, HO_AAD, HO_DECRYPT,
    HO_SALT, HO_ITERATIONS, HO_LENGTH, HO_PEER, HO_COUNTER_ONLY, HO_ALL, HO_RAW, HO_CHAIN,
    HO_DATA, HO_COUNT
} hsm_opt_t;

#define HSM_MAX_POS 4u
#define HSM_MAX_REPEAT 16u

/* ---- The run ---------------------------------------------------------------------- */

typedef struct hsm_run {
    fk_run_t base; /* t, cmd, reader, yes: for fk_say / fk_complain / fk_confirm */
    const char *val[HO_COUNT]; /* option values (flags: "1") */
    bool set[HO_COUNT];
    const char *shares[HSM_MAX_REPEAT]; /* --pwd-share, repeatable */
    unsigned n_shares;
    const char *dkek_files[HSM_MAX_REPEAT]; /* --dkek-share, repeatable */
    unsigned n_dkek_files;
    const char *pos[HSM_MAX_POS];
    unsigned npos;
    bool json;
    hj_t js;           /* the --json document */
    bool card_open;
    uint16_t options;  /* device options from the FCP (85) */
    uint8_t major, minor;
    uint8_t *resp;     /* the reply buffer (FK_HSM_RESP_MAX) */
    size_t resp_len;
    uint16_t sw;
    bool logged_in;    /* the user PIN was verified in this run */
    char error[FK_RUN_ERR_CAP]; /* the first error, for --json */
    uint16_t error_sw; /* its status word, 0 when none */
} hsm_run_t;

#define FK_HSM_RESP_MAX 65536u
#define FK_HSM_APDU_MAX (7u + 65535u + 2u)
/* The longest command APDU the tool sends: PC/SC's virtual reader frames a
 * command with a 2-byte length (a longer one desynchronises it for good),
 * and CCID readers announce no more either. */
#define FK_HSM_WIRE_MAX 65535u

/* ---- Output ----------------------------------------------------------------------- */
/* A human line on stdout (nothing with --json). */
void hsm_say(hsm_run_t *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error on stderr; with --json also recorded in the document. Returns
 * FK_TOOL_EXIT_FAIL. */
int hsm_fail(hsm_run_t *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Progress of a long operation on stderr (a line per step, not with --json). */
void hsm_progress(hsm_run_t *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Secrets (hsm_cli.c) -------------------------------------------------------- *
 * A secret from its option, else from the environment variable, else asked on
 * the terminal without echo (or read as one line from a non-terminal input).
 * Returns a malloc'd NUL-terminated copy the caller wipes with hsm_forget,
 * or NULL after printing why. */
char *hsm_secret(hsm_run_t *h, hsm_opt_t opt, const char *env, const char *prompt, bool confirm);
void hsm_forget(char *secret);
/* A line of text asked on the terminal; NULL at end of input. The secret
 * form does not echo it. Free both with hsm_forget. */
char *hsm_ask(hsm_run_t *h, const char *prompt);
char *hsm_ask_secret(hsm_run_t *h, const char *prompt);

/* An option as a number in [min, max] (decimal or 0x-hex); false after
 * printing why (the caller returns FK_TOOL_EXIT_USAGE). */
bool hsm_opt_uint(hsm_run_t *h, hsm_opt_t opt, uint32_t min, uint32_t max, uint32_t *out);
/* A key id argument 1..255; false after printing why (usage error). */
bool hsm_parse_key_id(hsm_run_t *h, const char *s, uint8_t *id);

/* Hex text (blanks and colons allowed between bytes) into out. -1 when it is
 * not hex or longer than cap. */
int hsm_unhex(const char *s, uint8_t *out, size_t cap, size_t *len);

/* Whole files. Read: malloc'd (max bytes at most), NULL after printing why.
 * Write: 0, or -1 after printing why; secret files get mode 0600. */
uint8_t *hsm_read_file(hsm_run_t *h, const char *path, size_t max, size_t *len);
int hsm_write_file(hsm_run_t *h, const char *path, const uint8_t *data, size_t len, bool secret,
                   bool exclusive);

/* ---- The card (hsm_card.c) ------------------------------------------------------ */

/* Connect (--reader) and SELECT the HSM applet; reads options and version. */
int hsm_open(hsm_run_t *h);
/* One command: short APDU when data <= 255 bytes and ne <= 256, else
 * extended. ne 0: no Le. The answer is in h->resp / h->resp_len / h->sw.
 * FK_TOOL_EXIT_FAIL after printing a transport failure. */
int hsm_apdu(hsm_run_t *h, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
             size_t len, size_t ne);
/* The same where ne is the exact length the card is to answer (a KDF's
 * output): 256 goes as extended Le 01 00, since a short Le 00 leaves the
 * length to the card (docs/hsm-cipher.md). */
int hsm_apdu_exact(hsm_run_t *h, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                   size_t len, size_t ne);
/* The same as case 3 with extended Lc (no Le), for UNWRAP's 0.23 form. */
int hsm_apdu_ext_nole(hsm_run_t *h, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
                      const uint8_t *data, size_t len);
/* "6982: security status not satisfied (PIN not verified)". */
const char *hsm_sw_text(uint16_t sw, char *buf, size_t cap);
/* Print "<what> failed: <SW text>" and return FK_TOOL_EXIT_FAIL. */
int hsm_sw_fail(hsm_run_t *h, const char *what);

/* VERIFY of the user PIN (option, FUSEKEY_PIN or prompt), once per run. */
int hsm_login(hsm_run_t *h);
/* User PIN state: tries left (-1 unknown), verified, blocked, initialized,
 * transport. */
typedef struct hsm_pin_state {
    bool initialized, verified, blocked, transport;
    int tries;
    uint16_t sw;
} hsm_pin_state_t;
int hsm_pin_state(hsm_run_t *h, uint8_t ref, hsm_pin_state_t *st);

/* Files: SELECT + READ BINARY loop; *data malloc'd. HSM_FILE_ABSENT when the
 * file does not exist (nothing printed), 0 read, FK_TOOL_EXIT_FAIL after
 * printing why. */
#define HSM_FILE_ABSENT 100
int hsm_file_read(hsm_run_t *h, uint16_t fid, uint8_t **data, size_t *len);
/* UPDATE BINARY from offset 0 in chunks (creates / truncates). */
int hsm_file_write(hsm_run_t *h, uint16_t fid, const uint8_t *data, size_t len);
/* DELETE FILE; HSM_FILE_ABSENT when it did not exist. */
int hsm_file_delete(hsm_run_t *h, uint16_t fid);
/* ENUMERATE OBJECTS: FIDs into *fids (malloc'd), count in *n. */
int hsm_enumerate(hsm_run_t *h, uint16_t **fids, size_t *n);

/* ---- Formats (hsm_format.c) ---------------------------------------------------- */

/* SmartCard-HSM algorithm ids (P2 of SIGN / DECIPHER / CIPHER / WRAP ...). */
#define HSM_ALG_RSA_RAW 0x20u
#define HSM_ALG_RSA_DECRYPT_RAW 0x21u
#define HSM_ALG_RSA_DECRYPT_PKCS1 0x22u
#define HSM_ALG_RSA_DECRYPT_OAEP 0x23u
#define HSM_ALG_RSA_PKCS1 0x30u
#define HSM_ALG_RSA_PKCS1_SHA1 0x31u
#define HSM_ALG_RSA_PSS 0x40u
#define HSM_ALG_RSA_PSS_SHA1 0x41u
#define HSM_ALG_ECDSA 0x70u
#define HSM_ALG_ECDSA_SHA1 0x71u
#define HSM_ALG_ECDH 0x80u
#define HSM_ALG_EC_DERIVE_XKEK 0x84u
#define HSM_ALG_WRAP 0x92u
#define HSM_ALG_UNWRAP 0x93u
#define HSM_ALG_EC_DERIVE 0x98u
#define HSM_ALG_AES_CBC_ENC 0x10u
#define HSM_ALG_AES_CBC_DEC 0x11u
#define HSM_ALG_AES_CMAC 0x18u
#define HSM_ALG_AES_DERIVE 0x99u
#define HSM_ALG_CIPHER_ENC 0x51u
#define HSM_ALG_CIPHER_DEC 0x52u

typedef enum hsm_key_family {
    HSM_KEY_RSA = 1,
    HSM_KEY_EC,   /* Weierstrass */
    HSM_KEY_MONT, /* X25519 / X448 */
    HSM_KEY_ED,   /* Ed25519 / Ed448 */
    HSM_KEY_AES,
} hsm_key_family_t;

/* A key type as the user names it ("rsa:2048", "ec:secp256r1", "ed25519",
 * "aes:256"). */
typedef struct hsm_key_type {
    hsm_key_family_t family;
    unsigned bits;     /* RSA modulus / AES key bits / EC field bits */
    const struct hsm_curve *curve; /* EC, MONT, ED */
} hsm_key_type_t;

/* A curve's name and its domain parameters as the key template carries them
 * (big-endian, field length; G uncompressed for Weierstrass curves). */
typedef struct hsm_curve {
    const char *name;
    const char *alias; /* may be NULL */
    hsm_key_family_t family;
    fk_curve_t id;     /* FK_CURVE_NONE: the host knows it, the crypto module does not */
    unsigned bits;
    const char *p, *a, *b, *g, *n, *h; /* hex */
} hsm_curve_t;

/* Parse a key type; false with the reason in err. */
bool hsm_key_type_parse(const char *s, hsm_key_type_t *t, char *err, size_t cap);
/* The curve named s (name or alias, case-insensitive), or NULL. */
const hsm_curve_t *hsm_curve_by_name(const char *s);
/* The curve whose prime (and a, when given) the bytes name, or NULL. */
const hsm_curve_t *hsm_curve_by_domain(const uint8_t *p, size_t p_len, const uint8_t *a,
                                       size_t a_len);
/* Every curve, for listings (NULL-terminated). */
const hsm_curve_t *const *hsm_curves(void);

/* The GENERATE ASYMMETRIC KEY PAIR template (5F29, 42, 7F49, 5F20) plus the
 * metadata (90 counter when has_counter, 91 list, 92 domain when
 * has_domain) into out; 0 or -1 when it does not fit. The OID is
 * id-TA-RSA-v1-5-SHA-256 or id-TA-ECDSA-SHA-256 as OpenSC and pico's tools
 * send it, for every curve; ecdh_oid puts id-RI-ECDH-SHA-256 into the
 * template of a Montgomery key instead (cards that key on it). */
typedef struct hsm_key_meta {
    bool has_counter;
    uint32_t counter;
    uint8_t algorithms[16];
    size_t n_algorithms;
    bool has_domain;
    uint8_t domain;
} hsm_key_meta_t;
int hsm_key_template(const hsm_key_type_t *t, uint32_t rsa_e, const char *chr,
                     const hsm_key_meta_t *meta, bool ecdh_oid, uint8_t *out, size_t cap, size_t *len);
/* The metadata TLVs alone (for GENERATE SYMMETRIC KEY). */
int hsm_key_meta_tlvs(const hsm_key_meta_t *meta, uint8_t *out, size_t cap, size_t *len);

/* An algorithm list "ecdsa-sha256,ecdh,0x92" into ids; false with err. */
bool hsm_alg_list_parse(const char *s, uint8_t *ids, size_t cap, size_t *n, char *err, size_t ecap);
/* The name of an algorithm id ("ecdsa-sha256"), or NULL. */
const char *hsm_alg_name(uint8_t id);
/* The id of a name (also "0xNN"), -1 when unknown. */
int hsm_alg_id(const char *name);

/* A wrap file of sc-hsm-tool: 30 { 04 blob, [PrKD (A0/A8/30 ...)], [CE content
 * (67 / 7F21 / 30)] }. Spans point into the file. */
typedef struct hsm_wrap_file {
    const uint8_t *blob;
    size_t blob_len;
    const uint8_t *prkd; /* the whole TLV, len 0 when absent */
    size_t prkd_len;
    const uint8_t *cert; /* the whole TLV, len 0 when absent */
    size_t cert_len;
} hsm_wrap_file_t;
/* 0, or -1 with the reason in err. */
int hsm_wrap_file_parse(const uint8_t *buf, size_t len, hsm_wrap_file_t *w, char *err, size_t cap);
/* Build one: malloc'd in *out. */
int hsm_wrap_file_build(const uint8_t *blob, size_t blob_len, const uint8_t *prkd,
                        size_t prkd_len, const uint8_t *cert, size_t cert_len, uint8_t **out,
                        size_t *out_len);
/* The first TLV of buf: its whole length, 0 when malformed. */
size_t hsm_tlv_size(const uint8_t *buf, size_t len);

/* What a PKCS#15 key description C4<id> says: family, size, label, id. */
typedef struct hsm_prkd {
    hsm_key_family_t family; /* 0 when unknown */
    unsigned bits;
    char label[65];
    uint8_t id[32];
    size_t id_len;
} hsm_prkd_t;
int hsm_prkd_parse(const uint8_t *buf, size_t len, hsm_prkd_t *d);
/* A description with a label (RSA / EC / AES / other asymmetric kinds as EC),
 * as OpenSC lays it out. */
int hsm_prkd_build(hsm_key_family_t family, unsigned bits, const char *label, uint8_t key_id,
                   uint8_t *out, size_t cap, size_t *len);

/* The public key of a CE file: an authenticated request 67, a CV
 * certificate 7F21 or an X.509 certificate 30. */
int hsm_ce_public(const uint8_t *buf, size_t len, fk_host_pub_t *pub, char *err, size_t cap);

/* ---- Commands -------------------------------------------------------------------- */
int hsm_cmd_status(hsm_run_t *h);          /* hsm_admin.c */
int hsm_cmd_initialize(hsm_run_t *h);
int hsm_cmd_pin_status(hsm_run_t *h);
int hsm_cmd_pin_change(hsm_run_t *h);
int hsm_cmd_pin_unblock(hsm_run_t *h);
int hsm_cmd_rtc_get(hsm_run_t *h);
int hsm_cmd_rtc_set(hsm_run_t *h);
int hsm_cmd_cert_show(hsm_run_t *h);
int hsm_cmd_cert_enroll(hsm_run_t *h);
int hsm_cmd_cert_install(hsm_run_t *h);
int hsm_cmd_dkek_create(hsm_run_t *h);     /* hsm_dkek.c */
int hsm_cmd_dkek_import(hsm_run_t *h);
int hsm_cmd_dkek_status(hsm_run_t *h);
int hsm_cmd_dkek_check(hsm_run_t *h);
int hsm_cmd_domain_create(hsm_run_t *h);
int hsm_cmd_domain_list(hsm_run_t *h);
int hsm_cmd_domain_clear(hsm_run_t *h);
int hsm_cmd_domain_delete(hsm_run_t *h);
int hsm_cmd_key_generate(hsm_run_t *h);    /* hsm_keys.c */
int hsm_cmd_key_list(hsm_run_t *h);
int hsm_cmd_key_delete(hsm_run_t *h);
int hsm_cmd_key_public(hsm_run_t *h);
int hsm_cmd_key_wrap(hsm_run_t *h);
int hsm_cmd_key_unwrap(hsm_run_t *h);
int hsm_cmd_key_import(hsm_run_t *h);
int hsm_cmd_sign(hsm_run_t *h);            /* hsm_ops.c */
int hsm_cmd_verify(hsm_run_t *h);
int hsm_cmd_decrypt(hsm_run_t *h);
int hsm_cmd_encrypt(hsm_run_t *h);
int hsm_cmd_derive(hsm_run_t *h);
int hsm_cmd_cipher(hsm_run_t *h);

/* Read and decrypt a DKEK share file (its password from --password,
 * FUSEKEY_DKEK_PASSWORD, n-of-m shares or a prompt; progress on stderr).
 * hsm_dkek.c. */
int hsm_share_file_open(hsm_run_t *h, const char *path, uint8_t share[FK_DKEK_SHARE_LEN]);

/* Shared by key and ops commands (hsm_keys.c): the public key of key id
 * (from CE<id>), 0 or FK_TOOL_EXIT_FAIL after printing why. */
int hsm_key_public_of(hsm_run_t *h, uint8_t id, fk_host_pub_t *pub);
/* The key's family and size from C4<id> (0 when unknown). */
int hsm_key_kind_of(hsm_run_t *h, uint8_t id, hsm_prkd_t *d);

/* The entry point from cli.c: `fusekey [global options] hsm ...`. */
int fk_hsm_main(fk_tool_t *t, int argc, char **argv);

#endif /* FUSEKEY_HSM_TOOL_H */
