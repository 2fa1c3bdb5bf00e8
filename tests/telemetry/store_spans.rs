//! Store operations as CLIENT spans, children of the call's SERVER span,
//! with the stable database attributes and never a parameter value. Run on
//! the real binary: this test binary's in-process telemetry belongs to
//! `in_process` (one global subscriber), and the binary is the real thing.
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use tonic::transport::Channel;
use user_service::proto::v1::{
    CreateUserRequest, GetUserRequest, User, user_service_client::UserServiceClient,
};

use crate::{
    Caller,
    postgres::{PASSWORD, PgServer},
    process::{WAIT_BOUND, exit_code, send_signal, start},
    receiver::{self, Received, ReceivedSpan, hex, int_attribute, string_attribute},
};

/// What a store's spans say of it.
struct Database {
    /// `db.system.name`.
    system: &'static str,
    /// `db.namespace`.
    namespace: String,
    /// `server.address` and `server.port`, for a networked store.
    server: Option<(String, i64)>,
}

const EMAIL: &str = "Span.Secret-7f3a@example.org";
const DISPLAY_NAME: &str = "Display Secret 9c1e";

/// The spans of `caller`'s trace once both `server` and `client` arrived.
async fn trace_with(
    received: &Received,
    caller: &Caller,
    server: &str,
    client: &str,
) -> Vec<ReceivedSpan> {
    let arrived = received
        .wait_until(WAIT_BOUND, || {
            let spans = received.spans_in_trace(&caller.trace_id);
            [server, client]
                .iter()
                .all(|name| spans.iter().any(|received| received.span.name == *name))
        })
        .await;
    assert!(
        arrived,
        "{server} and {client} arrived within {WAIT_BOUND:?}"
    );
    received.spans_in_trace(&caller.trace_id)
}

fn named<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let mut matching = spans.iter().filter(|received| received.span.name == name);
    let found = matching
        .next()
        .unwrap_or_else(|| panic!("a {name} span in {spans:#?}"));
    assert!(matching.next().is_none(), "one {name} span per call");
    found
}

/// Asserts `client` is a database CLIENT span of `operation`, child of `server`.
fn assert_store_span(
    server: &ReceivedSpan,
    client: &ReceivedSpan,
    operation: &str,
    database: &Database,
) {
    assert_eq!(server.span.kind, SpanKind::Server as i32);
    assert_eq!(client.span.kind, SpanKind::Client as i32);
    assert_eq!(client.span.trace_id, server.span.trace_id);
    assert_eq!(hex(&client.span.parent_span_id), hex(&server.span.span_id));
    let attrs = &client.span.attributes;
    let attr = |key| string_attribute(attrs, key);
    assert_eq!(attr("db.system.name").as_deref(), Some(database.system));
    assert_eq!(attr("db.operation.name").as_deref(), Some(operation));
    assert_eq!(attr("db.collection.name").as_deref(), Some("users"));
    assert_eq!(
        attr("db.namespace").as_deref(),
        Some(database.namespace.as_str()),
        "the database file's or the database's name"
    );
    let server_attributes = attr("server.address").zip(int_attribute(attrs, "server.port"));
    assert_eq!(server_attributes, database.server, "{attrs:?}");
    assert!(attr("error.type").is_none(), "{attrs:?}");
}

/// Asserts no attribute of any span (or of its events) holds one of `values`.
fn assert_no_values(spans: &[ReceivedSpan], values: &[&str]) {
    for received in spans {
        let span = &received.span;
        let events = span.events.iter().flat_map(|event| event.attributes.iter());
        for kv in span.attributes.iter().chain(events) {
            let shown = format!("{:?}", kv.value);
            for value in values {
                assert!(
                    !shown.contains(value),
                    "{} carries {value:?} in {}: {shown}",
                    span.name,
                    kv.key
                );
            }
        }
    }
}

#[tokio::test]
async fn create_and_get_calls_have_a_store_client_span_under_their_server_span() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}/users.db", dir.path().display());
    let database = Database {
        system: "sqlite",
        namespace: "users".to_owned(),
        server: None,
    };
    store_spans_of(&url, &[], &database).await;
}

#[tokio::test]
async fn postgresql_store_spans_name_the_database_and_its_server() {
    let Some(server) = PgServer::shared() else {
        eprintln!("SKIPPED: PostgreSQL's server binaries are not installed");
        return;
    };
    let url = server.fresh_database().await;
    let database = Database {
        system: "postgresql",
        namespace: url.rsplit('/').next().expect("a database").to_owned(),
        server: Some(("127.0.0.1".to_owned(), i64::from(server.port()))),
    };
    let password = [("USER_SERVICE__STORE__PASSWORD", PASSWORD)];
    store_spans_of(&url, &password, &database).await;
}

/// Creates and reads a user through the binary on the store `url` names
/// (with `env` on top) and checks the spans of both calls.
async fn store_spans_of(url: &str, env: &[(&str, &str)], database: &Database) {
    let (collector, received) = receiver::start_grpc(None).await;
    let endpoint = format!("http://{collector}");
    let mut variables = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("USER_SERVICE__STORE__URL", url),
    ];
    variables.extend_from_slice(env);
    let mut running = start(&variables).await;
    let channel = Channel::from_shared(format!("http://{}", running.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    let mut client = UserServiceClient::new(channel);
    let request_id = uuid::Uuid::new_v4().to_string();
    let create = CreateUserRequest {
        user: Some(User {
            email: EMAIL.to_owned(),
            display_name: DISPLAY_NAME.to_owned(),
            ..User::default()
        }),
        user_id: "traced-user".to_owned(),
        request_id: request_id.clone(),
        validate_only: false,
    };
    let creating = Caller::new();
    let created = client
        .create_user(creating.request(create))
        .await
        .expect("created")
        .into_inner();
    let getting = Caller::new();
    let get = GetUserRequest {
        name: created.name.clone(),
    };
    client.get_user(getting.request(get)).await.expect("found");

    let spans = trace_with(
        &received,
        &creating,
        "user.v1.UserService/CreateUser",
        "INSERT users",
    )
    .await;
    let server = named(&spans, "user.v1.UserService/CreateUser");
    assert_eq!(
        hex(&server.span.parent_span_id),
        creating.span_id,
        "the caller's child"
    );
    assert_store_span(server, named(&spans, "INSERT users"), "INSERT", database);
    let secrets = [
        EMAIL,
        &EMAIL.to_lowercase(),
        DISPLAY_NAME,
        &request_id,
        &created.uid,
        &created.etag,
    ];
    assert_no_values(&spans, &secrets);

    let spans = trace_with(
        &received,
        &getting,
        "user.v1.UserService/GetUser",
        "SELECT users",
    )
    .await;
    assert_store_span(
        named(&spans, "user.v1.UserService/GetUser"),
        named(&spans, "SELECT users"),
        "SELECT",
        database,
    );
    assert_no_values(&spans, &secrets);
    // The store's own values are never on a span either: the id travels
    // in the call's name only, never as a database attribute.
    assert_no_values(
        &spans
            .into_iter()
            .filter(|s| s.span.kind == SpanKind::Client as i32)
            .collect::<Vec<_>>(),
        &["traced-user"],
    );

    send_signal(&running.child, "TERM");
    assert_eq!(exit_code(&mut running.child, WAIT_BOUND).await, Some(0));
}
