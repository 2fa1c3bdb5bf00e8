#!/usr/bin/env python3
"""Throughput, latency, memory and start-up of user-service in each telemetry
configuration, side by side with the export floor, a bare tonic server (the
ceiling) and the Python tutorial's grpcio server, all in one run.

The servers (bench/run.py and bench/instructions.py run the same ones):
  off       user-service, nothing recorded: OTEL_SDK_DISABLED=true, admin port off
  defaults  user-service's defaults without an OTLP endpoint: Prometheus/admin
            on, no export (the way most deployments start)
  full      spans and metrics exported over OTLP to a live local receiver
            (examples/otlp_sink.rs, on the load CPU), 100 % sampling
  sampled   the recommended production sampling: parent-based 10 %
            (OTEL_TRACES_SAMPLER=parentbased_traceidratio, _ARG=0.1), exported
  floor     examples/export_floor_server.rs: bare plus one OpenTelemetry SDK
            span per call exported to the same receiver (the floor for full)
  floor-conn  the floor's span with the four connection attributes
            user-service's spans carry (server.address, server.port,
            network.peer.*): the SDK's price of the span as promised
  bare      examples/bare_tonic_server.rs: the same proto, no layers at all
  python    bench/tutorial_server.py: grpcio, ThreadPoolExecutor(max_workers=10)
user-service is the normal release build (`--release`); floor and bare come
from the `ceiling` profile (fat LTO, one codegen unit: Cargo.toml), so the
ratios are against the strongest build of the reference (--quick: release).

Load shapes, connections x streams (h2load -c/-m): 8x16, 50x20 (grpc_bench's
1,000 in flight) and 1x100 at saturation, and a fixed 1,000 calls/s (4
connections x 250 calls/s, one stream each) for latency, idle and peak memory.
Every measurement starts each server fresh, pinned to CPU 0, driven by h2load
on CPU 1, servers alternated in the same order every round (A B C, A B C, ...).
Each server's answer is checked to end with grpc-status 0 (one nghttp call)
before its load, and h2load's failed and errored counts must be zero.

Reported, per shape: medians over the rounds of calls/s and p50/p99, and the
median over the rounds of each round's ratio to bare (and full's to floor),
since the machine's speed drifts between rounds more than between neighbours.
At the fixed rate, where the load is the same for every server, latencies are
read over every call of every round together (p50 to p99.9), and the p99
ratio to bare is the ratio of those.

usage: bench/run.py [--rounds 3] [--duration 10] [--servers off,defaults,bare]
                    [--shapes 8x16,50x20,1x100] [--quick] [--no-build] [--out FILE]
needs: h2load and nghttp (Debian nghttp2-client), taskset, python3 with
grpcio and grpcio-tools (bench/requirements.txt), 2+ CPUs.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ROOT = harness.ROOT
SERVER_CPU, LOAD_CPU = "0", "1"
SERVERS = ["off", "defaults", "full", "sampled", "floor", "floor-conn", "bare", "python"]
SERVICE_KINDS = {"off", "defaults", "full", "sampled"}
CEILING_KINDS = {"floor": "export_floor_server", "floor-conn": "export_floor_server", "bare": "bare_tonic_server"}
SHAPES = "8x16,50x20,1x100"
SAMPLED_RATIO = "0.1"
# Targets for the ratios within one run: (server, reference, shape or "fixed", bound).
TARGETS = [("full", "floor", "rps", 0.97), ("defaults", "bare", "rps", 0.95), ("off", "bare", "rps", 0.97),
           ("sampled", "bare", "rps", 0.92)]
P99_TARGET = ("defaults", 1.2)  # fixed-rate p99 at most this times bare's


def grpc_frame():
    """A ListUser request, length-prefixed as gRPC sends it: id=2, name="twtrubiks"."""
    name = b"twtrubiks"
    message = b"\x08\x02" + b"\x12" + bytes([len(name)]) + name
    return b"\x00" + struct.pack(">I", len(message)) + message


def server_config(kind, addr, port, sink_addr, ceiling_profile="ceiling"):
    """(command, environment, readiness check) of one server configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "RUST_LOG", "USER_SERVICE__"))}
    env["RUST_LOG"] = "warn"
    if kind in SERVICE_KINDS:
        cmd = [harness.binary("user-service"), "--addr", addr, "--log-format", "json"]
        # Not on the serving path: spares the health-drain wait at each of the many stops.
        env["USER_SERVICE__SHUTDOWN__GRACE_PERIOD"] = "0s"
        if kind == "off":
            env["OTEL_SDK_DISABLED"] = "true"
            env["USER_SERVICE__ADMIN__ENABLED"] = "false"
        else:
            env["USER_SERVICE__ADMIN__ADDR"] = f"127.0.0.1:{harness.free_port()}"
        if kind in ("full", "sampled"):
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{sink_addr}"
            # Named, not left to the defaults, so each stays what its name says.
            env["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio"
            env["OTEL_TRACES_SAMPLER_ARG"] = "1.0" if kind == "full" else SAMPLED_RATIO
        return cmd, env, "health"
    if kind in ("floor", "floor-conn"):
        # floor-conn: the same span with the four connection attributes
        # user-service's spans carry (the SDK's price of the promised span).
        extra = ["--connection-attributes"] if kind == "floor-conn" else []
        return ([harness.binary("export_floor_server", ceiling_profile), addr, f"http://{sink_addr}", *extra],
                env, "list_user")
    if kind == "bare":
        return [harness.binary("bare_tonic_server", ceiling_profile), addr], env, "list_user"
    if kind == "python":
        return [sys.executable, os.path.join(ROOT, "bench", "tutorial_server.py"), "--port", str(port),
                "--proto", os.path.join(ROOT, "proto", "user.proto")], env, "list_user"
    raise ValueError(kind)


def build(kinds, ceiling_profile, extra_examples=(), service=False):
    """The service and the tools in release; floor and bare in `ceiling_profile`."""
    harness.build(["ready_probe", "otlp_sink", *extra_examples],
                  service=service or bool(SERVICE_KINDS & set(kinds)))
    ceiling = [CEILING_KINDS[k] for k in kinds if k in CEILING_KINDS]
    if ceiling:
        harness.build(ceiling, service=False, profile=ceiling_profile)


def start(kind, sink_addr, ceiling_profile):
    port = harness.free_port()
    addr = f"127.0.0.1:{port}"
    cmd, env, check = server_config(kind, addr, port, sink_addr, ceiling_profile)
    server = harness.Probed(cmd, addr, check, env=env, cpus=SERVER_CPU, name=kind)
    server.kind = kind
    return server


def check_grpc_status(addr, data, path="/user.Users/ListUser", what=""):
    """One call through nghttp: the answer must end with grpc-status 0."""
    out = harness.run(["nghttp", "-v", "-d", data, "-H", "content-type: application/grpc",
                       "-H", "te: trailers", f"http://{addr}{path}"], timeout=30).stdout
    if not re.search(r"grpc-status: 0\b", out):
        raise SystemExit(f"{what or addr}: no grpc-status 0 in the answer:\n{out}")


def h2load(addr, data, duration, warmup, clients, streams, rps=None):
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        # h2load takes whole numbers with a unit, not fractions.
        cmd = ["h2load", "-D", f"{round(duration * 1000)}ms", "--warm-up-time", f"{round(warmup * 1000)}ms",
               "-c", str(clients), "-m", str(streams), "-d", data,
               "-H", "content-type: application/grpc", "-H", "te: trailers",
               "--log-file", log.name, f"http://{addr}/user.Users/ListUser"]
        if rps:
            cmd += ["--rps", str(rps)]
        out = harness.run(cmd, timeout=duration + warmup + 60, cpus=LOAD_CPU).stdout
        latencies = []
        with open(log.name) as lines:
            for line in lines:
                parts = line.split()
                if len(parts) == 3 and parts[1] == "200":
                    latencies.append(int(parts[2]))
    done = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
    rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    if not done or not rate:
        raise SystemExit(f"unexpected h2load output:\n{out}")
    failed = int(done.group(5)) + int(done.group(6))
    if int(done.group(4)) == 0:
        failed += 1  # nothing answered is a failure too
    latencies.sort()
    return {"rps": float(rate.group(1)), "p50": quantile(latencies, 0.50), "p99": quantile(latencies, 0.99),
            "failed": failed,
            "latencies_us": latencies, "command": "taskset -c " + LOAD_CPU + " " + " ".join(cmd)}


def quantile(latencies_us, q):
    """The q-quantile of sorted latencies in microseconds, in milliseconds."""
    if not latencies_us:
        return float("nan")
    return latencies_us[min(len(latencies_us) - 1, int(q * len(latencies_us)))] / 1000


def pooled(rows):
    """Every call of every round, sorted: a fixed-rate run's tail is read from
    all its calls, as a latency histogram would be, not as a median of the
    rounds' own p99s (at 1,000 calls/s a 5 s round's p99 is its 50th-slowest
    call, and one scheduling hiccup on the shared machine moves it)."""
    return sorted(latency for r in rows for latency in r["latencies_us"])


def parse_shapes(text):
    shapes = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        clients, streams = (int(n) for n in item.split("x"))
        shapes.append((clients, streams))
    return shapes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10, help="seconds per load run, after the warm-up")
    parser.add_argument("--warmup", type=float, default=1, help="h2load warm-up seconds per run")
    parser.add_argument("--shapes", default=SHAPES,
                        help="CONNECTIONSxSTREAMS at saturation, comma-separated ('' for the fixed rate alone)")
    parser.add_argument("--rate", type=int, default=1000, help="fixed rate, calls/s in total")
    parser.add_argument("--settle", type=float, default=1, help="seconds idle before the idle-memory reading")
    parser.add_argument("--quick", action="store_true",
                        help="1 round, 1 s runs, floor and bare from the release profile: checks the harness (CI)")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help="comma-separated subset, e.g. defaults,bare for more rounds of a close pair; "
                             "bare always runs (the ratios need it)")
    parser.add_argument("--ceiling-profile", help="Cargo profile of floor and bare (default ceiling; --quick: release)")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already built")
    parser.add_argument("--out", help="also write the markdown report here")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.warmup, args.settle = 1, 1, 0.3, 0.2
    args.ceiling_profile = args.ceiling_profile or ("release" if args.quick else "ceiling")
    chosen = set(args.servers.split(",")) | {"bare"}
    unknown = chosen - set(SERVERS)
    if unknown:
        raise SystemExit(f"unknown servers: {', '.join(sorted(unknown))} (known: {', '.join(SERVERS)})")
    kinds = [kind for kind in SERVERS if kind in chosen]
    shapes = parse_shapes(args.shapes)
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 CPUs: one for the server, one for the load")
    for tool in ("h2load", "nghttp", "taskset"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (apt-get install nghttp2-client util-linux)")
    if not args.no_build:
        build(kinds, args.ceiling_profile)

    workdir = tempfile.mkdtemp(prefix="bench_")
    data = os.path.join(workdir, "list_user.grpc")
    with open(data, "wb") as f:
        f.write(grpc_frame())
    sink = harness.start_sink(cpus=LOAD_CPU)
    saturated = {}  # (shape, kind) -> [result per round]
    fixed = {kind: [] for kind in kinds}
    commands = {}
    try:
        for round_no in range(args.rounds):
            for shape in shapes:
                for kind in kinds:
                    with start(kind, sink.addr, args.ceiling_profile) as server:
                        check_grpc_status(server.addr, data, what=kind)
                        r = h2load(server.addr, data, args.duration, args.warmup, *shape)
                        del r["latencies_us"]  # millions at saturation; the round's p50 and p99 are kept
                        r["peak_kib"] = harness.rss_kib(server.pid, "VmHWM")
                    saturated.setdefault((shape, kind), []).append(r)
                    commands.setdefault(shape, r["command"])
                    print(f"round {round_no + 1} {shape[0]:>2}x{shape[1]:<3} {kind:8} {r['rps']:9.0f} calls/s  "
                          f"p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms  failed {r['failed']}", flush=True)
            for kind in kinds:
                with start(kind, sink.addr, args.ceiling_profile) as server:
                    check_grpc_status(server.addr, data, what=kind)
                    time.sleep(args.settle)  # idle memory after start-up, not a readiness wait
                    idle = harness.rss_kib(server.pid)
                    r = h2load(server.addr, data, args.duration, args.warmup, 4, 1, rps=max(1, args.rate // 4))
                    r.update(idle_kib=idle, peak_kib=harness.rss_kib(server.pid, "VmHWM"), ready_ms=server.ready_ms)
                fixed[kind].append(r)
                commands.setdefault("fixed", r["command"])
                print(f"round {round_no + 1} fixed {args.rate}/s {kind:8} p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms  "
                      f"idle {idle / 1024:.1f} MB  ready {server.ready_ms:.1f} ms  failed {r['failed']}", flush=True)
    finally:
        sink.send_term()
        sink_out = sink.communicate(timeout=15)[0]
        harness.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)

    report = render(saturated, fixed, kinds, shapes, args, commands, harness.sink_spans(sink_out))
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    failed = sum(r["failed"] for rows in [*saturated.values(), *fixed.values()] for r in rows)
    if failed:
        raise SystemExit(f"{failed} calls failed during the benchmark")


def ratio(rows, reference, field="rps"):
    """Median over the rounds of each round's ratio, and its range."""
    per_round = [a[field] / b[field] for a, b in zip(rows, reference) if b[field]]
    return statistics.median(per_round), min(per_round), max(per_round)


def render(saturated, fixed, kinds, shapes, args, commands, spans):
    med = lambda rows, field: statistics.median(r[field] for r in rows)
    lines = [
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Linux {platform.release()}. Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.",
        f"Rounds: {args.rounds} (medians; ratios are medians of the per-round ratios, range in brackets), "
        f"{args.duration:g} s per load run after {args.warmup:g} s warm-up; server on CPU {SERVER_CPU}, "
        f"h2load and the OTLP receiver on CPU {LOAD_CPU}. user-service: release profile; floor and bare: "
        f"{args.ceiling_profile} profile. OTLP receiver got {spans if spans is not None else '?'} spans.",
    ]
    python = "python" in kinds
    for shape in shapes:
        bare = saturated[(shape, "bare")]
        lines += ["", f"{shape[0]} connections x {shape[1]} streams ({shape[0] * shape[1]} in flight), saturation:", "",
                  "| server | calls/s | × bare | " + ("× python | " if python else "") + "p50 ms | p99 ms |",
                  "|---|---|---|" + ("---|" if python else "") + "---|---|"]
        for kind in kinds:
            rows = saturated[(shape, kind)]
            r, low, high = ratio(rows, bare)
            times_python = f"{ratio(rows, saturated[(shape, 'python')])[0]:.1f} | " if python else ""
            lines.append(f"| {kind} | {med(rows, 'rps'):.0f} | {r:.3f} ({low:.3f}–{high:.3f}) | {times_python}"
                         f"{med(rows, 'p50'):.2f} | {med(rows, 'p99'):.2f} |")
        if "full" in kinds and "floor" in kinds:
            r, low, high = ratio(saturated[(shape, "full")], saturated[(shape, "floor")])
            lines += ["", f"full ÷ floor: {r:.3f} ({low:.3f}–{high:.3f})."]
        if "full" in kinds and "floor-conn" in kinds:
            r, low, high = ratio(saturated[(shape, "full")], saturated[(shape, "floor-conn")])
            lines += ["", f"full ÷ floor-conn: {r:.3f} ({low:.3f}–{high:.3f})."]
        lines += ["", "Targets: " + targets(
            {k: ratio(saturated[(shape, k)], saturated[(shape, ref)])[0]
             for k, ref, _, _ in TARGETS if k in kinds and ref in kinds})]
    every_call = {kind: pooled(fixed[kind]) for kind in kinds}
    bare_p99 = quantile(every_call["bare"], 0.99)
    lines += ["", f"Fixed rate {args.rate} calls/s (4 connections, one stream each), memory and start-up; "
                  "latencies over every call of every round, and the range of the rounds' own p99:", "",
              "| server | calls | p50 ms | p90 ms | p99 ms | p99.9 ms | p99 × bare | rounds' p99 ms "
              "| idle MB | peak MB (any shape) | ready ms |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for kind in kinds:
        rows = fixed[kind]
        calls = every_call[kind]
        peaks = [max([r["peak_kib"]] + [saturated[(s, kind)][i]["peak_kib"] for s in shapes])
                 for i, r in enumerate(rows)]
        q = lambda level: quantile(calls, level)
        lines.append(f"| {kind} | {len(calls)} | {q(0.5):.3f} | {q(0.9):.3f} | {q(0.99):.3f} | {q(0.999):.3f} | "
                     f"{q(0.99) / bare_p99:.2f} | {min(r['p99'] for r in rows):.2f}–{max(r['p99'] for r in rows):.2f} | "
                     f"{med(rows, 'idle_kib') / 1024:.1f} | {statistics.median(peaks) / 1024:.1f} | "
                     f"{med(rows, 'ready_ms'):.1f} |")
    kind, bound = P99_TARGET
    if kind in kinds:
        p99 = quantile(every_call[kind], 0.99) / bare_p99
        lines += ["", f"Target: {kind} fixed-rate p99 ≤ {bound} × bare: {p99:.2f} ({'met' if p99 <= bound else 'missed'})."]
    lines += ["", "Commands:", "", "```", "bench/run.py " + " ".join(sys.argv[1:]),
              *[commands[s] for s in shapes if s in commands], commands.get("fixed", ""), "```", ""]
    return "\n".join(lines)


def targets(ratios):
    out = []
    for kind, ref, _, bound in TARGETS:
        if kind in ratios:
            value = ratios[kind]
            out.append(f"{kind} ≥ {bound} × {ref}: {value:.3f} {'met' if value >= bound else 'missed'}")
    return "; ".join(out) + "." if out else "(none of the target pairs ran)."


if __name__ == "__main__":
    main()
