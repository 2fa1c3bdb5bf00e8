#!/usr/bin/env python3
"""The directory API (user.v1.UserService) against its ceiling: GetUser,
CreateUser and ListUsers(50) through user-service, side by side with
examples/bare_directory_server.rs (the same SQL on the same driver, schema and
connection settings, no layers), and the time of a full listing at 10k and
100k users.

Servers, each started fresh on a fresh copy of the same seeded store, pinned
to CPU 0, driven by examples/directory_load.rs pinned to CPU 1, in the same
order every round (A B C, A B C, ...):
  service  user-service, release build, defaults: Prometheus/admin on, no OTLP
  full     the same with spans and metrics exported to a live OTLP receiver
           (examples/otlp_sink.rs, on CPU 1)
  ceiling  examples/bare_directory_server.rs

Per server, op and load shape: calls/s (median over rounds), p50/p99 latency,
the CPU the server and the load generator used (1.0 = one core busy
throughout; a server below ~0.9 was not the bottleneck). Paging: the seconds
one full listing takes by pages of 1000 and of 50 at 10k and at 100k users
(linear paging: ~10x).

usage: bench/directory.py [--rounds 2] [--duration 5] [--servers service,full]
                          [--quick] [--no-build] [--out FILE]
needs: taskset, 2+ CPUs, python3 (sqlite3 is in its standard library).
"""
import argparse
import datetime
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import cpu_seconds, free_port  # noqa: E402

ROOT = harness.ROOT
SERVER_CPU, LOAD_CPU = "0", "1"
LOAD = harness.binary("directory_load")
OPS = ["get", "create", "list"]
TARGET = 0.85  # service / ceiling, every op


def seed(path, users):
    """A store with `users` active users: the schema from `user-service
    migrate`, the rows in one transaction. The same rows every time."""
    env = dict(os.environ, USER_SERVICE__STORE__URL=f"sqlite://{path}")
    harness.run([harness.binary("user-service"), "migrate"], env=env, timeout=60)
    rng, base = random.Random(users), 1_764_000_000_000_000
    rows = ((str(uuid.UUID(int=rng.getrandbits(128), version=4)), str(uuid.UUID(int=rng.getrandbits(128), version=4)),
             f"seed{i}@bench.example", f"seed{i}@bench.example", f"Seed User {i}", base + i * 1000,
             base + i * 1000, f"{i:016x}") for i in range(users))
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO users (id, uid, email, email_key, display_name, state, create_time, "
                       "update_time, etag) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)", rows)
    db.close()


def load(args, timeout):
    """Runs directory_load on the load CPU; its JSON line and CPU share."""
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = harness.run([LOAD] + args, timeout=timeout, check=False, cpus=LOAD_CPU)
    if done.returncode != 0:
        raise SystemExit(f"directory_load {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    out = done.stdout
    # Only this child was reaped since `before`: the difference is its CPU.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result["load_cpu"] = cpu / (time.monotonic() - started)
    return result


class Server:
    def __init__(self, kind, store, sink_addr):
        self.kind, self.addr = kind, f"127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RUST_LOG", "USER_SERVICE__"))}
        if kind == "ceiling":
            cmd = [harness.binary("bare_directory_server"), self.addr, f"sqlite://{store}"]
        else:
            cmd = [harness.binary("user-service"), "--addr", self.addr]
            env["USER_SERVICE__STORE__URL"] = f"sqlite://{store}"
            env["USER_SERVICE__ADMIN__ADDR"] = f"127.0.0.1:{free_port()}"
            # Not on the serving path: only spares the 5 s health-drain wait at each stop.
            env["USER_SERVICE__SHUTDOWN__GRACE_PERIOD"] = "0s"
            if kind == "full":
                env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{sink_addr}"
        self.process = harness.spawn(cmd, name=kind, cpus=SERVER_CPU, env=env, cwd=os.path.dirname(store),
                                     stderr=subprocess.DEVNULL)
        answers_list(self.addr, self.process, kind)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.process.stop(timeout=10)


def answers_list(addr, process, what, timeout=30):
    """Waits until `addr` answers one ListUsers without error (the service's readiness)."""
    probe = ["load", addr, "list", "--list", "first", "--calls", "1", "--connections", "1", "--streams", "1"]

    def answered():
        answer = harness.run([LOAD] + probe, timeout=30, check=False)
        return answer.returncode == 0 and json.loads(answer.stdout)["errors"] == 0
    try:
        harness.wait_until(answered, timeout, f"{what} answering ListUsers", process, every=0.05)
    except harness.HarnessError as error:
        raise SystemExit(str(error))


def measure(kind, op, shape, store, sink_addr, args):
    connections, streams = shape
    with Server(kind, store, sink_addr) as server:
        before, started = cpu_seconds(server.process.pid), time.monotonic()
        result = load(["load", server.addr, op, "--connections", str(connections), "--streams", str(streams),
                       "--duration", str(args.duration), "--warmup", str(args.warmup)],
                      timeout=args.duration + args.warmup + 120)
        result["server_cpu"] = (cpu_seconds(server.process.pid) - before) / (time.monotonic() - started)
    # Past the store's bounded waits (acquire_timeout, timeout) an overload is
    # UNAVAILABLE by design: counted and shown, fatal only in the short CI run.
    if result["errors"] and args.quick:
        raise SystemExit(f"{kind} {op}: {result['errors']} calls failed, first: {result['first_error']}")
    return result


def paging(stores, sizes, repeats, workdir, sink_addr):
    """Seconds of one full listing through the service, median of `repeats`."""
    times = {}
    for users, seeded in stores.items():
        store = fresh_copy(seeded, workdir, f"paging{users}")
        with Server("service", store, sink_addr) as server:
            for size in sizes:
                runs = [load(["page", server.addr, str(size)], timeout=600) for _ in range(repeats)]
                if any(r["users"] != users for r in runs):
                    raise SystemExit(f"a listing of {users} users returned {[r['users'] for r in runs]}")
                median = lambda field: statistics.median(r[field] for r in runs)
                times[(users, size)] = (median("seconds"), runs[0]["pages"],
                                        median("last_tenth_s") / median("first_tenth_s"))
    return times


def fresh_copy(seeded, workdir, name):
    target = os.path.join(workdir, name, "users.db")
    shutil.rmtree(os.path.dirname(target), ignore_errors=True)
    os.makedirs(os.path.dirname(target))
    shutil.copyfile(seeded, target)
    return target


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=5, help="seconds per load run, after the warm-up")
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--servers", default="service,full", help="service and/or full; the ceiling always runs")
    parser.add_argument("--shapes", default="50x20,8x16", help="CONNECTIONSxSTREAMS, comma-separated")
    parser.add_argument("--users", type=int, default=10_000, help="users seeded for the load runs")
    parser.add_argument("--paging", default="10000,100000", help="store sizes of the paging runs")
    parser.add_argument("--quick", action="store_true", help="seconds in all: checks the harness (CI)")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already in target/release")
    parser.add_argument("--out", help="also write the markdown report here")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.warmup, args.servers = 1, 1, 0.3, "service"
        args.shapes, args.users, args.paging = "8x16", 2_000, "2000,20000"
    kinds = [k for k in ("service", "full") if k in args.servers.split(",")] + ["ceiling"]
    shapes = [tuple(int(n) for n in s.split("x")) for s in args.shapes.split(",")]
    sizes = [int(n) for n in args.paging.split(",")]
    if (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        raise SystemExit("needs 2 CPUs and taskset: one CPU for the server, one for the load")
    if not args.no_build:
        harness.build(["bare_directory_server", "directory_load", "otlp_sink"])
    workdir = tempfile.mkdtemp(prefix="directory_bench_")
    sink_addr = None
    try:
        if "full" in kinds:
            sink_addr = harness.start_sink(cpus=LOAD_CPU, stdout=subprocess.DEVNULL).addr
        stores = {}
        for users in sorted(set(sizes + [args.users])):
            stores[users] = os.path.join(workdir, f"seed{users}.db")
            seed(stores[users], users)
        results = {}
        for round_no in range(args.rounds):
            for shape in shapes:
                for op in OPS:
                    for kind in kinds:
                        store = fresh_copy(stores[args.users], workdir, "load")
                        r = measure(kind, op, shape, store, sink_addr, args)
                        results.setdefault((shape, op, kind), []).append(r)
                        print(f"round {round_no + 1} {shape[0]}x{shape[1]} {op:6} {kind:7} {r['calls_per_s']:8.0f} calls/s "
                              f"p50 {r['p50_ms']:.2f} p99 {r['p99_ms']:.2f} ms  cpu server {r['server_cpu']:.2f} "
                              f"load {r['load_cpu']:.2f} errors {r['errors']}", flush=True)
        pages = paging({n: stores[n] for n in sizes}, [1000, 50], 1 if args.quick else 3, workdir, sink_addr)
    finally:
        harness.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    report = render(results, pages, kinds, shapes, sizes, args)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


def render(results, pages, kinds, shapes, sizes, args):
    med = {key: {f: statistics.median(r[f] for r in rows) for f in ("calls_per_s", "p50_ms", "p99_ms", "server_cpu", "load_cpu")}
           | {"errors": sum(r["errors"] for r in rows)}
           for key, rows in results.items()}
    lines = [f"Machine: {platform.node()}, {os.cpu_count()} CPUs ({platform.machine()}), Linux {platform.release()}. "
             f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. Rounds: {args.rounds} "
             f"(medians), {args.duration:g} s per run after {args.warmup:g} s warm-up, {args.users:,} users seeded.", ""]
    others = [k for k in kinds if k != "ceiling"]
    for shape in shapes:
        lines += [f"{shape[0]} connections x {shape[1]} streams ({shape[0] * shape[1]} in flight):", "",
                  "| op | " + " | ".join(f"{k} calls/s" for k in kinds) + " | " + " | ".join(f"{k} / ceiling" for k in others)
                  + " | " + " | ".join(f"{k} p99 ms" for k in kinds) + " | " + " | ".join(f"{k} cpu" for k in kinds) + " | errors |",
                  "|---" * (2 + 3 * len(kinds) + len(others)) + "|"]
        for op in OPS:
            m = {k: med[(shape, op, k)] for k in kinds}
            ceiling = m["ceiling"]["calls_per_s"]
            lines.append(f"| {op} | " + " | ".join(f"{m[k]['calls_per_s']:.0f}" for k in kinds) + " | "
                         + " | ".join(f"{m[k]['calls_per_s'] / ceiling:.3f}" for k in others) + " | "
                         + " | ".join(f"{m[k]['p99_ms']:.2f}" for k in kinds) + " | "
                         + " | ".join(f"{m[k]['server_cpu']:.2f}" for k in kinds) + " | "
                         + ", ".join(f"{k} {m[k]['errors']}" for k in kinds if m[k]["errors"]) + " |")
        lines.append("")
    lines += ["Paging (service, one full listing, median seconds):", "",
              "| page size | " + " | ".join(f"{n:,} users" for n in sizes) + f" | {sizes[-1]:,} / {sizes[0]:,} | "
              + f"last / first tenth of the pages at {sizes[-1]:,} |",
              "|---" * (3 + len(sizes)) + "|"]
    for size in (1000, 50):
        t = [pages[(n, size)][0] for n in sizes]
        lines.append(f"| {size} | " + " | ".join(f"{s:.3f} s ({pages[(n, size)][1]} pages)" for s, n in zip(t, sizes))
                     + f" | {t[-1] / t[0]:.1f} | {pages[(sizes[-1], size)][2]:.2f} |")
    missed = [(shape, op, med[(shape, op, 'service')]['calls_per_s'] / med[(shape, op, 'ceiling')]['calls_per_s'])
              for shape in shapes for op in OPS if "service" in kinds
              and med[(shape, op, 'service')]['calls_per_s'] < TARGET * med[(shape, op, 'ceiling')]['calls_per_s']]
    lines += ["", f"Target service >= {TARGET} x ceiling: " + ("met for every op and shape" if not missed else "missed: " + ", ".join(
        f"{op} at {s[0]}x{s[1]} ({ratio:.3f})" for s, op, ratio in missed)),
        "", "Command: `bench/directory.py " + " ".join(sys.argv[1:]) + "`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
