//! Telemetry end to end, against real OTLP receivers: spans from the server
//! in this process (one global subscriber for the whole test binary) and from
//! the real binary.

mod auth_spans;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
mod in_process;
mod otlp_precedence;
mod otlp_timeouts;
mod otlp_tls;
mod otlp_variables;
#[allow(dead_code)]
#[path = "../api/pki.rs"]
mod pki;
#[path = "../common/postgres.rs"]
mod postgres;
#[path = "../common/process.rs"]
mod process;
mod receiver;
mod receiver_grpc;
mod receiver_http;
mod store_spans;
mod with_binary;
mod without_exporter;

/// A fresh W3C `traceparent` (sampled) with its trace and span ids.
pub(crate) struct Caller {
    pub(crate) trace_id: String,
    pub(crate) span_id: String,
}

impl Caller {
    pub(crate) fn new() -> Self {
        let trace_id = uuid::Uuid::new_v4().simple().to_string();
        let span_id = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
        Self { trace_id, span_id }
    }

    pub(crate) fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.span_id)
    }

    /// `request` carrying this caller's `traceparent`.
    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert(
            "traceparent",
            self.traceparent().parse().expect("valid metadata"),
        );
        request
    }
}

/// The trace id inside a `traceparent` response header.
pub(crate) fn trace_id_of(metadata: &tonic::metadata::MetadataMap) -> Option<String> {
    let value = metadata.get("traceparent")?.to_str().ok()?;
    value.split('-').nth(1).map(str::to_owned)
}

/// A client of `user.Users` on the running binary.
pub(crate) async fn users_client(
    running: &process::Running,
) -> user_service::proto::users_client::UsersClient<tonic::transport::Channel> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", running.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    user_service::proto::users_client::UsersClient::new(channel)
}

/// A ListUser request; `name` says which test sent it.
pub(crate) fn list_user(id: i32, name: &str) -> user_service::proto::UserRequest {
    user_service::proto::UserRequest {
        id,
        name: name.to_owned(),
    }
}

/// One ListUser call from a new traced caller through the running binary;
/// checks that the caller's trace is echoed and returns its trace id.
pub(crate) async fn traced_call(running: &process::Running, id: i32, name: &str) -> String {
    let caller = Caller::new();
    let response = users_client(running)
        .await
        .list_user(caller.request(list_user(id, name)))
        .await
        .expect("answered");
    assert_eq!(
        trace_id_of(response.metadata()).as_deref(),
        Some(caller.trace_id.as_str())
    );
    caller.trace_id
}
