/* SPDX-License-Identifier: Apache-2.0 */
/*
 * confirm.c - the typed confirmation every irreversible command needs: the
 * command's token typed on the input (compared after trimming blanks) or
 * given with --yes-i-understand (compared whole: exactly the token, nothing
 * around it). Anything else aborts before a write.
 */
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "tool_internal.h"

#define ANSWER_CAP 128u

/* s without leading and trailing white space, in place. */
static char *trim(char *s)
{
    while (*s != '\0' && isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1u])) s[--n] = '\0';
    return s;
}

bool fk_confirm(fk_run_t *r, const char *token, const char *what)
{
    if (r->yes != NULL) {
        if (strcmp(r->yes, token) == 0) {
            fk_say(r, "confirmed with --yes-i-understand %s", token);
            return true;
        }
        fk_complain(r, "--yes-i-understand '%s' is not the token of '%s' (%s): aborted, "
                    "nothing written", r->yes, r->cmd, token);
        return false;
    }

    FILE *err = r->t->err;
    (void)fflush(r->t->out);
    (void)fprintf(err, "\nIRREVERSIBLE: %s\nType %s to continue (anything else aborts): ", what,
                  token);
    (void)fflush(err);

    char line[ANSWER_CAP];
    const bool got = fgets(line, sizeof line, r->t->in) != NULL;
    const int fd = fileno(r->t->in);
    if (!got || fd < 0 || !isatty(fd)) (void)fputc('\n', err); /* the answer was not echoed */
    if (!got) {
        fk_complain(r, "no confirmation given: aborted, nothing written");
        return false;
    }
    if (strchr(line, '\n') == NULL && !feof(r->t->in)) {
        /* An over-long line is a wrong answer; swallow its rest. */
        int ch;
        do {
            ch = fgetc(r->t->in);
        } while (ch != EOF && ch != '\n');
        fk_complain(r, "confirmation does not match %s: aborted, nothing written", token);
        return false;
    }
    if (strcmp(trim(line), token) != 0) {
        fk_complain(r, "confirmation does not match %s: aborted, nothing written", token);
        return false;
    }
    return true;
}
