#!/usr/bin/env bash
# The whole test suite, as one command:
#   1. Rust unit and integration tests (real server on port 0, tonic clients);
#   2. the release binary against Python grpcio clients (tests/interop/).
# Needs: a Rust toolchain and python3 (with venv and pip). Python packages go
# into target/interop-venv, pinned by tests/interop/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo test"
cargo test --locked --all-targets

echo "==> cargo build --release"
cargo build --locked --release

echo "==> Python interop tests"
venv=target/interop-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r tests/interop/requirements.txt
USER_SERVICE_BIN="$PWD/target/release/user-service" \
  "$venv/bin/python" -m pytest tests/interop -q
