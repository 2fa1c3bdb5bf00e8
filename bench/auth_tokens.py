"""The authentication part of bench/instructions.py: keys (one per accepted
algorithm family), a JWKS file and tokens signed with PyJWT
(tests/interop/requirements.txt), the in-process runs of
examples/auth_cost.rs under callgrind, and the report. Issuer and audience
match examples/auth_cost.rs."""
import json
import os
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import harness

ISSUER = "https://bench.issuer"
AUDIENCE = "user-service"
# In-process token runs (examples/auth_cost.rs): calls per run, full and quick.
TOKEN_CALLS = {False: (100, 600), True: (10, 60)}
RUN_BOUND = 900  # seconds for one run under valgrind


def make_keys():
    """{algorithm: (kid, private key)}."""
    return {
        "RS256": ("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "ES256": ("ec-1", ec.generate_private_key(ec.SECP256R1())),
        "EdDSA": ("ed-1", ed25519.Ed25519PrivateKey.generate()),
    }


def write_jwks(path, keys):
    documents = []
    for algorithm, (kid, private) in keys.items():
        jwk = json.loads(jwt.get_algorithm_by_name(algorithm).to_jwk(private.public_key()))
        jwk.update(kid=kid, alg=algorithm, use="sig")
        documents.append(jwk)
    with open(path, "w") as f:
        json.dump({"keys": documents}, f)


def token(keys, algorithm, scope="users.read users.write"):
    """A token valid for an hour; each one distinct (its own jti)."""
    kid, private = keys[algorithm]
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "iat": now, "exp": now + 3600,
              "scope": scope, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, private, algorithm=algorithm, headers={"kid": kid})


def token_instructions(label, tokens, jwks, release, workdir):
    """Total instructions of examples/auth_cost answering one call per token
    (label "none": with auth.mode = none)."""
    tokens_file = os.path.join(workdir, f"tokens-{label}-{len(tokens)}.txt")
    with open(tokens_file, "w") as f:
        f.write("\n".join(tokens) + "\n")
    out = os.path.join(workdir, f"auth-{label}.{len(tokens)}.callgrind")
    run = harness.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
                       os.path.join(release, "examples", "auth_cost"),
                       *(["--none"] if label == "none" else []), jwks, tokens_file],
                      timeout=RUN_BOUND, check=False)
    if run.returncode != 0:
        raise SystemExit(f"auth_cost {label}: {run.stderr[-2000:]}")
    with open(out) as report_file:
        for line in report_file:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise SystemExit(f"auth_cost {label}: no totals in {out}")


def message(field, payload):
    """One length-delimited protobuf field."""
    return bytes([field << 3 | 2, len(payload)]) + payload


def frame(payload):
    return b"\x00" + len(payload).to_bytes(4, "big") + payload


def report(run_server, servers, small, large, quick, release, workdir):
    """GetUser on `servers` (run_server(kind, calls, auth=...) counts one
    server's instructions), and the in-process runs; the report's lines."""
    keys = make_keys()
    jwks = os.path.join(workdir, "jwks.json")
    write_jwks(jwks, keys)
    files = {}
    for name, payload in (("create", message(1, message(3, b"bench@example.com")) + message(2, b"bench")),
                          ("get", message(1, b"users/bench"))):
        files[name] = os.path.join(workdir, f"{name}.grpc")
        with open(files[name], "wb") as f:
            f.write(frame(payload))
    auth = {"workdir": workdir, "jwks": jwks, "token": token(keys, "ES256"), **files}
    per_call = {}
    for kind in servers:
        low = run_server(kind, small, auth=auth)
        high = run_server(kind, large, auth=auth)
        per_call[kind] = (high - low) / (large - small)
        print(f"{kind:8} {per_call[kind]:10.0f} instructions per call", flush=True)
    low_n, high_n = TOKEN_CALLS[quick]
    in_process = {}
    cached = token(keys, "ES256")
    runs = [("none", lambda n: [cached] * n), ("cached", lambda n: [cached] * n)] + [
        (algorithm, lambda n, a=algorithm: [token(keys, a) for _ in range(n)]) for algorithm in keys]
    for label, tokens in runs:
        low = token_instructions(label, tokens(low_n), jwks, release, workdir)
        high = token_instructions(label, tokens(high_n), jwks, release, workdir)
        in_process[label] = (high - low) / (high_n - low_n)
        print(f"{label:8} {in_process[label]:10.0f} instructions per in-process call", flush=True)
    none, sent, jwt = (per_call[kind] for kind in servers)
    lines = [
        "",
        f"Authentication: GetUser, metrics on, traces off; {small} and {large} calls per server.",
        "",
        "| server | instructions per call | × get-none | × get-none-token |",
        "|---|---|---|---|",
        f"| get-none (`auth.mode = none`, no header) | {none:,.0f} | 1.00 | |",
        f"| get-none-token (`none`, the token sent anyway) | {sent:,.0f} | {sent / none:.3f} | 1.00 |",
        f"| get-jwt (`jwt`, one ES256 token, cached) | {jwt:,.0f} | {jwt / none:.3f} | {jwt / sent:.3f} |",
        "",
        f"In-process (examples/auth_cost.rs, the stack without the transport; {low_n} and {high_n} calls):",
        "",
        "| token | instructions per call | − `none` (the layer) | − cached (verification) |",
        "|---|---|---|---|",
        f"| `auth.mode = none`, token sent | {in_process['none']:,.0f} | | |",
        f"| one token, cached | {in_process['cached']:,.0f} | {in_process['cached'] - in_process['none']:,.0f} | |",
    ]
    for algorithm in keys:
        cost = in_process[algorithm]
        lines.append(f"| {algorithm}, a new token each call | {cost:,.0f} | | {cost - in_process['cached']:,.0f} |")
    return lines
