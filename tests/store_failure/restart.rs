//! A graceful stop and a start on the same file: the users are there and a
//! page token issued before the restart still works (the page-token secret
//! is kept in the store, not in the process).
use crate::{
    serial,
    service::{self, Users},
};

async fn page_names(users: &mut Users, token: &str) -> (Vec<String>, String) {
    let page = service::list_page(users, 2, token).await.expect("a page");
    let names = page.users.into_iter().map(|user| user.name).collect();
    (names, page.next_page_token)
}

#[tokio::test]
async fn users_and_page_tokens_outlive_a_sigterm_restart() {
    let _alone = serial::alone().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut running = service::start(dir.path(), &[]).await;
    let (mut users, _) = service::clients(running.addr).await;
    let mut created = Vec::new();
    for n in 0..5 {
        let user = service::create(&mut users, &format!("r-{n}"), "Restarted")
            .await
            .expect("created");
        created.push(user);
    }
    let (first, token) = page_names(&mut users, "").await;
    assert_eq!(first.len(), 2);
    assert!(!token.is_empty(), "more pages follow");
    let (second, _) = page_names(&mut users, &token).await;
    drop(users);

    assert_eq!(
        service::terminate(&mut running).await,
        Some(0),
        "SIGTERM exits 0"
    );

    let restarted = service::start(dir.path(), &[]).await;
    let (mut users, _) = service::clients(restarted.addr).await;
    for user in &created {
        let stored = service::get(&mut users, &user.name)
            .await
            .expect("still there");
        assert_eq!(&stored, user, "unchanged by the restart");
    }
    let (again, _) = page_names(&mut users, &token).await;
    assert_eq!(again, second, "the token from before the restart pages on");
    let all: Vec<String> = service::all_names(&mut users).await.into_iter().collect();
    let names: Vec<String> = created.into_iter().map(|user| user.name).collect();
    assert_eq!(all, names);
}
