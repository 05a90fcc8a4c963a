#!/usr/bin/python3
"""boto3 against `faas serve` (tests/http/clients.sh starts it): every endpoint
libfaas-http serves, the data plane's headers and Lambda's errors as botocore
parses them. Usage: boto_test.py ENDPOINT (credentials from the environment)."""
import base64
import json
import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
once = Config(retries={"total_max_attempts": 1, "mode": "standard"})
lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", config=once)
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def error_of(call, **kw):
    try:
        call(**kw)
    except ClientError as e:
        return e.response
    return None


def payload(r):
    return json.loads(r["Payload"].read() or b"null")


# ---- data plane ----
r = lam.invoke(FunctionName="greet", Payload=json.dumps({"name": "boto"}))
check(r["StatusCode"] == 200, "sync status")
check(r["ExecutedVersion"] == "$LATEST", "executed version $LATEST")
check(payload(r) == {"greeting": "Hello there", "name": "boto"}, "sync payload ($LATEST is v2)")
check("FunctionError" not in r, "no function error")

r = lam.invoke(FunctionName="greet", Qualifier="1", Payload=b"{}")
check(r["ExecutedVersion"] == "1", "Qualifier=1 runs version 1")
r = lam.invoke(FunctionName="greet:1", Payload=b"{}")
check(r["ExecutedVersion"] == "1", "greet:1")
r = lam.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:greet:1", Payload=b"{}")
check(r["ExecutedVersion"] == "1", "a full ARN")

r = lam.invoke(FunctionName="greet", Qualifier="1", LogType="Tail",
               Payload=json.dumps({"name": "tail"}))
log = base64.b64decode(r["LogResult"]).decode()
check("START RequestId:" in log and "v1 greets tail" in log and "REPORT RequestId:" in log,
      "log tail decodes to the invocation's log: %r" % log[:200])

ctx = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
r = lam.invoke(FunctionName="greet", ClientContext=ctx, Payload=b"{}")
check(r["StatusCode"] == 200, "client context accepted")
e = error_of(lam.invoke, FunctionName="greet", ClientContext="bm90IGpzb24=", Payload=b"{}")
check(e and e["Error"]["Code"] == "InvalidRequestContentException", "client context not JSON")

r = lam.invoke(FunctionName="greet", InvocationType="Event", Payload=b"{}")
check(r["StatusCode"] == 202, "Event -> 202")
r = lam.invoke(FunctionName="greet", InvocationType="DryRun")
check(r["StatusCode"] == 204, "DryRun -> 204")

r = lam.invoke(FunctionName="charge", Payload=json.dumps({"amount": -5}))
check(r["StatusCode"] == 200 and r.get("FunctionError") == "Unhandled", "function error header")
p = payload(r)
check(p.get("errorType") == "PaymentDeclined" and "errorMessage" in p, "error payload %r" % p)

e = error_of(lam.invoke, FunctionName="thumbnail", Payload=b"{}")
check(e and e["Error"]["Code"] == "TooManyRequestsException", "throttle code")
check(e and e.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded",
      "throttle Reason: %r" % (e and e.get("Reason")))
check(e and e["ResponseMetadata"]["HTTPStatusCode"] == 429, "throttle status")
check(e and "retry-after" in e["ResponseMetadata"]["HTTPHeaders"], "Retry-After")

e = error_of(lam.invoke, FunctionName="nope", Payload=b"{}")
check(e and e["Error"]["Code"] == "ResourceNotFoundException", "unknown function")
e = error_of(lam.invoke, FunctionName="greet", Qualifier="nope", Payload=b"{}")
check(e and e["Error"]["Code"] == "ResourceNotFoundException", "unknown qualifier")
e = error_of(lam.invoke, FunctionName="greet", Payload=b"{not json")
check(e and e["Error"]["Code"] == "InvalidRequestContentException", "invalid JSON")
# botocore keeps only Code and Message: the body itself, as Lambda shapes it
raw = {}
lam.meta.events.register("after-call.lambda", lambda http_response, **kw: raw.update(
    body=http_response.content))
error_of(lam.invoke, FunctionName="greet", Payload=b"{not json")
body = json.loads(raw.get("body") or b"{}")
check(body.get("Type") == "User" and "message" in body, "error body %r" % body)
lam.meta.events.unregister("after-call.lambda")

bad = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", config=once,
                   aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                   aws_secret_access_key="not-the-secret")
e = error_of(bad.invoke, FunctionName="greet", Payload=b"{}")
check(e and e["Error"]["Code"] == "InvalidSignatureException", "wrong secret refused")
check(e and e["ResponseMetadata"]["HTTPStatusCode"] == 403, "403")
other = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", config=once,
                     aws_access_key_id="AKIDNOBODY", aws_secret_access_key="x")
e = error_of(other.list_functions)
check(e and e["Error"]["Code"] == "UnrecognizedClientException", "unknown access key")

# ---- control plane ----
names = sorted(f["FunctionName"] for f in lam.list_functions()["Functions"])
check(names == ["charge", "greet", "thumbnail"], "list_functions %r" % names)
g = lam.get_function(FunctionName="greet")
check(g["Configuration"]["FunctionName"] == "greet", "get_function")
c = lam.get_function_configuration(FunctionName="greet", Qualifier="1")
check(c["Version"] == "1", "get_function_configuration Qualifier=1")
# $LATEST has not changed since version 2: Lambda answers that version
v = lam.publish_version(FunctionName="greet")
check(v["Version"] == "2" and v["Description"] == "canary", "publish_version %r" % v.get("Version"))
vs = [x["Version"] for x in lam.list_versions_by_function(FunctionName="greet")["Versions"]]
check(vs == ["$LATEST", "1", "2"], "list_versions_by_function %r" % vs)
a = lam.create_alias(FunctionName="greet", Name="beta", FunctionVersion="1")
check(a["Name"] == "beta" and a["FunctionVersion"] == "1", "create_alias")
a = lam.update_alias(FunctionName="greet", Name="beta",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}})
check(a["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.25}, "update_alias routing")
e = error_of(lam.update_alias, FunctionName="greet", Name="beta", FunctionVersion="1",
             RevisionId="999999")
check(e and e["Error"]["Code"] == "PreconditionFailedException", "stale RevisionId")
check(lam.get_alias(FunctionName="greet", Name="beta")["FunctionVersion"] == "1", "get_alias")
al = sorted(x["Name"] for x in lam.list_aliases(FunctionName="greet")["Aliases"])
check(al == ["beta", "live"], "list_aliases %r" % al)
r = lam.invoke(FunctionName="greet", Qualifier="beta", Payload=b"{}")
check(r["ExecutedVersion"] in ("1", "2"), "invoke through the weighted alias")
lam.delete_alias(FunctionName="greet", Name="beta")
e = error_of(lam.get_alias, FunctionName="greet", Name="beta")
check(e and e["Error"]["Code"] == "ResourceNotFoundException", "deleted alias")
r = lam.put_function_concurrency(FunctionName="charge", ReservedConcurrentExecutions=2)
check(r["ReservedConcurrentExecutions"] == 2, "put_function_concurrency")
check(lam.get_function_concurrency(FunctionName="charge")["ReservedConcurrentExecutions"] == 2,
      "get_function_concurrency")
lam.delete_function_concurrency(FunctionName="charge")
check("ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="charge"),
      "no reservation after delete")
p = lam.put_provisioned_concurrency_config(FunctionName="greet", Qualifier="live",
                                           ProvisionedConcurrentExecutions=1)
check(p["RequestedProvisionedConcurrentExecutions"] == 1 and
      p["Status"] in ("IN_PROGRESS", "READY"), "put_provisioned_concurrency_config %r" % p)
for _ in range(200):
    p = lam.get_provisioned_concurrency_config(FunctionName="greet", Qualifier="live")
    if p["Status"] == "READY":
        break
    time.sleep(0.01)
check(p["Status"] == "READY" and p["AvailableProvisionedConcurrentExecutions"] == 1,
      "provisioned READY %r" % p)
lam.delete_provisioned_concurrency_config(FunctionName="greet", Qualifier="live")
e = error_of(lam.get_provisioned_concurrency_config, FunctionName="greet", Qualifier="live")
check(e and e["Error"]["Code"] in ("ProvisionedConcurrencyConfigNotFoundException",
                                   "ResourceNotFoundException"), "provisioned deleted")
arn = "arn:aws:lambda:us-east-1:123456789012:function:greet"
c = lam.put_function_event_invoke_config(FunctionName="charge", MaximumRetryAttempts=1,
                                         DestinationConfig={"OnFailure": {"Destination": arn}})
check(c["MaximumRetryAttempts"] == 1 and c["DestinationConfig"]["OnFailure"]["Destination"] == arn,
      "put_function_event_invoke_config %r" % c)
c = lam.update_function_event_invoke_config(FunctionName="charge", MaximumEventAgeInSeconds=120)
check(c["MaximumEventAgeInSeconds"] == 120 and c["MaximumRetryAttempts"] == 1,
      "update keeps what it does not name %r" % c)
c = lam.get_function_event_invoke_config(FunctionName="charge")
check(c["FunctionArn"].endswith("function:charge:$LATEST"), "get_function_event_invoke_config")
e = error_of(lam.put_function_event_invoke_config, FunctionName="charge",
             DestinationConfig={"OnSuccess": {"Destination": "arn:aws:sns:us-east-1:1:t"}})
check(e and e["Error"]["Code"] == "InvalidParameterValueException", "bad destination")
lam.delete_function_event_invoke_config(FunctionName="charge")
e = error_of(lam.get_function_event_invoke_config, FunctionName="charge")
check(e and e["Error"]["Code"] == "ResourceNotFoundException", "deleted event invoke config")
s = lam.get_account_settings()
check(s["AccountLimit"]["ConcurrentExecutions"] == 8 and s["AccountUsage"]["FunctionCount"] == 3,
      "get_account_settings %r" % s.get("AccountLimit"))
e = error_of(lam.create_function, FunctionName="x", Role="arn:aws:iam::1:role/r",
             Code={"ZipFile": b"zip"}, Runtime="python3.12", Handler="a.b")
check(e and e["Error"]["Code"] == "InvalidParameterValueException", "create_function refused")

if failures:
    print("boto3: %d checks failed" % len(failures))
    sys.exit(1)
print("boto3: every check passed")
