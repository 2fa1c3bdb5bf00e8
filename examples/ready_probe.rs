//! Measures how long a server takes from exec to answering, for benchmarks.
//! Starts `COMMAND...`, polls it every millisecond, prints
//! `ready_us=<µs> pid=<pid>` once it answers, then stays its parent until it
//! exits and exits with its code (1 if a signal ended it). Staying lets the
//! harness give the server a parent-death signal (`setpriv --pdeathsig` in
//! COMMAND): the server then dies with the probe, and the probe with the harness.
//!
//! usage: ready_probe ADDR health|list_user COMMAND [ARGS...]
use std::{
    io::Write,
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, check, command, rest @ ..] = args.as_slice() else {
        return Err("usage: ready_probe ADDR health|list_user COMMAND [ARGS...]".into());
    };
    let started = Instant::now();
    let mut child = Command::new(command)
        .args(rest)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ready = runtime.block_on(async {
        while !answers(addr, check).await {
            if let Some(status) = child.try_wait()? {
                return Err(format!("{command} exited ({status}) before answering").into());
            }
            if started.elapsed() > GIVE_UP {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{command} did not answer within {GIVE_UP:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok::<_, Box<dyn std::error::Error>>(started.elapsed())
    });
    // Dropping the runtime closes the probe's connections, so the server's
    // shutdown does not wait for them to drain.
    drop(runtime);
    let ready = ready?;
    println!("ready_us={} pid={}", ready.as_micros(), child.id());
    std::io::stdout().flush()?;
    let status = child.wait()?;
    std::process::exit(status.code().unwrap_or(1));
}
