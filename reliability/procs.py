"""Processes under test: the release user-service and the otlp_sink collector.

Every scenario starts real processes on 127.0.0.1 and must leave none behind,
whatever happens: each process is recorded in a registry that `stop_all()`
empties (scenarios call it in `finally`, and it is registered with atexit), and
each child also gets SIGKILL from the kernel if this Python process dies first
(PR_SET_PDEATHSIG through setpriv), so an interrupted CI job does not leak
servers that keep ports busy.
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
SERVICE_BIN = os.environ.get("USER_SERVICE_BIN", os.path.join(RELEASE, "user-service"))
SINK_BIN = os.environ.get("OTLP_SINK_BIN", os.path.join(RELEASE, "examples", "otlp_sink"))
OUT_DIR = os.path.join(ROOT, "target", "reliability")
LOG_DIR = os.path.join(OUT_DIR, "logs")

_running = []
_started = 0


def free_port():
    """A port nothing listens on right now (the kernel's choice, so parallel runs do not collide)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent(cmd):
    """`cmd` wrapped so the kernel SIGKILLs it when this process dies
    (PR_SET_PDEATHSIG via util-linux setpriv, which then execs `cmd`: same pid).

    Not a preexec_fn: forking a process that runs grpcio's threads and then
    running Python in the child trips grpcio's fork handlers (the child
    aborts). The signal follows the *thread* that started the child, so
    processes are only ever started from the main thread."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] + cmd if setpriv else cmd


def rss_kib(pid, field="VmRSS"):
    """Resident memory of a live process in KiB, from /proc (VmRSS now, VmHWM peak)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


class Proc:
    """One child process with its output in a log file under target/reliability/logs."""

    def __init__(self, name, cmd, env):
        global _started
        _started += 1
        os.makedirs(LOG_DIR, exist_ok=True)
        self.name = name
        self.log_path = os.path.join(LOG_DIR, f"{os.getpid()}-{_started:02d}-{name}.log")
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(_die_with_parent(cmd), env=env, stdout=self._log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.pid = self.popen.pid
        _running.append(self)

    def alive(self):
        return self.popen.poll() is None

    def rss_kib(self, field="VmRSS"):
        return rss_kib(self.pid, field)

    def send_term(self):
        """One SIGTERM only: a second one means "exit at once" to the service."""
        if self.alive() and not getattr(self, "_term_sent", False):
            self._term_sent = True
            self.popen.send_signal(signal.SIGTERM)

    def terminate(self, timeout=30):
        """SIGTERM, then wait for the exit code (SIGKILL after `timeout` s: returns None)."""
        self.send_term()
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        self._forget()
        return code

    def kill(self):
        if self.alive():
            self.popen.kill()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._forget()

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _forget(self):
        if self in _running:
            _running.remove(self)
        self._log.close()


def stop_all():
    """Kill whatever is still running (scenarios call this in `finally`)."""
    for proc in list(_running):
        proc.kill()


atexit.register(stop_all)


def _exit_on_sigterm(signum, _frame):
    raise SystemExit(128 + signum)


# A SIGTERM to the harness (CI timeout) unwinds through every `finally`.
signal.signal(signal.SIGTERM, _exit_on_sigterm)


_stubs = None


def stubs():
    """(user_pb2, user_pb2_grpc, health_pb2, health_pb2_grpc), generated from
    proto/user.proto into a temporary directory at first use: generated code is
    never committed, so it cannot drift from the proto."""
    global _stubs
    if _stubs is None:
        from grpc_tools import protoc
        out = tempfile.mkdtemp(prefix="reliability-stubs-")
        atexit.register(shutil.rmtree, out, True)
        proto_dir = os.path.join(ROOT, "proto")
        args = ["protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}",
                os.path.join(proto_dir, "user.proto")]
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed on proto/user.proto")
        sys.path.insert(0, out)
        import user_pb2
        import user_pb2_grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc
        _stubs = (user_pb2, user_pb2_grpc, health_pb2, health_pb2_grpc)
    return _stubs


def _store_dir(name):
    """A fresh directory for one service's SQLite store, under the output directory."""
    os.makedirs(OUT_DIR, exist_ok=True)
    return tempfile.mkdtemp(prefix=f"store-{name}-", dir=OUT_DIR)


class Service(Proc):
    """The release user-service on 127.0.0.1:`port` (a free one unless given:
    a restart reuses its port), admin endpoint on its own free port.

    `otlp` is a collector address (host:port) for traces and metrics at 100 %
    sampling, or None for no export at all."""

    def __init__(self, name, port=None, otlp=None, grace="2s", drain="5s", extra_env=None):
        self.port = port or free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.admin_addr = f"127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "USER_SERVICE"))}
        env.update({
            "RUST_LOG": "info",
            "USER_SERVICE__ADMIN__ADDR": self.admin_addr,
            "USER_SERVICE__SHUTDOWN__GRACE_PERIOD": grace,
            "USER_SERVICE__SHUTDOWN__DRAIN_TIMEOUT": drain,
            # A store of its own, beside the logs, never in the working directory.
            "USER_SERVICE__STORE__URL": "sqlite://" + os.path.join(_store_dir(name), "users.db"),
        })
        if otlp:
            env.update({
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{otlp}",
                "OTEL_TRACES_SAMPLER": "always_on",
                # Metrics pushed every 5 s, so they meet the outage too.
                "OTEL_METRIC_EXPORT_INTERVAL": "5000",
            })
        env.update(extra_env or {})
        super().__init__(name, [SERVICE_BIN, "--addr", self.addr, "--log-format", "json"], env)

    def wait_serving(self, timeout=20, service="user.Users"):
        """Block until Health/Check says SERVING; fail early if the process exits."""
        import grpc
        _, _, health_pb2, health_pb2_grpc = stubs()
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.addr) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if not self.alive():
                    raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.output()[-2000:]}")
                try:
                    answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
                    if answer.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} not SERVING within {timeout} s")

    def metrics(self):
        with urllib.request.urlopen(f"http://{self.admin_addr}/metrics", timeout=2) as answer:
            return answer.read().decode()

    def handled_calls(self, method="ListUser"):
        """Calls to `method` this process has answered, any code (its own Prometheus counter)."""
        total = 0
        for line in self.metrics().splitlines():
            if line.startswith("grpc_server_handled_total{") and f'grpc_method="{method}"' in line:
                total += int(float(line.rsplit(" ", 1)[1]))
        return total


class Sink(Proc):
    """examples/otlp_sink on `port` (a restart reuses it); `delay_ms` makes every export slow."""

    def __init__(self, name, port=None, delay_ms=0):
        self.port = port or free_port()
        self.addr = f"127.0.0.1:{self.port}"
        env = dict(os.environ, OTLP_SINK_DELAY_MS=str(delay_ms))
        super().__init__(name, [SINK_BIN, self.addr], env)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{name} exited: {self.output()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{name} does not listen on {self.addr}")

    def stop(self):
        """SIGTERM; returns the number of spans it received (it prints it on exit)."""
        self.terminate(timeout=15)
        found = re.findall(r"spans_received (\d+)", self.output())
        return int(found[-1]) if found else None


class RssSampler:
    """Samples a process's VmRSS every `every` s in a thread, bounded by `max_seconds`."""

    def __init__(self, proc, every=1.0, max_seconds=3600):
        self.proc, self.every, self.max_seconds = proc, every, max_seconds
        self.samples = []  # (seconds since start, KiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.t0 = time.monotonic()
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set() and time.monotonic() - self.t0 < self.max_seconds:
            try:
                self.samples.append((time.monotonic() - self.t0, self.proc.rss_kib()))
            except (OSError, RuntimeError):
                return
            self._stop.wait(self.every)

    def now(self):
        return time.monotonic() - self.t0

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        return self.samples
