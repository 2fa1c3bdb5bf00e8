#!/usr/bin/env python3
"""CPU cost per call, in instructions, counted by valgrind's callgrind: a
figure that does not move with whatever else the machine is doing, so the
ratios between servers hold on a shared, noisy machine where calls/s do not.

Each server (the same five as bench/run.py) runs under callgrind twice, once
for N_SMALL and once for N_LARGE ListUser calls from h2load; the difference
divided by N_LARGE - N_SMALL is the cost of one call with start-up and
shutdown cancelled out. Under valgrind every server is slow, so h2load's
requests arrive in larger batches than in real use: absolute counts are a
little low for all of them alike; compare ratios.

Authentication: GetUser on the service with `auth.mode = none` and with
`jwt` and one reused (cached) ES256 token ("get-none", "get-jwt"; metrics
on, traces off), and the cost of verifying a token per algorithm, from
examples/auth_cost.rs (the stack in-process, one call per token: distinct
tokens each pay a signature check, a repeated one is found in the cache).

usage: bench/instructions.py [--calls 2000 12000] [--quick] [--no-python] [--out FILE]
needs: valgrind, h2load (Debian valgrind, nghttp2-client), python3 with
grpcio and grpcio-tools for the python server (bench/requirements.txt), and
PyJWT and cryptography for the tokens (bench/requirements.txt).
"""
import argparse
import functools
import datetime
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import free_port, grpc_frame  # noqa: E402  (same request as the throughput runs)
import auth_tokens  # noqa: E402

SERVERS = ["full", "off", "floor", "bare", "python"]
# GetUser with auth off, off with the token sent anyway (what carrying it
# costs: h2load, like nghttp2, never HPACK-indexes `authorization`, so each
# request carries the whole token), and on with that token (cached).
AUTH_SERVERS = ["get-none", "get-none-token", "get-jwt"]
START_BOUND = 180  # seconds for a server to listen under valgrind
LOAD_BOUND = 900   # seconds for one h2load run under valgrind


def server_command(kind, addr, port, sink_addr, release, auth=None):
    env = dict(os.environ, RUST_LOG="warn")
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    if kind in AUTH_SERVERS:
        cmd = [os.path.join(release, "user-service"), "--addr", addr, "--log-format", "json"]
        env["USER_SERVICE__ADMIN__ADDR"] = auth["admin"]
        env["OTEL_SDK_DISABLED"] = "true"
        env["USER_SERVICE__STORE__URL"] = f"sqlite://{auth['workdir']}/{kind}-{port}/users.db"
        if kind == "get-jwt":
            env.update({
                "USER_SERVICE__AUTH__MODE": "jwt",
                "USER_SERVICE__AUTH__JWKS_FILE": auth["jwks"],
                "USER_SERVICE__AUTH__ISSUER": auth_tokens.ISSUER,
                "USER_SERVICE__AUTH__AUDIENCES": auth_tokens.AUDIENCE,
            })
    elif kind in ("full", "off"):
        cmd = [os.path.join(release, "user-service"), "--addr", addr, "--log-format", "json"]
        env["USER_SERVICE__ADMIN__ADDR"] = f"127.0.0.1:{free_port()}"
        if kind == "full":
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{sink_addr}"
        else:
            env["OTEL_SDK_DISABLED"] = "true"
            env["USER_SERVICE__ADMIN__ENABLED"] = "false"
    elif kind == "floor":
        cmd = [os.path.join(release, "examples", "export_floor_server"), addr, f"http://{sink_addr}"]
    elif kind == "bare":
        cmd = [os.path.join(release, "examples", "bare_tonic_server"), addr]
    else:
        cmd = [sys.executable, os.path.join(ROOT, "bench", "tutorial_server.py"),
               "--port", str(port), "--proto", os.path.join(ROOT, "proto", "user.proto")]
    return cmd, env


def wait_listening(port, process):
    deadline = time.monotonic() + START_BOUND
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no server on port {port} within {START_BOUND}s")


def h2load(addr, path, data, calls, headers=(), clients=4):
    load = subprocess.run(
        ["h2load", "-n", str(calls), "-c", str(clients), "-m", "8", "-d", data,
         "-H", "content-type: application/grpc", "-H", "te: trailers",
         *[arg for header in headers for arg in ("-H", header)], f"http://{addr}{path}"],
        capture_output=True, text=True, timeout=LOAD_BOUND)
    done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", load.stdout)
    if not done or int(done.group(1)) != calls:
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


def instructions(kind, calls, data, sink_addr, release, workdir, auth=None):
    """Total instructions of one server process that answered `calls` calls."""
    port = free_port()
    addr = f"127.0.0.1:{port}"
    if auth is not None:
        auth = dict(auth, admin=f"127.0.0.1:{free_port()}")
    cmd, env = server_command(kind, addr, port, sink_addr, release, auth)
    out = os.path.join(workdir, f"{kind}.{calls}.callgrind")

    def load():
        if kind in AUTH_SERVERS:
            get_user_load(kind, addr, calls, auth)
        else:
            h2load(addr, "/user.Users/ListUser", data, calls)

    return under_callgrind(cmd, env, port, out, load, kind)


def under_callgrind(cmd, env, port, out, load, what, cwd=None):
    """Runs `cmd` under callgrind, calls `load()` once it listens on `port`,
    stops it, and returns the instructions it executed in all."""
    # Python: count the interpreter and its C extension, not its children.
    valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no"]
    server = subprocess.Popen(valgrind + cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, server)
        load()
        time.sleep(1)  # let a batch of spans go out before shutdown
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
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
    parser.add_argument("--quick", action="store_true", help="500 and 2500 calls: checks the harness")
    parser.add_argument("--no-python", action="store_true", help="skip the (slow under valgrind) Python server")
    parser.add_argument("--auth-only", action="store_true", help="only the authentication figures")
    parser.add_argument("--out", help="also write the markdown report here")
    args = parser.parse_args()
    if args.quick:
        args.calls = [500, 2500]
    small, large = args.calls
    if large <= small:
        raise SystemExit("N_LARGE must exceed N_SMALL")
    for tool in ("valgrind", "h2load"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (apt-get install valgrind nghttp2-client)")
    kinds = [k for k in SERVERS if not (args.no_python and k == "python") and not args.auth_only]

    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "user-service",
                    "--example", "bare_tonic_server", "--example", "export_floor_server", "--example", "otlp_sink",
                    "--example", "auth_cost"],
                   cwd=ROOT, check=True)
    release = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release")
    sink_addr = f"127.0.0.1:{free_port()}"
    sink = subprocess.Popen([os.path.join(release, "examples", "otlp_sink"), sink_addr],
                            stdout=subprocess.PIPE, text=True)
    workdir = tempfile.mkdtemp(prefix="instructions_")
    data = os.path.join(workdir, "list_user.grpc")
    with open(data, "wb") as f:
        f.write(grpc_frame())
    per_call = {}
    try:
        for kind in kinds:
            low = instructions(kind, small, data, sink_addr, release, workdir)
            high = instructions(kind, large, data, sink_addr, release, workdir)
            per_call[kind] = (high - low) / (large - small)
            print(f"{kind:6} {per_call[kind]:10.0f} instructions per call", flush=True)
        run_server = functools.partial(instructions, data=None, sink_addr=sink_addr, release=release,
                                       workdir=workdir)
        auth_lines = auth_tokens.report(run_server, AUTH_SERVERS, small, large, args.quick, release, workdir)
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.communicate(timeout=10)

    lines = [
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. "
        f"Calls: {small} and {large} per server (h2load -c 4 -m 8); release builds.",
    ]
    if kinds:
        bare = per_call["bare"]
        lines += [
            "",
            "| server | instructions per call | × bare (cost) | bare ÷ this (throughput-equivalent) |",
            "|---|---|---|---|",
        ]
    for kind in kinds:
        cost = per_call[kind]
        lines.append(f"| {kind} | {cost:,.0f} | {cost / bare:.2f} | {bare / cost:.2f} |")
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
