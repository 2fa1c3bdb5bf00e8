"""The Dockerfile: builds with the engine here (offline, from the local base
images), stays small, runs as 65532 on a read-only root filesystem, keeps its
users on the store volume (across restarts), reports healthy, answers the
tutorial client and stops cleanly on SIGTERM."""
import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from conftest import ROOT, TEST_IMAGE, run, user_v1

MAX_IMAGE_BYTES = 40_000_000
STORE_DIR = "/var/lib/user-service"
TUTORIAL_CLIENT = os.path.join(ROOT, "tests", "interop", "tutorial_client.py")
# What the tutorial client prints for id 2 (protobuf text format, then print()).
TWO_ENTRIES = 'details {\n  id: 2\n  value: "twtrubiks"\n}\ndetails {\n  id: 2\n  value: "twtrubiks"\n}\n\n'


@pytest.fixture(scope="module")
def image(docker):
    run(["docker", "build", "--build-arg", "REVISION=deploy-test", "-t", TEST_IMAGE, "."], timeout=1800)
    return json.loads(run(["docker", "image", "inspect", TEST_IMAGE]).stdout)[0]


def wait_healthy(container, bound=90):
    deadline = time.monotonic() + bound
    status = None
    while time.monotonic() < deadline:
        state = json.loads(run(["docker", "inspect", container]).stdout)[0]["State"]
        status = state.get("Health", {}).get("Status")
        if status == "healthy":
            return
        assert state["Running"], f"container exited: {state}"
        time.sleep(0.5)
    pytest.fail(f"not healthy within {bound}s (last: {status})\n{run(['docker', 'logs', container]).stderr}")


@pytest.fixture
def container(image):
    """The image started as production runs it: read-only, no capabilities."""
    name = f"user-service-test-{uuid.uuid4().hex[:8]}"
    run(["docker", "run", "-d", "--name", name, "--read-only", "--cap-drop", "ALL",
         "--security-opt", "no-new-privileges", "-p", "127.0.0.1::50051", TEST_IMAGE])
    try:
        yield name
    finally:
        # -v: also the anonymous volume the image's VOLUME gave it.
        run(["docker", "rm", "-f", "-v", name], check=False)


def published_port(container):
    out = run(["docker", "port", container, "50051/tcp"]).stdout.split()[0]
    return int(out.rsplit(":", 1)[1])


def test_image_is_small(image):
    assert image["Size"] < MAX_IMAGE_BYTES, f"{image['Size'] / 1e6:.1f} MB"


def create_user(pb2, stub):
    user = pb2.User(email=f"{uuid.uuid4().hex[:8]}@example.com", display_name="in the image")
    return stub.CreateUser(pb2.CreateUserRequest(user=user), timeout=10)


def get_user(target, name, bound=30):
    """GetUser on a container that may still be starting, within `bound` seconds."""
    import grpc

    pb2, pb2_grpc = user_v1()
    with grpc.insecure_channel(target) as channel:
        return pb2_grpc.UserServiceStub(channel).GetUser(pb2.GetUserRequest(name=name), timeout=bound,
                                                          wait_for_ready=True)


def test_image_metadata(image):
    config = image["Config"]
    assert config["User"] == "65532:65532"
    assert set(config["Volumes"]) == {STORE_DIR}
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["USER_SERVICE__STORE__URL"] == f"sqlite://{STORE_DIR}/users.db"
    assert set(config["ExposedPorts"]) == {"50051/tcp", "9464/tcp"}
    assert config["Healthcheck"]["Test"] == ["CMD", "/usr/local/bin/user-service", "healthcheck"]
    assert config["StopSignal"] == "SIGTERM"
    labels = config["Labels"]
    for key in ("title", "description", "version", "revision", "licenses"):
        assert labels.get(f"org.opencontainers.image.{key}"), key
    assert labels["org.opencontainers.image.revision"] == "deploy-test"


def test_read_only_container_is_healthy_answers_and_stops_cleanly(container):
    wait_healthy(container)
    port = published_port(container)
    answer = subprocess.run([sys.executable, TUTORIAL_CLIENT, "--target", f"127.0.0.1:{port}"],
                            capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout == TWO_ENTRIES
    for service in ("user.Users", "user.v1.UserService"):
        probe = run(["docker", "exec", container, "/usr/local/bin/user-service", "healthcheck", "--service", service])
        assert "SERVING" in probe.stdout, service

    # The directory writes users with the root filesystem read-only: they go to
    # the store volume, and nothing was written anywhere else.
    import grpc

    pb2, pb2_grpc = user_v1()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb2_grpc.UserServiceStub(channel)
        created = create_user(pb2, stub)
        assert stub.GetUser(pb2.GetUserRequest(name=created.name), timeout=10) == created
    inspected = json.loads(run(["docker", "inspect", container]).stdout)[0]
    assert inspected["HostConfig"]["ReadonlyRootfs"] is True
    assert [m["Type"] for m in inspected["Mounts"] if m["Destination"] == STORE_DIR] == ["volume"]
    assert run(["docker", "diff", container]).stdout.strip() == ""
    started = time.monotonic()
    run(["docker", "stop", "--time", "30", container])
    took = time.monotonic() - started
    state = json.loads(run(["docker", "inspect", container]).stdout)[0]["State"]
    assert state["ExitCode"] == 0
    assert took < 20, f"stop took {took:.1f}s"
    logs = run(["docker", "logs", container])
    messages = [json.loads(line).get("message", "") for line in logs.stdout.splitlines() if line.startswith("{")]
    assert any(m.startswith("shutdown.complete") for m in messages), logs.stdout


def test_users_survive_a_restart_of_the_container(container):
    import grpc

    wait_healthy(container)
    pb2, pb2_grpc = user_v1()
    with grpc.insecure_channel(f"127.0.0.1:{published_port(container)}") as channel:
        created = create_user(pb2, pb2_grpc.UserServiceStub(channel))
    run(["docker", "restart", "--time", "30", container], timeout=120)
    # The published port may change on restart; the volume stays.
    assert get_user(f"127.0.0.1:{published_port(container)}", created.name) == created


def test_a_bad_setting_stops_the_container_with_exit_78(image):
    result = run(["docker", "run", "--rm", "-e", "USER_SERVICE__SHUTDOWN__GRACE_PERIOD=abc", TEST_IMAGE],
                 check=False, timeout=60)
    assert result.returncode == 78, result.stdout + result.stderr
    assert "shutdown.grace_period" in result.stderr
