#!/bin/sh
# Run the libFuzzer binaries built by `make fuzz`.
#   tests/fuzz/run.sh run   BUILD_DIR SECONDS TARGET...
#       each target for SECONDS on a fresh copy of tests/fuzz/corpus/TARGET
#       (BUILD_DIR/corpus/TARGET); crashes go to BUILD_DIR/artifacts/TARGET/,
#       the full log to BUILD_DIR/fuzz-TARGET.log. Fails if any target failed.
#   tests/fuzz/run.sh merge BUILD_DIR TARGET...
#       add to tests/fuzz/corpus/TARGET the inputs of BUILD_DIR/corpus/TARGET
#       that reach new edges (libFuzzer -merge=1 -use_counters=0).
set -u

fail() {
	echo "fuzz: $*" >&2
	exit 1
}

[ $# -ge 2 ] || fail "usage: tests/fuzz/run.sh run|merge BUILD_DIR [SECONDS] TARGET..."
mode=$1
build=$2
shift 2
cd "$(dirname "$0")/../.." || exit 1

count() {
	find "$1" -type f | wc -l | tr -d ' '
}

case $mode in
run)
	[ $# -ge 1 ] || fail "run: SECONDS missing"
	seconds=$1
	shift
	status=0
	for t in "$@"; do
		bin=$build/fuzz/fuzz_$t
		corpus=$build/corpus/$t
		artifacts=$build/artifacts/$t
		log=$build/fuzz-$t.log
		[ -x "$bin" ] || fail "$bin not built"
		rm -rf "$corpus" "$artifacts"
		mkdir -p "$corpus" "$artifacts"
		cp tests/fuzz/corpus/"$t"/* "$corpus"/
		before=$(count "$corpus")
		echo "fuzz $t: ${seconds}s from $before seed inputs"
		UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
			"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
		rc=$?
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
		if [ $rc -eq 0 ]; then
			echo "fuzz $t: ok, ${runs:-?} runs, $cov, corpus $before -> $(count "$corpus") inputs"
		else
			status=1
			echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} runs; log $log" >&2
			grep -E 'ERROR|invariant|SUMMARY|^ *#[0-9]+ ' "$log" | head -n 30 >&2
			find "$artifacts" -type f | sed "s|^|  artifact: |" >&2
		fi
	done
	exit $status
	;;
merge)
	for t in "$@"; do
		bin=$build/fuzz/fuzz_$t
		[ -x "$bin" ] || fail "$bin not built"
		[ -d "$build/corpus/$t" ] || fail "$build/corpus/$t missing: run make fuzz first"
		before=$(count tests/fuzz/corpus/"$t")
		# edges only (no hit counters): keeps the corpus small
		"$bin" -merge=1 -use_counters=0 tests/fuzz/corpus/"$t" "$build/corpus/$t" \
			>"$build/merge-$t.log" 2>&1 ||
			fail "merge of $t failed; see $build/merge-$t.log"
		echo "fuzz merge $t: $before -> $(count tests/fuzz/corpus/"$t") inputs"
	done
	;;
*)
	fail "unknown mode $mode"
	;;
esac
