#!/usr/bin/env python3
"""Collector outage: a collector that is down or slow never hurts serving.

The service exports every span (100 % sampling) and its metrics (every 5 s)
to examples/otlp_sink, a real OTLP/gRPC receiver started as a process, while
fixed-rate load runs through four phases of equal length (12 s each with
--quick, 30 s otherwise):
  normal     sink up, answering at once (the baseline);
  down       sink stopped: exports fail (connection refused);
  slow       sink back on the same port, answering each export after 2 s;
  recovered  sink restarted answering at once.
Criteria:
  * zero failed calls in every phase;
  * p99 of the down and slow phases < 5 x the normal p99 + 20 ms (generous on
    purpose: the run shares two cores with the load generator; the figures are
    reported so a regression is visible long before the bound trips);
  * resident memory never more than 32 MiB above its level at the end of the
    normal phase (sampled every second): spans queue in a bounded buffer and
    are dropped, never accumulated;
  * spans arrive again once the sink is back: the recovered sink counts > 0.

usage: reliability/collector.py [--quick]
"""
import time

import grpc

import procs
import report
from load import Load

RATE = 300
SLOW_MS = 2000
MAX_GROWTH_KIB = 32 * 1024


def scenario(result, quick):
    phase_s = 12 if quick else 30
    sink = procs.Sink("collector-sink")
    service = procs.Service("collector-service", otlp=sink.addr)
    service.wait_serving()
    channel = grpc.insecure_channel(service.addr)
    load = sampler = None
    spans = {}
    baseline_mark = None
    try:
        load = Load(channel, rate=RATE, workers=8, max_seconds=4 * phase_s + 30).start("normal")
        sampler = procs.RssSampler(service, every=1.0, max_seconds=4 * phase_s + 60).start()
        time.sleep(phase_s)
        baseline_mark = sampler.now()

        load.mark("down")
        spans["normal"] = sink.stop()
        time.sleep(phase_s)

        load.mark(f"slow ({SLOW_MS} ms)")
        sink = procs.Sink("collector-sink-slow", port=sink.port, delay_ms=SLOW_MS)
        time.sleep(phase_s)

        load.mark("recovered")
        spans["slow"] = sink.stop()
        sink = procs.Sink("collector-sink-recovered", port=sink.port)
        time.sleep(phase_s)
    finally:
        if load:
            load.stop()
        samples = sampler.stop() if sampler else []
        channel.close()
    # The batch processor sends on its schedule (5 s by default): give the
    # last batches time to arrive before counting.
    time.sleep(7)
    spans["recovered"] = sink.stop()
    code = service.terminate(timeout=30)

    phases, total = result.record_load(load)
    base = phases["normal"]
    result.note(f"spans received per sink: {spans}")
    for name, stats in phases.items():
        result.check(f"{name}: zero failed calls ({stats['failed']} of {stats['sent']})", stats["failed"] == 0)
    bound = 5 * base["p99_ms"] + 20
    for name in list(phases)[1:3]:
        p99 = phases[name]["p99_ms"]
        result.check(f"{name}: p99 {p99:.2f} ms < 5 x normal {base['p99_ms']:.2f} + 20 = {bound:.1f} ms", p99 < bound)

    before = [kib for t, kib in samples if t <= baseline_mark]
    start_kib = before[-1] if before else samples[0][1]
    peak_kib = max(kib for _, kib in samples)
    growth = peak_kib - start_kib
    result.check(f"RSS growth after the normal phase {growth / 1024:.1f} MiB < {MAX_GROWTH_KIB // 1024} MiB "
                 f"({start_kib / 1024:.1f} -> peak {peak_kib / 1024:.1f} MiB)", growth < MAX_GROWTH_KIB)
    result.check(f"spans arrive again after the outage (recovered sink: {spans['recovered']}, "
                 f"{phases['recovered']['sent']} calls in that phase)", (spans["recovered"] or 0) > 0)
    result.check(f"service exits 0 after the outage (got {code})", code == 0)
    result.memory = f"{start_kib / 1024:.1f} -> peak {peak_kib / 1024:.1f} MiB"
    result.check(f"load kept its rate ({total['rate']:.0f} of {RATE} calls/s)", total["rate"] >= 0.8 * RATE)


if __name__ == "__main__":
    report.standalone("collector", scenario)
