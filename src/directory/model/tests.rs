//! Unit tests of `directory::model`.
use super::*;

#[test]
fn client_ids_follow_the_aip_122_pattern() {
    for ok in ["a", "alice", "a-1", "b0", &format!("a{}", "b".repeat(62))] {
        assert!(UserId::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "1a",
        "A",
        "a-",
        "-a",
        "a_b",
        "a.b",
        "é",
        &"a".repeat(64),
    ] {
        assert!(UserId::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn names_hold_client_ids_or_canonical_uuids() {
    assert_eq!(
        UserId::from_name("users/alice").expect("ok").as_str(),
        "alice"
    );
    for _ in 0..64 {
        let generated = UserId::generate();
        assert_eq!(
            UserId::from_name(&generated.name()).expect("uuid"),
            generated
        );
    }
    for bad in [
        "alice",
        "users/",
        "users/Alice",
        "user/alice",
        "users/a/b",
        "users/7D444840-9DC0-11D1-B245-5FFDCE74FAD2",
        "users/7d444840-9dc0-11d1-b245-5ffdce74fad",
        "users/7d4448409-dc0-11d1-b245-5ffdce74fad2",
        "users/7d444840-9dc0-11d1-b245-5ffdce74fag2",
        "users/7d4448409dc011d1b2455ffdce74fad2",
        "users/{7d444840-9dc0-11d1-b245-5ffdce74fad2}",
    ] {
        assert!(UserId::from_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn emails_need_one_at_between_two_parts() {
    assert!(Email::parse("a@b").is_ok());
    for bad in ["", "a", "@b", "a@", "a@b@c"] {
        assert!(Email::parse(bad).is_err(), "{bad}");
    }
    let long = format!("{}@b.c", "a".repeat(251));
    assert!(Email::parse(&long).is_err());
    assert!(Email::parse(&long[1..]).is_ok());
    assert_eq!(
        Email::parse("Ann@Example.COM").expect("ok").key(),
        "ann@example.com"
    );
}

#[test]
fn display_names_are_short_and_printable() {
    assert!(DisplayName::parse("").is_ok());
    assert!(DisplayName::parse(&"é".repeat(200)).is_ok());
    assert!(DisplayName::parse(&"é".repeat(201)).is_err());
    assert!(DisplayName::parse("a\nb").is_err());
    assert!(DisplayName::parse("a\u{7f}").is_err());
}

#[test]
fn micros_become_timestamps() {
    let ts = Micros(1_500_000).to_timestamp();
    assert_eq!((ts.seconds, ts.nanos), (1, 500_000_000));
    let ts = Micros(-1).to_timestamp();
    assert_eq!((ts.seconds, ts.nanos), (-1, 999_999_000));
}

#[test]
fn etags_differ() {
    assert_ne!(new_etag(), new_etag());
    assert_eq!(new_etag().len(), 16);
}
