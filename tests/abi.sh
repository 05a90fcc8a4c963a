#!/bin/sh
# ABI check of a built libfaas.so:
#   - its exported symbols equal tests/data/symbols.txt,
#   - nothing outside the public faas_* names (and no internal faas__*) is exported,
#   - its SONAME is libfaas.so.MAJOR, MAJOR read from include/faas/version.h.
# Usage: tests/abi.sh BUILD_DIR
# When the ABI change is intended, regenerate the list from a fresh build:
#   nm -D --defined-only build/libfaas.so | awk '$2 != "A" { print $3 }' |
#     sed 's/@.*//' | LC_ALL=C sort -u >tests/data/symbols.txt
set -eu

fail() {
	echo "abi: $*" >&2
	exit 1
}

[ $# -eq 1 ] || fail "usage: tests/abi.sh BUILD_DIR"
[ -d "$1" ] || fail "build directory '$1' not found (run make first)"
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."

so=$build/libfaas.so
list=tests/data/symbols.txt
version_h=include/faas/version.h

[ -e "$so" ] || fail "$so not found (run make first)"
[ -f "$list" ] || fail "$list not found"
command -v nm >/dev/null 2>&1 || fail "nm not found (install binutils)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libfaas-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# ---- exported symbols ---------------------------------------------------------

nm -D --defined-only "$so" >"$tmp/nm.out" || fail "nm -D failed on $so"
# Third column, version suffix (@@FAAS_0, @FAAS_0) stripped; the version
# nodes themselves (FAAS_0, absolute symbols) are not functions and go.
awk 'NF >= 3 && !($2 == "A" && $3 ~ /^FAAS_[0-9]/) { print $3 }' "$tmp/nm.out" |
	sed 's/@.*//' | LC_ALL=C sort -u >"$tmp/actual"
[ -s "$tmp/actual" ] || fail "$so exports no symbols at all"

# tr joins the names on one line (and makes the pipeline succeed when grep finds none).
foreign=$(grep -v '^faas_' "$tmp/actual" | tr '\n' ' ')
[ -z "$foreign" ] || fail "symbols outside faas_* are exported (see lib/libfaas.map): $foreign"
internal=$(grep '^faas__' "$tmp/actual" | tr '\n' ' ')
[ -z "$internal" ] || fail "internal faas__* symbols are exported (not hidden?): $internal"

if ! diff -u "$list" "$tmp/actual" >"$tmp/diff"; then
	sed "s|$tmp/actual|$so (exported)|" "$tmp/diff"
	echo "abi: exported symbols of $so differ from $list" >&2
	echo "abi: update $list if the ABI change is intended" >&2
	exit 1
fi

# ---- SONAME ------------------------------------------------------------------

major=$(sed -n 's/^#define FAAS_VERSION_MAJOR \([0-9][0-9]*\).*/\1/p' "$version_h")
[ -n "$major" ] || fail "could not read FAAS_VERSION_MAJOR from $version_h"

if command -v readelf >/dev/null 2>&1; then
	soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
elif command -v objdump >/dev/null 2>&1; then
	soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
else
	fail "neither readelf nor objdump found (install binutils)"
fi
[ "$soname" = "libfaas.so.$major" ] ||
	fail "SONAME of $so is '${soname:-<none>}', expected 'libfaas.so.$major'"

echo "abi: $(wc -l <"$tmp/actual" | tr -d ' ') exported symbols match $list"
