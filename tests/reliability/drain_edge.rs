//! The instant accepting stops. Clients that keep opening fresh connections
//! across that instant must each see either a served call or a clean refusal
//! (UNAVAILABLE): never a call reset half-way, which a tonic client reports
//! as UNKNOWN or CANCELLED. The edge is narrow, so it is crossed many times:
//! several rounds, several clients each.
use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use futures::future::join_all;
use tokio::sync::Semaphore;
use tonic::{Code, Status};

use crate::{
    client::{is_contract_answer, list_user_fresh},
    process::{WAIT_BOUND, exit_code, send_signal, start, wait_for_log},
};

/// Rounds in a normal run; `RELIABILITY_DRAIN_EDGE_ROUNDS` asks for more.
const ROUNDS: usize = 6;
/// Clients opening connections at once.
const CLIENTS: usize = 8;

/// What one round's clients saw.
#[derive(Debug, Default)]
struct Outcomes {
    served: usize,
    refused: usize,
    /// Anything else: the failures this test exists to catch.
    broken: Vec<Status>,
}

/// Calls on fresh connections until one is refused; `warmed` gets a permit
/// after the first served call.
async fn keep_calling(addr: SocketAddr, client: usize, warmed: Arc<Semaphore>) -> Outcomes {
    let mut outcomes = Outcomes::default();
    let name = format!("edge client {client}");
    let calling = async {
        loop {
            match list_user_fresh(addr, 3, &name).await {
                Ok(answer) => {
                    assert!(is_contract_answer(&answer, 3, &name), "{answer:?}");
                    if outcomes.served == 0 {
                        warmed.add_permits(1);
                    }
                    outcomes.served += 1;
                }
                Err(status) if status.code() == Code::Unavailable => {
                    outcomes.refused += 1;
                    return;
                }
                Err(status) => outcomes.broken.push(status),
            }
        }
    };
    tokio::time::timeout(WAIT_BOUND, calling)
        .await
        .expect("refused within the bound once draining");
    outcomes
}

/// One server, `CLIENTS` clients calling through its shutdown.
async fn round(calls: &AtomicUsize) -> Vec<Status> {
    let mut server = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s"),
        ("USER_SERVICE__SHUTDOWN__DRAIN_TIMEOUT", "10s"),
    ])
    .await;
    let warmed = Arc::new(Semaphore::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| tokio::spawn(keep_calling(server.addr, client, Arc::clone(&warmed))))
        .collect();
    // Every client is mid-stream before the signal.
    let all = u32::try_from(CLIENTS).expect("few clients");
    tokio::time::timeout(WAIT_BOUND, warmed.acquire_many(all))
        .await
        .expect("every client served within the bound")
        .expect("open semaphore")
        .forget();
    send_signal(&server.child, "TERM");

    let mut broken = Vec::new();
    for outcomes in join_all(clients).await {
        let outcomes = outcomes.expect("client task");
        calls.fetch_add(
            outcomes.served + outcomes.refused + outcomes.broken.len(),
            Ordering::Relaxed,
        );
        broken.extend(outcomes.broken);
    }
    wait_for_log(&mut server.logs, "shutdown.drained").await;
    assert_eq!(exit_code(&mut server.child, WAIT_BOUND).await, Some(0));
    broken
}

#[tokio::test]
async fn calls_crossing_the_moment_accepting_stops_are_served_or_refused_cleanly() {
    let _alone = crate::serial::alone().await;
    let rounds = std::env::var("RELIABILITY_DRAIN_EDGE_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(ROUNDS);
    let calls = AtomicUsize::new(0);
    let mut broken = Vec::new();
    for _ in 0..rounds {
        broken.extend(round(&calls).await);
    }
    println!(
        "drain edge: {rounds} rounds, {} calls across the edge, {} broken",
        calls.load(Ordering::Relaxed),
        broken.len()
    );
    assert!(
        broken.is_empty(),
        "calls broken at the drain edge: {broken:#?}"
    );
}
