//! What the directory must answer to a sent request, checked against the
//! contract (DESIGN.md §10) and the edge's own validation: the reason each
//! error code carries, the violations a refused request lists, what page
//! tokens lead to, and the user an OK answer holds.

use prost::Message;
use tonic::Code;
use tonic_types::StatusExt;
use user_service::{
    directory::{UserId, requests::ListUsers},
    errors::ERROR_DOMAIN,
    proto::v1,
};

use super::sent::{Sent, TokenSent, Violations};
use crate::in_process::Answer;

const ACTIVE: i32 = v1::user::State::Active as i32;
const DELETED: i32 = v1::user::State::Deleted as i32;

/// The reasons each error code may carry.
fn reasons(code: Code) -> &'static [&'static str] {
    match code {
        Code::InvalidArgument => &[
            "INVALID_ARGUMENT",
            "INVALID_PAGE_TOKEN",
            "PAGE_TOKEN_MISMATCH",
            "PAGE_TOKEN_EXPIRED",
        ],
        Code::NotFound => &["USER_NOT_FOUND"],
        Code::AlreadyExists => &[
            "USER_ALREADY_EXISTS",
            "EMAIL_ALREADY_EXISTS",
            "USER_NOT_DELETED",
        ],
        Code::Aborted => &["ETAG_MISMATCH"],
        Code::FailedPrecondition => &["USER_DELETED"],
        Code::ResourceExhausted => &["MESSAGE_TOO_LARGE"],
        _ => &[],
    }
}

/// The ErrorInfo reason of an error answer, after the checks every error
/// answer meets.
fn reason(answer: &Answer) -> String {
    let code = answer.code();
    assert!(answer.body.is_empty(), "{code:?} with a message body");
    let info = answer
        .status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("{code:?} without ErrorInfo: {:?}", answer.status));
    assert_eq!(info.domain, ERROR_DOMAIN, "{:?}", answer.status);
    assert!(
        reasons(code).contains(&info.reason.as_str()),
        "{code:?} with the reason {}",
        info.reason
    );
    info.reason
}

/// The answer to a message over the decoding limit.
pub fn too_large(answer: &Answer) {
    assert_eq!(
        answer.code(),
        Code::ResourceExhausted,
        "{:?}",
        answer.status
    );
    assert_eq!(reason(answer), "MESSAGE_TOO_LARGE");
}

/// Checks the answer to a well-framed request within the limits.
pub fn check(sent: &Sent, answer: &Answer, default_binding: &str) {
    let code = answer.code();
    assert!(
        sent.allowed().contains(&code),
        "{} answered {:?}",
        sent.path(),
        answer.status
    );
    let edge = sent.edge();
    if code == Code::Ok {
        assert_eq!(edge, Ok(()), "OK for a request the edge refuses");
        check_ok(sent, answer);
    }
    let reason = match code {
        Code::Ok => None,
        _ => Some(reason(answer)),
    };
    let violations: Option<Violations> = (code == Code::InvalidArgument).then(|| {
        let bad = answer
            .status
            .get_details_bad_request()
            .unwrap_or_else(|| panic!("INVALID_ARGUMENT without BadRequest: {:?}", answer.status));
        assert!(!bad.field_violations.is_empty(), "an empty BadRequest");
        bad.field_violations
            .into_iter()
            .map(|v| (v.field, v.description))
            .collect()
    });
    match edge {
        Err(expected) => {
            assert_eq!(
                reason.as_deref(),
                Some("INVALID_ARGUMENT"),
                "{:?}",
                answer.status
            );
            assert_eq!(violations, Some(expected), "the violations the edge found");
        }
        Ok(()) if reason.as_deref() == Some("INVALID_ARGUMENT") => {
            // Only a create by Update (allow_missing) asks for more.
            let fields: Vec<_> = violations
                .iter()
                .flatten()
                .map(|(f, _)| f.as_str())
                .collect();
            let allow_missing = matches!(sent, Sent::Update(r) if r.allow_missing);
            assert!(
                allow_missing && fields == ["user.email"],
                "refused: {:?}",
                answer.status
            );
        }
        Ok(()) => {}
    }
    if let (Sent::List(request, token), Ok(())) = (sent, sent.edge()) {
        let binding = ListUsers::try_from(request.clone())
            .expect("accepted")
            .binding();
        let expected = match token {
            TokenSent::Literal => return,
            TokenSent::Real if request.page_token.is_empty() || binding == default_binding => None,
            TokenSent::Real => Some("PAGE_TOKEN_MISMATCH"),
            TokenSent::Mutated => Some("INVALID_PAGE_TOKEN"),
        };
        assert_eq!(
            reason.as_deref(),
            expected,
            "{token:?} token: {:?}",
            answer.status
        );
    }
}

fn user(answer: &Answer) -> v1::User {
    let user = v1::User::decode(answer.message()).expect("an OK answer decodes as a User");
    assert!(
        UserId::from_name(&user.name).is_ok(),
        "answered a user named {:?}",
        user.name
    );
    user
}

fn check_ok(sent: &Sent, answer: &Answer) {
    match sent {
        Sent::Create(request) => {
            let user = user(answer);
            assert!(
                !user.uid.is_empty() && !user.etag.is_empty(),
                "created {user:?}"
            );
            // A repeated request_id answers the user the first call made, as
            // it is now: deleted since, it is answered DELETED.
            if request.request_id.is_empty() {
                let asked = request.user.as_ref().expect("validated");
                assert_eq!(
                    (user.state, &user.email),
                    (ACTIVE, &asked.email),
                    "created {user:?}"
                );
                if !request.user_id.is_empty() {
                    assert_eq!(user.name, format!("users/{}", request.user_id));
                }
            } else {
                assert!(
                    user.state == ACTIVE || user.state == DELETED,
                    "created {user:?}"
                );
            }
        }
        Sent::Get(request) => assert_eq!(user(answer).name, request.name),
        Sent::List(request, _) => {
            let list =
                v1::ListUsersResponse::decode(answer.message()).expect("a ListUsersResponse");
            let page = match request.page_size {
                0 => 50,
                size => size.min(1000) as usize,
            };
            assert!(
                list.users.len() <= page,
                "{} users on a page of {page}",
                list.users.len()
            );
            for user in &list.users {
                assert!(
                    UserId::from_name(&user.name).is_ok(),
                    "listed {:?}",
                    user.name
                );
                assert!(
                    request.show_deleted || user.state == ACTIVE,
                    "listed {user:?}"
                );
            }
        }
        Sent::Update(request) => {
            let user = user(answer);
            assert_eq!(user.name, request.user.as_ref().expect("validated").name);
            assert_eq!(user.state, ACTIVE);
        }
        Sent::Delete(request) => {
            let user = user(answer);
            assert_eq!(user.name, request.name);
            // allow_missing on an unknown user answers only its name.
            assert!(user.state == DELETED || (request.allow_missing && user.uid.is_empty()));
        }
        Sent::Undelete(request) => {
            let user = user(answer);
            assert_eq!(
                (user.name.as_str(), user.state),
                (request.name.as_str(), ACTIVE)
            );
        }
    }
}
