"""deploy/k8s on PostgreSQL: components/postgres (a managed database, its URL
and password from a Secret, a migration init container, scale-out) and
components/postgres-dev (a small StatefulSet for development clusters)."""
import pytest

from conftest import render

SECRET = "user-service-database"


@pytest.fixture(scope="module")
def objects(postgres):
    return render(postgres)


def one(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_of(objects):
    return one(objects, "Deployment")["spec"]["template"]["spec"]


def secret_volume(pod):
    (volume,) = [v for v in pod["volumes"] if v.get("secret")]
    assert volume["secret"]["secretName"] == SECRET
    return volume


def test_the_url_and_the_password_come_from_the_secret(objects):
    pod = pod_of(objects)
    volume = secret_volume(pod)
    for c in pod["containers"] + pod["initContainers"]:
        env = {e["name"]: e for e in c["env"]}
        url = env["USER_SERVICE__STORE__URL"]
        assert "value" not in url, "no URL in the manifests"
        assert url["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": "url"}
        password_file = env["USER_SERVICE__STORE__PASSWORD_FILE"]["value"]
        assert "USER_SERVICE__STORE__PASSWORD" not in env, "the password is a file, never a variable"
        mount = next(m for m in c["volumeMounts"] if m["name"] == volume["name"])
        assert mount["readOnly"] is True
        (item,) = volume["secret"]["items"]
        assert password_file == f"{mount['mountPath']}/{item['path']}" and item["key"] == "password"
    # Readable by the service's group (fsGroup), by no one else.
    assert volume["secret"]["defaultMode"] == 0o440
    assert pod["securityContext"]["fsGroup"] == 65532


def test_an_init_container_migrates_and_the_server_does_not(objects):
    pod = pod_of(objects)
    (init,) = pod["initContainers"]
    (server,) = pod["containers"]
    assert init["args"] == ["migrate"] and init["image"] == server["image"]
    assert init["securityContext"] == server["securityContext"]
    assert init["resources"]["limits"]["memory"]
    env = {e["name"]: e.get("value") for e in server["env"]}
    assert env["USER_SERVICE__STORE__MIGRATE"] == "false"


def test_replicas_share_the_database_and_no_sqlite_volume_is_left(objects):
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    one(objects, "HorizontalPodAutoscaler")
    one(objects, "PodDisruptionBudget")
    assert "PersistentVolumeClaim" not in {o["kind"] for o in objects}
    assert not any(v.get("persistentVolumeClaim") for v in pod_of(objects)["volumes"])


def test_the_network_policy_lets_the_pods_reach_the_database_port(objects):
    policy = one(objects, "NetworkPolicy", "user-service")
    egress = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert 5432 in egress


def test_the_development_database(objects):
    statefulset = one(objects, "StatefulSet")
    pod = statefulset["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    image, tag = c["image"].split(":")
    assert image == "postgres" and tag.split(".")[0] == "15" and "." in tag, "official image, version pinned"
    assert statefulset["spec"]["replicas"] == 1
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    data = next(m for m in c["volumeMounts"] if m["name"] == claim["metadata"]["name"])
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["PGDATA"].startswith(data["mountPath"] + "/")
    volume = secret_volume(pod)
    mount = next(m for m in c["volumeMounts"] if m["name"] == volume["name"])
    assert env["POSTGRES_PASSWORD_FILE"].startswith(mount["mountPath"] + "/")
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["exec"]["command"][0] == "pg_isready"
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    service = one(objects, "Service", "user-service-postgres")
    assert service["spec"]["selector"].items() <= pod_of_statefulset_labels(statefulset).items()
    assert [p["port"] for p in service["spec"]["ports"]] == [5432]
    policy = one(objects, "NetworkPolicy", "user-service-postgres")
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "user-service"}}}]


def pod_of_statefulset_labels(statefulset):
    return statefulset["spec"]["template"]["metadata"]["labels"]
