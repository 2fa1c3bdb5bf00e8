//! A store the binary cannot use stops it at start-up, quickly, with a
//! message naming `store.url`: invalid settings exit 78 (EX_CONFIG), a
//! store that cannot be opened exits 1.
use std::time::{Duration, Instant};

use crate::{
    process::{WAIT_BOUND, command},
    service,
};

/// "Quickly": no retrying, no waiting for a store that will never come.
const QUICK: Duration = Duration::from_secs(5);

/// What the binary said and how it exited.
pub(crate) struct Exit {
    pub(crate) code: Option<i32>,
    pub(crate) stderr: String,
    /// The `error` of the `server.failed` log line, when there is one.
    pub(crate) failure: Option<String>,
}

/// Runs `serve` (JSON logs) with `env` to its end, which must come quickly.
pub(crate) async fn serve_to_exit(env: &[(&str, &str)]) -> Exit {
    let started = Instant::now();
    let args = ["serve", "--addr", "127.0.0.1:0", "--log-format", "json"];
    let output = tokio::time::timeout(WAIT_BOUND, command(&args, env).output())
        .await
        .expect("the binary exits instead of serving")
        .expect("the binary runs");
    assert!(
        started.elapsed() < QUICK,
        "took {:?} to give up",
        started.elapsed()
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let failure = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|entry| entry["message"] == "server.failed")
        .and_then(|entry| entry["error"].as_str().map(str::to_owned));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    Exit {
        code: output.status.code(),
        stderr,
        failure,
    }
}

#[tokio::test]
async fn store_urls_of_no_store_or_holding_a_password_exit_78_naming_store_url() {
    for url in [
        "mysql://x",
        "postgres://user:hunter2@x/users",
        "sqlite://:memory:",
        "sqlite::memory:",
    ] {
        let exit = serve_to_exit(&[("USER_SERVICE__STORE__URL", url)]).await;
        assert_eq!(exit.code, Some(78), "{url}: {}", exit.stderr);
        assert!(!exit.stderr.contains("hunter2"), "{}", exit.stderr);
        for needle in ["store.url", "USER_SERVICE__STORE__URL"] {
            assert!(
                exit.stderr.contains(needle),
                "{url}: {needle:?} missing from {:?}",
                exit.stderr
            );
        }
    }
}

#[tokio::test]
async fn a_store_directory_that_cannot_be_created_exits_1_naming_store_url_and_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("regular-file");
    std::fs::write(&file, "not a directory").expect("file");
    let store_dir = file.join("store");
    let url = service::store_url(&store_dir);
    let exit = serve_to_exit(&[("USER_SERVICE__STORE__URL", &url)]).await;
    assert_eq!(exit.code, Some(1), "{}", exit.stderr);
    let failure = exit.failure.expect("a server.failed line");
    let path = store_dir.to_str().expect("UTF-8");
    for needle in [
        "cannot open the store",
        "store.url",
        path,
        "Not a directory",
    ] {
        assert!(
            failure.contains(needle),
            "{needle:?} missing from {failure:?}"
        );
    }
}
