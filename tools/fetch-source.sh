#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/fetch-source.sh [-d DIR] NAME...
#
# Fetches the Debian source packages NAME... with apt and unpacks each into
# DIR/NAME (default DIR: build/debian-src of the source tree, or
# $FK_DEBIAN_SRC). The target's crypto and test libraries are built from
# these trees (docs/crypto.md, "Target build").
#
# The system's apt configuration is left alone: deb-src entries are derived
# from the machine's own enabled deb entries (sources.list one-line entries
# and deb822 *.sources stanzas) into a private apt directory, DIR/apt, which
# also holds the package lists and the download cache. Downloads are checked
# by apt against the signed archive indexes, and dpkg-source -x checks the
# files against the .dsc.
#
# When the archive lacks a package's Debian part (its .debian.tar.* answers
# 404) while the .dsc and the upstream tarball arrived, the upstream tarball
# is checked against the .dsc's SHA-256 and unpacked alone: the tree is then
# the upstream source without Debian's patches.
#
# Prints nothing when every NAME is already unpacked.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

usage() {
    echo "usage: $0 [-d DIR] NAME..." >&2
    exit 2
}

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${FK_DEBIAN_SRC:-$root/build/debian-src}
while getopts d:h opt; do
    case "$opt" in
        d) dir=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
(($# > 0)) || usage

missing=()
for name in "$@"; do
    [[ "$name" =~ ^[a-z0-9][a-z0-9.+-]+$ ]] || { echo "$0: bad package name: $name" >&2; exit 2; }
    [[ -f "$dir/$name/.fk-unpacked" ]] || missing+=("$name")
done
((${#missing[@]} == 0)) && exit 0

for tool in apt-get dpkg-source sha256sum awk; do
    command -v "$tool" >/dev/null || {
        echo "$0: $tool not found (tools/deps.sh --firmware installs it)" >&2
        exit 1
    }
done

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
apt_dir=$dir/apt
mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" \
    "$dir/download"

# deb-src twins of the enabled one-line deb entries ("deb [opts] uri suite
# comp..."); comments and other types are dropped.
one_line_sources() {
    awk '$1 == "deb" { $1 = "deb-src"; print }' "$@"
}

# deb-src twins of the enabled deb822 stanzas whose Types include deb
# (stanzas with "Enabled: no" are skipped; other fields are kept as they are,
# continuation lines included).
deb822_sources() {
    awk 'BEGIN { RS = ""; ORS = "\n\n"; IGNORECASE = 1 }
        {
            n = split($0, line, "\n"); out = ""; keep = 0; enabled = 1
            for (i = 1; i <= n; i++) {
                l = line[i]
                if (l ~ /^#/) continue
                if (tolower(l) ~ /^enabled:[ \t]*no[ \t]*$/) enabled = 0
                if (tolower(l) ~ /^types:/) {
                    m = split(substr(l, 7), t, /[ \t]+/)
                    for (j = 1; j <= m; j++) if (t[j] == "deb") keep = 1
                    l = "Types: deb-src"
                }
                out = out l "\n"
            }
            if (keep && enabled) print out
        }' "$@"
}

: >"$apt_dir/sources.list"
[[ -f /etc/apt/sources.list ]] && one_line_sources /etc/apt/sources.list >>"$apt_dir/sources.list"
rm -f "$apt_dir/parts/"*
shopt -s nullglob
for f in /etc/apt/sources.list.d/*.list; do
    one_line_sources "$f" >>"$apt_dir/sources.list"
done
for f in /etc/apt/sources.list.d/*.sources; do
    deb822_sources "$f" >"$apt_dir/parts/$(basename "$f")"
done
shopt -u nullglob

apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/parts"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
)

log=$apt_dir/last.log
echo "fetching Debian source packages: ${missing[*]} (into $dir)"
if ! apt-get "${apt_opts[@]}" -q update >"$log" 2>&1; then
    # An unreachable third-party entry fails the update but leaves the
    # Debian lists usable; apt-get source below says when a package is absent.
    echo "$0: apt-get update reported errors (see $log); continuing" >&2
fi

# Unpack the upstream tarball of NAME's .dsc in the download directory into
# DIR/NAME after checking it against the .dsc's SHA-256.
unpack_orig_only() {
    local name=$1 dsc orig want got
    dsc=$(ls "$dir/download/${name}"_*.dsc 2>/dev/null | sort -V | tail -n1)
    [[ -n "$dsc" ]] || return 1
    orig=$(awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 }
                on && $3 ~ /\.orig\.tar\./ { print $3; exit }' "$dsc")
    want=$(awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 }
                on && $3 ~ /\.orig\.tar\./ { print $1; exit }' "$dsc")
    [[ -n "$orig" && -f "$dir/download/$orig" ]] || return 1
    got=$(sha256sum "$dir/download/$orig" | awk '{ print $1 }')
    if [[ "$got" != "$want" ]]; then
        echo "$0: $orig does not match the SHA-256 in $(basename "$dsc")" >&2
        return 1
    fi
    echo "$0: the Debian part of $(basename "$dsc") is missing from the archive;" \
        "unpacking the upstream tarball $orig (checked against the .dsc) without Debian's patches" >&2
    mkdir -p "$dir/$name.tmp"
    tar -xf "$dir/download/$orig" -C "$dir/$name.tmp" --strip-components=1
    mv "$dir/$name.tmp" "$dir/$name"
    echo "upstream-only $orig" >"$dir/$name/.fk-unpacked"
}

for name in "${missing[@]}"; do
    rm -rf "$dir/$name" "$dir/$name.tmp"
    if (cd "$dir/download" && apt-get "${apt_opts[@]}" -q source --download-only "$name") \
        >>"$log" 2>&1; then
        dsc=$(ls "$dir/download/${name}"_*.dsc | sort -V | tail -n1)
        if ! dpkg-source -x "$dsc" "$dir/$name.tmp" >>"$log" 2>&1; then
            echo "$0: dpkg-source -x $(basename "$dsc") failed (see $log)" >&2
            exit 1
        fi
        mv "$dir/$name.tmp" "$dir/$name"
        # dpkg-source leaves a copy of the upstream tarball beside the tree.
        find "$dir" -maxdepth 1 \( -type l -o -type f \) -name "${name}_*" -delete
        echo "debian $(basename "$dsc")" >"$dir/$name/.fk-unpacked"
    elif ! unpack_orig_only "$name"; then
        echo "$0: could not fetch the Debian source package $name (see $log)" >&2
        exit 1
    fi
done
