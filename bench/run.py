#!/usr/bin/env python3
"""Throughput, latency, memory and start-up of user-service, side by side with
a bare tonic server (the ceiling) and the Python tutorial's grpcio server.

Each round starts every server fresh, pinned to CPU 0, and drives it with
h2load pinned to CPU 1, in the same order every round (A B C D, A B C D, ...):
  full    user-service, release build, defaults, spans exported to a live OTLP
          receiver at 100 % sampling, Prometheus metrics on
  off     user-service with telemetry off (OTEL_SDK_DISABLED=true, no admin port)
  floor   examples/export_floor_server.rs: bare plus one OpenTelemetry SDK span per
          call exported to the same receiver (the floor for 100 % export)
  bare    examples/bare_tonic_server.rs: the same proto, no layers at all
  python  bench/tutorial_server.py: grpcio, ThreadPoolExecutor(max_workers=10)

Per server: calls/s and p50/p99 latency at saturation, p50/p99 at a fixed
modest rate, idle and peak resident memory, time from exec to answering
(health SERVING for user-service, a first ListUser for the others).
Reports medians over the rounds and the ratios to bare tonic and to Python.

usage: bench/run.py [--rounds 3] [--duration 10] [--servers off,bare] [--quick] [--out FILE]
needs: h2load and nghttp (Debian nghttp2-client), taskset, python3 with
grpcio and grpcio-tools (bench/requirements.txt), 2+ CPUs.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_CPU, LOAD_CPU = "0", "1"
SERVERS = ["full", "off", "floor", "bare", "python"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)


def grpc_frame():
    """A ListUser request, length-prefixed as gRPC sends it: id=2, name="twtrubiks"."""
    name = b"twtrubiks"
    message = b"\x08\x02" + b"\x12" + bytes([len(name)]) + name
    return b"\x00" + struct.pack(">I", len(message)) + message


def resident_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


class Server:
    def __init__(self, kind, sink_addr, tools):
        self.kind, self.port, self.pid = kind, free_port(), None
        self.addr = f"127.0.0.1:{self.port}"
        release = os.path.join(ROOT, "target", "release")
        env = dict(os.environ, RUST_LOG="warn")
        env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        if kind in ("full", "off"):
            cmd = [os.path.join(release, "user-service"), "--addr", self.addr, "--log-format", "json"]
            env["USER_SERVICE__ADMIN__ADDR"] = f"127.0.0.1:{free_port()}"
            if kind == "full":
                env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://{sink_addr}"
            else:
                env["OTEL_SDK_DISABLED"] = "true"
                env["USER_SERVICE__ADMIN__ENABLED"] = "false"
            check = "health"
        elif kind == "floor":
            cmd = [os.path.join(release, "examples", "export_floor_server"), self.addr, f"http://{sink_addr}"]
            check = "list_user"
        elif kind == "bare":
            cmd, check = [os.path.join(release, "examples", "bare_tonic_server"), self.addr], "list_user"
        else:
            cmd = [sys.executable, os.path.join(ROOT, "bench", "tutorial_server.py"),
                   "--port", str(self.port), "--proto", os.path.join(ROOT, "proto", "user.proto")]
            check = "list_user"
        probe = [os.path.join(release, "examples", "ready_probe"), self.addr, check,
                 "taskset", "-c", SERVER_CPU] + cmd
        out = run(probe, env=env).stdout
        fields = dict(item.split("=") for item in out.split())
        self.ready_ms = int(fields["ready_us"]) / 1000
        self.pid = int(fields["pid"])

    def stop(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.time() + 20
            while os.path.exists(f"/proc/{self.pid}") and time.time() < deadline:
                with open(f"/proc/{self.pid}/stat") as stat:
                    if stat.read().split(") ")[1].startswith("Z"):
                        break
                time.sleep(0.05)
        except (ProcessLookupError, FileNotFoundError):
            pass


def check_grpc_status(server, data):
    """One call through nghttp: the answer must end with grpc-status 0."""
    out = run(["nghttp", "-v", "-d", data, "-H", "content-type: application/grpc",
               "-H", "te: trailers", f"http://{server.addr}/user.Users/ListUser"]).stdout
    if not re.search(r"grpc-status: 0\b", out):
        raise SystemExit(f"{server.kind}: no grpc-status 0 in the answer:\n{out}")


def h2load(server, data, duration, clients, streams, rps=None):
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        cmd = ["taskset", "-c", LOAD_CPU, "h2load", "-D", str(duration), "--warm-up-time", "1",
               "-c", str(clients), "-m", str(streams), "-d", data,
               "-H", "content-type: application/grpc", "-H", "te: trailers",
               "--log-file", log.name, f"http://{server.addr}/user.Users/ListUser"]
        if rps:
            cmd[cmd.index("-m") + 1] = "1"
            cmd += ["--rps", str(rps)]
        out = run(cmd).stdout
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
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1000 if latencies else float("nan")
    return {"rps": float(rate.group(1)), "p50": pick(0.50), "p99": pick(0.99), "failed": failed,
            "command": " ".join(cmd)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--streams", type=int, default=16, help="concurrent streams per client")
    parser.add_argument("--rate", type=int, default=1000, help="fixed modest rate, calls/s in total")
    parser.add_argument("--quick", action="store_true", help="1 round, 2 s runs: checks the harness")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help="comma-separated subset to run, e.g. off,bare for more rounds of a "
                             "close pair; bare is always run (the ratios need it)")
    parser.add_argument("--out", help="also write the markdown report here")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration = 1, 2
    chosen = set(args.servers.split(",")) | {"bare"}
    unknown = chosen - set(SERVERS)
    if unknown:
        raise SystemExit(f"unknown servers: {', '.join(sorted(unknown))} (known: {', '.join(SERVERS)})")
    kinds = [kind for kind in SERVERS if kind in chosen]
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 CPUs: one for the server, one for the load")
    for tool in ("h2load", "nghttp", "taskset"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (apt-get install nghttp2-client util-linux)")

    run(["cargo", "build", "--release", "--locked", "--bin", "user-service",
         "--example", "bare_tonic_server", "--example", "export_floor_server", "--example", "ready_probe", "--example", "otlp_sink"], cwd=ROOT)
    release = os.path.join(ROOT, "target", "release")
    sink_addr = f"127.0.0.1:{free_port()}"
    sink = subprocess.Popen(["taskset", "-c", LOAD_CPU, os.path.join(release, "examples", "otlp_sink"), sink_addr],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)

    workdir = tempfile.mkdtemp(prefix="bench_")
    data = os.path.join(workdir, "list_user.grpc")
    with open(data, "wb") as f:
        f.write(grpc_frame())

    results = {kind: [] for kind in kinds}
    commands = {}
    try:
        for round_no in range(args.rounds):
            for kind in kinds:
                server = Server(kind, sink_addr, release)
                try:
                    check_grpc_status(server, data)
                    time.sleep(1)
                    idle = resident_kib(server.pid, "VmRSS")
                    saturated = h2load(server, data, args.duration, args.clients, args.streams)
                    per_client = max(1, args.rate // 4)
                    fixed = h2load(server, data, args.duration, 4, 1, rps=per_client)
                    peak = resident_kib(server.pid, "VmHWM")
                finally:
                    server.stop()
                commands.setdefault("saturation", saturated["command"])
                commands.setdefault("fixed", fixed["command"])
                results[kind].append({
                    "rps": saturated["rps"], "p50": saturated["p50"], "p99": saturated["p99"],
                    "fixed_p50": fixed["p50"], "fixed_p99": fixed["p99"],
                    "failed": saturated["failed"] + fixed["failed"],
                    "idle_mb": idle / 1024, "peak_mb": peak / 1024, "ready_ms": server.ready_ms,
                })
                print(f"round {round_no + 1} {kind:6} {saturated['rps']:9.0f} calls/s  "
                      f"p99 {saturated['p99']:.2f} ms  fixed p99 {fixed['fixed_p99'] if 'fixed_p99' in fixed else fixed['p99']:.2f} ms  "
                      f"idle {idle / 1024:.1f} MB  ready {server.ready_ms:.1f} ms", flush=True)
    finally:
        sink.send_signal(signal.SIGTERM)
        sink_out = sink.communicate(timeout=10)[0].strip()

    med = {kind: {key: statistics.median(r[key] for r in rows) for key in rows[0]}
           for kind, rows in results.items()}
    report = render(med, args, commands, sink_out)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)
    failed = sum(r["failed"] for rows in results.values() for r in rows)
    if failed:
        raise SystemExit(f"{failed} calls failed during the benchmark")


def render(med, args, commands, sink_out):
    bare, python = med["bare"], med.get("python")
    lines = [
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Linux {platform.release()}. Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.",
        f"Rounds: {args.rounds} (medians), {args.duration} s per load run; server on CPU {SERVER_CPU}, "
        f"h2load on CPU {LOAD_CPU}. OTLP receiver: {sink_out}.",
        "",
        "| server | calls/s | × bare | × python | p50 ms | p99 ms | fixed-rate p50 ms | fixed-rate p99 ms | p99 × bare | idle MB | peak MB | ready ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in med:
        m = med[kind]
        times_python = f"{m['rps'] / python['rps']:.1f}" if python else "–"
        lines.append(
            f"| {kind} | {m['rps']:.0f} | {m['rps'] / bare['rps']:.3f} | {times_python} | "
            f"{m['p50']:.2f} | {m['p99']:.2f} | {m['fixed_p50']:.2f} | {m['fixed_p99']:.2f} | "
            f"{m['fixed_p99'] / bare['fixed_p99']:.2f} | {m['idle_mb']:.1f} | {m['peak_mb']:.1f} | {m['ready_ms']:.1f} |")
    lines += ["", "Commands:", "", "```", "bench/run.py " + " ".join(sys.argv[1:]),
              commands.get("saturation", ""), commands.get("fixed", ""), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
