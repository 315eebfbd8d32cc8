#!/usr/bin/env bash
# Obtain the pinned MicroPython source through the OS package client, so a fresh
# machine needs nothing beyond the Debian mirror it is already configured with.
# Usage: fetch.sh [DEST]     (MICROPY_DIR=<tree> skips fetching and uses that tree)
set -euo pipefail

VERSION=1.25.0
DEB_VERSION=1.25.0+ds-1
SUITE=trixie   # bookworm ships 1.19; trixie carries the pinned 1.25.0 source
SHA256=7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/build/micropython-$VERSION}

if [ -n "${MICROPY_DIR:-}" ]; then
    [ -f "$MICROPY_DIR/py/mpconfig.h" ] || { echo "MICROPY_DIR=$MICROPY_DIR is not a MicroPython tree" >&2; exit 1; }
    echo "using MICROPY_DIR=$MICROPY_DIR"
    exit 0
fi

stamp=$dest/.fetched-$DEB_VERSION
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$SHA256" ]; then
    exit 0
fi

# The mirror is whatever this machine's apt already uses for the main Debian
# archive: first URIs: of a deb822 stanza, else a one-line entry.
mirror_uri() {
    eval "$(apt-config shell SL Dir::Etc::sourcelist/f SP Dir::Etc::sourceparts/d)"
    local f
    for f in "$SP"*.sources; do
        [ -f "$f" ] || continue
        awk 'tolower($1) == "uris:" && $2 ~ /\/debian\/?$/ { print $2; exit }' "$f"
    done | head -n1 | grep . && return
    cat "$SL" "$SP"*.list 2>/dev/null \
        | sed -E 's/\[[^]]*\]//' \
        | awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' | grep . && return
    echo "no Debian archive found in the apt sources" >&2
    return 1
}

tmp=$(mktemp -d)
chmod 755 "$tmp"   # let apt drop privileges to _apt for the download
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/parts" "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/src"
cat > "$tmp/parts/trixie-src.sources" <<SRC
Types: deb-src
URIs: $(mirror_uri)
Suites: $SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC

# Private apt state: the machine's own sources, lists and cache stay untouched.
apt_opts=(
    -o Dir::Etc::SourceList=/dev/null
    -o Dir::Etc::SourceParts="$tmp/parts"
    -o Dir::State::Lists="$tmp/lists"
    -o Dir::Cache="$tmp/cache"
)
apt-get "${apt_opts[@]}" -qq update
(cd "$tmp/src" && apt-get "${apt_opts[@]}" -q source --download-only "micropython=$DEB_VERSION")

orig=$tmp/src/micropython_$VERSION+ds.orig.tar.xz
echo "$SHA256  $orig" | sha256sum -c --quiet - || {
    echo "sha256 mismatch for $(basename "$orig"); refusing to use it" >&2
    exit 1
}

rm -rf "$dest" "$dest.tmp"
mkdir -p "$dest.tmp"
tar -xf "$orig" -C "$dest.tmp" --strip-components=1
echo "$SHA256" > "$dest.tmp/.fetched-$DEB_VERSION"
mv "$dest.tmp" "$dest"
echo "MicroPython $VERSION unpacked in $dest"
