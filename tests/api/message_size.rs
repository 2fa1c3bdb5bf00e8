//! Message size limits: an oversized request or answer gets RESOURCE_EXHAUSTED
//! (tonic alone says OUT_OF_RANGE); messages within the limits pass.
use tonic::Code;

use crate::{
    helpers::{TestApp, TestUsers},
    table::{MAX_ANSWER, MAX_MESSAGE, MAX_NAME, reason, spawn_table_app},
};

fn name_of(bytes: u64) -> String {
    "n".repeat(usize::try_from(bytes).expect("small"))
}

pub(crate) async fn oversized_requests_and_answers_are_resource_exhausted(app: &TestApp) {
    let status = app
        .list_user(2, &name_of(MAX_MESSAGE + 1))
        .await
        .expect_err("the request is too large");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status
            .message()
            .contains("decoded message length too large")
    );
    assert_eq!(reason(&status), "MESSAGE_TOO_LARGE");

    // Within the name limit, but answered twice over the answer limit.
    let status = app
        .list_user(2, &name_of(MAX_NAME))
        .await
        .expect_err("the answer is too large");
    const { assert!(MAX_NAME * 2 > MAX_ANSWER) };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status
            .message()
            .contains("encoded message length too large")
    );
    assert_eq!(reason(&status), "MESSAGE_TOO_LARGE");

    // Just within both limits.
    let name = name_of(MAX_ANSWER / 2 - 64);
    let response = app.list_user(2, &name).await.expect("fits");
    assert_eq!(response.details[0].value, name);
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_resource_exhausted() {
    let app = spawn_table_app(&TestUsers::default()).await;
    oversized_requests_and_answers_are_resource_exhausted(&app).await;
    app.list_user(2, "after").await.expect("still serving");
}
