#!/bin/sh
# The faas command: every subcommand's exit status and output, against a
# manifest over the symbols test plug-in.
# Usage: tests/cli.sh BUILD_DIR
set -eu

build=$(cd "$1" && pwd)
faas=$build/faas
tmp=$(mktemp -d "${TMPDIR:-/tmp}/libfaas-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

fail() {
	echo "cli: $*" >&2
	exit 1
}

# expect STATUS COMMAND...: runs it, output in $tmp/out and $tmp/err
expect() {
	want=$1
	shift
	set +e
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	set -e
	[ "$got" -eq "$want" ] || fail "$* exited $got, want $want: $(cat "$tmp/err")"
}

contains() {
	grep -q -- "$2" "$tmp/$1" || fail "expected '$2' in $1: $(cat "$tmp/$1")"
}

cat >"$tmp/faas.json" <<JSON
{"queues": [{"name": "in"}],
 "functions": [
   {"name": "upper", "plugin": "$build/tests/plugins/symbols.so", "handler": "sym_upper",
    "publish": true, "aliases": [{"name": "live", "version": 1}]},
   {"name": "failing", "plugin": "$build/tests/plugins/symbols.so", "handler": "sym_fail"}],
 "mappings": [{"function": "upper:live", "queue": "in"}]}
JSON
printf '{"text":"hello"}' >"$tmp/event.json"

expect 0 "$faas" --version
contains out "faas 0."
expect 0 "$faas" help
contains out "faas invoke MANIFEST"
expect 2 "$faas"
expect 2 "$faas" frobnicate
contains err "unknown command frobnicate"

expect 0 "$faas" validate "$tmp/faas.json"
contains out "ok: 2 functions, 1 queues, 0 streams, 1 mappings"
printf '{"functions": [{"name": "x", "plugin": "nope.so", "handler": "h"}]}' >"$tmp/bad.json"
expect 2 "$faas" validate "$tmp/bad.json"
contains err "functions\[0\].plugin: plug-in"
printf '{"functions": [' >"$tmp/broken.json"
expect 2 "$faas" validate "$tmp/broken.json"
contains err "line 1"
expect 2 "$faas" validate "$tmp/none.json"
contains err "no such file"

expect 0 "$faas" invoke "$tmp/faas.json" upper:live --event "$tmp/event.json" --log-type Tail
contains out '{"up":"HELLO"}'
contains err '"StatusCode":200'
contains err '"ExecutedVersion":"1"'
contains err '"LogResult":'
printf '{"text":"std"}' | { expect 0 "$faas" invoke "$tmp/faas.json" upper --event -; }
contains out '"STD"'
expect 1 "$faas" invoke "$tmp/faas.json" failing
contains err '"FunctionError":"Unhandled"'
expect 2 "$faas" invoke "$tmp/faas.json" nope
contains err '"Type":"ResourceNotFoundException"'
expect 0 "$faas" invoke "$tmp/faas.json" upper --type DryRun
contains err '"StatusCode":204'
expect 0 "$faas" invoke "$tmp/faas.json" upper --type Event
contains err '"StatusCode":202'
expect 2 "$faas" invoke "$tmp/faas.json" upper --type Sometimes
expect 2 "$faas" invoke "$tmp/faas.json" upper --event "$tmp/none.json"
printf '{bad' >"$tmp/badevent.json"
expect 2 "$faas" invoke "$tmp/faas.json" upper --event "$tmp/badevent.json"
contains err "InvalidRequestContentException"
expect 2 "$faas" invoke "$tmp/faas.json" upper --event "$tmp" # a directory: not an empty event
contains err "cannot read"
printf '[1]' >"$tmp/cc.json"
expect 2 "$faas" invoke "$tmp/faas.json" upper --client-context "$tmp/cc.json"
contains err "must be a JSON object"

cat >"$tmp/events.ndjson" <<'NDJSON'
{"function": "upper:live", "event": {"text": "a"}}
{"function": "upper", "event": {"text": "b"}, "type": "Event"}
# comments and blank lines are skipped

{"queue": "in", "body": "{\"text\":\"c\"}"}
{"function": "failing", "event": {}}
NDJSON
expect 1 "$faas" run "$tmp/faas.json" --events "$tmp/events.ndjson" --concurrency 2
contains out "4 events, 1 failed"
contains out "upper"
contains out "p99 ms"
sed -i '$d' "$tmp/events.ndjson"
expect 0 "$faas" run "$tmp/faas.json" --events "$tmp/events.ndjson" --metrics json
contains out '"Functions"'
expect 0 "$faas" run "$tmp/faas.json" --events "$tmp/events.ndjson" --metrics prometheus
contains out "# TYPE"
expect 2 "$faas" run "$tmp/faas.json" --concurrency 0

expect 0 "$faas" generate-event sqs
contains out '"eventSource": "aws:sqs"'
expect 0 "$faas" generate-event eventbridge
contains out '"detail-type"'
expect 2 "$faas" generate-event ftp
contains err "no sample for ftp"
echo "cli: all subcommands as documented"
