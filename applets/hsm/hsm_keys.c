/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_keys.c - key generation, signatures and decipherment (to come: the
 * table is empty, so these instructions answer 6D00).
 */
#include "hsm_internal.h"

const fk_command_t hsm_key_commands[1] = {{0, NULL}};
const size_t hsm_key_commands_len = 0;
