//! Rich error details (google.rpc): ErrorInfo on every status the service
//! produces, BadRequest field violations for invalid arguments, and the
//! original NOT_FOUND message untouched.
use tonic::Code;
use tonic_types::StatusExt;
use user_service::proto::{UserRequest, users_client::UsersClient};

use crate::{
    helpers::{TestApp, TestUsers, spawn_app},
    table::{MAX_NAME, reason, spawn_table_app},
};

pub(crate) async fn a_name_over_the_limit_is_a_bad_request_for_that_field(app: &TestApp) {
    let limit = usize::try_from(MAX_NAME).expect("small");
    // A name at the limit is not refused as invalid (though its answer may
    // still be too large to send).
    if let Err(status) = app.list_user(2, &"n".repeat(limit)).await {
        assert_ne!(status.code(), Code::InvalidArgument, "{status:?}");
    }
    let status = app
        .list_user(2, &"n".repeat(limit + 1))
        .await
        .expect_err("one byte over");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status), "NAME_TOO_LONG");
    let bad_request = status.get_details_bad_request().expect("BadRequest");
    assert_eq!(bad_request.field_violations.len(), 1);
    assert_eq!(bad_request.field_violations[0].field, "name");
}

#[tokio::test]
async fn not_found_keeps_the_original_message_and_adds_error_info() {
    let app = spawn_app().await;
    let status = app.list_user(0, "x").await.expect_err("id 0");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "Sorry, id is not allowed 0");
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "ID_NOT_ALLOWED");
    assert_eq!(info.domain, "user-service");
}

#[tokio::test]
async fn a_name_over_the_configured_limit_is_invalid_argument_with_bad_request() {
    let app = spawn_table_app(&TestUsers::default()).await;
    a_name_over_the_limit_is_a_bad_request_for_that_field(&app).await;
}

#[tokio::test]
async fn by_default_every_name_that_fits_in_a_request_is_accepted() {
    let app = spawn_app().await;
    // Just under the default 4MiB request limit, as the original accepted;
    // the answer (twice the name) is within the default answer limit, though
    // over a client's default 4MiB receive limit: this client takes more.
    let name = "n".repeat((4 << 20) - 64);
    let request = UserRequest { id: 2, name };
    let response = UsersClient::new(app.channel.clone())
        .max_decoding_message_size(16 << 20)
        .list_user(request)
        .await
        .expect("accepted");
    assert_eq!(response.into_inner().details.len(), 2);
}
