#!/usr/bin/env bash
# Reliability scenarios (reliability/run.py) in their own venv:
#   reliability/run.sh [--quick] [--only restart,collector,soak] [...]
# Python packages go into target/reliability-venv, pinned by
# reliability/requirements.txt; the release binary and otlp_sink are built first.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/reliability-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r reliability/requirements.txt
cargo build --locked --release --bin user-service --example otlp_sink
exec "$venv/bin/python" reliability/run.py "$@"
