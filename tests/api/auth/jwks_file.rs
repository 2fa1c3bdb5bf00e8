//! Keys from a JWKS file: a file replaced by garbage while running keeps
//! the old keys working; a rotated file is picked up when a token names a
//! new key, and keys removed from it stop working, cached or not.
use tonic::Code;

use super::support::{SigningKey, assert_denied, claims, jwks, list_user_with, spawn_auth_app};

#[tokio::test]
async fn a_jwks_file_replaced_by_garbage_keeps_the_old_keys() {
    let app = spawn_auth_app().await;
    std::fs::write(&app.jwks_file, "{ this is not a JWKS").expect("write garbage");
    // An unknown kid makes the server read the file again (now garbage).
    let stranger = SigningKey::ed("not-in-any-file");
    let token = stranger.sign(&claims("users.read"));
    assert_denied(
        list_user_with(&app.app, &token).await,
        Code::Unauthenticated,
        "TOKEN_INVALID",
    );
    // A fresh token (not cached) by each old key still verifies.
    for key in [&app.issuer.rsa, &app.issuer.ec, &app.issuer.ed] {
        let token = key.sign(&claims("users.read"));
        list_user_with(&app.app, &token)
            .await
            .expect("old keys still work");
    }
}

#[tokio::test]
async fn a_rotated_jwks_file_brings_new_keys_and_revokes_removed_ones() {
    let app = spawn_auth_app().await;
    let old_token = app.issuer.rsa.sign(&claims("users.read"));
    list_user_with(&app.app, &old_token)
        .await
        .expect("the old key works");
    let rotated = SigningKey::ec("ec-2");
    std::fs::write(&app.jwks_file, jwks(&[&rotated])).expect("rotate");
    let new_token = rotated.sign(&claims("users.read"));
    list_user_with(&app.app, &new_token)
        .await
        .expect("the new key is loaded on first sight of its kid");
    assert_denied(
        list_user_with(&app.app, &old_token).await,
        Code::Unauthenticated,
        "TOKEN_INVALID",
    );
}
