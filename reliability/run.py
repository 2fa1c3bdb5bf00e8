#!/usr/bin/env python3
"""All reliability scenarios in a row, one results table, non-zero exit on any failed criterion.

  restart    rolling restart of two instances behind one round_robin channel
  collector  OTLP collector down, then slow, then back, under load
  soak       fixed-rate load with telemetry on, memory watched (10 min; --quick 90 s)
  pg-restart, pg-outage, pg-etag
             two replicas on PostgreSQL: rolling restart under mixed load, the
             database restarted under load, etag writers (reliability/postgres.py);
             skipped, loudly, where PostgreSQL is not installed (an error in CI)

--quick is the CI variant (under 4 minutes in all); the full run takes about
13 minutes. Each scenario also runs alone: reliability/<name>.py [--quick].
Needs the release binary and otlp_sink (reliability/run.sh builds them and
installs the pinned Python packages).

usage: reliability/run.py [--quick] [--only restart,collector,soak]
"""
import argparse
import os
import sys

import collector
import pgserver
import postgres
import procs
import report
import restart
import soak

SCENARIOS = {"restart": restart.scenario, "collector": collector.scenario, "soak": soak.scenario}
if pgserver.binaries():
    SCENARIOS.update(postgres.scenarios())
elif os.environ.get("CI") == "true":
    sys.exit("CI=true: PostgreSQL's server binaries are required for the pg-* scenarios")
else:
    print("#### PostgreSQL's server binaries not found: the pg-* scenarios are SKIPPED ####", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short CI variant")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenario names")
    args = parser.parse_args()
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    for binary in (procs.SERVICE_BIN, procs.SINK_BIN):
        if not os.access(binary, os.X_OK):
            sys.exit(f"{binary} is missing: cargo build --locked --release --bin user-service --example otlp_sink")
    results = [report.run_scenario(name, SCENARIOS[name], args.quick) for name in names]
    sys.exit(report.finish(results, args.quick))


if __name__ == "__main__":
    main()
