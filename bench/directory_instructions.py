#!/usr/bin/env python3
"""CPU cost of the directory's calls, in instructions per call (callgrind),
for the service and its ceiling: a figure that holds on a noisy machine,
where the calls/s of bench/directory.py move by several per cent.

GetUser of one seeded user and ListUsers(50) (the first page), sent by
h2load as fixed requests. Each server runs under callgrind twice, for
N_SMALL and N_LARGE calls; the difference over N_LARGE - N_SMALL is one
call's cost with start-up and shutdown cancelled out. Servers:
  service  user-service with its defaults (Prometheus on, no OTLP endpoint)
  off      user-service with OTEL_SDK_DISABLED=true and the admin port off
  full     user-service exporting spans and metrics to a live OTLP receiver
  ceiling  examples/bare_directory_server.rs (same SQL, driver and settings)

usage: bench/directory_instructions.py [--calls 1000 5000] [--quick]
                                       [--servers service,off,full] [--no-build] [--out FILE]
needs: valgrind, h2load (Debian valgrind, nghttp2-client).
"""
import argparse
import datetime
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from directory import fresh_copy, seed  # noqa: E402
from harness import free_port  # noqa: E402
from instructions import h2load, under_callgrind  # noqa: E402

USERS = 2_000


def frame(message):
    """A gRPC request: uncompressed, length-prefixed."""
    return b"\x00" + struct.pack(">I", len(message)) + message


def requests(store):
    """The fixed request of each measured call, as files h2load sends."""
    with sqlite3.connect(store) as db:
        (user_id,) = db.execute("SELECT id FROM users ORDER BY create_time LIMIT 1").fetchone()
    db.close()
    name = f"users/{user_id}".encode()
    return {
        "GetUser": frame(b"\x0a" + bytes([len(name)]) + name),  # name = 1
        "ListUsers": frame(b"\x08\x32"),  # page_size = 50
    }


def command(kind, addr, store, sink_addr):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RUST_LOG", "USER_SERVICE__"))}
    if kind == "ceiling":
        return [harness.binary("bare_directory_server"), addr, f"sqlite://{store}"], env
    env.update({
        "USER_SERVICE__STORE__URL": f"sqlite://{store}",
        "USER_SERVICE__ADMIN__ADDR": f"127.0.0.1:{free_port()}",
        "USER_SERVICE__SHUTDOWN__GRACE_PERIOD": "0s",
        "RUST_LOG": "warn",
    })
    if kind == "off":
        env["OTEL_SDK_DISABLED"] = "true"
        env["USER_SERVICE__ADMIN__ENABLED"] = "false"
    elif kind == "full":
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{sink_addr}"
    return [harness.binary("user-service"), "--addr", addr], env


def instructions(kind, method, calls, body, store, sink_addr, workdir):
    """Total instructions of one server process that answered `calls` calls."""
    port = free_port()
    addr = f"127.0.0.1:{port}"
    cmd, env = command(kind, addr, store, sink_addr)
    out = os.path.join(workdir, f"{kind}.{method}.{calls}.callgrind")
    return under_callgrind(cmd, env, port, out, lambda: h2load(addr, f"/user.v1.UserService/{method}", body, calls),
                           f"{kind} {method}", cwd=os.path.dirname(store))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs=2, default=[1000, 5000], metavar=("N_SMALL", "N_LARGE"))
    parser.add_argument("--servers", default="service,off,full", help="any of service, off, full; the ceiling always runs")
    parser.add_argument("--quick", action="store_true", help="GetUser only, 200 and 700 calls, service only: checks the harness")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already in target/release")
    parser.add_argument("--out", help="also write the markdown report here")
    args = parser.parse_args()
    methods = ["GetUser", "ListUsers"]
    if args.quick:
        args.calls, args.servers, methods = [200, 700], "service", ["GetUser"]
    small, large = args.calls
    if large <= small:
        raise SystemExit("N_LARGE must exceed N_SMALL")
    for tool in ("valgrind", "h2load"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (apt-get install valgrind nghttp2-client)")
    kinds = [k for k in ("service", "off", "full") if k in args.servers.split(",")] + ["ceiling"]
    if not args.no_build:
        harness.build(["bare_directory_server", "otlp_sink"])
    workdir = tempfile.mkdtemp(prefix="directory_instructions_")
    per_call = {}
    try:
        sink_addr = harness.start_sink(stdout=subprocess.DEVNULL).addr if "full" in kinds else None
        seeded = os.path.join(workdir, "seed.db")
        seed(seeded, USERS)
        for method, message in requests(seeded).items():
            if method not in methods:
                continue
            body = os.path.join(workdir, f"{method}.grpc")
            with open(body, "wb") as f:
                f.write(message)
            for kind in kinds:
                counts = [instructions(kind, method, n, body, fresh_copy(seeded, workdir, "run"), sink_addr, workdir)
                          for n in (small, large)]
                per_call[(method, kind)] = (counts[1] - counts[0]) / (large - small)
                print(f"{method:9} {kind:7} {per_call[(method, kind)]:10.0f} instructions per call", flush=True)
    finally:
        harness.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    lines = [
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. Calls: {small} and {large} per server "
        f"(h2load -c 4 -m 8), {USERS:,} users; release builds.",
        "",
        "| call | " + " | ".join(kinds) + " | " + " | ".join(f"ceiling ÷ {k}" for k in kinds if k != "ceiling") + " |",
        "|---" * (1 + 2 * len(kinds) - 1) + "|",
    ]
    for method in methods:
        ceiling = per_call[(method, "ceiling")]
        lines.append(f"| {method} | " + " | ".join(f"{per_call[(method, k)]:,.0f}" for k in kinds) + " | "
                     + " | ".join(f"{ceiling / per_call[(method, k)]:.2f}" for k in kinds if k != "ceiling") + " |")
    lines += ["", "Command: `bench/directory_instructions.py " + " ".join(sys.argv[1:]) + "`"]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
