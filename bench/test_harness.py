#!/usr/bin/env python3
"""No child outlives the harness (bench/harness.py), however the harness ends.

For each of SIGTERM, SIGINT and SIGKILL: starts a driver (this file with
--driver) that uses the harness the way the benchmarks and the reliability
scenarios do: the OTLP sink, user-service with its admin port and
bare_tonic_server through ready_probe (bench/run.py's start path), a second
user-service through reliability/procs.py (grpcio loaded, health waited for),
a throwaway PostgreSQL run as nobody when root (reliability/pgserver.py,
when its binaries are installed), and h2load sending bounded live traffic.
Once everything is up the driver prints its children's pids and ports and
waits; the test sends it the signal and then asserts, within a few seconds,
that no process carrying the run's marker in its environment is left (every
child and grandchild inherits it) and that none of the ports still listens.

usage: bench/test_harness.py        (about 10 s; needs the release build of
user-service and the otlp_sink, bare_tonic_server and ready_probe examples,
h2load, and grpcio from bench/requirements.txt)
"""
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

MARKER = "USER_SERVICE_HARNESS_TEST"
DATA = "USER_SERVICE_HARNESS_TEST_DATA"  # the request file h2load sends
DRIVER_BOUND = 60  # seconds the driver waits for its signal before giving up by itself


def driver():
    # Python's own Ctrl-C handling even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import run  # bench/run.py, before reliability/ (which has a run.py too) is on the path
    sys.path.append(os.path.join(harness.ROOT, "reliability"))
    import pgserver
    import procs

    sink = harness.start_sink()
    bare = run.start("bare", sink.addr, "release")
    service = run.start("defaults", sink.addr, "release")
    scenario = procs.Service("harness-test", otlp=sink.addr)
    scenario.wait_serving()
    ports = [sink.port, int(bare.addr.rsplit(":", 1)[1]), int(service.addr.rsplit(":", 1)[1]),
             scenario.port, int(scenario.admin_addr.rsplit(":", 1)[1])]
    pids = [sink.pid, bare.probe.pid, bare.pid, service.probe.pid, service.pid, scenario.pid]
    if pgserver.binaries():
        database = pgserver.PgServer("harness-test")
        ports.append(database.port)
        pids.append(database.popen.pid)
    load = harness.spawn(["h2load", "-D", "30s", "-c", "2", "-m", "2", "--rps", "50", "-d", os.environ[DATA],
                          "-H", "content-type: application/grpc", "-H", "te: trailers",
                          f"http://{bare.addr}/user.Users/ListUser"], name="h2load")
    pids.append(load.pid)
    print(json.dumps({"pids": pids, "ports": ports}), flush=True)
    time.sleep(DRIVER_BOUND)


def marked(token):
    """Live (not zombie) processes whose environment carries `token`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if f"{MARKER}={token}".encode() not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(") ", 1)[1].split()[0]
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if state != "Z":
            found.append(f"{entry} {cmdline}")
    return found


def listening(ports):
    """The ports among `ports` that some socket listens on (any address, IPv4 or IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    port = int(fields[1].rsplit(":", 1)[1], 16)
                    if fields[3] == "0A" and port in ports:
                        found.add(port)
        except OSError:
            continue
    return sorted(found)


def one(sig, data):
    token = uuid.uuid4().hex
    env = dict(os.environ, **{MARKER: token, DATA: data})
    started = time.monotonic()
    driver_proc = harness.spawn([sys.executable, os.path.abspath(__file__), "--driver"], name="driver",
                                env=env, stdout=subprocess.PIPE, text=True)
    readable, _, _ = select.select([driver_proc.popen.stdout], [], [], 45)
    line = driver_proc.popen.stdout.readline() if readable else ""
    if not line.startswith("{"):
        driver_proc.kill()
        return [f"the driver did not start its children (got {line!r})"]
    started_children = json.loads(line)
    up = marked(token)
    problems = []
    if len(up) < len(started_children["pids"]):
        problems.append(f"only {len(up)} marked processes before the signal: {up}")
    os.kill(driver_proc.pid, sig)
    try:
        code = driver_proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        driver_proc.kill()
        return problems + [f"the driver did not exit within 30 s of {sig.name}"]
    if sig == signal.SIGTERM and code != 143:
        problems.append(f"SIGTERM: the driver exited with {code}, not 143")
    deadline = time.monotonic() + 5  # the kernel's SIGKILLs land at once; reaping may take a moment
    while True:
        left, ports = marked(token), listening(started_children["ports"])
        if not left and not ports or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if left:
        problems.append(f"processes left after {sig.name}: {left}")
    if ports:
        problems.append(f"ports still listening after {sig.name}: {ports}")
    driver_proc.kill()  # only now (it was reaped already): releases its pipe, unregisters it
    print(f"{sig.name}: {len(started_children['pids'])} children, {len(started_children['ports'])} ports, "
          f"driver exit {code}, {'clean' if not problems else 'NOT clean'} "
          f"({time.monotonic() - started:.1f} s)", flush=True)
    return problems


def main():
    if "--driver" in sys.argv:
        try:
            driver()
        except KeyboardInterrupt:
            sys.exit(130)  # after the harness's cleanup, as on Ctrl-C
        return
    for binary in ("user-service", "otlp_sink", "bare_tonic_server", "ready_probe"):
        if not os.access(harness.binary(binary), os.X_OK):
            sys.exit(f"{harness.binary(binary)} is missing: cargo build --release --bin user-service "
                     "--example otlp_sink --example bare_tonic_server --example ready_probe")
    import run
    problems = []
    with tempfile.TemporaryDirectory(prefix="harness_test_") as workdir:
        data = os.path.join(workdir, "list_user.grpc")
        with open(data, "wb") as f:
            f.write(run.grpc_frame())
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
            problems += one(sig, data)
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("harness: no child process and no listening port outlived the harness")


if __name__ == "__main__":
    main()
