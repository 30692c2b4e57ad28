/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctap_client.h - the platform's side of CTAP2 for the C tests, the fuzz
 * seeds and the benchmarks: requests built with the project's CBOR writer,
 * responses read with its decoder, and PIN/UV auth protocols 1 and 2 done
 * as a client does them (ECDH P-256; protocol 2: HKDF-SHA-256, AES-256-CBC
 * with a random IV, the whole HMAC-SHA-256; protocol 1: SHA-256 of Z,
 * AES-256-CBC with a zero IV, 16 bytes of the HMAC) with the crypto module. The messages go through a transport callback:
 * a card (NFCCTAP_MSG APDUs, fk_cc_card_xfer) or anything else.
 */
#ifndef FUSEKEY_TEST_CTAP_CLIENT_H
#define FUSEKEY_TEST_CTAP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FK_CC_MSG_MAX 7609u
#define FK_CC_CRED_ID_MAX 128u

/* One CTAP message: req (command byte || CBOR) in, response (status ||
 * CBOR) out; returns the response length (0: the transport failed). */
typedef size_t (*fk_cc_xfer_fn)(void *arg, const uint8_t *req, size_t len, uint8_t *resp,
                                size_t cap);

typedef struct fk_cc {
    fk_cc_xfer_fn xfer;
    void *arg;
    uint8_t req[FK_CC_MSG_MAX];
    uint8_t resp[FK_CC_MSG_MAX];
    size_t resp_len;            /* the last response, status byte included */
    /* PIN/UV auth protocol: 2 (fk_cc_init's choice) or 1 */
    uint8_t proto;
    bool have_shared;
    uint8_t shared[64];         /* protocol 2: HMAC key || AES key; 1: SHA-256(Z) */
    uint8_t platform_pub[65];   /* 04 || x || y of the platform's key agreement key */
    bool have_token;
    uint8_t token[32];
} fk_cc_t;

void fk_cc_init(fk_cc_t *c, fk_cc_xfer_fn xfer, void *arg);

/* Send cmd with a CBOR body (may be NULL/0); the status byte, or 0xFF when
 * the transport failed. The response body is c->resp + 1, c->resp_len - 1. */
uint8_t fk_cc_call(fk_cc_t *c, uint8_t cmd, const uint8_t *cbor, size_t len);

/* clientPIN with protocol c->proto (each makes a new shared secret first). */
uint8_t fk_cc_set_pin(fk_cc_t *c, const char *pin);
uint8_t fk_cc_change_pin(fk_cc_t *c, const char *cur, const char *pin);
/* getPinUvAuthTokenUsingPinWithPermissions (rp_id may be NULL); the token
 * is kept for the calls below that take with_token. */
uint8_t fk_cc_get_token(fk_cc_t *c, const char *pin, uint8_t perms, const char *rp_id);
uint8_t fk_cc_pin_retries(fk_cc_t *c, unsigned *retries);

/* makeCredential with clientDataHash cdh, ES256 (-7) or EdDSA (-8); the
 * credential id into id (FK_CC_CRED_ID_MAX), *id_len; the signature counter
 * of the authData into *counter (may be NULL). */
uint8_t fk_cc_make_credential(fk_cc_t *c, const uint8_t cdh[32], const char *rp_id,
                              const uint8_t *user_id, size_t user_id_len, int alg, bool rk,
                              bool with_token, uint8_t *id, size_t *id_len, uint32_t *counter);

/* getAssertion with an allow list of one id (id_len 0: none, discoverable
 * credentials), up true or false; *counter (may be NULL) from the authData;
 * *count (may be NULL): numberOfCredentials (1 when absent). */
uint8_t fk_cc_get_assertion(fk_cc_t *c, const uint8_t cdh[32], const char *rp_id,
                            const uint8_t *id, size_t id_len, bool up, bool with_token,
                            uint32_t *counter, unsigned *count);

/* credentialManagement deleteCredential (needs a token with the cm
 * permission). */
uint8_t fk_cc_delete_credential(fk_cc_t *c, const uint8_t *id, size_t id_len);

/* authenticatorConfig setMinPINLength {1: len}, authenticated with the
 * token (acfg permission). */
uint8_t fk_cc_set_min_pin_length(fk_cc_t *c, uint8_t len);

/* credentialManagement getCredsMetadata: existing resident credentials. */
uint8_t fk_cc_creds_metadata(fk_cc_t *c, unsigned *existing, unsigned *remaining);

/* The transport over a card (tests/support/devrig.h's fk_testdev_t *, the
 * FIDO applet selected): NFCCTAP_MSG as an extended APDU. */
size_t fk_cc_card_xfer(void *testdev, const uint8_t *req, size_t len, uint8_t *resp, size_t cap);

#endif /* FUSEKEY_TEST_CTAP_CLIENT_H */
