//! Unit tests of `directory::requests`.
use prost_types::FieldMask;

use super::*;

fn user(email: &str, display_name: &str) -> v1::User {
    v1::User {
        name: "users/ann".to_owned(),
        email: email.to_owned(),
        display_name: display_name.to_owned(),
        ..v1::User::default()
    }
}

fn fields(err: DirectoryError) -> Vec<&'static str> {
    match err {
        DirectoryError::InvalidArgument(violations) => violations.iter().map(|v| v.field).collect(),
        other => panic!("not INVALID_ARGUMENT: {other}"),
    }
}

#[test]
fn create_reports_every_bad_field() {
    let request = v1::CreateUserRequest {
        user: Some(user("no-at", &"x".repeat(201))),
        user_id: "Bad_Id".to_owned(),
        request_id: "not-a-uuid".to_owned(),
        validate_only: false,
    };
    let err = CreateUser::try_from(request).expect_err("all bad");
    assert_eq!(
        fields(err),
        ["user_id", "request_id", "user.email", "user.display_name"]
    );
    let missing = v1::CreateUserRequest::default();
    assert_eq!(
        fields(CreateUser::try_from(missing).expect_err("no user")),
        ["user"]
    );
}

#[test]
fn create_takes_an_empty_id_as_server_chosen() {
    let request = v1::CreateUserRequest {
        user: Some(user("a@b", "")),
        ..Default::default()
    };
    let create = CreateUser::try_from(request).expect("valid");
    assert!(create.id.is_none() && create.request_id.is_none());
}

#[test]
fn page_sizes_are_coerced_and_negative_is_refused() {
    let size = |page_size| {
        ListUsers::try_from(v1::ListUsersRequest {
            page_size,
            ..Default::default()
        })
        .map(|list| list.page_size)
    };
    assert_eq!(size(0).expect("0"), 50);
    assert_eq!(size(7).expect("7"), 7);
    assert_eq!(size(1000).expect("1000"), 1000);
    assert_eq!(size(5000).expect("5000"), 1000);
    assert_eq!(fields(size(-1).expect_err("negative")), ["page_size"]);
}

#[test]
fn list_reports_filter_and_order_together() {
    let request = v1::ListUsersRequest {
        filter: "uid = 1".to_owned(),
        order_by: "uid".to_owned(),
        ..Default::default()
    };
    assert_eq!(
        fields(ListUsers::try_from(request).expect_err("bad")),
        ["filter", "order_by"]
    );
}

fn update(user: v1::User, paths: Option<&[&str]>) -> Result<UpdateUser, DirectoryError> {
    UpdateUser::try_from(v1::UpdateUserRequest {
        user: Some(user),
        update_mask: paths.map(|paths| FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
        allow_missing: false,
    })
}

#[test]
fn no_mask_means_the_fields_that_are_set() {
    let changes = update(user("", "Ann"), None).expect("valid").changes;
    assert_eq!(changes.email, None);
    assert_eq!(
        changes.display_name,
        Some(DisplayName::parse("Ann").expect("ok"))
    );
}

#[test]
fn a_mask_names_fields_and_star_means_all() {
    let changes = update(user("a@b", "Ann"), Some(&["email"]))
        .expect("valid")
        .changes;
    assert!(changes.email.is_some() && changes.display_name.is_none());
    let changes = update(user("a@b", ""), Some(&["*"]))
        .expect("valid")
        .changes;
    assert_eq!(changes.display_name, Some(DisplayName::default()));
    // `*` replaces the email too, which must then be valid.
    assert_eq!(
        fields(update(user("", ""), Some(&["*"])).expect_err("no email")),
        ["user.email"]
    );
}

#[test]
fn output_only_and_unknown_paths_are_refused() {
    for path in ["uid", "create_time", "etag", "nickname"] {
        let err = update(user("a@b", ""), Some(&[path])).expect_err(path);
        assert_eq!(fields(err), ["update_mask"]);
    }
    let mut bad = user("a@b", "");
    bad.name = "people/ann".to_owned();
    assert_eq!(fields(update(bad, None).expect_err("name")), ["user.name"]);
}
