//! Running the real `user-service` binary in tests and reading its JSON logs.
#![allow(dead_code)] // each test binary uses its own subset

use std::{net::SocketAddr, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::mpsc,
};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_user-service");
/// How long any single wait may take before it counts as a hang.
pub(crate) const WAIT_BOUND: Duration = Duration::from_secs(15);

/// A running `user-service` process and its JSON log lines.
pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    /// The `server.started` line.
    pub(crate) started: serde_json::Value,
    pub(crate) logs: mpsc::UnboundedReceiver<serde_json::Value>,
}

/// A fresh directory for one process's SQLite store, under the test
/// target's own temporary directory (never the working directory).
pub(crate) fn fresh_store_url() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("store-{}-{n}", std::process::id()));
    format!("sqlite://{}/users.db", dir.display())
}

/// The binary with a clean environment: no inherited settings, admin on an
/// ephemeral loopback port, a store of its own, then `env` on top.
pub(crate) fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("USER_SERVICE__STORE__URL", fresh_store_url())
        .env_remove("RUST_LOG")
        .env_remove("USER_SERVICE_CONFIG")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_SDK_DISABLED")
        .env("USER_SERVICE__ADMIN__ADDR", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Starts the binary on an ephemeral loopback port and waits for its start-up line.
pub(crate) async fn start(env: &[(&str, &str)]) -> Running {
    start_on("127.0.0.1:0", env).await
}

/// Starts the binary listening on `addr` and waits for its start-up line.
pub(crate) async fn start_on(addr: &str, env: &[(&str, &str)]) -> Running {
    let mut child = command(&["--addr", addr, "--log-format", "json"], env)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, mut logs) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let entry = serde_json::from_str(&line).unwrap_or(serde_json::Value::String(line));
            if sender.send(entry).is_err() {
                break;
            }
        }
    });
    let started = wait_for_log(&mut logs, "server.started").await;
    let addr = started["addr"]
        .as_str()
        .expect("addr field")
        .parse()
        .expect("an address");
    Running {
        child,
        addr,
        started,
        logs,
    }
}

/// The next log line whose message starts with `message`.
pub(crate) async fn wait_for_log(
    logs: &mut mpsc::UnboundedReceiver<serde_json::Value>,
    message: &str,
) -> serde_json::Value {
    tokio::time::timeout(WAIT_BOUND, async {
        loop {
            let entry = logs.recv().await.expect("log line before exit");
            if entry["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(message))
            {
                return entry;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {message:?} log line within the bound"))
}

/// Sends `signal` (e.g. `TERM`) to the process.
pub(crate) fn send_signal(child: &Child, signal: &str) {
    let pid = child.id().expect("still running").to_string();
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// The exit code, waiting at most `bound`.
pub(crate) async fn exit_code(child: &mut Child, bound: Duration) -> Option<i32> {
    tokio::time::timeout(bound, child.wait())
        .await
        .expect("exited within the bound")
        .expect("wait works")
        .code()
}

/// Resident memory of a process in KiB, from /proc.
pub(crate) fn resident_kib(child: &Child) -> u64 {
    let pid = child.id().expect("still running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS line")
}
