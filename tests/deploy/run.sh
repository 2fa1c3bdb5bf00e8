#!/usr/bin/env bash
# Deployment tests: the Kubernetes manifests (render + strict schema validation),
# hadolint and checkov, the Docker image, and the compose stack end to end.
#
#   tests/deploy/run.sh [pytest args]
#
# Python tools go into target/deploy-venv and target/checkov-venv (pinned in
# tests/deploy/*requirements.txt). Where a Docker Engine answers, the base images
# are built locally first (scripts/offline-images.sh, needs root; nothing is
# pulled) and the Docker tests run; elsewhere they are skipped, unless
# DEPLOY_REQUIRE_DOCKER=1 makes that a failure (as in CI).
set -euo pipefail
cd "$(dirname "$0")/../.."

pip_install() { # venv, requirement files...
  local venv=$1; shift
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  local args=()
  for file in "$@"; do args+=(-r "$file"); done
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}"
}

echo "==> Python tools"
pip_install target/deploy-venv tests/interop/requirements.txt tests/deploy/requirements.txt
pip_install target/checkov-venv tests/deploy/checkov-requirements.txt

if docker info >/dev/null 2>&1 || [ "$(id -u)" = 0 ]; then
  echo "==> base images (scripts/offline-images.sh)"
  if [ "$(id -u)" = 0 ]; then
    scripts/offline-images.sh
  else
    echo "not root: using the base images already present"
  fi
fi

echo "==> OTLP receiver for the compose test"
cargo build --locked --example otlp_sink
export OTLP_SINK_BIN="$PWD/target/debug/examples/otlp_sink"

echo "==> pytest tests/deploy"
PATH="$PWD/target/checkov-venv/bin:$PATH" target/deploy-venv/bin/python -m pytest tests/deploy -q "$@"
