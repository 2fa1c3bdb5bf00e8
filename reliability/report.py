"""Results of the scenarios: pass/fail criteria, one table, one exit code.

A scenario returns a Result: a few headline figures for the table (calls sent,
failed, p99, memory) and a list of named criteria, each checked against the
measured value; any failed criterion fails the scenario and the run.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

import procs


class Result:
    def __init__(self, name):
        self.name = name
        self.sent = self.failed = 0
        self.p99_ms = float("nan")
        self.memory = ""
        self.criteria = []  # (description, ok)
        self.notes = []
        self.seconds = 0.0
        self.error = None

    def check(self, description, ok):
        self.criteria.append((description, bool(ok)))
        return ok

    def note(self, line):
        self.notes.append(line)
        print(f"  {self.name}: {line}", flush=True)

    def record_load(self, load):
        """Notes each phase of `load` and its first failures, takes the totals
        for the results table; returns the phases (without the total) and the total."""
        phases = load.phases()
        total = phases.pop("all")
        width = max(map(len, phases), default=0)
        for name, stats in phases.items():
            self.note(f"{name:{width}} sent {stats['sent']:7} failed {stats['failed']} "
                      f"{stats['rate']:.0f} calls/s p50 {stats['p50_ms']:.2f} ms "
                      f"p99 {stats['p99_ms']:.2f} ms max {stats['max_ms']:.1f} ms")
        for failure in load.failures[:10]:
            self.note(f"failed call at {failure[0]} s: {failure[1]}")
        self.sent, self.failed, self.p99_ms = total["sent"], total["failed"], total["p99_ms"]
        return phases, total

    @property
    def ok(self):
        return self.error is None and bool(self.criteria) and all(ok for _, ok in self.criteria)

    def to_json(self):
        return {"name": self.name, "ok": self.ok, "sent": self.sent, "failed": self.failed,
                "p99_ms": self.p99_ms, "memory": self.memory, "seconds": round(self.seconds, 1),
                "criteria": self.criteria, "notes": self.notes, "error": self.error}


def machine():
    return (f"{platform.node()}, {os.cpu_count()} CPUs (nproc {_nproc()}), Linux {platform.release()}, "
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}")


def _nproc():
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def table(results):
    lines = ["| scenario | result | calls sent | failed | p99 ms | memory | time s |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.name} | {'PASS' if r.ok else 'FAIL'} | {r.sent} | {r.failed} | "
                     f"{r.p99_ms:.2f} | {r.memory} | {r.seconds:.0f} |")
    return "\n".join(lines)


def criteria(results):
    lines = []
    for r in results:
        if r.error:
            lines.append(f"  FAIL {r.name}: {r.error}")
        for description, ok in r.criteria:
            lines.append(f"  {'ok  ' if ok else 'FAIL'} {r.name}: {description}")
    return "\n".join(lines)


def run_scenario(name, scenario, quick):
    """Run one scenario; an exception becomes a failed Result, and no process outlives it."""
    result = Result(name)
    began = time.monotonic()
    print(f"==> {name} ({'quick' if quick else 'full'})", flush=True)
    try:
        scenario(result, quick)
    except Exception as error:  # noqa: BLE001 - reported as the scenario's failure
        result.error = f"{type(error).__name__}: {error}"
    finally:
        procs.stop_all()
        result.seconds = time.monotonic() - began
    return result


def save(results, quick, tag="all"):
    os.makedirs(procs.OUT_DIR, exist_ok=True)
    path = os.path.join(procs.OUT_DIR, f"results-{tag}-{'quick' if quick else 'full'}.json")
    with open(path, "w") as f:
        json.dump({"machine": machine(), "quick": quick, "results": [r.to_json() for r in results]}, f, indent=1)
    return path


def finish(results, quick, tag="all"):
    print()
    print(f"Machine: {machine()}")
    print(table(results))
    print(criteria(results))
    print(f"saved: {save(results, quick, tag)}")
    return 0 if all(r.ok for r in results) else 1


def standalone(name, scenario):
    """`python reliability/<scenario>.py [--quick]`: one scenario, same table and exit code."""
    parser = argparse.ArgumentParser(description=sys.modules["__main__"].__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short CI variant")
    args = parser.parse_args()
    sys.exit(finish([run_scenario(name, scenario, args.quick)], args.quick, tag=name))
