//! Under mutual TLS a verified client certificate's URI or DNS SAN, when
//! mapped in `auth.mtls_identities`, stands for a caller with the mapped
//! scopes: service-to-service calls without tokens.
use tonic::Code;
use user_service::proto::{UserRequest, users_client::UsersClient};

use super::support::{assert_denied, jwt_settings, with_metadata};
use crate::{
    helpers::{TestApp, TestUsers, bounded, endpoint, spawn_app_over},
    pki::{ClientCert, Pki, SERVICE_DNS, SERVICE_URI},
};

async fn spawn(pki: &Pki, identities: &[String]) -> TestApp {
    let mut settings = jwt_settings(std::path::Path::new(""));
    settings.auth.jwks_file = std::path::PathBuf::new();
    settings.auth.mtls_identities = identities.to_vec();
    pki.configure(&mut settings, true);
    spawn_app_over(
        settings,
        TestUsers::default(),
        Some(pki.client(ClientCert::Trusted)),
    )
    .await
}

async fn list_user_as(app: &TestApp, pki: &Pki, cert: ClientCert) -> Result<(), tonic::Status> {
    list_user_as_with(app, pki, cert, None).await
}

/// ListUser over a fresh connection showing `cert`, with `authorization`
/// when given.
async fn list_user_as_with(
    app: &TestApp,
    pki: &Pki,
    cert: ClientCert,
    authorization: Option<&str>,
) -> Result<(), tonic::Status> {
    let client = pki.client(cert);
    let channel = bounded(endpoint(app.addr, Some(&client.tonic)).connect())
        .await
        .expect("connects");
    let request = UserRequest {
        id: 2,
        name: "mtls".to_owned(),
    };
    let request = match authorization {
        Some(value) => with_metadata(request, "authorization", value),
        None => tonic::Request::new(request),
    };
    bounded(UsersClient::new(channel).list_user(request))
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_mapped_uri_san_calls_with_its_scopes_and_others_need_a_credential() {
    let pki = Pki::generate();
    let app = spawn(&pki, &[format!("{SERVICE_URI}=users.read")]).await;
    list_user_as(&app, &pki, ClientCert::Service)
        .await
        .expect("the mapped service reads");
    let unmapped = list_user_as(&app, &pki, ClientCert::Trusted).await;
    assert_denied(unmapped, Code::Unauthenticated, "TOKEN_MISSING");
}

#[tokio::test]
async fn a_mapped_dns_san_without_the_scope_is_permission_denied() {
    let pki = Pki::generate();
    let app = spawn(&pki, &[format!("{SERVICE_DNS}=users.write")]).await;
    let refused = list_user_as(&app, &pki, ClientCert::Service).await;
    assert_denied(refused, Code::PermissionDenied, "INSUFFICIENT_SCOPE");
}

#[tokio::test]
async fn a_token_sent_with_a_mapped_certificate_decides_the_call() {
    let pki = Pki::generate();
    let app = spawn(&pki, &[format!("{SERVICE_URI}=users.read")]).await;
    // This server takes no tokens: a bad one is refused even from a mapped
    // service, whose certificate alone would be let in.
    let result = list_user_as_with(&app, &pki, ClientCert::Service, Some("Bearer a.b.c")).await;
    assert_denied(result, Code::Unauthenticated, "TOKEN_INVALID");
}
