//! Draining under load: SIGTERM while a burst of slow calls is in flight.
//! The contract: health flips to NOT_SERVING at once, calls are
//! still served for the grace period, then accepting stops and every call
//! already accepted runs to completion; the process exits 0.
use std::{net::SocketAddr, time::Duration};

use futures::future::join_all;
use tokio::net::TcpStream;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    client::{self, check, is_contract_answer, is_shed, list_user_fresh},
    process::{WAIT_BOUND, exit_code, send_signal, start, wait_for_log},
    slow::{self, SlowCall},
};

/// Connections the slow calls are spread over.
const CONNECTIONS: usize = 4;
/// Slow calls on each connection.
const CALLS_PER_CONNECTION: usize = 3;
/// Every slow call holds a slot; the limit equals their number, so a shed
/// ordinary call proves all of them are inside the server.
const SLOW_CALLS: usize = CONNECTIONS * CALLS_PER_CONNECTION;
/// Long enough for the checks inside it on a busy machine.
const GRACE_PERIOD: &str = "2s";

/// Resolves once every slow call holds a slot: an ordinary call is shed.
pub(crate) async fn all_slots_taken(addr: SocketAddr) {
    tokio::time::timeout(WAIT_BOUND, async {
        loop {
            match list_user_fresh(addr, 1, "probe").await {
                Err(status) if is_shed(&status) => return,
                // A slow call is not dispatched yet; its slot was free.
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                Err(status) => panic!("probe failed: {status:?}"),
            }
        }
    })
    .await
    .expect("the slow calls take every slot within the bound");
}

/// Resolves once a TCP connect to `addr` is refused.
async fn refusing_connections(addr: SocketAddr) {
    tokio::time::timeout(WAIT_BOUND, async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the listener closes within the bound");
}

/// Opens `CONNECTIONS` connections with `CALLS_PER_CONNECTION` slow calls each.
pub(crate) async fn slow_calls(
    addr: SocketAddr,
    connections: usize,
    per_connection: usize,
) -> Vec<SlowCall> {
    let mut calls = Vec::with_capacity(connections * per_connection);
    for connection in 0..connections {
        let h2 = slow::connect(addr).await;
        for call in 0..per_connection {
            let id = i32::try_from(1 + connection * per_connection + call).expect("small id");
            let started = SlowCall::start(&h2, id, &format!("slow call {id}"))
                .await
                .expect("the slow call starts");
            calls.push(started);
        }
    }
    calls
}

#[tokio::test]
async fn sigterm_with_slow_calls_in_flight_serves_the_grace_period_then_drains_every_call() {
    let _alone = crate::serial::alone().await;
    let slots = SLOW_CALLS.to_string();
    let mut server = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", GRACE_PERIOD),
        ("USER_SERVICE__SHUTDOWN__DRAIN_TIMEOUT", "20s"),
        ("USER_SERVICE__LIMITS__MAX_CONCURRENT_CALLS", &slots),
    ])
    .await;
    let addr = server.addr;
    let mut held = slow_calls(addr, CONNECTIONS, CALLS_PER_CONNECTION).await;
    all_slots_taken(addr).await;

    send_signal(&server.child, "TERM");
    wait_for_log(&mut server.logs, "shutdown.not_serving").await;

    // Inside the grace period: health says NOT_SERVING, calls are served.
    let probe = client::channel(addr);
    for service in ["", "user.Users"] {
        assert_eq!(
            check(&probe, service).await.ok(),
            Some(ServingStatus::NotServing)
        );
    }
    let first = held.remove(0).finish().await.expect("an answer");
    assert!(first.is_right(), "released during grace: {first:?}");
    let during_grace = list_user_fresh(addr, 5, "during grace").await;
    let during_grace = during_grace.expect("a new call inside the grace period is served");
    assert!(is_contract_answer(&during_grace, 5, "during grace"));

    // After it: the listener closes, new clients are refused cleanly.
    wait_for_log(&mut server.logs, "shutdown.draining").await;
    refusing_connections(addr).await;
    for attempt in 0..5 {
        let refused = list_user_fresh(addr, 6, "after grace")
            .await
            .expect_err("no new calls once draining");
        assert_eq!(
            refused.code(),
            Code::Unavailable,
            "attempt {attempt}: {refused:?}"
        );
    }

    // Every call accepted before completes, with the right answer.
    let count = held.len();
    let answers = join_all(held.into_iter().map(SlowCall::finish)).await;
    let wrong: Vec<_> = answers
        .iter()
        .filter(|answer| !answer.as_ref().is_ok_and(slow::SlowAnswer::is_right))
        .collect();
    println!(
        "drain: {} slow calls in flight at SIGTERM, {} failed",
        count + 1,
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "held calls failed while draining: {wrong:?}"
    );

    wait_for_log(&mut server.logs, "shutdown.drained").await;
    assert_eq!(exit_code(&mut server.child, WAIT_BOUND).await, Some(0));
}
