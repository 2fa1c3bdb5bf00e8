"""Runs the real user-service binary for the grpcio interop tests."""
import importlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("USER_SERVICE_BIN", str(ROOT / "target" / "release" / "user-service"))
BOUND = 15  # seconds any single wait may take before it counts as a hang


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A user-service process on a free loopback port, ready (health SERVING),
    with its SQLite store in a fresh temporary directory (never ./data)."""

    def __init__(self, grace_period="200ms", extra_env=None):
        port = free_port()
        self.target = f"127.0.0.1:{port}"
        self.store = tempfile.TemporaryDirectory(prefix="user-service-store-")
        env = dict(os.environ)
        for inherited in ("USER_SERVICE_CONFIG", "OTEL_EXPORTER_OTLP_ENDPOINT", "RUST_LOG"):
            env.pop(inherited, None)
        env.update({
            "USER_SERVICE__SERVER__ADDR": self.target,
            "USER_SERVICE__ADMIN__ADDR": "127.0.0.1:0",
            "USER_SERVICE__LOG__FORMAT": "json",
            "USER_SERVICE__SHUTDOWN__GRACE_PERIOD": grace_period,
            "USER_SERVICE__STORE__URL": f"sqlite://{self.store.name}/users.db",
        })
        env.update(extra_env or {})
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen([BINARY], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_until_serving()

    def logs(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def wait_until_serving(self):
        deadline = time.monotonic() + BOUND
        with grpc.insecure_channel(self.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"user-service exited with {self.process.returncode}:\n{self.logs()}")
                try:
                    # wait_for_ready: the call waits for the connection, not a fixed sleep.
                    # The directory's name: SERVING once the store answers too.
                    request = health_pb2.HealthCheckRequest(service="user.v1.UserService")
                    answer = health.Check(request, timeout=1, wait_for_ready=True)
                    if answer.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
        pytest.fail(f"user-service not SERVING within {BOUND}s:\n{self.logs()}")

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)

    def exit_code(self):
        try:
            return self.process.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"user-service did not exit within {BOUND}s:\n{self.logs()}")

    def stop(self):
        if self.process.poll() is None:
            self.terminate()
        code = self.exit_code()
        self.store.cleanup()
        return code


@pytest.fixture(scope="session")
def server():
    running = Server()
    yield running
    code = running.stop()
    assert code == 0, f"exit code {code} after SIGTERM:\n{running.logs()}"


@pytest.fixture
def channel(server):
    with grpc.insecure_channel(server.target) as opened:
        yield opened


@pytest.fixture(scope="session")
def user_stubs():
    """user_pb2 and user_pb2_grpc generated from the repository's proto."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="user_stubs_")
    proto = ROOT / "proto" / "user.proto"
    args = ["protoc", f"-I{proto.parent}", f"--python_out={out}", f"--grpc_python_out={out}", str(proto)]
    assert protoc.main(args) == 0
    sys.path.insert(0, out)
    return importlib.import_module("user_pb2"), importlib.import_module("user_pb2_grpc")


@pytest.fixture(scope="session")
def directory_stubs():
    """user_service_pb2 and user_service_pb2_grpc (user.v1), from the repository's proto."""
    import directory_stubs as stubs

    return stubs.load()
