#!/bin/sh
# `make install` / `make uninstall` into a temporary DESTDIR, and a client
# built from the installed copy with nothing but `pkg-config libfaas`:
#   1. every header, both libraries, the soname links and libfaas.pc are installed;
#   2. examples/registry.c compiles and links against the installed copy,
#      runs (exit 0) and is linked to the installed libfaas.so.MAJOR;
#   3. uninstall removes every file install put there.
# Usage: tests/install.sh CC MAKE   (CC may carry flags)
set -eu

fail() {
	echo "install: $*" >&2
	exit 1
}

# Show a log kept quiet on success.
show() {
	sed 's/^/    /' "$1" >&2
}

[ $# -eq 2 ] || fail "usage: tests/install.sh CC MAKE"
cc=$1
make=$2
cd "$(dirname "$0")/.."

command -v pkg-config >/dev/null 2>&1 || fail "pkg-config not found"
version_h=include/faas/version.h
field() {
	sed -n "s/^#define FAAS_VERSION_$1 \\([0-9][0-9]*\\).*/\\1/p" "$version_h"
}
major=$(field MAJOR)
minor=$(field MINOR)
patch=$(field PATCH)
if [ -z "$major" ] || [ -z "$minor" ] || [ -z "$patch" ]; then
	fail "could not read the version from $version_h"
fi
version=$major.$minor.$patch

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libfaas-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
dest=$tmp/dest
work=$tmp/work
mkdir "$dest" "$work"
prefix=/usr/local
root=$dest$prefix

# Installed paths, relative to $root.
files="include/faas.h"
for h in include/faas/*.h; do
	case "$h" in
	include/faas/redis.h | include/faas/http.h) ;;
	*) files="$files include/faas/${h##*/}" ;;
	esac
done
files="$files lib/libfaas.a lib/libfaas.so lib/libfaas.so.$major lib/libfaas.so.$version"
files="$files lib/pkgconfig/libfaas.pc"
# The HTTP add-on comes along where libmicrohttpd and libcrypto are.
if pkg-config --exists libmicrohttpd libcrypto 2>/dev/null; then
	files="$files include/faas/http.h lib/libfaas-http.a lib/libfaas-http.so"
	files="$files lib/libfaas-http.so.$major lib/libfaas-http.so.$version"
	files="$files lib/pkgconfig/libfaas-http.pc bin/faas-serve"
fi
# The Redis add-on comes along where hiredis is.
redis=""
if pkg-config --exists hiredis 2>/dev/null; then
	redis=yes
	files="$files include/faas/redis.h lib/libfaas-redis.a lib/libfaas-redis.so"
	files="$files lib/libfaas-redis.so.$major lib/libfaas-redis.so.$version"
	files="$files lib/pkgconfig/libfaas-redis.pc"
fi

# ---- install ------------------------------------------------------------------

# shellcheck disable=SC2086
if ! $make install DESTDIR="$dest" PREFIX="$prefix" >"$work/install.log" 2>&1; then
	show "$work/install.log"
	fail "$make install DESTDIR=$dest PREFIX=$prefix failed"
fi
for f in $files; do
	[ -e "$root/$f" ] || fail "make install did not install $prefix/$f"
done
if [ ! -h "$root/lib/libfaas.so.$major" ] || [ ! -h "$root/lib/libfaas.so" ]; then
	fail "libfaas.so and libfaas.so.$major must be symlinks to libfaas.so.$version"
fi
grep -qx "prefix=$prefix" "$root/lib/pkgconfig/libfaas.pc" ||
	fail "installed libfaas.pc does not say prefix=$prefix (stale build/libfaas.pc from another PREFIX? run make clean)"

# ---- a client built from the installed copy alone ------------------------------

# SYSROOT_DIR maps the .pc's /usr/local paths into DESTDIR; jansson's own
# .pc comes from the system search path.
export PKG_CONFIG_PATH="$root/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$dest"
pcflags=$(pkg-config --cflags --libs libfaas) || fail "pkg-config --cflags --libs libfaas failed"
if [ -n "$redis" ]; then
	rflags=$(pkg-config --cflags --libs libfaas-redis) ||
		fail "pkg-config --cflags --libs libfaas-redis failed"
fi
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
if [ -n "$redis" ]; then
	# shellcheck disable=SC2086
	if ! $cc -std=c11 -D_GNU_SOURCE -o "$work/redis_worker" examples/redis_worker.c $rflags \
		>"$work/cc-redis.log" 2>&1; then
		show "$work/cc-redis.log"
		fail "examples/redis_worker.c does not build with \`pkg-config --cflags --libs libfaas-redis\` ($rflags)"
	fi
fi

# shellcheck disable=SC2086
if ! $cc -std=c11 -o "$work/registry" examples/registry.c $pcflags >"$work/cc.log" 2>&1; then
	show "$work/cc.log"
	fail "examples/registry.c does not build with \`pkg-config --cflags --libs libfaas\` ($pcflags)"
fi

LD_LIBRARY_PATH="$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
if ! "$work/registry" >"$work/run.log" 2>&1; then
	show "$work/run.log"
	fail "examples/registry built against the installed copy failed"
fi
lib_line=$(ldd "$work/registry" | grep 'libfaas\.so' || true)
case "$lib_line" in
*"libfaas.so.$major => $root/lib/libfaas.so.$major "*) ;;
*) fail "examples/registry is not linked to $root/lib/libfaas.so.$major (ldd: ${lib_line:-no libfaas})" ;;
esac

# ---- uninstall ------------------------------------------------------------------

# shellcheck disable=SC2086
if ! $make uninstall DESTDIR="$dest" PREFIX="$prefix" >"$work/uninstall.log" 2>&1; then
	show "$work/uninstall.log"
	fail "$make uninstall DESTDIR=$dest PREFIX=$prefix failed"
fi
for f in $files include/faas; do
	if [ -e "$root/$f" ] || [ -h "$root/$f" ]; then
		fail "make uninstall left $prefix/$f behind"
	fi
done

[ -z "$redis" ] || echo "install: libfaas-redis installs too; examples/redis_worker builds from libfaas-redis.pc"
echo "install: libfaas $version installs into DESTDIR, a pkg-config-built client runs against libfaas.so.$major, uninstall removes it"
