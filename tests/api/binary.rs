//! The real binary end to end: signals, exit codes, the built-in probe.
use std::time::Duration;

use user_service::settings::REDACTED;

use crate::{
    helpers::{BOUND, bounded},
    process::{command, exit_code, send_signal, start, wait_for_log},
};

async fn healthcheck(args: &[&str]) -> Option<i32> {
    let output = bounded(command(&[&["healthcheck"], args].concat(), &[]).output())
        .await
        .expect("healthcheck runs");
    output.status.code()
}

#[tokio::test]
async fn sigterm_exits_zero_within_grace_plus_drain_logging_each_phase() {
    let mut running = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "300ms"),
        ("USER_SERVICE__SHUTDOWN__DRAIN_TIMEOUT", "2s"),
    ])
    .await;
    send_signal(&running.child, "TERM");
    for phase in [
        "shutdown.signal",
        "shutdown.not_serving",
        "shutdown.draining",
        "shutdown.drained",
        "shutdown.complete",
    ] {
        wait_for_log(&mut running.logs, phase).await;
    }
    let bound = Duration::from_millis(300) + Duration::from_secs(2) + Duration::from_secs(3);
    assert_eq!(exit_code(&mut running.child, bound).await, Some(0));
}

#[tokio::test]
async fn healthcheck_exit_codes_follow_grpc_health_probe() {
    let mut running = start(&[("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "60s")]).await;
    let addr = running.addr.to_string();

    assert_eq!(healthcheck(&["--addr", &addr]).await, Some(0));
    assert_eq!(
        healthcheck(&["--addr", &addr, "--service", "user.Users"]).await,
        Some(0)
    );
    assert_eq!(
        healthcheck(&["--addr", &addr, "--service", "user.Accounts"]).await,
        Some(3)
    );
    assert_eq!(
        healthcheck(&["--addr", &addr, "--timeout", "soon"]).await,
        Some(1)
    );

    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").to_string()
    };
    assert_eq!(healthcheck(&["--addr", &closed_port]).await, Some(2));

    // Draining: NOT_SERVING for the (long) grace period.
    send_signal(&running.child, "TERM");
    wait_for_log(&mut running.logs, "shutdown.not_serving").await;
    assert_eq!(healthcheck(&["--addr", &addr]).await, Some(4));

    // A second signal does not wait for the grace period.
    send_signal(&running.child, "TERM");
    assert_eq!(exit_code(&mut running.child, BOUND).await, Some(128 + 15));
}

async fn config_error(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = bounded(command(args, env).output()).await.expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn bad_settings_exit_78_naming_the_key_and_its_source() {
    let file = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temp file");
    std::fs::write(file.path(), "[server]\nport = 50051\n").expect("write");
    let path = file.path().to_str().expect("utf-8 path");

    // (arguments, environment, what the message must name)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: [Case<'_>; 4] = [
        (
            &[],
            &[("USER_SERVICE__SERVER__ADRESS", "0.0.0.0:1")],
            &["server.adress", "USER_SERVICE__SERVER__ADRESS"],
        ),
        (
            &[],
            &[("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "5 parsecs")],
            &[
                "shutdown.grace_period",
                "USER_SERVICE__SHUTDOWN__GRACE_PERIOD",
            ],
        ),
        (&["--addr", "localhost"], &[], &["server.addr", "--addr"]),
        (&["--config", path], &[], &["server.port", path]),
    ];
    for (args, env, expected) in cases {
        let (code, stderr) = config_error(args, env).await;
        assert_eq!(code, Some(78), "{args:?} {env:?}: {stderr}");
        for needle in expected {
            assert!(
                stderr.contains(needle),
                "{needle:?} missing from {stderr:?}"
            );
        }
    }
}

#[tokio::test]
async fn config_prints_the_effective_settings() {
    let output = bounded(
        command(
            &["config"],
            &[("USER_SERVICE__SERVER__ADDR", "127.0.0.1:6000")],
        )
        .output(),
    )
    .await
    .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let printed: toml::Table = text.parse().expect("TOML");
    assert_eq!(printed["server"]["addr"].as_str(), Some("127.0.0.1:6000"));
    assert_eq!(printed["shutdown"]["grace_period"].as_str(), Some("5s"));
}

#[tokio::test]
async fn config_output_with_a_secret_loads_back_only_with_the_secret_itself() {
    let secret = (
        "USER_SERVICE__DIRECTORY__PAGE_TOKEN_SECRET",
        "0123456789abcdef-signing",
    );
    let output = bounded(command(&["config"], &[secret]).output())
        .await
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    assert!(!printed.contains(secret.1), "the secret printed: {printed}");

    let file = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temp file");
    let path = file.path().to_str().expect("utf-8 path");
    std::fs::write(file.path(), &printed).expect("write");
    let (code, stderr) = config_error(&["config", "--config", path], &[]).await;
    assert_eq!(code, Some(78), "{stderr}");
    for needle in ["directory.page_token_secret", "in place of a secret", path] {
        assert!(
            stderr.contains(needle),
            "{needle:?} missing from {stderr:?}"
        );
    }

    // The printout with the secret written back in is a working config file.
    std::fs::write(file.path(), printed.replace(REDACTED, secret.1)).expect("write");
    let (code, stderr) = config_error(&["config", "--config", path], &[]).await;
    assert_eq!(code, Some(0), "{stderr}");
}
