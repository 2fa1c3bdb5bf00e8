//! A store volume that goes read-only under the running binary (ext4's
//! `errors=remount-ro`): writes are refused as STORE_UNAVAILABLE (or
//! STORE_FULL), never INTERNAL or a hang; health takes `user.v1.UserService`
//! out of rotation while the process stays live. Such a volume comes back
//! only by being remounted, which needs its files closed: after a stop,
//! repair and restart, the users written before are there and writes work.
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    mounts::Ext4,
    serial,
    service::{self, STORE},
};

#[tokio::test]
async fn a_volume_gone_read_only_refuses_writes_retryably_and_health_follows_it() {
    let _alone = serial::alone().await;
    let Some(volume) = Ext4::mount() else {
        return;
    };
    let env = [("USER_SERVICE__STORE__HEALTH_INTERVAL", "200ms")];
    let mut running = service::start(volume.path(), &env).await;
    let (mut users, mut health) = service::clients(running.addr).await;
    let kept = service::create(&mut users, "kept", "")
        .await
        .expect("created")
        .name;
    service::wait_health(&mut health, STORE, ServingStatus::Serving).await;

    volume.fail();
    let probe = std::fs::write(volume.path().join("probe"), "x").expect_err("read-only now");
    assert_eq!(
        probe.kind(),
        std::io::ErrorKind::ReadOnlyFilesystem,
        "{probe}"
    );
    let mut codes = Vec::new();
    for n in 0..3 {
        let status = service::create(&mut users, &format!("ro-{n}"), "")
            .await
            .expect_err("a read-only store takes no write");
        service::assert_store_failure(&status);
        codes.push(status.code());
    }
    let flipped = service::wait_health(&mut health, STORE, ServingStatus::NotServing).await;
    assert_eq!(
        service::health_of(&mut health, "").await,
        ServingStatus::Serving,
        "the process stays live: no restart for a read-only store"
    );
    let read = service::get(&mut users, &kept).await.expect("reads go on");
    assert_eq!(read.name, kept);
    eprintln!("read-only: writes answered {codes:?}; NOT_SERVING after {flipped:?}; reads go on");
    drop((users, health));
    assert_eq!(
        service::terminate(&mut running).await,
        Some(0),
        "a clean stop on a read-only store"
    );

    volume.repair();
    let restarted = service::start(volume.path(), &env).await;
    let (mut users, mut health) = service::clients(restarted.addr).await;
    service::wait_health(&mut health, STORE, ServingStatus::Serving).await;
    assert_eq!(
        service::get(&mut users, &kept).await.expect("kept").name,
        kept
    );
    service::create(&mut users, "after", "")
        .await
        .expect("writes work again");
}
