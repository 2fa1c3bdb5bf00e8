//! The PostgreSQL settings: loaded from variables, validated, never printed.
use std::collections::HashMap;

use crate::settings::{REDACTED, SettingsError, load};

fn from_env(pairs: &[(&str, &str)]) -> Result<crate::settings::Settings, SettingsError> {
    let env: HashMap<String, String> = pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    load(None, &env, &[])
}

fn invalid_key(result: Result<crate::settings::Settings, SettingsError>) -> String {
    match result {
        Err(SettingsError::Invalid { key, .. }) => key,
        other => panic!("an invalid setting, not {other:?}"),
    }
}

#[test]
fn a_postgres_url_and_its_settings_load_from_variables() {
    let settings = from_env(&[
        ("USER_SERVICE__STORE__URL", "postgresql://svc@db:5432/users"),
        ("USER_SERVICE__STORE__PASSWORD", "hunter2"),
        ("USER_SERVICE__STORE__SSLMODE", "verify-full"),
        ("USER_SERVICE__STORE__STATEMENT_TIMEOUT", "5s"),
    ])
    .expect("loads");
    assert_eq!(settings.store.password.expose(), "hunter2");
    assert_eq!(settings.store.sslmode, "verify-full");
    assert_eq!(settings.store.statement_timeout.as_secs(), 5);
}

#[test]
fn the_password_never_prints() {
    let settings = from_env(&[
        ("USER_SERVICE__STORE__URL", "postgres://svc@db/users"),
        ("USER_SERVICE__STORE__PASSWORD", "hunter2"),
    ])
    .expect("loads");
    let printed = settings.to_toml().expect("prints");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(
        printed.contains(&format!("password = \"{REDACTED}\"")),
        "{printed}"
    );
    assert!(!format!("{settings:?}").contains("hunter2"));
}

#[test]
fn a_password_in_the_url_is_refused_without_echoing_it() {
    for url in [
        "postgres://svc:hunter2@db/users",
        "postgres://db/users?password=hunter2",
    ] {
        let result = from_env(&[("USER_SERVICE__STORE__URL", url)]);
        let message = format!("{:?}", result.as_ref().err());
        assert_eq!(invalid_key(result), "store.url", "{url}");
        assert!(!message.contains("hunter2"), "{message}");
    }
}

#[test]
fn impossible_postgres_settings_name_their_key() {
    let cases = [
        (
            vec![
                ("USER_SERVICE__STORE__PASSWORD", "a"),
                ("USER_SERVICE__STORE__PASSWORD_FILE", "/run/secrets/db"),
            ],
            "store.password_file",
        ),
        (
            vec![("USER_SERVICE__STORE__SSLMODE", "sometimes")],
            "store.sslmode",
        ),
        (
            vec![("USER_SERVICE__STORE__STATEMENT_TIMEOUT", "0s")],
            "store.statement_timeout",
        ),
        (
            vec![("USER_SERVICE__STORE__URL", "mysql://db/users")],
            "store.url",
        ),
    ];
    for (pairs, key) in cases {
        assert_eq!(invalid_key(from_env(&pairs)), key, "{pairs:?}");
    }
}

#[test]
fn printed_settings_with_a_secret_do_not_load_back_as_that_secret() {
    let settings = from_env(&[
        ("USER_SERVICE__STORE__URL", "postgres://svc@db/users"),
        ("USER_SERVICE__STORE__PASSWORD", "hunter2"),
    ])
    .expect("loads");
    let dir = tempfile::tempdir().expect("a scratch directory");
    let printed = dir.path().join("printed.toml");
    std::fs::write(&printed, settings.to_toml().expect("prints")).expect("writes");
    match load(Some(&printed), &HashMap::new(), &[]) {
        Err(SettingsError::Invalid { key, reason, .. }) => {
            assert_eq!(key, "store.password");
            assert!(reason.contains("in place of a secret"), "{reason}");
        }
        other => panic!("the placeholder must be refused, not {other:?}"),
    }
}
