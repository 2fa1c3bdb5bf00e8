//! Background work on the store while the server runs: health follows the
//! store (with hysteresis) and the purge sweep removes users past their
//! purge time.
use std::{sync::Arc, time::Duration};

use super::HealthSwitch;
use crate::{
    directory::{Micros, UserStore},
    settings::StoreSettings,
};

/// Consecutive failed checks before `user.v1.UserService` goes NOT_SERVING,
/// and consecutive good ones before it is SERVING again: one slow answer
/// does not take a replica out of rotation, and one good one does not put a
/// flapping store back.
const FLIP_AFTER: u32 = 2;
/// The most batches one sweep removes before it waits for the next interval,
/// so a huge backlog never holds the writer for long.
const MAX_BATCHES_PER_SWEEP: u32 = 20;

/// Checks the store every `interval` and reports it to health; runs until
/// dropped.
pub(crate) async fn follow_store(
    store: Arc<dyn UserStore>,
    health: HealthSwitch,
    interval: Duration,
) {
    let mut answers = true;
    let mut streak = 0;
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let result = store.ping().await;
        if result.is_ok() == answers {
            streak = 0;
            continue;
        }
        streak += 1;
        if streak < FLIP_AFTER {
            continue;
        }
        answers = result.is_ok();
        streak = 0;
        match result {
            Ok(()) => tracing::info!("store.reachable: user.v1.UserService is SERVING again"),
            Err(err) => {
                tracing::warn!(error = %err, "store.unreachable: user.v1.UserService is NOT_SERVING")
            }
        }
        health.set_store_answers(answers).await;
    }
}

/// Purges deleted users past their purge time, in bounded batches, every
/// `settings.purge_interval`; runs until dropped.
pub(crate) async fn purge(store: Arc<dyn UserStore>, settings: StoreSettings) {
    let mut ticks = tokio::time::interval(settings.purge_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let mut purged = 0;
        for _ in 0..MAX_BATCHES_PER_SWEEP {
            match store.purge(Micros::now(), settings.purge_batch_size).await {
                Ok(count) => {
                    purged += count;
                    if count < u64::from(settings.purge_batch_size) {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "store.purge_failed");
                    break;
                }
            }
        }
        if purged > 0 {
            tracing::info!(count = purged, "store.purged");
        }
    }
}
