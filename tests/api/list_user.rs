//! The ListUser contract, error mapping and unknown methods.
use tonic::Code;
use user_service::proto::Detail;

use crate::helpers::{PANIC_ID, call_raw, spawn_app};

fn two_entries(id: i32, name: &str) -> Vec<Detail> {
    let detail = Detail {
        id,
        value: name.to_owned(),
    };
    vec![detail.clone(), detail]
}

#[tokio::test]
async fn list_user_answers_two_identical_entries_for_any_allowed_id_and_name() {
    let app = spawn_app().await;
    let cases = [
        (2, "twtrubiks"),
        (-1, "negative"),
        (i32::MAX, "max"),
        (i32::MIN, "min"),
        (7, ""),
        (8, "名前 ünïcödé 🚀"),
    ];
    for (id, name) in cases {
        let response = app
            .list_user(id, name)
            .await
            .expect("allowed id is answered");
        assert_eq!(
            response.details,
            two_entries(id, name),
            "id {id}, name {name:?}"
        );
    }
}

#[tokio::test]
async fn list_user_with_id_zero_is_not_found_with_the_original_message() {
    let app = spawn_app().await;
    let status = app
        .list_user(0, "anyone")
        .await
        .expect_err("id 0 is refused");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "Sorry, id is not allowed 0");
}

#[tokio::test]
async fn a_panicking_handler_answers_internal_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let status = app
        .list_user(PANIC_ID, "boom")
        .await
        .expect_err("panic is an error");
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(
        status.message(),
        "internal error",
        "no panic text reaches the client"
    );

    let response = app.list_user(2, "after").await.expect("still serving");
    assert_eq!(response.details, two_entries(2, "after"));
}

#[tokio::test]
async fn unknown_methods_and_services_are_unimplemented() {
    let app = spawn_app().await;
    for path in ["/user.Users/DeleteUser", "/user.Accounts/ListUser"] {
        let status = call_raw(&app, path).await;
        assert_eq!(status.code(), Code::Unimplemented, "{path}");
    }
    assert!(app.list_user(1, "still fine").await.is_ok());
}
