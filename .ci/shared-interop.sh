#!/usr/bin/env bash
# Runs an independent grpcio client (given as $1) against the release binary
# and checks it prints exactly the original service's answers.
set -euo pipefail
client=$1
bin=target/release/user-service
python=target/interop-venv/bin/python
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)

USER_SERVICE__SERVER__ADDR="127.0.0.1:$port" USER_SERVICE__ADMIN__ADDR=127.0.0.1:0 \
  USER_SERVICE__SHUTDOWN__GRACE_PERIOD=100ms \
  "$bin" --log-format json >"$log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 100); do
  "$bin" healthcheck --addr "127.0.0.1:$port" >/dev/null 2>&1 && break
  sleep 0.1
done
"$bin" healthcheck --addr "127.0.0.1:$port"

expected='details {
  id: 2
  value: "twtrubiks"
}
details {
  id: 2
  value: "twtrubiks"
}'
got=$("$python" "$client" --proto proto/user.proto --target "127.0.0.1:$port")
if [ "$got" != "$expected" ]; then
  echo "unexpected answer from $client:"; echo "$got"; exit 1
fi
echo "$got"

got=$("$python" "$client" --proto proto/user.proto --target "127.0.0.1:$port" --id 0 || true)
if [ "$got" != "error: NOT_FOUND: Sorry, id is not allowed 0" ]; then
  echo "unexpected answer for id 0: $got"; exit 1
fi
echo "$got"

kill -TERM $pid
code=0; wait $pid || code=$?
if [ "$code" -ne 0 ]; then
  echo "server exited $code after SIGTERM"; cat "$log"; exit 1
fi
echo "independent client: 2 checks passed, server exited 0 on SIGTERM"
