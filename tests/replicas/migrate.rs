//! The binary on PostgreSQL: `user-service migrate` as a Job runs it, then
//! replicas that do not migrate; the password from a file, never printed.
use std::time::Duration;

use crate::{
    postgres::{PASSWORD, PgServer},
    process::{WAIT_BOUND, command, start},
    skipped,
};

async fn run(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    tokio::time::timeout(WAIT_BOUND, command(args, env).output())
        .await
        .expect("the binary ends within the bound")
        .expect("the binary runs")
}

#[tokio::test]
async fn migrate_then_serve_without_migrating_reads_the_password_file() {
    let Some(server) = PgServer::shared() else {
        return skipped("migrate on PostgreSQL");
    };
    let url = server.fresh_database().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let password_file = dir.path().join("password");
    // As a Kubernetes Secret mounts it: the value and a newline.
    std::fs::write(&password_file, format!("{PASSWORD}\n")).expect("written");
    let password_file = password_file.to_str().expect("UTF-8");
    let env = [
        ("USER_SERVICE__STORE__URL", url.as_str()),
        ("USER_SERVICE__STORE__PASSWORD_FILE", password_file),
    ];
    let output = run(&["migrate"], &env).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("migrations applied"), "{stderr}");

    let mut running = start(&[env[0], env[1], ("USER_SERVICE__STORE__MIGRATE", "false")]).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", running.addr))
        .expect("a uri")
        .connect()
        .await
        .expect("connects");
    let mut client =
        user_service::proto::v1::user_service_client::UserServiceClient::new(channel.clone());
    let request = crate::support::create_request("migrated", "m@x.org");
    let created = tokio::time::timeout(Duration::from_secs(10), client.create_user(request))
        .await
        .expect("answers in time")
        .expect("created on the migrated database");
    assert_eq!(created.get_ref().name, "users/migrated");
    let _ = running.child.start_kill();
}

#[tokio::test]
async fn serving_an_unmigrated_database_without_migrating_says_to_run_migrate() {
    let Some(server) = PgServer::shared() else {
        return skipped("unmigrated PostgreSQL");
    };
    let url = server.fresh_database().await;
    let env = [
        ("USER_SERVICE__STORE__URL", url.as_str()),
        ("USER_SERVICE__STORE__PASSWORD", PASSWORD),
        ("USER_SERVICE__STORE__MIGRATE", "false"),
        ("USER_SERVICE__SERVER__ADDR", "127.0.0.1:0"),
    ];
    let output = run(&["--log-format", "text"], &env).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stderr}{stdout}");
    assert!(
        format!("{stderr}{stdout}").contains("user-service migrate"),
        "{stderr}{stdout}"
    );
}

#[tokio::test]
async fn a_wrong_password_fails_without_showing_it() {
    let Some(server) = PgServer::shared() else {
        return skipped("a wrong password");
    };
    let url = server.fresh_database().await;
    let output = run(
        &["migrate"],
        &[
            ("USER_SERVICE__STORE__URL", url.as_str()),
            ("USER_SERVICE__STORE__PASSWORD", "not-the-password"),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-password"), "{stderr}");
}

#[tokio::test]
async fn the_password_is_never_printed_and_a_missing_password_file_is_named() {
    let Some(server) = PgServer::shared() else {
        return skipped("PostgreSQL settings");
    };
    let url = server.url("postgres");
    let printed = run(
        &["config"],
        &[
            ("USER_SERVICE__STORE__URL", url.as_str()),
            ("USER_SERVICE__STORE__PASSWORD", "hunter2-secret"),
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&printed.stdout);
    assert_eq!(printed.status.code(), Some(0), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    assert!(!text.contains("hunter2-secret"), "{text}");

    let missing = run(
        &["migrate"],
        &[
            ("USER_SERVICE__STORE__URL", url.as_str()),
            (
                "USER_SERVICE__STORE__PASSWORD_FILE",
                "/nonexistent/password",
            ),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_ne!(missing.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("store.password_file"), "{stderr}");
}
