//! UpdateUser (AIP-134) field masks: named paths, `*`, no mask, and the
//! paths that are refused.
use crate::{
    server::Server,
    support::{bad_fields, create, get, micros, named, update, violation},
};

#[tokio::test]
async fn a_mask_changes_only_the_fields_it_names() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let ann = create(&mut client, "ann", "ann@x.org").await;
    let updated = update(
        &mut client,
        named("users/ann", "new@x.org", "Ann"),
        Some(&["display_name"]),
    )
    .await
    .expect("updated");
    assert_eq!(
        (updated.email.as_str(), updated.display_name.as_str()),
        ("ann@x.org", "Ann")
    );
    assert_ne!(updated.etag, ann.etag, "every write changes the etag");
    assert!(micros(updated.update_time) >= micros(ann.update_time));
    assert_eq!(updated.create_time, ann.create_time);
    let updated = update(
        &mut client,
        named("users/ann", "new@x.org", ""),
        Some(&["email"]),
    )
    .await
    .expect("updated");
    assert_eq!(
        (updated.email.as_str(), updated.display_name.as_str()),
        ("new@x.org", "Ann")
    );
    assert_eq!(get(&mut client, "users/ann").await.expect("found"), updated);
}

#[tokio::test]
async fn a_star_mask_replaces_every_field() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    update(&mut client, named("users/ann", "ann@x.org", "Ann"), None)
        .await
        .expect("named");
    let replaced = update(&mut client, named("users/ann", "b@x.org", ""), Some(&["*"]))
        .await
        .expect("replaced");
    assert_eq!(
        (replaced.email.as_str(), replaced.display_name.as_str()),
        ("b@x.org", "")
    );
}

#[tokio::test]
async fn no_mask_means_the_fields_that_are_set() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    let renamed = update(&mut client, named("users/ann", "", "Ann"), None)
        .await
        .expect("renamed");
    assert_eq!(
        (renamed.email.as_str(), renamed.display_name.as_str()),
        ("ann@x.org", "Ann")
    );
    let moved = update(&mut client, named("users/ann", "b@x.org", ""), None)
        .await
        .expect("moved");
    assert_eq!(
        (moved.email.as_str(), moved.display_name.as_str()),
        ("b@x.org", "Ann")
    );
}

#[tokio::test]
async fn an_output_only_path_in_the_mask_is_invalid_argument() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    for path in [
        "name",
        "uid",
        "state",
        "create_time",
        "update_time",
        "delete_time",
        "purge_time",
        "etag",
    ] {
        let status = update(
            &mut client,
            named("users/ann", "ann@x.org", ""),
            Some(&[path]),
        )
        .await
        .expect_err(path);
        assert_eq!(bad_fields(&status), ["update_mask"], "{path}");
        assert!(
            violation(&status, "update_mask").contains("output only"),
            "{path}: {status:?}"
        );
    }
}

#[tokio::test]
async fn an_unknown_path_in_the_mask_is_invalid_argument_naming_it() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    let status = update(
        &mut client,
        named("users/ann", "", "Ann"),
        Some(&["display_name", "nickname"]),
    )
    .await
    .expect_err("unknown path");
    assert_eq!(bad_fields(&status), ["update_mask"]);
    assert!(
        violation(&status, "update_mask").contains("nickname"),
        "{status:?}"
    );
    assert_eq!(
        get(&mut client, "users/ann")
            .await
            .expect("found")
            .display_name,
        "",
        "nothing written"
    );
}

#[tokio::test]
async fn an_update_that_sets_nothing_returns_the_user_unchanged() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let ann = create(&mut client, "ann", "ann@x.org").await;
    let unchanged = update(&mut client, named("users/ann", "", ""), None)
        .await
        .expect("nothing to do");
    assert_eq!(unchanged, ann, "not even the etag or update_time moves");
}
