//! `user-service migrate` as a Kubernetes Job would run it, then `serve`
//! with `store.migrate = false`: a migrated file serves, a file without the
//! schema stops the binary with a message saying what to do.
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    process::{WAIT_BOUND, command},
    service::{self, STORE},
    startup::serve_to_exit,
};

const NO_MIGRATE: (&str, &str) = ("USER_SERVICE__STORE__MIGRATE", "false");

#[tokio::test]
async fn migrate_then_serve_without_migrating_works() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A directory that does not exist yet, as on a fresh volume.
    let fresh = dir.path().join("fresh");
    let url = service::store_url(&fresh);
    let output = tokio::time::timeout(
        WAIT_BOUND,
        command(&["migrate"], &[("USER_SERVICE__STORE__URL", &url)]).output(),
    )
    .await
    .expect("migrate ends")
    .expect("migrate runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("migrations applied"), "{stderr}");
    assert!(fresh.join("users.db").is_file());

    let mut running = service::start(&fresh, &[NO_MIGRATE]).await;
    let (mut users, mut health) = service::clients(running.addr).await;
    service::wait_health(&mut health, STORE, ServingStatus::Serving).await;
    let user = service::create(&mut users, "migrated", "")
        .await
        .expect("created");
    assert_eq!(
        service::get(&mut users, &user.name).await.expect("read"),
        user
    );
    drop((users, health));
    assert_eq!(service::terminate(&mut running).await, Some(0));
}

#[tokio::test]
async fn serve_without_migrating_on_an_unmigrated_file_says_to_run_migrate() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("users.db"), "").expect("an empty file");
    let url = service::store_url(dir.path());
    let exit = serve_to_exit(&[("USER_SERVICE__STORE__URL", &url), NO_MIGRATE]).await;
    assert_eq!(exit.code, Some(1), "{}", exit.stderr);
    let failure = exit.failure.expect("a server.failed line");
    for needle in [
        "cannot open the store",
        "store.migrate",
        "user-service migrate",
    ] {
        assert!(
            failure.contains(needle),
            "{needle:?} missing from {failure:?}"
        );
    }
}
