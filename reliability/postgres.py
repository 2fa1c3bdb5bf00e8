#!/usr/bin/env python3
"""Two replicas on one PostgreSQL database under mixed directory traffic.

  pg-restart  rolling restart of both replicas (SIGTERM, start again) under a
              mixed read/write load through one round_robin channel with
              client-side health checking: zero failed calls, every
              acknowledged write present afterwards.
  pg-outage   PostgreSQL stopped (fast shutdown) under load, then started
              again: calls during the outage fail fast with UNAVAILABLE
              (reported: how many, how fast), none outlives its deadline,
              user.v1.UserService turns NOT_SERVING and back by itself while
              "" stays SERVING, nothing acknowledged is lost, and the load
              runs clean again afterwards.
  pg-etag     concurrent writers incrementing shared counters through both
              replicas with etags (read, update with the etag, retry on
              ABORTED): no lost update.

Needs PostgreSQL's server binaries (the scenarios start their own server).

usage: reliability/postgres.py [--quick] [--only pg-restart,pg-outage,pg-etag]
"""
import argparse
import sys
import threading
import time

import grpc

import pgserver
import procs
import report
from directory_load import DirectoryLoad
from pg_etag import etag_scenario
from pg_replicas import RATE, STORE, channel_over, check_writes, fresh_database, replicas

def restart_scenario(result, quick):
    settle = 3 if quick else 8
    database = fresh_database("restart")
    instances = replicas(database, ["pg-a", "pg-b"])
    budget = 20 + settle * 3 + 2 * 15
    channel = channel_over([i.port for i in instances])
    load = None
    try:
        grpc.channel_ready_future(channel).result(timeout=10)
        load = DirectoryLoad(channel, rate=RATE, workers=8, max_seconds=budget).start("both up")
        time.sleep(settle)
        for index in range(2):
            old = instances[index]
            load.mark(f"{old.name}: stopping")
            code = old.terminate(timeout=30)
            result.check(f"{old.name}: SIGTERM exits 0 (got {code})", code == 0)
            new = procs.Service(old.name, port=old.port,
                                extra_env={"USER_SERVICE__STORE__URL": database.url("users")})
            new.wait_serving(service=STORE, timeout=30)
            instances[index] = new
            load.mark(f"{old.name}: back")
            time.sleep(settle)
        load.mark("both up again")
        time.sleep(1)
    finally:
        if load:
            load.stop()
    _, total = result.record_load(load)
    result.memory = "n/a (restarts)"
    result.check(f"zero failed calls ({total['failed']} of {total['sent']}: {total['codes']})", total["failed"] == 0)
    check_writes(result, load, channel)
    channel.close()
    for instance in instances:
        result.check(f"{instance.name} final SIGTERM exits 0", instance.terminate(timeout=30) == 0)


class HealthWatch:
    """Polls Health/Check of `names` on every replica every 100 ms (bounded),
    recording when each status changes."""

    def __init__(self, instances, names, max_seconds):
        self.changes = []  # (seconds, replica, name, status)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(instances, names, max_seconds), daemon=True)
        self.t0 = time.monotonic()
        self._thread.start()

    def _run(self, instances, names, max_seconds):
        _, _, health_pb2, health_pb2_grpc = procs.stubs()
        channels = [grpc.insecure_channel(i.addr) for i in instances]
        last = {}
        while not self._stop.is_set() and time.monotonic() - self.t0 < max_seconds:
            for instance, channel in zip(instances, channels):
                for name in names:
                    try:
                        status = health_pb2_grpc.HealthStub(channel).Check(
                            health_pb2.HealthCheckRequest(service=name), timeout=1).status
                        status = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
                    except grpc.RpcError as error:
                        status = error.code().name
                    if last.get((instance.name, name)) != status:
                        last[(instance.name, name)] = status
                        self.changes.append((time.monotonic() - self.t0, instance.name, name, status))
            self._stop.wait(0.1)
        for channel in channels:
            channel.close()

    def first(self, after, name, status, replica):
        times = [t for t, r, n, s in self.changes if t >= after and n == name and s == status and r == replica]
        return times[0] - after if times else None

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


def outage_scenario(result, quick):
    down = 5 if quick else 15
    settle = 4 if quick else 10
    database = fresh_database("outage")
    instances = replicas(database, ["pg-a", "pg-b"])
    # No client-side health checking: the calls reach the replicas, so the
    # run measures what the service answers during the outage.
    channel = channel_over([i.port for i in instances], health_checked=False)
    budget = settle * 3 + down + 30
    watch = HealthWatch(instances, ["", STORE], max_seconds=budget + 10)
    load = None
    try:
        grpc.channel_ready_future(channel).result(timeout=10)
        load = DirectoryLoad(channel, rate=RATE, workers=8, max_seconds=budget).start("before")
        time.sleep(settle)
        # Calls sent "before" finish first (they take milliseconds): one
        # still running when the database stops would fail, and count as a
        # failure before the outage. Calls sent meanwhile count for neither.
        load.mark("stopping")
        time.sleep(0.5)
        load.mark("outage")
        stopped = time.monotonic() - watch.t0
        database.stop()
        # Down for at least `down`, and until every replica has noticed (or
        # past the 10 s bound, which the checks below then report): a short
        # outage must not end before a replica had the time it is allowed.
        until, bound = time.monotonic() + down, time.monotonic() + 12
        while time.monotonic() < bound and (time.monotonic() < until or any(
                watch.first(stopped, STORE, "NOT_SERVING", i.name) is None for i in instances)):
            time.sleep(0.1)
        load.mark("recovering")
        started = time.monotonic() - watch.t0
        database.start()
        back = []
        for instance in instances:
            instance.wait_serving(service=STORE, timeout=15)
            back.append(time.monotonic() - watch.t0 - started)
        load.mark("after")
        time.sleep(settle)
    finally:
        if load:
            load.stop()
        watch.stop()
    phases, total = result.record_load(load)
    result.memory = "n/a"
    outage = phases["outage"]
    codes = {code for phase in ("stopping", "outage", "recovering") for code in phases[phase]["codes"]}
    result.note(f"during the outage: {outage['failed']} of {outage['sent']} calls failed, "
                f"p50 {outage['p50_ms']:.0f} ms, max {outage['max_ms']:.0f} ms")
    result.check(f"calls during the outage fail only with UNAVAILABLE ({sorted(codes)})",
                 codes <= {"OK", "UNAVAILABLE"})
    # The promise: UNAVAILABLE within 2 s. The service answers after the 1 s
    # acquire timeout at most (measured: 0.99-1.00 s at the client), which
    # leaves a loaded 2-core machine a second.
    result.check(f"no call outlives the promised 2 s (max {total['max_ms']:.0f} ms)", total["max_ms"] < 2000)
    result.check(f"clean before and after ({phases['before']['failed']} and {phases['after']['failed']} failed)",
                 phases["before"]["failed"] == 0 and phases["after"]["failed"] == 0)
    for instance in instances:
        flipped = watch.first(stopped, STORE, "NOT_SERVING", instance.name)
        returned = watch.first(started, STORE, "SERVING", instance.name)
        result.note(f"{instance.name}: NOT_SERVING {flipped} s after the stop, SERVING {returned} s after the start")
        result.check(f"{instance.name}: {STORE} NOT_SERVING within 10 s", flipped is not None and flipped < 10)
        result.check(f"{instance.name}: {STORE} SERVING again within 10 s", returned is not None and returned < 10)
        whole = [s for _, r, n, s in watch.changes if r == instance.name and n == ""]
        result.check(f"{instance.name}: \"\" stays SERVING ({whole})", whole == ["SERVING"])
        result.check(f"{instance.name}: the process stays up", instance.alive())
    check_writes(result, load, channel)
    channel.close()


SCENARIOS = {"pg-restart": restart_scenario, "pg-outage": outage_scenario, "pg-etag": etag_scenario}


def scenarios():
    """The scenarios, each also stopping its PostgreSQL server."""
    def with_cleanup(scenario):
        def run(result, quick):
            try:
                scenario(result, quick)
            finally:
                procs.stop_all()
                pgserver.stop_all()
        return run
    return {name: with_cleanup(scenario) for name, scenario in SCENARIOS.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short CI variant")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    args = parser.parse_args()
    chosen = scenarios()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    results = [report.run_scenario(name, chosen[name], args.quick) for name in names]
    sys.exit(report.finish(results, args.quick, tag="postgres"))


if __name__ == "__main__":
    main()
