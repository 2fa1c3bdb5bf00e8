//! TLS and mutual TLS from settings, the probe's TLS flags, and start-up
//! refusing unusable certificates.
use std::{path::Path, process::Stdio};

use tokio::process::Command;
use user_service::proto::{UserRequest, users_client::UsersClient};

use crate::{
    helpers::{TestApp, TestUsers, bounded, endpoint, spawn_app_over, test_settings},
    pki::{ClientCert, Pki},
};

const BIN: &str = env!("CARGO_BIN_EXE_user-service");

/// A ListUser call over a fresh connection with `client`'s TLS settings.
async fn call_with(app: &TestApp, pki: &Pki, cert: ClientCert) -> Result<(), String> {
    let client = pki.client(cert);
    let channel = bounded(endpoint(app.addr, Some(&client.tonic)).connect())
        .await
        .map_err(|err| format!("{err:?}"))?;
    let request = UserRequest {
        id: 2,
        name: "tls".to_owned(),
    };
    bounded(UsersClient::new(channel).list_user(request))
        .await
        .map(|_| ())
        .map_err(|status| format!("{status:?}"))
}

pub(crate) async fn clients_without_a_trusted_certificate_are_refused(app: &TestApp, pki: &Pki) {
    let refused = call_with(app, pki, ClientCert::None)
        .await
        .expect_err("no certificate");
    assert!(refused.contains("CertificateRequired"), "{refused}");
    let refused = call_with(app, pki, ClientCert::Untrusted)
        .await
        .expect_err("untrusted certificate");
    assert!(refused.contains("UnknownCA"), "{refused}");
}

async fn spawn_tls_app(pki: &Pki, mutual: bool) -> TestApp {
    let mut settings = test_settings();
    pki.configure(&mut settings, mutual);
    let cert = if mutual {
        ClientCert::Trusted
    } else {
        ClientCert::None
    };
    spawn_app_over(settings, TestUsers::default(), Some(pki.client(cert))).await
}

#[tokio::test]
async fn mutual_tls_serves_trusted_clients_and_refuses_the_rest() {
    let pki = Pki::generate();
    let app = spawn_tls_app(&pki, true).await;
    call_with(&app, &pki, ClientCert::Trusted)
        .await
        .expect("a trusted client is served");
    clients_without_a_trusted_certificate_are_refused(&app, &pki).await;
    app.list_user(2, "after").await.expect("still serving");
}

#[tokio::test]
async fn tls_without_a_client_ca_serves_any_client_that_trusts_the_server() {
    let pki = Pki::generate();
    let app = spawn_tls_app(&pki, false).await;
    call_with(&app, &pki, ClientCert::None)
        .await
        .expect("served over TLS");
    let plaintext = bounded(endpoint(app.addr, None).connect()).await;
    let refused = match plaintext {
        Err(_) => true,
        Ok(channel) => UsersClient::new(channel)
            .list_user(UserRequest::default())
            .await
            .is_err(),
    };
    assert!(refused, "plaintext is not served on a TLS port");
}

async fn healthcheck(addr: &str, flags: &[&str]) -> Option<i32> {
    let output = Command::new(BIN)
        .args(["healthcheck", "--addr", addr, "--timeout", "5s"])
        .args(flags)
        .stdin(Stdio::null())
        .output();
    bounded(output)
        .await
        .expect("healthcheck runs")
        .status
        .code()
}

fn path(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

#[tokio::test]
async fn healthcheck_speaks_tls_with_grpc_health_probes_flags() {
    let pki = Pki::generate();
    let app = spawn_tls_app(&pki, true).await;
    let addr = app.addr.to_string();
    let ca = path(&pki.ca_file);
    let (cert, key) = (path(&pki.client.cert_file), path(&pki.client.key_file));
    let identity = ["--tls-client-cert", cert, "--tls-client-key", key];
    let trusted = [&["--tls", "--tls-ca-cert", ca][..], &identity].concat();
    assert_eq!(healthcheck(&addr, &trusted).await, Some(0));
    let by_name = [&trusted[..], &["--tls-server-name", "localhost"]].concat();
    assert_eq!(healthcheck(&addr, &by_name).await, Some(0));
    let unverified = [&["--tls", "--tls-no-verify"][..], &identity].concat();
    assert_eq!(healthcheck(&addr, &unverified).await, Some(0));

    let wrong_name = [&trusted[..], &["--tls-server-name", "elsewhere"]].concat();
    assert_eq!(healthcheck(&addr, &wrong_name).await, Some(2));
    assert_eq!(healthcheck(&addr, &[]).await, Some(2), "plaintext");
    let without_identity = ["--tls", "--tls-ca-cert", ca];
    assert_eq!(healthcheck(&addr, &without_identity).await, Some(2));

    for bad_arguments in [
        &["--tls-ca-cert", ca][..],
        &["--tls", "--tls-ca-cert", ca, "--tls-no-verify"],
        &["--tls", "--tls-client-cert", cert],
        &["--tls", "--tls-ca-cert", "/nonexistent/ca.pem"],
    ] {
        assert_eq!(
            healthcheck(&addr, bad_arguments).await,
            Some(1),
            "{bad_arguments:?}"
        );
    }
}

#[tokio::test]
async fn an_unusable_certificate_stops_start_up_with_exit_78() {
    let pki = Pki::generate();
    let server = (path(&pki.server.cert_file), path(&pki.server.key_file));
    let directory = pki.ca_file.parent().expect("in a directory");
    let cases = [
        ("/nonexistent/cert.pem", server.1, "", "tls.cert_file"),
        (path(directory), server.1, "", "tls.cert_file"),
        (server.1, server.1, "", "tls.cert_file"),
        (server.0, path(&pki.client.key_file), "", "tls.key_file"),
        (server.0, "", "", "tls.key_file"),
        (
            server.0,
            server.1,
            "/nonexistent/ca.pem",
            "tls.client_ca_file",
        ),
    ];
    for (cert, key, client_ca, failing_key) in cases {
        let output = Command::new(BIN)
            .args(["--addr", "127.0.0.1:0"])
            .env("USER_SERVICE__TLS__CERT_FILE", cert)
            .env("USER_SERVICE__TLS__KEY_FILE", key)
            .env("USER_SERVICE__TLS__CLIENT_CA_FILE", client_ca)
            .env_remove("USER_SERVICE_CONFIG")
            .stdin(Stdio::null())
            .output();
        let output = bounded(output).await.expect("the binary runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(78), "{failing_key}: {stderr}");
        assert!(stderr.contains(&format!("`{failing_key}`")), "{stderr}");
        assert!(stderr.contains("environment variable"), "{stderr}");
    }
}
