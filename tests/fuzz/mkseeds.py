#!/usr/bin/env python3
"""Write the named seed inputs of tests/fuzz/corpus/ (run from anywhere).

Only the named seeds are (re)written; the hash-named inputs that
`make fuzz-merge` adds are left alone. The alias_config programs use the
byte encoding that fuzz_alias_config.c reads: keep the two in step.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ACCOUNT = "123456789012"
ARN = "arn:aws:lambda:us-east-1:%s:function:" % ACCOUNT


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- ident: IDENTIFIER [NUL|LF QUALIFIER [NUL ROUTING_KEY]] -------------------

IDENT = {
    "bare-name": "fn",
    "name-version": "fn:1",
    "name-latest": "fn:$LATEST",
    "name-alias-weighted": "fn:live",
    "name-alias-latest": "fn:head",
    "name-alias-all-additional": "fn:canary",
    "name-64": "0123456789" * 6 + "0123",
    "name-65": "0123456789" * 6 + "01234",
    "name-dotted": "my.function",
    "arn-full": ARN + "fn",
    "arn-full-version": ARN + "fn:3",
    "arn-full-alias": ARN + "my-function:v1",
    "arn-gov-foreign": "arn:aws-us-gov:lambda:us-gov-west-1:%s:function:fn" % ACCOUNT,
    "arn-other-account": "arn:aws:lambda:us-east-1:210987654321:function:fn:live",
    "arn-other-region": "arn:aws:lambda:eu-west-3:%s:function:x" % ACCOUNT,
    "arn-partial": ACCOUNT + ":function:fn",
    "arn-partial-version": ACCOUNT + ":function:x:2",
    "arn-bad-partition": "arn:gcp:lambda:us-east-1:%s:function:fn" % ACCOUNT,
    "arn-bad-region": "arn:aws:lambda:useast1:%s:function:fn" % ACCOUNT,
    "arn-short-account": "arn:aws:lambda:us-east-1:12345:function:fn",
    "arn-too-many-parts": ARN + "fn:1:2",
    "arn-no-name": ARN,
    "empty-qualifier": "fn:",
    "empty-name": ":1",
    "dollar-in-ident": "fn:$1",
    "version-zero": "fn:0",
    "version-leading-zero": "fn:01",
    "version-uint32-max": "fn:4294967295",
    "version-overflow": "fn:4294967296",
    "qualifier-128": "fn:" + "q" * 128,
    "qualifier-129": "fn:" + "q" * 129,
    "ident-141": "a" * 141,
    "ident-171": "a" * 171,
    "explicit-qualifier": "fn\n2",
    "explicit-latest": "fn\n$LATEST",
    "explicit-matches": "fn:live\nlive",
    "explicit-mismatch": "fn:1\n2",
    "explicit-bad-chars": "fn\nli ve",
    "explicit-empty": "fn\n",
    "explicit-with-key": b"fn\nlive\x00user-42",
    "nul-separator-key": b"x:a-b_C\x00\x00k",
    "utf8-name": b"f\xc3\xa9n",
    "only-colons": ":::",
    "function-word": "function:fn",
}

# ---- invoke_json: the event text -----------------------------------------------

INVOKE_JSON = {
    "empty": b"",
    "null": "null",
    "true": "true",
    "number": "42",
    "negative-zero": "-0",
    "real": "3.14159",
    "real-17-digits": "0.30000000000000004",
    "real-overflow": "1e309",
    "tiny-real": "5e-324",
    "int-max": "9223372036854775807",
    "int-overflow": "9223372036854775808",
    "string": '"hello"',
    "string-nul": '"a\\u0000b"',
    "string-surrogates": '"\\ud83d\\ude00"',
    "lone-surrogate": '"\\ud800"',
    "utf8-4byte": b'"\xf0\x9f\x98\x80"',
    "utf8-overlong": b'"\xc0\xaf"',
    "utf8-invalid": b'"\xff"',
    "object": '{"name":"Ada","n":[1,2.5,null,true,{"k":"v"}]}',
    "object-dup-keys": '{"a":1,"a":2}',
    "object-nul-key": '{"a\\u0000":1}',
    "deep-array": "[" * 200 + "]" * 200,
    "deep-too-much": "[" * 3000 + "]" * 3000,
    "sns-event": '{"Records":[{"EventSource":"aws:sns","Sns":{"Message":"hi",'
    '"MessageAttributes":{}}}]}',
    "trailing-garbage": "{} x",
    "unterminated": '{"a":',
    "bom": b"\xef\xbb\xbf{}",
    "whitespace-only": " \n\t ",
    "control-char-in-string": b'"a\x01b"',
    "escapes": '"\\"\\\\\\/\\b\\f\\n\\r\\t"',
    "long-string": '"' + "x" * 300 + '"',
}

# ---- alias_config: programs ----------------------------------------------------

OP = dict(create=0, update=2, publish=3, alias_create=4, alias_update=6, alias_delete=7,
          delete=8, reserve=9, describe=10, list=11, resolve=12, invoke=13, clock=14, metrics=15)
FNS = {"f0": 0, "f1": 1, "f2": 2}
ALIASES = {"live": 0, "beta": 1, "x-1": 2, "_": 3}
WEIGHTS = {0.0: 0, 1.0: 1, 0.5: 2, 0.25: 3, "-0": 4, 0.1: 5, "below1": 6, "above1": 7,
           "denormal": 8, "dblmin": 9, "2^-64": 10, "2^-65": 11, "1e-300": 12, "-1e-300": 13,
           -1.0: 14, 2.0: 15, "nan": 0xA0, "inf": 0xA1, "-inf": 0xA2}
RESERVE = {-1: 0, 0: 1, 1: 2, 2: 3, 5: 4, -2: 5, "max": 6, "min": 7}


def s(x):
    x = x.encode() if isinstance(x, str) else x
    return bytes([len(x)]) + x


def fn(n):
    """'f0' a table name; 'arn:f1' / 'part:f1' as ARNs; 'raw:x' is 'rx'; None."""
    if n is None:
        return bytes([0xC3])
    for prefix, rem in (("arn:", 0), ("part:", 1)):
        if n.startswith(prefix):
            i = FNS[n[len(prefix):]]
            return bytes([next(b for b in range(0xC0, 0x100) if b % 4 == rem and b % 3 == i)])
    if n.startswith("raw:"):
        return bytes([0xC2]) + s(n[4:])
    return bytes([FNS[n]])


def alias(a):
    if a in ALIASES:
        return bytes([ALIASES[a]])
    special = {"123": 0xE0, "": 0xE1, None: 0xE3}
    if a in special:
        return bytes([special[a]])
    return bytes([0xE2]) + s(a)


def version(v):
    return bytes([v]) if v < 6 else bytes([0xC0]) + struct.pack(">I", v)


def weight(w):
    if isinstance(w, tuple):  # ("raw", double)
        return bytes([0xA3]) + struct.pack(">d", w[1])
    return bytes([WEIGHTS[w]])


def config(handler=0, t=0, m=0, e=0, u=0, desc=0, env=(), rev=None):
    """handler: 0 ok, 1 fail, 2 fatal, 3 init ok, 4 init fails, 7 NULL, |0x80 bad version;
    u: 1/2 fresh user_data (free a/b), 3 the current one, 4 it with the other free."""
    out = bytes([handler, t, m, e | (0x80 if rev else 0), u, desc]) + bytes(env)
    return out + (bytes([rev]) if rev else b"")


def create(n, **kw):
    return bytes([OP["create"]]) + fn(n) + config(**kw)


def update(n, **kw):
    return bytes([OP["update"]]) + fn(n) + config(**kw)


def publish(n, flags=0, extra=b""):
    return bytes([OP["publish"]]) + fn(n) + bytes([flags]) + extra


def alias_set(n, a, v, add=0, w=0.0, upd=False, key=None, wflag=False):
    out = bytes([OP["alias_update" if upd else "alias_create"]]) + fn(n) + alias(a) + version(v)
    out += bytes([1]) + version(add) if add else bytes([0, 1 if wflag else 0])
    if add or wflag:
        out += weight(w)
    out += bytes([0])  # description NULL
    if upd:
        out += bytes([0])  # no expected revision
    return out + (bytes([1]) + s(key) if key else bytes([0]))


def alias_delete(n, a):
    return bytes([OP["alias_delete"]]) + fn(n) + alias(a)


def delete(n, q=None):
    if q is None:
        return bytes([OP["delete"]]) + fn(n) + bytes([0])
    if q == "$LATEST":
        return bytes([OP["delete"]]) + fn(n) + bytes([1])
    if isinstance(q, int):
        return bytes([OP["delete"]]) + fn(n) + bytes([4]) + version(q)
    return bytes([OP["delete"]]) + fn(n) + bytes([2]) + alias(q)


def reserve(n, v):
    return bytes([OP["reserve"]]) + fn(n) + bytes([RESERVE[v]])


def ident(n, q):
    if q is None:
        return fn(n) + bytes([0])
    if q == "$LATEST":
        return fn(n) + bytes([1])
    if isinstance(q, int):
        return fn(n) + bytes([3]) + version(q)
    return fn(n) + bytes([2]) + alias(q)


def describe(n, q=None):
    return bytes([OP["describe"]]) + ident(n, q)


def resolve(n, q=None, key=None):
    return bytes([OP["resolve"]]) + ident(n, q) + (bytes([1]) + s(key) if key else bytes([0]))


def invoke(n, q=None, typ=0, tail=False, text=False, key=None, event=7):
    """typ: 0 RequestResponse, 1 DryRun, 2 Event."""
    b = typ | (8 if tail else 0) | (16 if text else 0) | (32 if key else 0)
    return bytes([OP["invoke"]]) + ident(n, q) + bytes([b]) + (s(key) if key else b"") + bytes([event])


def clock(i):
    return bytes([OP["clock"], i])


LIST = bytes([OP["list"]])
METRICS = bytes([OP["metrics"]])


def two_versions(n):
    return create(n) + publish(n) + update(n, desc=3) + publish(n)


PROGRAMS = {
    # header: max_concurrency 10 * (1 + h % 4); h & 0x10: unreserved_min 1; seed from h >> 5
    "basic-weighted-alias": (0x01, [
        two_versions("f0"), alias_set("f0", "live", 1, 2, 0.5, key="user-1"),
        resolve("f0", "live", "user-1"), invoke("f0", "live", tail=True, text=True),
        describe("f0", "live"), LIST, METRICS]),
    "weights-nan-inf": (0x02, [
        two_versions("f1"), alias_set("f1", "live", 1, 2, "nan"),
        alias_set("f1", "beta", 1, 2, "inf"), alias_set("f1", "x-1", 1, 2, "-inf"),
        alias_set("f1", "_", 1, 2, ("raw", -0.0)), alias_set("f1", "live", 2, 1, -1.0), LIST]),
    "weights-edges": (0x03, [
        two_versions("f2"), alias_set("f2", "live", 1, 2, 1.0, key="k"),
        alias_set("f2", "beta", 2, 1, 0.0, key="k"), alias_set("f2", "x-1", 1, 2, "denormal"),
        alias_set("f2", "_", 1, 2, "below1"), alias_set("f2", "live", 1, 2, "above1", upd=True),
        alias_set("f2", "live", 1, 2, "2^-65", upd=True, key="z"),
        alias_set("f2", "live", 1, 2, "-0", upd=True), resolve("f2", "x-1", "a"), LIST]),
    "weight-without-version": (0x00, [
        create("f0"), publish("f0"), alias_set("f0", "live", 1, 0, 0.5, wflag=True),
        alias_set("f0", "beta", 0, 1, 0.5), alias_set("f0", "x-1", 1, 1, 0.5),
        alias_set("f0", "_", 0), describe("f0", "_"), invoke("f0", "_")]),
    "reserved-zero-throttles": (0x10, [
        create("f1"), reserve("f1", 0), invoke("f1"), invoke("f1", typ=1), reserve("f1", -1),
        invoke("f1"), reserve("f1", "max"), reserve("f1", "min"), reserve("f1", -2),
        reserve("f2", 1), reserve("f1", 5), METRICS]),
    "delete-referenced-version": (0x21, [
        two_versions("f0"), alias_set("f0", "live", 1, 2, 0.25), delete("f0", 2),
        delete("f0", "$LATEST"), delete("f0", "live"), alias_delete("f0", "live"), delete("f0", 2),
        resolve("f0", 2), delete("f0"), describe("f0"), LIST]),
    "user-data-lifetimes": (0x00, [
        create("f0", u=1), update("f0", u=3), update("f0", u=4), publish("f0"), update("f0", u=2),
        publish("f0"), update("f0", u=3), delete("f0", 1), delete("f0"), create("f0", u=2), LIST]),
    "init-and-fatal-handlers": (0x01, [
        create("f0", handler=3), invoke("f0", tail=True), invoke("f0"), clock(2), invoke("f0"),
        update("f0", handler=4), invoke("f0", tail=True), update("f0", handler=2), invoke("f0"),
        invoke("f0", tail=True), update("f0", handler=1), invoke("f0", text=True), clock(3),
        METRICS]),
    "arn-names": (0x02, [
        create("arn:f1"), publish("part:f1"), describe("arn:f1", 1),
        alias_set("part:f1", "beta", 1), resolve("arn:f1", "beta"), invoke("part:f1", "beta"),
        create("raw:odd-name"), create("raw:bad name"), create(None), delete("raw:odd-name"),
        LIST]),
    "bad-configs": (0x03, [
        create("f2", t=0xF4), create("f2", m=0xF3), create("f2", desc=5), create("f2", desc=6),
        create("f2", handler=7), create("f2", handler=0x80), create("f2", e=1, env=(3,)),
        create("f2", e=2, env=(0, 0)), create("f2", e=0x71, env=(0,)),
        create("f2", e=3, env=(0, 1, 2)), describe("f2"), update("f2", rev=9), LIST]),
    "publish-options": (0x00, [
        create("f0"), publish("f0", flags=4 | 1, extra=bytes([4])),
        publish("f0", flags=8, extra=bytes([200])), publish("f0", flags=4, extra=bytes([6])),
        update("f0", desc=4), publish("f0"), publish("f1"), LIST]),
    "alias-latest-and-revisions": (0x01, [
        two_versions("f1"), alias_set("f1", "live", 0), invoke("f1", "live", typ=1),
        alias_set("f1", "live", 1, 2, 0.1, upd=True), alias_set("f1", "nope", 1, upd=True),
        alias_set("f1", "123", 1), alias_set("f1", "", 1), alias_set("f1", None, 1),
        alias_set("f1", "raw-alias", 9), alias_delete("f1", "live"), alias_delete("f1", "live"),
        describe("f1", "beta"), invoke("f1", "$LATEST", typ=2)]),
}

# ---- telemetry_json: TYPE STATUS FLAGS REAL REAL, fields split by NUL, text --

def record(typ, status=0, flags=0, d1=1.5, d2=0.25, fields=(), text=b""):
    head = bytes([typ, status, flags]) + struct.pack("<dd", d1, d2)
    body = b"\0".join(f.encode() if isinstance(f, str) else f for f in fields)
    return head + body + (b"\0" + text if text else b"")


TELEMETRY = {
    "init-start": record(0),
    "init-runtime-done-error": record(1, 1, 2, fields=("Runtime.InitError",)),
    "init-report-timeout": record(2, 2, 0, d1=10000.125),
    "start": record(3, fields=("", "", "", "3da1f2dc-3222-475e-9205-e2e6c6318895")),
    "runtime-done": record(4, 0, 0, d1=0.1 + 0.2),
    "report-cold": record(5, 1, 1, d1=1e20, d2=5e-7, fields=("Sandbox.\"Q\"\\",)),
    "extension": record(6, 0, 6, fields=("", "audit")),
    "logs-dropped": record(7, 0, 0, fields=("", "", "slow consumer")),
    "function-utf8": record(8, fields=("e", "n", "r", "id"),
                            text="caf\u00e9 \u20ac \U0001f600 \"q\" \\ \t\n".encode()),
    "function-invalid": record(8, fields=("e", "n", "r", "id"),
                               text=b"\xff\xe2\x82 \x80 a\0b \x01\x1f\x7f"),
    "throttle": record(9, 0, 0, fields=("", "live", "ConcurrentInvocationLimitExceeded")),
}


def main():
    for name, data in TELEMETRY.items():
        write("telemetry_json", name, data)
    for name, data in IDENT.items():
        write("ident", name, data)
    for name, data in INVOKE_JSON.items():
        write("invoke_json", name, data)
    for name, (header, steps) in PROGRAMS.items():
        write("alias_config", name, bytes([header]) + b"".join(steps))


if __name__ == "__main__":
    main()
