#!/usr/bin/env bash
# The whole test suite, as one command:
#   1. Rust unit and integration tests (real server on port 0, tonic clients);
#   2. the release binary against Python grpcio clients (tests/interop/).
# Needs: a Rust toolchain and python3 (with venv and pip). Python packages go
# into target/interop-venv, pinned by tests/interop/requirements.txt.
# With PostgreSQL's server binaries installed (Debian: apt-get install
# postgresql), the store suites also run against throwaway PostgreSQL servers;
# without them those tests are skipped, said loudly here (and an error in CI).
set -euo pipefail
cd "$(dirname "$0")/.."

pg_bin=${USER_SERVICE_TEST_PG_BIN:-$( (ls -d /usr/lib/postgresql/*/bin 2>/dev/null || true) | sort -V | tail -n 1)}
if [ -n "$pg_bin" ] && [ -x "$pg_bin/postgres" ] && [ -x "$pg_bin/initdb" ]; then
  echo "==> PostgreSQL server binaries in $pg_bin: the PostgreSQL suite runs"
else
  echo "##############################################################################"
  echo "## PostgreSQL server binaries not found: the PostgreSQL suite is SKIPPED.   ##"
  echo "## Install them (Debian: apt-get install postgresql) or set                 ##"
  echo "## USER_SERVICE_TEST_PG_BIN to the directory holding initdb and postgres.   ##"
  echo "##############################################################################"
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true: PostgreSQL is required" >&2
    exit 1
  fi
fi

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
