//! An acknowledged create survives `kill -9` of the process in the middle
//! of a steady load: the store commits before the answer leaves.
use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::sync::watch;
use tonic::Status;

use crate::{
    process::{WAIT_BOUND, exit_code, send_signal},
    serial,
    service::{self, Users},
};

/// Client tasks, each on a connection of its own.
const TASKS: usize = 4;
/// Acknowledged creates before the kill …
const ENOUGH: usize = 500;
/// … or this long, whichever comes first.
const LOAD_BOUND: Duration = Duration::from_secs(10);
/// Fewer acknowledged creates than this and the test proves nothing.
const MEANINGFUL: usize = 50;
/// Creates one task sends at most.
const MAX_PER_TASK: usize = 100_000;

/// What one client task saw.
#[derive(Default)]
struct Seen {
    acknowledged: Vec<String>,
    /// The create that was unanswered when the process died.
    in_flight: Option<String>,
    /// Errors before the kill: there should be none.
    before_kill: Vec<Status>,
}

/// Creates users one after another until a call fails.
async fn load(
    mut users: Users,
    task: usize,
    killing: Arc<AtomicBool>,
    acks: watch::Sender<usize>,
) -> Seen {
    let mut seen = Seen::default();
    for n in 0..MAX_PER_TASK {
        let id = format!("t{task}-{n}");
        match service::create(&mut users, &id, "").await {
            Ok(user) => {
                seen.acknowledged.push(user.name);
                acks.send_modify(|count| *count += 1);
            }
            // `killing` is set before the signal is sent, so an error the
            // kill caused always finds it set.
            Err(_) if killing.load(Ordering::SeqCst) => {
                seen.in_flight = Some(format!("users/{id}"));
                break;
            }
            Err(status) => {
                seen.before_kill.push(status);
                break;
            }
        }
    }
    seen
}

#[tokio::test]
async fn every_acknowledged_create_survives_kill_9_mid_load() {
    let _alone = serial::alone().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut running = service::start(dir.path(), &[]).await;

    let killing = Arc::new(AtomicBool::new(false));
    let (acks, mut acknowledged_so_far) = watch::channel(0);
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let users = Users::new(service::channel(running.addr).await);
        tasks.push(tokio::spawn(load(
            users,
            task,
            killing.clone(),
            acks.clone(),
        )));
    }
    // Dropped here so that waiting ends early if every task stopped.
    drop(acks);
    let _ = tokio::time::timeout(
        LOAD_BOUND,
        acknowledged_so_far.wait_for(|count| *count >= ENOUGH),
    )
    .await;

    killing.store(true, Ordering::SeqCst);
    send_signal(&running.child, "KILL");
    assert_eq!(
        exit_code(&mut running.child, WAIT_BOUND).await,
        None,
        "killed by a signal"
    );

    let mut acknowledged = BTreeSet::new();
    let mut in_flight = BTreeSet::new();
    for task in tasks {
        let seen = tokio::time::timeout(WAIT_BOUND, task)
            .await
            .expect("every client task stops once the process is gone")
            .expect("a client task does not panic");
        assert!(
            seen.before_kill.is_empty(),
            "errors before the kill: {:?}",
            seen.before_kill
        );
        acknowledged.extend(seen.acknowledged);
        in_flight.extend(seen.in_flight);
    }
    assert!(
        acknowledged.len() >= MEANINGFUL,
        "only {} creates were acknowledged before the kill",
        acknowledged.len()
    );

    let restarted = service::start(dir.path(), &[]).await;
    let (mut users, _) = service::clients(restarted.addr).await;
    let present = service::all_names(&mut users).await;
    let lost: Vec<&String> = acknowledged.difference(&present).collect();
    let unacknowledged_present = present.difference(&acknowledged).count();
    eprintln!(
        "durability: acknowledged={} in_flight_at_kill={} present={} unacknowledged_but_present={} lost={}",
        acknowledged.len(),
        in_flight.len(),
        present.len(),
        unacknowledged_present,
        lost.len()
    );
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    // Only a create in flight at the kill may be there unacknowledged.
    let phantoms: Vec<&String> = present
        .iter()
        .filter(|name| !acknowledged.contains(*name) && !in_flight.contains(*name))
        .collect();
    assert!(phantoms.is_empty(), "users nobody created: {phantoms:?}");
}
