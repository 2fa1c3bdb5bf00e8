//! The CPU cost of authenticating calls, for `bench/instructions.py`: the
//! server's whole stack in-process (`stack::build`), in `auth.mode = jwt`
//! with keys from a JWKS file, answering one legacy ListUser per token in
//! TOKENS_FILE (one token per line). Distinct tokens pay a signature check
//! each; one token repeated is checked once and then found in the cache.
//! Run under callgrind at two token counts, the difference per call is the
//! cost of a call; the difference between distinct and repeated tokens is
//! the cost of verifying one.
//!
//! usage: auth_cost [--none] JWKS_FILE TOKENS_FILE
//! (issuer `https://bench.issuer`, audience `user-service`; every call must
//! be answered OK, or the run fails). `--none` runs with `auth.mode = none`,
//! the tokens still sent: the baseline the layer's cost is measured from.
use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::sync::watch;
use tower::ServiceExt;
use user_service::{
    directory::{PageTokens, UserStore},
    server::{HealthSwitch, stack},
    settings::{AuthMode, Settings},
    users::LegacyUsers,
};

/// ListUser(id 2, name "twtrubiks"), length-prefixed as gRPC sends it.
const FRAME: &[u8] = b"\x00\x00\x00\x00\x0d\x08\x02\x12\x09twtrubiks";

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.first().map(String::as_str) {
        Some("--none") => {
            args.remove(0);
            AuthMode::None
        }
        _ => AuthMode::Jwt,
    };
    let [jwks, tokens] = args.as_slice() else {
        bail!("usage: auth_cost [--none] JWKS_FILE TOKENS_FILE");
    };
    let tokens = std::fs::read_to_string(tokens).context("cannot read TOKENS_FILE")?;
    let mut settings = Settings::default();
    settings.auth.mode = mode;
    settings.auth.jwks_file = PathBuf::from(jwks);
    settings.auth.issuer = "https://bench.issuer".to_owned();
    settings.auth.audiences = vec!["user-service".to_owned()];
    let dir = tempfile::tempdir()?;
    settings.store.url = format!("sqlite://{}/users.db", dir.path().display());
    let store: Arc<dyn UserStore> = user_service::store::open(&settings.store).await?;
    let (_draining, draining_rx) = watch::channel(false);
    let parts = stack::Parts {
        legacy: LegacyUsers::new(&settings.limits),
        store,
        page_tokens: PageTokens::new(b"bench-page-token-secret", Duration::from_secs(3600)),
        health: HealthSwitch::new().await,
        draining: draining_rx,
        metrics: None,
    };
    let service = stack::build(&settings, parts)?.into_service();
    let mut answered = 0usize;
    for token in tokens.lines().filter(|line| !line.is_empty()) {
        let request = http::Request::builder()
            .method(http::Method::POST)
            .uri("/user.Users/ListUser")
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("authorization", format!("Bearer {token}"))
            .body(tonic::body::Body::new(Full::new(Bytes::from_static(FRAME))))?;
        let response = service.clone().oneshot(request).await?;
        // An error is answered trailers-only: its status is in the headers.
        let (head, body) = response.into_parts();
        let collected = body.collect().await?;
        let status = collected
            .trailers()
            .unwrap_or(&head.headers)
            .get("grpc-status")
            .map(|value| value.as_bytes().to_vec());
        if status.as_deref() != Some(b"0") {
            let message = head.headers.get("grpc-message");
            bail!("call {answered} was not answered OK: grpc-status {status:?} {message:?}");
        }
        answered += 1;
    }
    println!("{answered} calls answered");
    Ok(())
}
