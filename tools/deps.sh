#!/bin/sh
# Make sure the pkg-config modules named on the command line are installed.
# Missing ones are installed with apt-get when running as root (or through
# sudo without a password); otherwise this prints the exact command to run
# and fails. Usage: tools/deps.sh jansson check [glib-2.0 libuv ...]; a
# program (redis-server) is looked for on PATH instead.
set -eu

pkg_for() {
	case "$1" in
	jansson) echo libjansson-dev ;;
	check) echo check ;;
	glib-2.0) echo libglib2.0-dev ;;
	libuv) echo libuv1-dev ;;
	hiredis) echo libhiredis-dev ;;
	libmicrohttpd) echo libmicrohttpd-dev ;;
	redis-server) echo redis-server ;;
	libcrypto) echo libssl-dev ;;
	python3-boto3) echo python3-boto3 ;;
	aws) echo awscli ;;
	wrk) echo wrk ;;
	*) echo "tools/deps.sh: no Debian package known for '$1'" >&2; exit 2 ;;
	esac
}

missing=""
if ! command -v pkg-config >/dev/null 2>&1; then
	missing="pkg-config"
	for m in "$@"; do missing="$missing $(pkg_for "$m")"; done
else
	for m in "$@"; do
		case "$m" in
		redis-server | wrk) command -v "$m" >/dev/null 2>&1 || missing="$missing $(pkg_for "$m")" ;;
		aws) [ -x /usr/bin/aws ] || missing="$missing $(pkg_for "$m")" ;;
		python3-boto3) /usr/bin/python3 -c 'import boto3' >/dev/null 2>&1 ||
			missing="$missing $(pkg_for "$m")" ;;
		*) pkg-config --exists "$m" 2>/dev/null || missing="$missing $(pkg_for "$m")" ;;
		esac
	done
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo -n"
else
	echo "libfaas: missing build dependencies:$missing" >&2
	echo "Install them with:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "libfaas: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
