#!/bin/sh
# The public headers stand alone: <faas.h> compiles as C99 -pedantic and as
# C++11 -pedantic, every warning an error (tests/header_c99.c, tests/header_cxx.cc).
# Usage: tests/headers.sh CC CXX   (each may carry flags, e.g. "gcc -m32")
set -eu

fail() {
	echo "headers: $*" >&2
	exit 1
}

[ $# -eq 2 ] || fail "usage: tests/headers.sh CC CXX"
cc=$1
cxx=$2
cd "$(dirname "$0")/.."

# The first word is the program; the rest are flags and split on purpose.
have() {
	# shellcheck disable=SC2086
	set -- $1
	[ $# -gt 0 ] && command -v "$1" >/dev/null 2>&1
}

have "$cc" || fail "C compiler '$cc' not found"
have "$cxx" ||
	fail "C++ compiler '$cxx' not found; install one (Debian: apt-get install g++) or pass CXX=..."
command -v pkg-config >/dev/null 2>&1 || fail "pkg-config not found"
jansson=$(pkg-config --cflags jansson) || fail "jansson not found by pkg-config (libjansson-dev)"

flags="-pedantic -Werror -Wall -Wextra -Iinclude $jansson -fsyntax-only"

# shellcheck disable=SC2086
$cc -std=c99 $flags tests/header_c99.c ||
	fail "include/faas.h does not compile as C99 -pedantic with $cc"
# shellcheck disable=SC2086
$cxx -std=c++11 $flags tests/header_cxx.cc ||
	fail "include/faas.h does not compile as C++11 -pedantic with $cxx"

echo "headers: faas.h compiles as C99 -pedantic and as C++11"
