#!/usr/bin/env python3
"""Rolling restart: two instances behind one round_robin channel lose no call.

What a Kubernetes rollout does to a client, without Kubernetes: two release
instances on two ports, one grpcio channel over both
(`ipv4:127.0.0.1:P1,127.0.0.1:P2`, round_robin, client-side health checking
on `user.Users`), steady fixed-rate load. Each instance in turn gets SIGTERM,
must exit 0, and is started again on the same port; then the other one.

The service's side of the contract: on SIGTERM it reports NOT_SERVING at once
and keeps answering for `shutdown.grace_period` (2 s here), so the balancer
moves away before the listener closes. Criteria:
  * zero failed calls over the whole run (any status but OK fails it);
  * every SIGTERM ends in exit code 0;
  * each restarted instance takes traffic again once SERVING: its own
    Prometheus counter (admin /metrics) shows at least 10 % of the calls sent
    while it was back (about 50 % is the fair share).
Also reported, not asserted: calls the stopping instance still answered after
its health flipped (0 when the balancer moved away in time).

usage: reliability/restart.py [--quick]
"""
import json
import time

import grpc

import procs
import report
from load import Load

RATE = 200
MIN_SHARE = 0.10


def balanced_channel(ports):
    """One channel, both instances: what a client with DNS or xDS giving two addresses gets."""
    target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)
    service_config = {"loadBalancingConfig": [{"round_robin": {}}],
                      "healthCheckConfig": {"serviceName": "user.Users"}}
    options = [
        ("grpc.service_config", json.dumps(service_config)),
        ("grpc.default_authority", "localhost"),
        # A restarted instance is found within a second, not after grpcio's
        # default backoff (up to 120 s), so the run can check it takes traffic.
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.min_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 1000),
    ]
    return grpc.insecure_channel(target, options=options)


def _late_calls(stopping):
    """Calls `stopping` answers between 0.5 s and 1.5 s after its SIGTERM, or
    "n/a" when its admin endpoint is already gone (a grace period under 1.5 s)."""
    try:
        time.sleep(0.5)
        before = stopping.handled_calls()
        time.sleep(1.0)
        return stopping.handled_calls() - before
    except OSError:
        return "n/a"


def scenario(result, quick):
    settle = 4 if quick else 10
    rounds = 1 if quick else 2
    instances = [procs.Service("restart-a"), procs.Service("restart-b")]
    for instance in instances:
        instance.wait_serving()
    budget = 10 + settle * (1 + 2 * rounds) + 2 * rounds * 15
    channel = balanced_channel([i.port for i in instances])
    load = None
    try:
        grpc.channel_ready_future(channel).result(timeout=10)
        load = Load(channel, rate=RATE, workers=8, max_seconds=budget).start("both up")
        time.sleep(settle)
        for instance in instances:
            result.check(f"{instance.name} takes traffic before the restarts", instance.handled_calls() > 0)
        for round_no in range(rounds):
            for index in range(2):
                old = instances[index]
                label = f"{old.name} round {round_no + 1}"
                load.mark(f"{label}: stopping")
                old.send_term()
                late = _late_calls(old)
                began = time.monotonic()
                code = old.terminate(timeout=30)
                result.check(f"{label}: SIGTERM exits 0 (got {code})", code == 0)
                result.note(f"{label}: calls answered 0.5-1.5 s after SIGTERM: {late}; "
                            f"exit {code} {1.5 + time.monotonic() - began:.1f} s after SIGTERM")
                new = procs.Service(old.name, port=old.port)
                new.wait_serving()
                instances[index] = new
                load.mark(f"{label}: back")
                other = instances[1 - index]
                other_before, taken_before = other.handled_calls(), new.handled_calls()
                time.sleep(settle)
                taken = new.handled_calls() - taken_before
                others = other.handled_calls() - other_before
                share = taken / (taken + others) if taken + others else 0.0
                result.check(f"{label}: restarted instance takes traffic once SERVING "
                             f"({taken} calls vs {others} on {other.name}: {share:.0%}; need >= {MIN_SHARE:.0%})",
                             share >= MIN_SHARE)
        load.mark("both up again")
        time.sleep(2)
    finally:
        if load:
            load.stop()
        channel.close()
    for instance in instances:
        code = instance.terminate(timeout=30)
        result.check(f"{instance.name} final SIGTERM exits 0 (got {code})", code == 0)

    _, total = result.record_load(load)
    result.memory = "n/a (restarts)"
    result.check(f"zero failed calls ({total['failed']} of {total['sent']}: {total['codes']})", total["failed"] == 0)
    result.check(f"load kept its rate ({total['rate']:.0f} of {RATE} calls/s, {total['skipped_slots']} slots skipped)",
                 total["rate"] >= 0.8 * RATE)


if __name__ == "__main__":
    report.standalone("restart", scenario)
