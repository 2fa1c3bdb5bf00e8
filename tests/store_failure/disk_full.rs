//! A store whose disk fills up: writes are refused as STORE_FULL or
//! STORE_UNAVAILABLE (never INTERNAL, never a hang), reads go on, health
//! takes `user.v1.UserService` out of rotation while the process stays
//! live, and all of it comes back once space is freed.
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    mounts::Tmpfs,
    serial,
    service::{self, STORE},
};

/// Creates that must fill the 2 MiB left: each writes several 4 KiB pages.
const MAX_CREATES: usize = 5000;

#[tokio::test]
async fn a_full_disk_refuses_writes_retryably_and_health_follows_it_both_ways() {
    let _alone = serial::alone().await;
    let Some(tmpfs) = Tmpfs::mount("3m") else {
        return;
    };
    // Space to give back later.
    let filler = tmpfs.path().join("filler");
    std::fs::write(&filler, vec![1u8; 1 << 20]).expect("filler file");
    let mut running = service::start(
        tmpfs.path(),
        &[("USER_SERVICE__STORE__HEALTH_INTERVAL", "200ms")],
    )
    .await;
    let (mut users, mut health) = service::clients(running.addr).await;
    let kept = service::create(&mut users, "kept", "")
        .await
        .expect("created")
        .name;
    service::wait_health(&mut health, STORE, ServingStatus::Serving).await;

    let long = "x".repeat(200);
    let mut refused = None;
    for n in 0..MAX_CREATES {
        if let Err(status) = service::create(&mut users, &format!("f-{n}"), &long).await {
            refused = Some((n, status));
            break;
        }
    }
    let (filled_after, status) = refused.expect("the disk fills up");
    service::assert_store_failure(&status);
    // Not a one-off: the next writes are refused the same way.
    for n in 0..3 {
        let status = service::create(&mut users, &format!("g-{n}"), &long)
            .await
            .expect_err("no space for it");
        service::assert_store_failure(&status);
    }
    let stored = service::get(&mut users, &kept).await.expect("reads go on");
    assert_eq!(stored.name, kept);

    let flipped = service::wait_health(&mut health, STORE, ServingStatus::NotServing).await;
    assert_eq!(
        service::health_of(&mut health, "").await,
        ServingStatus::Serving,
        "the process stays live: no restart for a full disk"
    );

    std::fs::remove_file(&filler).expect("space freed");
    let recovered = service::wait_health(&mut health, STORE, ServingStatus::Serving).await;
    service::create(&mut users, "after", &long)
        .await
        .expect("writes work again");
    eprintln!(
        "disk full: {filled_after} creates filled the store, first refusal {:?}; \
         NOT_SERVING after {flipped:?}, SERVING {recovered:?} after space was freed",
        status.code()
    );
    drop((users, health));
    assert_eq!(service::terminate(&mut running).await, Some(0));
}
