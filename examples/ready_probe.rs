//! Measures how long a server takes from exec to answering, for benchmarks.
//! Starts `COMMAND...`, polls it every millisecond, prints
//! `ready_us=<µs> pid=<pid>` once it answers, and leaves it running.
//!
//! usage: ready_probe ADDR health|list_user COMMAND [ARGS...]
use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use tonic::transport::Endpoint;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use user_service::proto::{UserRequest, users_client::UsersClient};

const GIVE_UP: Duration = Duration::from_secs(30);

async fn answers(addr: &str, check: &str) -> bool {
    let Ok(endpoint) = Endpoint::from_shared(format!("http://{addr}")) else {
        return false;
    };
    let Ok(channel) = endpoint
        .connect_timeout(Duration::from_millis(50))
        .timeout(Duration::from_millis(200))
        .connect()
        .await
    else {
        return false;
    };
    match check {
        "health" => HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await
            .is_ok_and(|r| r.into_inner().status() == ServingStatus::Serving),
        _ => UsersClient::new(channel)
            .list_user(UserRequest {
                id: 1,
                name: "ready".to_owned(),
            })
            .await
            .is_ok(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, check, command, rest @ ..] = args.as_slice() else {
        return Err("usage: ready_probe ADDR health|list_user COMMAND [ARGS...]".into());
    };
    let started = Instant::now();
    let child = Command::new(command)
        .args(rest)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    while !answers(addr, check).await {
        if started.elapsed() > GIVE_UP {
            return Err(format!("{command} did not answer within {GIVE_UP:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    println!(
        "ready_us={} pid={}",
        started.elapsed().as_micros(),
        child.id()
    );
    Ok(())
}
