//! Arbitrary inputs as `user.v1.UserService` calls, encoded with prost,
//! framed and driven in-process through the whole stack the server serves
//! (`user_service::server::stack::build` over a real SQLite store in a
//! temporary directory; see `in_process.rs`). A few users are seeded once
//! per process, so names, emails and etags hit existing users now and then;
//! the store keeps what earlier inputs wrote.
//!
//! Byte 0 chooses the method (Create, Get, List, Update, Delete, Undelete);
//! byte 1: bit 0 the 1KiB `max_decoding_message_size` instead of the
//! default, bit 1 sends the rest of the input as the message bytes as they
//! are (what prost cannot decode is INTERNAL, as tonic answers it) instead
//! of carving a request from it (`directory/input.rs`).
//!
//! Properties, besides no panic and exactly one grpc-status:
//! - a message over the decoding limit is RESOURCE_EXHAUSTED, and only then;
//! - the code is one the contract allows for the method (never INTERNAL,
//!   UNKNOWN or UNAVAILABLE for a well-framed message);
//! - every error carries an `ErrorInfo` in the domain `user-service` whose
//!   reason belongs to the code, and no message; INVALID_ARGUMENT carries a
//!   `BadRequest`;
//! - a request the edge's validation refuses (`directory::requests`) is
//!   INVALID_ARGUMENT listing exactly its violations; one it accepts is not
//!   refused for its fields (Update with allow_missing may still need an email);
//! - a real page token pages on (OK) for its own listing and is
//!   PAGE_TOKEN_MISMATCH for another; a changed one is INVALID_PAGE_TOKEN;
//! - an OK answer decodes as the method's response and is the user asked for.
#![no_main]

mod directory;
mod in_process;

use std::{collections::VecDeque, sync::OnceLock};

use arbitrary::Unstructured;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use prost::Message;
use tonic::Code;
use user_service::{directory::requests::ListUsers, proto::v1, server::stack::InProcess};

use directory::{
    checks,
    input::Carver,
    request::{Etag, Request, Token},
    sent::{PATHS, Sent, TokenSent},
    vocabulary::{DELETED, SEEDED},
};
use in_process::{Answer, runtime};

/// The stack with the default limits; bit 2 of the index adds the small
/// decoding limit (see `in_process::settings`).
const DEFAULT_STACK: u8 = 0;
const SMALL_LIMIT_STACK: u8 = 4;

async fn unary(service: InProcess, path: &'static str, message: &impl Message) -> Answer {
    let body = in_process::frame(&message.encode_to_vec());
    in_process::call(service, path, VecDeque::from([body])).await
}

fn ok<M: Message + Default>(answer: &Answer, what: &str) -> M {
    assert_eq!(answer.code(), Code::Ok, "{what}: {:?}", answer.status);
    M::decode(answer.message()).expect("an OK answer decodes")
}

/// The default listing's next-page token, one user in.
async fn list_token(service: InProcess) -> String {
    let request = v1::ListUsersRequest {
        page_size: 1,
        ..v1::ListUsersRequest::default()
    };
    let answer = unary(service, PATHS[2], &request).await;
    ok::<v1::ListUsersResponse>(&answer, "the default listing").next_page_token
}

/// Seeds the users once per process and keeps a real page token of them.
fn seeded_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        // Built before entering the runtime: building blocks on it.
        let service = in_process::service(DEFAULT_STACK);
        runtime().block_on(async {
            for (id, email, display_name) in SEEDED {
                let request = v1::CreateUserRequest {
                    user: Some(v1::User {
                        email: email.to_owned(),
                        display_name: display_name.to_owned(),
                        ..v1::User::default()
                    }),
                    user_id: id.to_owned(),
                    ..v1::CreateUserRequest::default()
                };
                let answer = unary(service.clone(), PATHS[0], &request).await;
                ok::<v1::User>(&answer, "seeding a user");
            }
            let delete = v1::DeleteUserRequest {
                name: format!("users/{DELETED}"),
                ..v1::DeleteUserRequest::default()
            };
            let answer = unary(service.clone(), PATHS[4], &delete).await;
            ok::<v1::User>(&answer, "deleting a seeded user");
            let token = list_token(service).await;
            assert!(!token.is_empty(), "three active users page in ones");
            token
        })
    })
}

/// `name`'s current etag, or empty when it cannot be read.
async fn current_etag(service: InProcess, name: &str) -> String {
    let request = v1::GetUserRequest {
        name: name.to_owned(),
    };
    let answer = unary(service, PATHS[1], &request).await;
    match answer.code() {
        Code::Ok => ok::<v1::User>(&answer, "Get").etag,
        _ => String::new(),
    }
}

/// The etag `choice` stands for, for the user `name`.
async fn etag(service: InProcess, choice: Etag, name: &str) -> String {
    match choice {
        Etag::Literal(etag) => etag,
        Etag::Current => current_etag(service, name).await,
    }
}

/// A real token with `flips` applied to its bytes; never the token itself.
fn mutated(token: &str, flips: &[(u8, u8)]) -> String {
    let mut raw = URL_SAFE_NO_PAD
        .decode(token)
        .expect("a real token is base64");
    let original = raw.clone();
    for &(position, xor) in flips {
        let at = usize::from(position) % raw.len();
        raw[at] ^= xor.max(1);
    }
    if raw == original {
        raw[0] ^= 1;
    }
    URL_SAFE_NO_PAD.encode(raw)
}

/// Reads what the request needs from the stack (through `helper`, with the
/// default limits), then sends it to `service`.
async fn send(service: InProcess, helper: InProcess, request: Request) -> (Sent, Answer) {
    let sent = match request {
        Request::Create(request) => Sent::Create(request),
        Request::Get(request) => Sent::Get(request),
        Request::List(mut request, token) => {
            let sent = match token {
                Token::Literal(literal) => {
                    request.page_token = literal;
                    TokenSent::Literal
                }
                Token::Real => {
                    // Fresh, so it has not expired however long the run is;
                    // empty when earlier inputs left fewer than two users.
                    request.page_token = list_token(helper.clone()).await;
                    TokenSent::Real
                }
                Token::Mutated(flips) => {
                    request.page_token = mutated(seeded_token(), &flips);
                    TokenSent::Mutated
                }
            };
            Sent::List(request, sent)
        }
        Request::Update(mut request, etag_choice) => {
            if let Some(user) = request.user.as_mut() {
                user.etag = etag(helper, etag_choice, &user.name).await;
            }
            Sent::Update(request)
        }
        Request::Delete(mut request, etag_choice) => {
            request.etag = etag(helper, etag_choice, &request.name).await;
            Sent::Delete(request)
        }
        Request::Undelete(mut request, etag_choice) => {
            request.etag = etag(helper, etag_choice, &request.name).await;
            Sent::Undelete(request)
        }
    };
    let body = in_process::frame(&sent.encode());
    let answer = in_process::call(service, sent.path(), VecDeque::from([body])).await;
    (sent, answer)
}

/// The default listing's binding, which real tokens are issued for.
fn default_binding() -> String {
    ListUsers::try_from(v1::ListUsersRequest::default())
        .expect("the default listing is valid")
        .binding()
}

fuzz_target!(|data: &[u8]| {
    let [method, flags, rest @ ..] = data else {
        return;
    };
    seeded_token();
    let small = flags & 1 == 1;
    let stack = if small {
        SMALL_LIMIT_STACK
    } else {
        DEFAULT_STACK
    };
    let limit = in_process::settings(stack).limits.decoding_limit();
    let service = in_process::service(stack);
    let path = PATHS[usize::from(method % 6)];
    if flags & 2 == 2 {
        // The bytes as they are: what prost decodes must meet the same checks.
        let body = in_process::frame(rest);
        let answer = runtime().block_on(in_process::call(service, path, VecDeque::from([body])));
        if rest.len() > limit {
            checks::too_large(&answer);
            return;
        }
        match Sent::decode(*method, rest) {
            Some(sent) => checks::check(&sent, &answer, &default_binding()),
            None => {
                assert_eq!(
                    answer.code(),
                    Code::Internal,
                    "undecodable: {:?}",
                    answer.status
                );
                assert!(answer.body.is_empty(), "an error with a message body");
            }
        }
        return;
    }
    let request = Carver(Unstructured::new(rest)).request(*method);
    let (sent, answer) =
        runtime().block_on(send(service, in_process::service(DEFAULT_STACK), request));
    match sent.encode().len() > limit {
        true => checks::too_large(&answer),
        false => checks::check(&sent, &answer, &default_binding()),
    }
});
