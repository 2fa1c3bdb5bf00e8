"""Shared helpers for the deployment tests: tool paths, the Docker gate, rendering."""
import os
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.path.dirname(sys.executable)
# The image the Dockerfile tests build; compose builds its own (user-service:local).
TEST_IMAGE = "user-service:deploy-test"


def tool(name):
    """A command from this venv first (kubectl, hadolint, ...), else from PATH."""
    candidate = os.path.join(BIN_DIR, name)
    if os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed; run tests/deploy/run.sh")
    return found


def run(args, timeout=600, check=True, **kwargs):
    """Runs a command from the project root; on failure the message shows its output."""
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def user_v1():
    """(user_service_pb2, user_service_pb2_grpc) for user.v1, from tests/interop."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))
    try:
        import directory_stubs
    finally:
        sys.path.pop(0)
    return directory_stubs.load()


def docker_answers():
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def docker():
    """Skips Docker tests where no engine answers, unless DEPLOY_REQUIRE_DOCKER=1 (CI)."""
    if not docker_answers():
        if os.environ.get("DEPLOY_REQUIRE_DOCKER") == "1":
            pytest.fail("DEPLOY_REQUIRE_DOCKER=1 but no Docker Engine answers `docker info`")
        pytest.skip("no Docker Engine answers `docker info`")
    return "docker"


def render(kustomize_dir):
    """`kubectl kustomize DIR` as a list of objects."""
    out = run([tool("kubectl"), "kustomize", kustomize_dir]).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def render_text(kustomize_dir):
    return run([tool("kubectl"), "kustomize", kustomize_dir]).stdout


def overlay(directory, components):
    """Writes an overlay of deploy/k8s with `components` switched on into `directory`."""
    k8s = os.path.join(ROOT, "deploy", "k8s")
    lines = [f"  - {os.path.relpath(os.path.join(k8s, 'components', c), directory)}\n" for c in components]
    (directory / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        f"resources: [{os.path.relpath(k8s, directory)}]\n"
        "components:\n" + "".join(lines)
    )
    return str(directory)


@pytest.fixture(scope="session")
def with_components(tmp_path_factory):
    """An overlay of deploy/k8s with the components that fit the SQLite base."""
    return overlay(tmp_path_factory.mktemp("overlay"), ["otlp", "network-policy"])


@pytest.fixture(scope="session")
def scale_out(tmp_path_factory):
    """An overlay with every component, scale-out (for a shared store) included."""
    return overlay(tmp_path_factory.mktemp("scale-out"), ["otlp", "network-policy", "scale-out"])


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """An overlay on PostgreSQL (scale-out comes with it) and the development
    database beside it, with the other components."""
    return overlay(tmp_path_factory.mktemp("postgres"),
                   ["otlp", "network-policy", "postgres", "postgres-dev"])
