#!/bin/sh
# Every example runs, and says what it is meant to say.
# Usage: tests/examples.sh BUILD_DIR
set -eu

build=$1
out=$(mktemp "${TMPDIR:-/tmp}/libfaas-examples.XXXXXX")
trap 'rm -f "$out"' EXIT

# run NAME PATTERN COMMAND...: exit 0 (or the status given by $ok) and PATTERN in the output
run() {
	name=$1
	pattern=$2
	shift 2
	set +e
	"$@" >"$out" 2>&1
	status=$?
	set -e
	if [ "$status" -ne "${ok:-0}" ]; then
		echo "examples: $name exited $status:" >&2
		tail -5 "$out" >&2
		exit 1
	fi
	grep -q -- "$pattern" "$out" || {
		echo "examples: $name did not print '$pattern':" >&2
		tail -5 "$out" >&2
		exit 1
	}
}

run registry "== alias live: version 1, 10% to version 2 ==" "$build/examples/registry"
run dispatch "a function error is an invocation" "$build/examples/dispatch"
run telemetry "platform.report" "$build/examples/telemetry"
run async "FAILURE  order 3: RetriesExhausted after 3 attempt(s)" "$build/examples/async"
run queue_trigger "orders queue empty after about [0-9]* ms; 3 message(s) in orders-dlq" \
	"$build/examples/queue_trigger"
run hello 'hello:live ran version 1 and answered {"message":"hello","to":"Ada"}' "$build/examples/hello"
run canary "after all to v2:" "$build/examples/canary"
run handler_test "100%: Checks: 3, Failures: 0, Errors: 0" "$build/examples/handler_test"
printf '{"name":"Ada"}' >"$out.event"
run plugin '{"greeting":"Ada"}' "$build/faas" invoke "$build/examples/plugin/faas.json" greeter --event "$out.event"
rm -f "$out.event"
ok=1 run demo "61 events, 5 failed" "$build/faas" run "$build/examples/demo/faas.json" \
	--events "$build/examples/demo/events.ndjson" --concurrency 4
echo "examples: every example ran and said what it should"
