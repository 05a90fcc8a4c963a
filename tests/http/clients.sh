#!/bin/sh
# Real clients against `faas serve`: the boto3 script (tests/http/boto_test.py)
# and the aws command line, over a private port, with signed requests.
# Usage: tests/http/clients.sh BUILD/faas-serve  (started as `BUILD/faas serve`, which hands over to it)
set -eu
serve=$1
build=$(dirname "$serve")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/faas-http.XXXXXX")
pid=""
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "http clients: FAILED: $*" >&2
	sed 's/^/    /' "$tmp/serve.err" >&2 || true
	exit 1
}

cp "$build/examples/demo/demo.so" "$tmp/"
cat > "$tmp/faas.json" <<'JSON'
{
  "runtime": {"maxConcurrency": 8},
  "functions": [
    {"name": "greet", "plugin": "demo.so", "handler": "greet_v1",
     "versions": [{"description": "first"}, {"handler": "greet_v2", "description": "canary"}],
     "aliases": [{"name": "live", "version": 1}]},
    {"name": "thumbnail", "plugin": "demo.so", "handler": "thumbnail", "reservedConcurrency": 0},
    {"name": "charge", "plugin": "demo.so", "handler": "charge"}
  ]
}
JSON
export AWS_ACCESS_KEY_ID=AKIDFAASTEST
export AWS_SECRET_ACCESS_KEY=faas-test-secret-key
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
for bad in 127.0.0.1:99999 127.0.0.1:abc 127.0.0.1:; do # a port that is not one: usage, exit 2
	st=0
	"$build/faas" serve "$tmp/faas.json" --listen "$bad" > /dev/null 2>&1 || st=$?
	[ "$st" -eq 2 ] || fail "faas serve --listen $bad exited $st, want 2"
done
"$build/faas" serve "$tmp/faas.json" --listen 127.0.0.1:0 > "$tmp/serve.out" 2> "$tmp/serve.err" &
pid=$!
i=0
while ! grep -q '^listening on' "$tmp/serve.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 200 ] || fail "faas serve did not start"
	kill -0 "$pid" 2>/dev/null || fail "faas serve exited"
	sleep 0.05
done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/serve.out")
url=http://127.0.0.1:$port

/usr/bin/python3 "$(dirname "$0")/boto_test.py" "$url" || fail "boto3"

aws() {
	/usr/bin/aws --endpoint-url "$url" --no-cli-pager --output json "$@"
}
aws lambda invoke --function-name greet --cli-binary-format raw-in-base64-out \
	--payload '{"name":"cli"}' "$tmp/out.json" > "$tmp/meta.json" || fail "aws lambda invoke"
grep -q '"StatusCode": 200' "$tmp/meta.json" || fail "invoke status: $(cat "$tmp/meta.json")"
grep -q '"ExecutedVersion": "\$LATEST"' "$tmp/meta.json" || fail "invoke version"
grep -q '"name": *"cli"' "$tmp/out.json" || grep -q '"name":"cli"' "$tmp/out.json" ||
	fail "invoke payload: $(cat "$tmp/out.json")"
aws lambda publish-version --function-name greet > "$tmp/pv.json" || fail "publish-version"
grep -q '"Version": "2"' "$tmp/pv.json" || fail "publish-version: $(cat "$tmp/pv.json")"
aws lambda create-alias --function-name greet --name canary --function-version 1 \
	> "$tmp/ca.json" || fail "create-alias"
aws lambda update-alias --function-name greet --name canary \
	--routing-config '{"AdditionalVersionWeights":{"2":0.1}}' > "$tmp/ua.json" || fail "update-alias"
grep -q '"2": 0.1' "$tmp/ua.json" || fail "update-alias routing: $(cat "$tmp/ua.json")"
aws lambda put-function-concurrency --function-name charge \
	--reserved-concurrent-executions 3 > "$tmp/pc.json" || fail "put-function-concurrency"
grep -q '"ReservedConcurrentExecutions": 3' "$tmp/pc.json" || fail "put-function-concurrency"
aws lambda list-functions > "$tmp/lf.json" || fail "list-functions"
for f in greet thumbnail charge; do
	grep -q "\"FunctionName\": \"$f\"" "$tmp/lf.json" || fail "list-functions lacks $f"
done
if aws lambda invoke --function-name thumbnail "$tmp/t.json" > /dev/null 2> "$tmp/t.err"; then
	fail "a throttled invoke succeeded"
fi
grep -q TooManyRequestsException "$tmp/t.err" || fail "throttle: $(cat "$tmp/t.err")"
echo "http clients: boto3 and the aws command line against faas serve on port $port: ok"
