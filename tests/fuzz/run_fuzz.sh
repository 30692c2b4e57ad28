#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run one libFuzzer target for SECONDS seconds from its seed corpus, keeping
# new inputs in a scratch directory (the seeds in the tree are not touched).
# Usage: run_fuzz.sh BINARY SEED_DIR SECONDS [ARTIFACT_DIR]
set -eu
bin=$1
seeds=$2
secs=$3
artifacts=${4:-$(pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work" "$seeds"
