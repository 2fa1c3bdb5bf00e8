#!/usr/bin/env python3
"""CPU cost per call, in instructions, counted by valgrind's callgrind: a
figure that does not move with whatever else the machine is doing, so the
ratios between servers hold on a shared, noisy machine where calls/s do not.

Each server (the same configurations as bench/run.py: off, defaults, full,
sampled, floor, bare, python; floor and bare from the `ceiling` profile) runs
under callgrind twice per load shape, once for N_SMALL and once for N_LARGE
ListUser calls from h2load; the difference divided by N_LARGE - N_SMALL is
the cost of one call with start-up and shutdown cancelled out. Two shapes,
connections x streams: 1x1 (one call at a time: nothing to batch) and 50x20
(1,000 in flight). Under valgrind every server is slow, so at 50x20 requests
arrive in larger batches than in real use: compare ratios. Each run's server
first answers one call checked to end with grpc-status 0 (nghttp; the same
call in both runs, so it cancels out), and h2load must report every call
succeeded.

Authentication: GetUser on the service with `auth.mode = none` and with
`jwt` and one reused (cached) ES256 token ("get-none", "get-jwt"; metrics
on, traces off), and the cost of verifying a token per algorithm, from
examples/auth_cost.rs (the stack in-process, one call per token: distinct
tokens each pay a signature check, a repeated one is found in the cache).

usage: bench/instructions.py [--calls 2000 12000] [--shapes 1x1,50x20] [--servers ...]
                             [--quick] [--no-python] [--auth-only] [--no-build] [--out FILE]
needs: valgrind, h2load and nghttp (Debian valgrind, nghttp2-client), python3
with grpcio and grpcio-tools for the python server (bench/requirements.txt),
and PyJWT and cryptography for the tokens (bench/requirements.txt).
"""
import argparse
import datetime
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import auth_tokens  # noqa: E402
import harness  # noqa: E402
from run import SERVERS, build, check_grpc_status, grpc_frame, parse_shapes, server_config  # noqa: E402

ROOT = harness.ROOT
SHAPES = "1x1,50x20"
# GetUser with auth off, off with the token sent anyway (what carrying it
# costs: h2load, like nghttp2, never HPACK-indexes `authorization`, so each
# request carries the whole token), and on with that token (cached).
AUTH_SERVERS = ["get-none", "get-none-token", "get-jwt"]
START_BOUND = 180  # seconds for a server to listen under valgrind
LOAD_BOUND = 900   # seconds for one h2load run under valgrind


def auth_command(kind, addr, port, auth):
    """The service for the authentication runs: GetUser with metrics on, traces off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RUST_LOG", "USER_SERVICE__"))}
    env["RUST_LOG"] = "warn"
    cmd = [harness.binary("user-service"), "--addr", addr, "--log-format", "json"]
    env["USER_SERVICE__ADMIN__ADDR"] = auth["admin"]
    env["USER_SERVICE__SHUTDOWN__GRACE_PERIOD"] = "0s"  # not on the serving path: shorter stops
    env["OTEL_SDK_DISABLED"] = "true"
    env["USER_SERVICE__STORE__URL"] = f"sqlite://{auth['workdir']}/{kind}-{port}/users.db"
    if kind == "get-jwt":
        env.update({
            "USER_SERVICE__AUTH__MODE": "jwt",
            "USER_SERVICE__AUTH__JWKS_FILE": auth["jwks"],
            "USER_SERVICE__AUTH__ISSUER": auth_tokens.ISSUER,
            "USER_SERVICE__AUTH__AUDIENCES": auth_tokens.AUDIENCE,
        })
    return cmd, env


def h2load(addr, path, data, calls, headers=(), clients=4, streams=8):
    """`calls` calls from h2load (bounded in count and time); every one must succeed."""
    load = harness.run(
        ["h2load", "-n", str(calls), "-c", str(clients), "-m", str(streams), "-d", data,
         "-H", "content-type: application/grpc", "-H", "te: trailers",
         *[arg for header in headers for arg in ("-H", header)], f"http://{addr}{path}"],
        timeout=LOAD_BOUND, check=False)
    done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored",
                     load.stdout)
    if not done or int(done.group(1)) != calls or int(done.group(2)) or int(done.group(3)):
        raise SystemExit(f"{path}: not every call succeeded:\n{load.stdout}")


def answered_ok(admin, method):
    """grpc_server_handled_total of `method` with code OK, from /metrics:
    gRPC errors are HTTP 200, so h2load alone cannot tell a refusal."""
    with urllib.request.urlopen(f"http://{admin}/metrics", timeout=30) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith("grpc_server_handled_total{") and f'grpc_method="{method}"' in line \
                and 'grpc_code="OK"' in line:
            return int(float(line.split()[-1]))
    return 0


def get_user_load(kind, addr, calls, auth):
    """One CreateUser, then `calls` GetUser of that user, every one OK."""
    headers = [f"authorization: Bearer {auth['token']}"] if kind != "get-none" else []
    h2load(addr, "/user.v1.UserService/CreateUser", auth["create"], 1, headers, clients=1)
    h2load(addr, "/user.v1.UserService/GetUser", auth["get"], calls, headers)
    ok = answered_ok(auth["admin"], "GetUser")
    if ok != calls:
        raise SystemExit(f"{kind}: {ok} of {calls} GetUser calls answered OK")


def instructions(kind, calls, data, sink_addr, workdir, shape=(4, 8), ceiling_profile="ceiling", auth=None):
    """Total instructions of one server process that answered `calls` calls."""
    port = harness.free_port()
    addr = f"127.0.0.1:{port}"
    if auth is not None:
        auth = dict(auth, admin=f"127.0.0.1:{harness.free_port()}")
        cmd, env = auth_command(kind, addr, port, auth)
    else:
        cmd, env, _ = server_config(kind, addr, port, sink_addr, ceiling_profile)
    out = os.path.join(workdir, f"{kind}.{shape[0]}x{shape[1]}.{calls}.callgrind")

    def load():
        if auth is not None:
            get_user_load(kind, addr, calls, auth)
        else:
            check_grpc_status(addr, data, what=kind)
            h2load(addr, "/user.Users/ListUser", data, calls, clients=shape[0], streams=shape[1])

    return under_callgrind(cmd, env, port, out, load, kind)


def under_callgrind(cmd, env, port, out, load, what, cwd=None):
    """Runs `cmd` under callgrind, calls `load()` once it listens on `port`,
    stops it, and returns the instructions it executed in all."""
    # Python: count the interpreter and its C extension, not its children.
    valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no"]
    server = harness.spawn(valgrind + cmd, name=what, env=env, cwd=cwd, stderr=subprocess.DEVNULL)
    try:
        harness.wait_port(port, START_BOUND, server)
        load()
        time.sleep(1)  # let a batch of spans go out before shutdown: the same in both runs
    finally:
        server.stop(timeout=120)
    return callgrind_total(out, what)


def callgrind_total(out, what):
    with open(out) as report:
        for line in report:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise SystemExit(f"{what}: no totals in {out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs=2, default=[2000, 12000], metavar=("N_SMALL", "N_LARGE"))
    parser.add_argument("--shapes", default=SHAPES, help="CONNECTIONSxSTREAMS, comma-separated")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated subset; bare always runs")
    parser.add_argument("--quick", action="store_true",
                        help="200 and 700 calls at 50x20 only, floor and bare from the release profile, "
                             "the in-process token runs shortened: checks the harness (CI)")
    parser.add_argument("--no-python", action="store_true", help="skip the (slow under valgrind) Python server")
    parser.add_argument("--auth-only", action="store_true", help="only the authentication figures")
    parser.add_argument("--ceiling-profile", help="Cargo profile of floor and bare (default ceiling; --quick: release)")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already built")
    parser.add_argument("--out", help="also write the markdown report here")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.shapes = [200, 700], "50x20"
    args.ceiling_profile = args.ceiling_profile or ("release" if args.quick else "ceiling")
    small, large = args.calls
    if large <= small:
        raise SystemExit("N_LARGE must exceed N_SMALL")
    for tool in ("valgrind", "h2load", "nghttp"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (apt-get install valgrind nghttp2-client)")
    chosen = set(args.servers.split(",")) | {"bare"}
    unknown = chosen - set(SERVERS)
    if unknown:
        raise SystemExit(f"unknown servers: {', '.join(sorted(unknown))} (known: {', '.join(SERVERS)})")
    kinds = [k for k in SERVERS if k in chosen and not (args.no_python and k == "python") and not args.auth_only]
    shapes = parse_shapes(args.shapes)
    if not args.no_build:
        build(kinds, args.ceiling_profile, extra_examples=["auth_cost"], service=True)

    workdir = tempfile.mkdtemp(prefix="instructions_")
    data = os.path.join(workdir, "list_user.grpc")
    with open(data, "wb") as f:
        f.write(grpc_frame())
    per_call = {}
    sink = (harness.start_sink(stdout=subprocess.DEVNULL)
            if {"full", "sampled", "floor", "floor-conn"} & set(kinds) else None)
    sink_addr = sink.addr if sink else None
    try:
        for shape in shapes:
            for kind in kinds:
                low, high = (instructions(kind, n, data, sink_addr, workdir, shape, args.ceiling_profile)
                             for n in (small, large))
                per_call[(shape, kind)] = (high - low) / (large - small)
                print(f"{shape[0]}x{shape[1]} {kind:8} {per_call[(shape, kind)]:10.0f} instructions per call",
                      flush=True)
        run_server = functools.partial(instructions, data=None, sink_addr=sink_addr, workdir=workdir)
        auth_lines = auth_tokens.report(run_server, AUTH_SERVERS, small, large, args.quick,
                                        harness.RELEASE, workdir)
    finally:
        harness.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)

    lines = [
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. Calls: {small} and {large} "
        f"per server and shape; user-service: release profile, floor and bare: {args.ceiling_profile} profile.",
    ]
    if kinds:
        lines += ["", "| server | " + " | ".join(f"{c}x{m}: instructions per call | × bare" for c, m in shapes)
                  + " | " + " | ".join(f"{c}x{m}: bare ÷ this" for c, m in shapes) + " |",
                  "|---" * (1 + 3 * len(shapes)) + "|"]
        for kind in kinds:
            costs = [(per_call[(s, kind)], per_call[(s, "bare")]) for s in shapes]
            lines.append(f"| {kind} | " + " | ".join(f"{c:,.0f} | {c / b:.3f}" for c, b in costs) + " | "
                         + " | ".join(f"{b / c:.3f}" for c, b in costs) + " |")
        if "full" in kinds and "floor" in kinds:
            lines += ["", "full ÷ floor (cost): " + ", ".join(
                f"{c}x{m} {per_call[((c, m), 'full')] / per_call[((c, m), 'floor')]:.3f}" for c, m in shapes)
                + "; target: full ≤ floor ÷ 0.97, i.e. floor ÷ full ≥ 0.97: " + ", ".join(
                f"{c}x{m} {per_call[((c, m), 'floor')] / per_call[((c, m), 'full')]:.3f}" for c, m in shapes) + "."]
        if "full" in kinds and "floor-conn" in kinds:
            lines += ["", "floor-conn ÷ full (the floor with the span's four connection attributes): " + ", ".join(
                f"{c}x{m} {per_call[((c, m), 'floor-conn')] / per_call[((c, m), 'full')]:.3f}"
                for c, m in shapes) + "."]
    command = " ".join(["bench/instructions.py", *sys.argv[1:]])
    lines += auth_lines
    lines += ["", f"Command: `{command}`"]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
