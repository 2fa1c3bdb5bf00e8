//! Keys from a JWKS URL, served by a small HTTP server in the test: down
//! at start-up is a clear UNAVAILABLE, never a hang, until the URL answers;
//! down later keeps the last good keys.
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use tonic::Code;
use user_service::settings::Settings;

use super::support::{
    AuthApp, SigningKey, assert_denied, claims, jwks, list_user_with, spawn_auth_app_with,
};

/// What the key server answers.
#[derive(Clone)]
enum Mode {
    Serve(String),
    Fail,
    /// Accepts and never answers.
    Hang,
}

struct KeyServer {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
}

impl KeyServer {
    async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let mode = Arc::new(Mutex::new(mode));
        let shared = mode.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mode = shared.lock().expect("mode").clone();
                tokio::spawn(async move {
                    let mut request = vec![0; 8192];
                    let mut read = 0;
                    while !request[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut request[read..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => read += n,
                        }
                    }
                    let answer = match mode {
                        Mode::Serve(body) => format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        ),
                        Mode::Fail => "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
                        Mode::Hang => return std::future::pending().await,
                    };
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        Self { addr, mode }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }

    fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }
}

fn from_url(url: String) -> impl FnOnce(&mut Settings) {
    move |settings| {
        settings.auth.jwks_file = std::path::PathBuf::new();
        settings.auth.jwks_url = url;
        settings.auth.jwks_fetch_timeout = Duration::from_millis(500);
    }
}

fn token(app: &AuthApp) -> String {
    app.issuer.rsa.sign(&claims("users.read"))
}

#[tokio::test]
async fn a_jwks_url_with_nothing_listening_answers_unavailable() {
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/jwks.json", closed.local_addr().expect("address"));
    drop(closed);
    let app = spawn_auth_app_with(from_url(url)).await;
    let result = list_user_with(&app.app, &token(&app)).await;
    assert_denied(result, Code::Unavailable, "KEYS_UNAVAILABLE");
}

#[tokio::test]
async fn a_jwks_url_down_at_start_up_is_unavailable_until_it_answers() {
    let keys = KeyServer::start(Mode::Hang).await;
    let app = spawn_auth_app_with(from_url(keys.url())).await;
    // Bounded by the fetch timeout, not by the client's patience.
    let result = list_user_with(&app.app, &token(&app)).await;
    assert_denied(result, Code::Unavailable, "KEYS_UNAVAILABLE");
    keys.set(Mode::Fail);
    let result = list_user_with(&app.app, &token(&app)).await;
    assert_denied(result, Code::Unavailable, "KEYS_UNAVAILABLE");
    keys.set(Mode::Serve(app.issuer.jwks()));
    list_user_with(&app.app, &token(&app))
        .await
        .expect("allowed once the keys arrive");
}

#[tokio::test]
async fn a_jwks_url_that_goes_down_later_keeps_the_last_good_keys() {
    // The RSA test key is the same in every issuer: serve it alone.
    let keys = KeyServer::start(Mode::Serve(jwks(&[&SigningKey::rsa("rsa-1")]))).await;
    let app = spawn_auth_app_with(from_url(keys.url())).await;
    list_user_with(&app.app, &token(&app))
        .await
        .expect("keys fetched");
    for down in [Mode::Fail, Mode::Hang] {
        keys.set(down);
        let stranger = SigningKey::ed("rotated-away").sign(&claims("users.read"));
        let result = list_user_with(&app.app, &stranger).await;
        assert_denied(result, Code::Unauthenticated, "TOKEN_INVALID");
        list_user_with(&app.app, &token(&app))
            .await
            .expect("the last good keys still verify fresh tokens");
    }
}

#[tokio::test]
async fn a_jwks_larger_than_its_bound_is_not_taken() {
    let padding = " ".repeat(4096);
    let oversized = format!("{}{padding}", jwks(&[&SigningKey::rsa("rsa-1")]));
    let keys = KeyServer::start(Mode::Serve(oversized)).await;
    let url = keys.url();
    let app = spawn_auth_app_with(move |settings| {
        from_url(url)(settings);
        settings.auth.jwks_max_size = 1024;
    })
    .await;
    let result = list_user_with(&app.app, &token(&app)).await;
    assert_denied(result, Code::Unavailable, "KEYS_UNAVAILABLE");
}
