"""Processes under test: the release user-service and the otlp_sink collector.

Every scenario starts real processes on 127.0.0.1 and must leave none behind,
whatever happens. Starting, ports, memory readings, readiness waits and the
cleanup come from the shared harness module (bench/harness.py): each child
gets SIGKILL from the kernel if this Python process dies first (parent-death
signal), leads its own process group, and is recorded in a registry emptied
at exit, after an exception, on Ctrl-C and on SIGTERM; scenarios also call
`stop_all()` in `finally`. Processes are only started from the main thread.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Appended, not prepended: bench/ has modules named like this directory's own (postgres, run).
sys.path.append(os.path.join(ROOT, "bench"))
import harness  # noqa: E402
from harness import free_port, rss_kib, stop_all  # noqa: E402,F401  (the scenarios use them from here)

RELEASE = harness.RELEASE
SERVICE_BIN = os.environ.get("USER_SERVICE_BIN", harness.binary("user-service"))
SINK_BIN = os.environ.get("OTLP_SINK_BIN", harness.binary("otlp_sink"))
OUT_DIR = os.path.join(ROOT, "target", "reliability")
LOG_DIR = os.path.join(OUT_DIR, "logs")

_started = 0


class Proc(harness.Child):
    """One child process with its output in a log file under target/reliability/logs."""

    def __init__(self, name, cmd, env):
        global _started
        _started += 1
        os.makedirs(LOG_DIR, exist_ok=True)
        self.log_path = os.path.join(LOG_DIR, f"{os.getpid()}-{_started:02d}-{name}.log")
        self._log = open(self.log_path, "wb")
        super().__init__(cmd, name=name, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def rss_kib(self, field="VmRSS"):
        return rss_kib(self.pid, field)

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _forget(self):
        super()._forget()
        self._log.close()


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
        def serving():
            try:
                answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
                return answer.status == health_pb2.HealthCheckResponse.SERVING
            except grpc.RpcError:
                return False
        with grpc.insecure_channel(self.addr) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                harness.wait_until(serving, timeout, f"{service} SERVING", self, every=0.05)
            except harness.HarnessError as error:
                raise RuntimeError(f"{self.name}: {error}:\n{self.output()[-2000:]}")

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
        try:
            harness.wait_port(self.port, 10, self)
        except harness.HarnessError as error:
            raise RuntimeError(f"{error}: {self.output()[-2000:]}")

    def stop(self, timeout=15):
        """SIGTERM; returns the number of spans it received (it prints it on exit)."""
        super().stop(timeout=timeout)
        return harness.sink_spans(self.output())


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
