#!/usr/bin/env python3
"""The directory on PostgreSQL against pgbench, the ceiling for any service on
that database: GetUser through user-service vs `pgbench -M prepared` running
the same SELECT on the same table, and CreateUser vs a pgbench script doing
the same INSERT; same server, same number of database connections, same run.

A throwaway PostgreSQL (reliability/pgserver.py) pinned to CPU 0; pgbench or
user-service alone on CPU 1, so the database's client gets the same CPU
either way; the service's load generator (examples/directory_load.rs) runs
beside the database on CPU 0 (`--load-cpu 1` puts it beside the service
instead). The database's CPU is reported (1.0 = one CPU busy throughout):
a ratio well below 1.0 at a database share well below 1.0 means the
service, not the database, was the bottleneck. Target: GetUser >= 0.5 x
pgbench's transactions per second.

`--instructions N_SMALL N_LARGE` measures instead what one GetUser costs
the service in instructions (callgrind, as bench/directory_instructions.py:
the service under valgrind answers N_SMALL and then N_LARGE GetUser of one
seeded user, sent by h2load; the difference over N_LARGE - N_SMALL is one
call with start-up and shutdown cancelled out), and the database's CPU per
call over the same runs: figures that hold on a busy machine.

usage: bench/postgres.py [--rounds 2] [--duration 5] [--users 10000]
                         [--connections 8] [--pool N] [--load-cpu 0]
                         [--quick] [--no-build] [--service BINARY] [--out FILE]
       bench/postgres.py --instructions 1000 5000 [--service BINARY] [--keep DIR]
needs: PostgreSQL's server binaries and pgbench (Debian: postgresql,
postgresql-contrib), taskset, 2+ CPUs; valgrind and h2load for
--instructions.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "reliability"))
import directory  # noqa: E402
import harness  # noqa: E402
import pgserver  # noqa: E402
from directory import answers_list, load  # noqa: E402
from harness import cpu_seconds, free_port  # noqa: E402

SERVICE = harness.binary("user-service")

DB_CPU, CLIENT_CPU = "0", "1"
TARGET = 0.5
COLUMNS = "id, uid, email, display_name, state, create_time, update_time, delete_time, purge_time, etag"
# The service's own statements, as pgbench scripts.
SCRIPTS = {
    "get": "\\set i random(0, :users - 1)\n"
           f"SELECT {COLUMNS} FROM users WHERE id = 'seed' || :i;\n",
    "create": "INSERT INTO users (id, uid, email, email_key, display_name, state, create_time, update_time, "
              "etag, request_id) SELECT 'b' || h, gen_random_uuid(), h || '@bench.example', "
              "h || '@bench.example', '', 1, t, t, substr(h, 1, 16), gen_random_uuid() FROM "
              "(SELECT md5(random()::text) AS h, (extract(epoch FROM clock_timestamp()) * 1e6)::bigint AS t) AS s;\n",
}


def seed(database, users):
    """The schema from `user-service migrate`, then `users` active users."""
    env = dict(os.environ, USER_SERVICE__STORE__URL=database.url("users"))
    harness.run([SERVICE, "migrate"], env=env, timeout=120)
    database.psql(
        "INSERT INTO users (id, uid, email, email_key, display_name, state, create_time, update_time, etag) "
        f"SELECT 'seed' || g, gen_random_uuid(), 'seed' || g || '@bench.example', 'seed' || g || '@bench.example', "
        f"'Seed User ' || g, 1, 1764000000000000 + g * 1000, 1764000000000000 + g * 1000, lpad(to_hex(g), 16, '0') "
        f"FROM generate_series(0, {users - 1}) AS g", database="users")
    database.psql("VACUUM ANALYZE users", database="users")


def pgbench(database, op, args, workdir):
    script = os.path.join(workdir, f"{op}.sql")
    with open(script, "w") as f:
        f.write(SCRIPTS[op])
    binary = os.path.join(database.bin, "pgbench")
    if not os.access(binary, os.X_OK):
        binary = shutil.which("pgbench")
    before, started = database.cpu_seconds(), time.monotonic()
    out = harness.run([binary, "-n", "-M", "prepared", "-c", str(args.connections),
                       "-j", "1", "-T", str(int(args.duration)), "-D", f"users={args.users}", "-f", script,
                       database.url("users")], timeout=args.duration + 120, check=False, cpus=CLIENT_CPU)
    if out.returncode != 0:
        raise SystemExit(f"pgbench {op} failed:\n{out.stderr}")
    db_cpu = (database.cpu_seconds() - before) / (time.monotonic() - started)
    tps = float(re.search(r"tps = ([0-9.]+)", out.stdout).group(1))
    latency = re.search(r"latency average = ([0-9.]+) ms", out.stdout)
    return {"per_s": tps, "latency_ms": float(latency.group(1)) if latency else float("nan"), "db_cpu": db_cpu}


def service_env(database, args, admin):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RUST_LOG", "USER_SERVICE__"))}
    env.update({"USER_SERVICE__STORE__URL": database.url("users"),
                "USER_SERVICE__STORE__MAX_CONNECTIONS": str(args.pool or args.connections),
                "USER_SERVICE__ADMIN__ADDR": admin,
                "USER_SERVICE__SHUTDOWN__GRACE_PERIOD": "0s"})
    return env


def service(database, op, args):
    addr = f"127.0.0.1:{free_port()}"
    env = service_env(database, args, f"127.0.0.1:{free_port()}")
    process = harness.spawn([SERVICE, "--addr", addr], name="user-service",
                            cpus=CLIENT_CPU, env=env, stderr=subprocess.DEVNULL)
    try:
        answers_list(addr, process, "user-service")
        before, started = database.cpu_seconds(), time.monotonic()
        service_before = cpu_seconds(process.pid)
        result = load(["load", addr, op, "--connections", str(args.connections), "--streams", "4",
                       "--duration", str(args.duration), "--warmup", str(args.warmup)],
                      timeout=args.duration + args.warmup + 120)
        elapsed = time.monotonic() - started
        result["db_cpu"] = (database.cpu_seconds() - before) / elapsed
        result["service_cpu"] = (cpu_seconds(process.pid) - service_before) / elapsed
    finally:
        process.stop(timeout=10)
    if result["errors"]:
        raise SystemExit(f"service {op}: {result['errors']} calls failed, first: {result['first_error']}")
    return {"per_s": result["calls_per_s"], "latency_ms": result["p50_ms"], "p99_ms": result["p99_ms"],
            "db_cpu": result["db_cpu"], "service_cpu": result["service_cpu"], "load_cpu": result["load_cpu"]}


def instructions(database, args, workdir):
    """Instructions per GetUser in the service, and the database's CPU per
    call, by the difference between two runs under callgrind."""
    from instructions import answered_ok, h2load, under_callgrind
    body = os.path.join(workdir, "get.grpc")
    name = b"users/seed0"
    with open(body, "wb") as f:
        message = b"\x0a" + bytes([len(name)]) + name  # GetUserRequest.name = 1
        f.write(b"\x00" + len(message).to_bytes(4, "big") + message)  # uncompressed, length-prefixed
    totals, db_cpu = {}, {}
    for calls in args.instructions:
        port, admin = free_port(), f"127.0.0.1:{free_port()}"
        addr = f"127.0.0.1:{port}"
        env = service_env(database, args, admin)
        out = os.path.join(args.keep or workdir, f"get.{calls}.callgrind")
        cpu = {}

        def send_calls():
            cpu["before"] = database.cpu_seconds()
            h2load(addr, "/user.v1.UserService/GetUser", body, calls)
            cpu["after"] = database.cpu_seconds()
            ok = answered_ok(admin, "GetUser")
            if ok != calls:
                with urllib.request.urlopen(f"http://{admin}/metrics", timeout=30) as response:
                    counts = [line for line in response.read().decode().splitlines()
                              if line.startswith("grpc_server_handled_total{")]
                raise SystemExit(f"{ok} of {calls} GetUser calls answered OK:\n" + "\n".join(counts))
        totals[calls] = under_callgrind([SERVICE, "--addr", addr], env, port, out, send_calls,
                                        f"GetUser x {calls}")
        db_cpu[calls] = cpu["after"] - cpu["before"]
        print(f"GetUser x {calls}: {totals[calls]:,} instructions, database {db_cpu[calls]:.3f} s CPU", flush=True)
    small, large = args.instructions
    per_call = (totals[large] - totals[small]) / (large - small)
    db_us = (db_cpu[large] - db_cpu[small]) / (large - small) * 1e6
    report = (f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. GetUser of one user over "
              f"PostgreSQL, {small} and {large} calls (h2load -c 4 -m 8), pool {args.pool or args.connections}, "
              f"`{os.path.relpath(SERVICE, ROOT)}`: **{per_call:,.0f} instructions per GetUser** in the service; "
              f"the database {db_us:.1f} µs CPU per call (from /proc, 10 ms ticks: rough).\n")
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


def main():
    global SERVICE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=5, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=8, help="database connections, both sides")
    parser.add_argument("--quick", action="store_true", help="seconds in all: checks the harness (CI)")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already in target/release")
    parser.add_argument("--load-cpu", default=DB_CPU, help="CPU of the service's load generator")
    parser.add_argument("--pool", type=int, help="the service's pool size, when not --connections")
    parser.add_argument("--out", help="also write the markdown report here")
    parser.add_argument("--service", help="the user-service binary (default: target/release's); implies --no-build")
    parser.add_argument("--instructions", type=int, nargs=2, metavar=("N_SMALL", "N_LARGE"),
                        help="measure instructions per GetUser instead (callgrind)")
    parser.add_argument("--keep", metavar="DIR", help="with --instructions: keep the callgrind files here "
                        "(for callgrind_annotate; build with --profile profiling for symbols)")
    args = parser.parse_args()
    directory.LOAD_CPU = args.load_cpu
    if args.service:
        SERVICE, args.no_build = os.path.abspath(args.service), True
    if args.instructions and args.instructions[1] <= args.instructions[0]:
        raise SystemExit("N_LARGE must exceed N_SMALL")
    if args.quick:
        args.rounds, args.duration, args.warmup, args.users = 1, 2, 0.5, 2_000
    if (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        raise SystemExit("needs 2 CPUs and taskset: one CPU for the database, one for its clients")
    if not pgserver.binaries():
        raise SystemExit("needs PostgreSQL's server binaries (apt-get install postgresql postgresql-contrib)")
    if not args.no_build:
        harness.build(["directory_load"])
    workdir = tempfile.mkdtemp(prefix="postgres_bench_")
    results = {}
    try:
        database = pgserver.PgServer("bench", cpus=DB_CPU)
        database.psql("CREATE DATABASE users")
        seed(database, args.users)
        if args.instructions:
            return instructions(database, args, workdir)
        for round_no in range(args.rounds):
            for op in ("get", "create"):
                for kind in ("pgbench", "service"):
                    r = pgbench(database, op, args, workdir) if kind == "pgbench" else service(database, op, args)
                    results.setdefault((op, kind), []).append(r)
                    print(f"round {round_no + 1} {op:6} {kind:8} {r['per_s']:8.0f}/s  latency {r['latency_ms']:.2f} ms  "
                          f"database cpu {r['db_cpu']:.2f}" + (f"  service cpu {r['service_cpu']:.2f}  load cpu "
                                                              f"{r['load_cpu']:.2f}" if kind == "service" else ""),
                          flush=True)
    finally:
        harness.stop_all()
        pgserver.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    report = render(results, args)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    if args.quick:
        return
    ratio = statistics.median(r["per_s"] for r in results[("get", "service")]) / \
        statistics.median(r["per_s"] for r in results[("get", "pgbench")])
    if ratio < TARGET:
        print(f"GetUser / pgbench = {ratio:.2f}: below the target {TARGET}")


def render(results, args):
    med = {key: {f: statistics.median(r[f] for r in rows) for f in rows[0]} for key, rows in results.items()}
    lines = [f"Machine: {platform.node()}, {os.cpu_count()} CPUs, Linux {platform.release()}. "
             f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. Rounds: {args.rounds} (medians), "
             f"{args.duration:g} s per run, {args.users:,} users, {args.connections} database connections for pgbench, "
             f"{args.pool or args.connections} for the service; "
             f"PostgreSQL on CPU {DB_CPU}, pgbench or user-service on CPU {CLIENT_CPU}, the service's load "
             f"generator on CPU {args.load_cpu}.", "",
             "| op | pgbench tps | service calls/s | service / pgbench | pgbench latency ms | service p50 / p99 ms "
             "| database CPU (pgbench run) | database CPU (service run) | service CPU | load generator CPU "
             "| CPU µs per call: database (pgbench) / database (service) / service |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for op, name in (("get", "GetUser"), ("create", "CreateUser")):
        bench, svc = med[(op, "pgbench")], med[(op, "service")]
        lines.append(f"| {name} | {bench['per_s']:.0f} | {svc['per_s']:.0f} | {svc['per_s'] / bench['per_s']:.2f} | "
                     f"{bench['latency_ms']:.2f} | {svc['latency_ms']:.2f} / {svc['p99_ms']:.2f} | "
                     f"{bench['db_cpu']:.2f} | {svc['db_cpu']:.2f} | {svc['service_cpu']:.2f} | {svc['load_cpu']:.2f} | "
                     f"{bench['db_cpu'] / bench['per_s'] * 1e6:.1f} / {svc['db_cpu'] / svc['per_s'] * 1e6:.1f} / "
                     f"{svc['service_cpu'] / svc['per_s'] * 1e6:.1f} |")
    lines += ["", f"Target GetUser >= {TARGET} x pgbench. Command: `bench/postgres.py " + " ".join(sys.argv[1:]) + "`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
