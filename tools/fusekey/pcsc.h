/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pcsc.h - the tool's transport to a running device: libpcsclite (pcscd),
 * one card connection at a time, 61xx / 6Cxx handled here.
 */
#ifndef FUSEKEY_TOOL_PCSC_H
#define FUSEKEY_TOOL_PCSC_H

#include "tool.h"

extern const fk_tool_card_ops_t fk_pcsc_ops;

/* The transport's (single) connection state, the arg of fk_pcsc_ops. */
void *fk_pcsc_context(void);

#endif /* FUSEKEY_TOOL_PCSC_H */
