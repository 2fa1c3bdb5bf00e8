//! Invalid `[auth]` combinations are refused, naming the key.
use std::collections::HashMap;

use super::*;
use crate::settings::{SettingsError, load};

fn jwt() -> AuthSettings {
    AuthSettings {
        mode: AuthMode::Jwt,
        hmac_secret: Secret::new("0123456789abcdef0123456789abcdef"),
        issuer: "https://issuer.example".to_owned(),
        audiences: vec!["user-service".to_owned()],
        ..AuthSettings::default()
    }
}

fn refused(auth: &AuthSettings, mutual_tls: bool) -> &'static str {
    validate(auth, mutual_tls).expect_err("refused").key
}

#[test]
fn the_defaults_and_a_complete_jwt_setup_are_valid() {
    assert_eq!(validate(&AuthSettings::default(), false), Ok(()));
    assert_eq!(validate(&jwt(), false), Ok(()));
}

#[test]
fn jwt_mode_needs_keys_an_issuer_and_an_audience() {
    let no_keys = AuthSettings {
        hmac_secret: Secret::default(),
        ..jwt()
    };
    assert_eq!(refused(&no_keys, false), "auth.mode");
    let no_issuer = AuthSettings {
        issuer: String::new(),
        ..jwt()
    };
    assert_eq!(refused(&no_issuer, false), "auth.issuer");
    let no_audience = AuthSettings {
        audiences: Vec::new(),
        ..jwt()
    };
    assert_eq!(refused(&no_audience, false), "auth.audiences");
}

#[test]
fn hmac_and_none_are_never_in_the_allow_list_and_a_short_secret_is_refused() {
    for algorithm in ["HS256", "none", "rs256"] {
        let auth = AuthSettings {
            algorithms: vec![algorithm.to_owned()],
            ..jwt()
        };
        assert_eq!(refused(&auth, false), "auth.algorithms", "{algorithm}");
    }
    let short = AuthSettings {
        hmac_secret: Secret::new("too short"),
        ..jwt()
    };
    assert_eq!(refused(&short, false), "auth.hmac_secret");
}

#[test]
fn one_key_source_and_an_http_url() {
    let both = AuthSettings {
        jwks_file: PathBuf::from("/etc/user-service/jwks.json"),
        jwks_url: "http://keys.example/jwks.json".to_owned(),
        ..jwt()
    };
    assert_eq!(refused(&both, false), "auth.jwks_url");
    let ftp = AuthSettings {
        jwks_url: "ftp://keys.example/jwks.json".to_owned(),
        ..jwt()
    };
    assert_eq!(refused(&ftp, false), "auth.jwks_url");
}

#[test]
fn a_missing_or_broken_jwks_file_is_refused() {
    let missing = AuthSettings {
        jwks_file: PathBuf::from("/nonexistent/jwks.json"),
        ..jwt()
    };
    assert_eq!(refused(&missing, false), "auth.jwks_file");
    let dir = tempfile::tempdir().expect("temp dir");
    let garbage = dir.path().join("jwks.json");
    std::fs::write(&garbage, "not json").expect("write");
    let broken = AuthSettings {
        jwks_file: garbage,
        ..jwt()
    };
    assert_eq!(refused(&broken, false), "auth.jwks_file");
    // Read only up to auth.jwks_max_size: an endless file cannot stall start-up.
    let endless = AuthSettings {
        jwks_file: PathBuf::from("/dev/zero"),
        ..jwt()
    };
    assert_eq!(refused(&endless, false), "auth.jwks_file");
}

#[test]
fn mtls_identities_need_mutual_tls_known_scopes_and_a_form() {
    let mapped = AuthSettings {
        mtls_identities: vec!["spiffe://example.org/billing=users.read".to_owned()],
        ..jwt()
    };
    assert_eq!(validate(&mapped, true), Ok(()));
    assert_eq!(refused(&mapped, false), "auth.mtls_identities");
    for entry in [
        "no-equals-sign",
        "spiffe://x=",
        "billing.internal=users.admin",
    ] {
        let auth = AuthSettings {
            mtls_identities: vec![entry.to_owned()],
            ..jwt()
        };
        assert_eq!(refused(&auth, true), "auth.mtls_identities", "{entry}");
    }
}

#[test]
fn lists_come_from_variables_comma_separated() {
    let env: HashMap<String, String> = [
        ("USER_SERVICE__AUTH__MODE", "jwt"),
        (
            "USER_SERVICE__AUTH__HMAC_SECRET",
            "0123456789abcdef0123456789abcdef",
        ),
        ("USER_SERVICE__AUTH__ISSUER", "https://issuer.example"),
        (
            "USER_SERVICE__AUTH__AUDIENCES",
            "user-service, admin-console",
        ),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .collect();
    let settings = load(None, &env, &[]).expect("loads");
    assert_eq!(settings.auth.audiences, ["user-service", "admin-console"]);
    assert_eq!(settings.auth.mode, AuthMode::Jwt);
}

#[test]
fn a_refusal_names_the_key_and_its_variable() {
    let env: HashMap<String, String> = [("USER_SERVICE__AUTH__MODE", "jwt")]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    match load(None, &env, &[]) {
        Err(SettingsError::Invalid { key, origin, .. }) => {
            assert_eq!(key, "auth.mode");
            assert!(origin.contains("USER_SERVICE__AUTH__MODE"), "{origin}");
        }
        other => panic!("expected auth.mode to be refused, got {other:?}"),
    }
}
