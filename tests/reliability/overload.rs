//! Overload: with every slot held by slow calls, a flood of ordinary calls is
//! shed at once (RESOURCE_EXHAUSTED, `OVERLOADED`), probes still answer, the
//! calls that do get a slot keep their latency, and full service returns the
//! moment the held calls end.
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::future::join_all;
use tonic::{Status, transport::Channel};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    client::{self, check, is_contract_answer, is_shed, list_user, reflected_services},
    drain::{all_slots_taken, slow_calls},
    latency::Samples,
    process::{WAIT_BOUND, start},
    slow::{SlowAnswer, SlowCall},
};

/// `limits.max_concurrent_calls` of the server under test.
const SLOTS: usize = 8;
/// The excess fired at a full server: ten times its capacity.
const EXCESS: usize = 10 * SLOTS;
/// Latency samples per measurement.
const SAMPLES: usize = 200;
/// Calls the measuring client may try before giving up on `SAMPLES`.
const MAX_ATTEMPTS: usize = 20 * SAMPLES;
/// Calls in one burst of the flood: four times the capacity, several times
/// the slots left free while it runs.
const FLOOD_BURST: usize = 4 * SLOTS;
/// Pause between two bursts of the flood.
const FLOOD_PAUSE: Duration = Duration::from_millis(50);
/// How long the whole excess may take to be answered: far above a healthy
/// answer, far below anything that queues behind the held calls.
const SHED_BOUND: Duration = Duration::from_secs(5);

/// Sequential calls on `channel` until `SAMPLES` were served: their
/// latencies, and how many were shed on the way.
async fn measure(channel: &Channel) -> (Samples, usize) {
    let mut samples = Samples::default();
    let mut shed = 0;
    let measuring = async {
        for attempt in 0..MAX_ATTEMPTS {
            if samples.len() == SAMPLES {
                return;
            }
            let started = Instant::now();
            match list_user(channel, 4, "measured").await {
                Ok(answer) => {
                    samples.record(started.elapsed());
                    assert!(is_contract_answer(&answer, 4, "measured"), "{answer:?}");
                }
                Err(status) if is_shed(&status) => shed += 1,
                Err(status) => panic!("measured call {attempt} failed: {status:?}"),
            }
        }
    };
    tokio::time::timeout(WAIT_BOUND, measuring)
        .await
        .expect("measured within the bound");
    assert_eq!(
        samples.len(),
        SAMPLES,
        "too many measured calls shed ({shed})"
    );
    (samples, shed)
}

/// Counts of the flood's calls.
#[derive(Debug, Default)]
struct Flood {
    sent: AtomicUsize,
    shed: AtomicUsize,
}

/// Bursts of `FLOOD_BURST` ordinary calls at once, over a few connections, every
/// `FLOOD_PAUSE` until `stop`. Paced, so that the test's own clients do not
/// take the machine's CPU from the server: the load is calls beyond the
/// limit, not a busy machine.
async fn flood(addr: std::net::SocketAddr, flood: Arc<Flood>, stop: Arc<AtomicBool>) {
    let channels: Vec<_> = (0..4).map(|_| client::channel(addr)).collect();
    let per_channel = FLOOD_BURST / channels.len();
    let senders = channels.into_iter().map(|channel| {
        let (flood, stop) = (Arc::clone(&flood), Arc::clone(&stop));
        async move {
            while !stop.load(Ordering::Relaxed) {
                let batch = (0..per_channel).map(|_| list_user(&channel, 8, "flood"));
                let results = join_all(batch).await;
                tokio::time::sleep(FLOOD_PAUSE).await;
                for result in results {
                    flood.sent.fetch_add(1, Ordering::Relaxed);
                    match result {
                        Ok(_) => {}
                        Err(status) if is_shed(&status) => {
                            flood.shed.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(status) => panic!("flood call failed: {status:?}"),
                    }
                }
            }
        }
    });
    join_all(senders).await;
}

/// Every answer right; panics with the wrong ones.
fn all_right(what: &str, answers: Vec<Result<SlowAnswer, h2::Error>>) {
    let count = answers.len();
    let wrong: Vec<_> = answers
        .into_iter()
        .filter(|answer| !answer.as_ref().is_ok_and(SlowAnswer::is_right))
        .collect();
    assert!(
        wrong.is_empty(),
        "{what}: {} of {count} wrong: {wrong:?}",
        wrong.len()
    );
}

#[tokio::test]
async fn a_full_server_sheds_the_excess_at_once_and_keeps_accepted_calls_fast() {
    let _alone = crate::serial::alone().await;
    let slots = SLOTS.to_string();
    let server = start(&[("USER_SERVICE__LIMITS__MAX_CONCURRENT_CALLS", &slots)]).await;
    let addr = server.addr;
    let measured = client::channel(addr);
    for _ in 0..20 {
        list_user(&measured, 4, "warm-up").await.expect("warm-up");
    }
    let (unloaded, _) = measure(&measured).await;

    // Every slot held: ten times the capacity, at once, is shed at once.
    let mut held = slow_calls(addr, 2, SLOTS / 2).await;
    all_slots_taken(addr).await;
    let channels: Vec<_> = (0..4).map(|_| client::channel(addr)).collect();
    let started = Instant::now();
    let excess = (0..EXCESS).map(|call| list_user(&channels[call % 4], 7, "excess"));
    let results: Vec<Result<_, Status>> = join_all(excess).await;
    let shed_in = started.elapsed();
    let not_shed: Vec<_> = results
        .iter()
        .filter(|result| !result.as_ref().is_err_and(is_shed))
        .collect();
    println!(
        "overload: {EXCESS} calls at a full server ({SLOTS} slots held): {} shed within {shed_in:?}, {} not shed",
        EXCESS - not_shed.len(),
        not_shed.len()
    );
    assert!(not_shed.is_empty(), "excess calls not shed: {not_shed:?}");
    assert!(shed_in < SHED_BOUND, "shedding took {shed_in:?}");

    // Probes are exempt and tell the truth.
    let probe = client::channel(addr);
    assert_eq!(check(&probe, "").await.ok(), Some(ServingStatus::Serving));
    let services = reflected_services(&probe)
        .await
        .expect("reflection answers");
    assert!(
        services.iter().any(|name| name == "user.Users"),
        "{services:?}"
    );

    // Half the slots freed, the flood going on: accepted calls stay fast.
    let freed: Vec<SlowCall> = held.drain(..SLOTS / 2).collect();
    all_right(
        "freed calls",
        join_all(freed.into_iter().map(SlowCall::finish)).await,
    );
    let (counts, stop) = (Arc::new(Flood::default()), Arc::new(AtomicBool::new(false)));
    let flooding = tokio::spawn(flood(addr, Arc::clone(&counts), Arc::clone(&stop)));
    let (loaded, measured_shed) = measure(&measured).await;
    stop.store(true, Ordering::Relaxed);
    tokio::time::timeout(WAIT_BOUND, flooding)
        .await
        .expect("the flood stops within the bound")
        .expect("flood task");
    let (sent, shed) = (
        counts.sent.load(Ordering::Relaxed),
        counts.shed.load(Ordering::Relaxed),
    );
    println!("overload: unloaded {}", unloaded.summary());
    println!(
        "overload: under a flood of {sent} calls ({shed} shed), {} of {SLOTS} slots held: {}; {measured_shed} measured calls shed",
        SLOTS / 2,
        loaded.summary()
    );
    assert!(shed > 0, "the flood was never shed: no overload measured");
    // Generous: client and server share a small machine, so a measured call
    // that lands on a burst waits for CPU. A call queued behind the held
    // calls or a shedding that stalls would take seconds, far above this.
    let bound = unloaded.percentile(99) * 10 + Duration::from_millis(100);
    assert!(
        loaded.percentile(99) < bound,
        "accepted calls slowed down: p99 {:?} under load, bound {bound:?}",
        loaded.percentile(99)
    );

    // The rest released: all complete, and the whole capacity is back at once.
    all_right(
        "held calls",
        join_all(held.into_iter().map(SlowCall::finish)).await,
    );
    let full = (0..SLOTS).map(|call| list_user(&channels[call % 4], 9, "full service"));
    let failed: Vec<_> = join_all(full)
        .await
        .into_iter()
        .filter(Result::is_err)
        .collect();
    assert!(failed.is_empty(), "capacity not back: {failed:?}");
}
