/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido.h - the FIDO2 (CTAP 2.1) and U2F (CTAP1) authenticator applet
 * (docs/fido.md).
 *
 * One applet serves both ways in:
 * - a card (CCID, the virtual reader) selects it by the FIDO AID and sends
 *   NFCCTAP_MSG (CLA 80, INS 10: data = CTAP command byte || CBOR, answered
 *   with status byte || CBOR and 9000) and the U2F APDUs (CLA 00, INS 01
 *   REGISTER, 02 AUTHENTICATE, 03 VERSION);
 * - the CTAP endpoint (ctap/ctap_ep.h) hands it the CTAPHID CBOR messages
 *   as the same NFCCTAP_MSG APDU and the CTAPHID MSG payloads (U2F APDUs)
 *   as they are, with its own copy of the applet's volatile state.
 */
#ifndef FUSEKEY_FIDO_H
#define FUSEKEY_FIDO_H

#include "applet.h"

/* A0 00 00 06 47 2F 00 01 */
#define FK_FIDO_AID_LEN 8u
extern const uint8_t fk_fido_aid[FK_FIDO_AID_LEN];

/* NFCCTAP binding (CTAP 2.1 §11.3). */
#define FK_FIDO_CLA_NFCCTAP 0x80u
#define FK_FIDO_INS_NFCCTAP_MSG 0x10u
#define FK_FIDO_INS_NFCCTAP_GETRESPONSE 0x11u
/* Vendor: attestation provisioning (docs/fido-attestation.md), P1 selects. */
#define FK_FIDO_INS_ATTEST 0x50u

/* U2F raw messages (CLA 00). */
#define FK_FIDO_INS_U2F_REGISTER 0x01u
#define FK_FIDO_INS_U2F_AUTHENTICATE 0x02u
#define FK_FIDO_INS_U2F_VERSION 0x03u

/* The largest CTAP message either way (CTAPHID's limit): getInfo's
 * maxMsgSize. */
#define FK_FIDO_MAX_MSG 7609u

/* Bytes of volatile state an endpoint keeps for this applet (a multiple of
 * 8): the PIN/UV auth session, the key agreement key, getNextAssertion and
 * credential-management enumeration state. */
#define FK_FIDO_STATE_SIZE 1024u

extern const fk_applet_t fk_fido_applet;

#endif /* FUSEKEY_FIDO_H */
