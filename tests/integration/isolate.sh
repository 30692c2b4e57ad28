#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# isolate.sh COMMAND [ARGS...]
#
# Runs COMMAND in private mount, network and PID namespaces with a private
# tmpfs on /run/pcscd, so that the pcscd the command starts neither sees nor
# disturbs a pcscd of the user, and its vpcd ports (35963/35964) are private.
#
# Cleanup guarantee: this script is PID 1 of the new PID namespace. When it
# exits, or when unshare is killed (--kill-child), the kernel kills every
# process left in the namespace, whatever the command did.
#
# Exit status: that of COMMAND; 1, with the reason printed, when namespaces
# cannot be created on this host (no root and no unprivileged user
# namespaces): an integration test never skips.
# Re-run under bash when started as `sh script` (the code below needs bash).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

if [[ "${FK_ISOLATED:-}" != "1" ]]; then
    userns=()
    if [[ "$(id -u)" -ne 0 ]]; then
        # Without root, an unprivileged user namespace grants the mounts.
        userns=(--user --map-root-user)
    fi
    ns=("${userns[@]}" --mount --net --pid --fork --kill-child --mount-proc --propagation private)
    if ! unshare "${ns[@]}" true 2>/dev/null; then
        echo "isolate.sh: cannot create mount/net/pid namespaces here (need root or" \
             "unprivileged user namespaces): the integration tests cannot run" >&2
        exit 1
    fi
    FK_ISOLATED=1 exec unshare "${ns[@]}" -- bash "$0" "$@"
fi

ip link set lo up
mkdir -p /run/pcscd
mount -t tmpfs -o mode=0755 fusekey-pcscd /run/pcscd

# Run the command as a child (PID 1 ignores signals it has no handler for)
# and pass SIGTERM/SIGINT on to it.
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true' TERM INT
rc=0
while true; do
    wait "$child" && rc=0 || rc=$?
    # wait returns >128 when interrupted by a trapped signal: wait again.
    if ! kill -0 "$child" 2>/dev/null; then
        break
    fi
done
exit "$rc"
