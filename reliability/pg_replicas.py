"""Two release replicas on a fresh PostgreSQL database, the channels the
PostgreSQL scenarios use to reach them, and the final check that every
acknowledged write is there."""
import json

import grpc

import pgserver
import procs
from directory_load import DirectoryLoad

RATE = 150
STORE = "user.v1.UserService"


def replicas(database, names, grace="2s"):
    url = database.url("users")
    started = []
    # One after the other: each binds its free ports before the next picks some.
    for name in names:
        started.append(procs.Service(name, grace=grace, extra_env={"USER_SERVICE__STORE__URL": url}))
        started[-1].wait_serving(service=STORE, timeout=30)
    return started


def fresh_database(name):
    database = pgserver.PgServer(name)
    database.psql("CREATE DATABASE users")
    return database


def channel_over(ports, health_checked=True):
    target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)
    config = {"loadBalancingConfig": [{"round_robin": {}}]}
    if health_checked:
        config["healthCheckConfig"] = {"serviceName": STORE}
    options = [("grpc.service_config", json.dumps(config)), ("grpc.default_authority", "localhost"),
               ("grpc.initial_reconnect_backoff_ms", 200), ("grpc.min_reconnect_backoff_ms", 200),
               ("grpc.max_reconnect_backoff_ms", 1000)]
    return grpc.insecure_channel(target, options=options)


def check_writes(result, load, channel):
    lost = load.lost_writes(DirectoryLoad(channel, rate=1, workers=1).users)
    result.check(f"every acknowledged write is there ({load.writes()} users checked, {len(lost)} lost: "
                 f"{lost[:3]})", not lost)
