"""deploy/k8s: renders with kustomize, validates strictly against the Kubernetes
schemas, and holds the properties the service's shutdown and probes rely on."""
import json
import os
import re
import tomllib

import pytest

from conftest import ROOT, render, render_text, run, tool

BASE = os.path.join(ROOT, "deploy", "k8s")
# Oldest supported (native sleep preStop, gRPC probes GA) and the newest schemas shipped.
KUBERNETES_VERSIONS = ["1.31.0", "1.37.0"]


@pytest.fixture(scope="module")
def objects():
    return render(BASE)


def one(objects, kind):
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def config_map(objects, prefix):
    """The ConfigMap whose (hash-suffixed) name starts with `prefix`."""
    (found,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith(prefix + "-")]
    return found


def container(objects):
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    (only,) = pod["containers"]
    return pod, only


def seconds(text):
    """A human duration from the config file ("5s", "1m 30s", "250ms") in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)", text)
    assert parts and "".join(f"{n}{u}" for n, u in parts) == text.replace(" ", ""), text
    return sum(float(n) * units[u] for n, u in parts)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("variant", ["base", "with-components", "scale-out", "postgres"])
def test_rendered_objects_validate_strictly(tmp_path, version, variant, with_components, scale_out, postgres):
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(render_text({"base": BASE, "with-components": with_components, "scale-out": scale_out,
                                  "postgres": postgres}[variant]))
    result = run([tool("kubernetes-validate"), "--strict", "--kubernetes-version", version, str(rendered)],
                 check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout and "fail" not in result.stdout.lower(), result.stdout


def test_strict_validation_rejects_an_unknown_field(tmp_path):
    """The validator really checks: a misspelt field fails."""
    broken = render_text(BASE).replace("terminationGracePeriodSeconds", "terminationGracePeriod", 1)
    rendered = tmp_path / "broken.yaml"
    rendered.write_text(broken)
    result = run([tool("kubernetes-validate"), "--strict", "--kubernetes-version", "1.31.0", str(rendered)],
                 check=False)
    assert result.returncode != 0


def test_every_kind_is_there(objects):
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(["Namespace", "ServiceAccount", "ConfigMap", "ConfigMap", "Service", "Deployment",
                            "PersistentVolumeClaim"])


def test_grpc_probes(objects):
    _, c = container(objects)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["grpc"]["port"] == 50051, probe
    # Readiness follows the store (user.v1.UserService); liveness and startup ask
    # for the process as a whole: a store outage must not restart the pod.
    assert c["readinessProbe"]["grpc"]["service"] == "user.v1.UserService"
    assert "service" not in c["livenessProbe"]["grpc"]
    assert "service" not in c["startupProbe"]["grpc"]
    startup_window = c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"]
    assert startup_window >= 10


def test_security_context(objects):
    pod, c = container(objects)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 65532
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"]
    assert sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    assert one(objects, "ServiceAccount")["automountServiceAccountToken"] is False


def test_termination_grace_outlasts_prestop_grace_and_drain(objects):
    pod, c = container(objects)
    config = tomllib.loads(next(iter(config_map(objects, "user-service-config")["data"].values())))
    env = {e["name"]: e.get("value") for e in c["env"]}
    grace = seconds(env.get("USER_SERVICE__SHUTDOWN__GRACE_PERIOD") or config["shutdown"]["grace_period"])
    drain = seconds(env.get("USER_SERVICE__SHUTDOWN__DRAIN_TIMEOUT") or config["shutdown"]["drain_timeout"])
    pre_stop = c["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop >= 1
    assert pod["terminationGracePeriodSeconds"] > pre_stop + grace + drain, (
        pod["terminationGracePeriodSeconds"], pre_stop, grace, drain)


def test_config_file_is_the_documented_one(objects):
    pod, c = container(objects)
    cm = config_map(objects, "user-service-config")
    with open(os.path.join(ROOT, "deploy", "config", "user-service.toml"), encoding="utf-8") as f:
        assert cm["data"] == {"user-service.toml": f.read()}
    volume = next(v for v in pod["volumes"] if v.get("configMap"))
    assert volume["configMap"]["name"] == cm["metadata"]["name"]  # hash-suffixed: rollouts on change
    mount = next(m for m in c["volumeMounts"] if m["name"] == volume["name"])
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["USER_SERVICE_CONFIG"] == mount["mountPath"] + "/user-service.toml"
    assert mount["readOnly"] is True


def test_otel_resource_attributes_name_the_pod(objects):
    _, c = container(objects)
    env = {e["name"]: e for e in c["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    attributes = env["OTEL_RESOURCE_ATTRIBUTES"]["value"]
    assert "k8s.pod.name=$(POD_NAME)" in attributes
    assert "k8s.namespace.name=$(POD_NAMESPACE)" in attributes
    # Kubernetes expands $(VAR) only for variables defined earlier in the list.
    names = [e["name"] for e in c["env"]]
    assert names.index("POD_NAME") < names.index("OTEL_RESOURCE_ATTRIBUTES")
    assert env["OTEL_SERVICE_NAME"]["value"] == "user-service"


def test_deployment_shape(objects):
    deployment = one(objects, "Deployment")
    pod, c = container(objects)
    # One SQLite file, one process: one replica, and the old pod is gone
    # before the new one opens the file.
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]
    keys = {t["topologyKey"] for t in pod["topologySpreadConstraints"]}
    assert "kubernetes.io/hostname" in keys
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"grpc": 50051, "metrics": 9464}


def test_service(objects):
    service = one(objects, "Service")
    assert service["spec"]["type"] == "ClusterIP"
    grpc = next(p for p in service["spec"]["ports"] if p["name"] == "grpc")
    assert grpc["port"] == 50051 and grpc["appProtocol"] == "grpc"
    assert any(p["name"] == "metrics" and p["port"] == 9464 for p in service["spec"]["ports"])
    selector = service["spec"]["selector"]
    labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()


def test_the_store_lives_on_the_persistent_volume_claim(objects):
    pod, c = container(objects)
    env = {e["name"]: e.get("value") for e in c["env"]}
    path = env["USER_SERVICE__STORE__URL"].removeprefix("sqlite://")
    assert path.startswith("/") and path.endswith(".db"), path
    mount = next(m for m in c["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    assert not mount.get("readOnly")
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    claim = one(objects, "PersistentVolumeClaim")
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pod["securityContext"]["fsGroup"] == 65532  # the volume is writable by the service
    with open(os.path.join(ROOT, "Dockerfile"), encoding="utf-8") as f:
        assert f"USER_SERVICE__STORE__URL=sqlite://{path}" in f.read(), "the image keeps the same file"


def test_no_autoscaler_or_budget_on_sqlite(objects):
    """Neither may add a second process on the one SQLite file, nor block drains
    of the one pod for good."""
    kinds = {o["kind"] for o in objects}
    assert not kinds & {"HorizontalPodAutoscaler", "PodDisruptionBudget"}


def test_scale_out_component(scale_out):
    objects = render(scale_out)
    deployment = one(objects, "Deployment")
    pod, c = container(objects)
    pdb = one(objects, "PodDisruptionBudget")
    hpa = one(objects, "HorizontalPodAutoscaler")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["replicas"] == hpa["spec"]["minReplicas"] >= 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "user-service"}
    # No SQLite volume to share by mistake: the claim and its mount are gone.
    assert "PersistentVolumeClaim" not in {o["kind"] for o in objects}
    assert not any(v.get("persistentVolumeClaim") for v in pod["volumes"])
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/etc/user-service", "/etc/user-service-auth", "/tmp"}


def test_components(with_components):
    objects = render(with_components)
    policy = one(objects, "NetworkPolicy")
    ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert ports == {50051, 9464}
    _, c = container(objects)
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://")
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"


def test_the_base_never_runs_with_auth_off(objects):
    """jwt mode, keys from the auth ConfigMap mounted where the settings say."""
    pod, c = container(objects)
    env = {e["name"]: e for e in c["env"]}
    assert env["USER_SERVICE__AUTH__MODE"]["value"] == "jwt"
    auth = config_map(objects, "user-service-auth")
    volume = next(v for v in pod["volumes"] if v.get("configMap", {}).get("name") == auth["metadata"]["name"])
    mount = next(m for m in c["volumeMounts"] if m["name"] == volume["name"])
    assert env["USER_SERVICE__AUTH__JWKS_FILE"]["value"] == mount["mountPath"] + "/jwks.json"
    assert "keys" in json.loads(auth["data"]["jwks.json"])
    for key in ("issuer", "audiences"):
        ref = env[f"USER_SERVICE__AUTH__{key.upper()}"]["valueFrom"]["configMapKeyRef"]
        assert ref["name"] == auth["metadata"]["name"] and ref["key"] in auth["data"]
