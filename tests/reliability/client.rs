//! Ordinary tonic clients of the running binary: each call on a fresh
//! connection where a test needs one, so connection-level behaviour (refused,
//! reset, GOAWAY) shows up in the status a real client would report.
use std::{net::SocketAddr, time::Duration};

use tonic::{
    Code, Status,
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};
use tonic_types::StatusExt;
use user_service::proto::{UserRequest, UserResponse, users_client::UsersClient};

use crate::process::WAIT_BOUND;

/// A deadline for single calls, far above any healthy answer, so a hang
/// fails the test instead of stalling it.
pub(crate) const CALL_DEADLINE: Duration = Duration::from_secs(5);

/// A channel to `addr` that connects on first use.
pub(crate) fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("valid uri")
        .connect_timeout(CALL_DEADLINE)
        .connect_lazy()
}

/// ListUser on `channel`, bounded by [`CALL_DEADLINE`].
pub(crate) async fn list_user(
    channel: &Channel,
    id: i32,
    name: &str,
) -> Result<UserResponse, Status> {
    let request = UserRequest {
        id,
        name: name.to_owned(),
    };
    let mut client = UsersClient::new(channel.clone());
    let call = client.list_user(request);
    match tokio::time::timeout(CALL_DEADLINE, call).await {
        Ok(result) => result.map(tonic::Response::into_inner),
        Err(_) => Err(Status::deadline_exceeded(
            "no answer within the test's bound",
        )),
    }
}

/// ListUser on a connection of its own, as a brand-new client would call.
pub(crate) async fn list_user_fresh(
    addr: SocketAddr,
    id: i32,
    name: &str,
) -> Result<UserResponse, Status> {
    list_user(&channel(addr), id, name).await
}

/// Whether `answer` is the contract's answer to `(id, name)`: two identical entries.
pub(crate) fn is_contract_answer(answer: &UserResponse, id: i32, name: &str) -> bool {
    answer.details.len() == 2
        && answer
            .details
            .iter()
            .all(|detail| detail.id == id && detail.value == name)
}

/// The health status of `service`.
pub(crate) async fn check(channel: &Channel, service: &str) -> Result<ServingStatus, Status> {
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    let mut client = HealthClient::new(channel.clone());
    let call = client.check(request);
    tokio::time::timeout(WAIT_BOUND, call)
        .await
        .expect("health answers within the bound")
        .map(|response| response.into_inner().status())
}

/// The services reflection v1 lists.
pub(crate) async fn reflected_services(channel: &Channel) -> Result<Vec<String>, Status> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut client = ServerReflectionClient::new(channel.clone());
    let asked = async {
        let mut answers = client
            .server_reflection_info(futures::stream::iter([request]))
            .await?
            .into_inner();
        answers.message().await
    };
    let answer = tokio::time::timeout(WAIT_BOUND, asked)
        .await
        .expect("reflection answers within the bound")?;
    match answer.and_then(|answer| answer.message_response) {
        Some(MessageResponse::ListServicesResponse(list)) => Ok(list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect()),
        other => Err(Status::internal(format!(
            "unexpected reflection answer {other:?}"
        ))),
    }
}

/// The `ErrorInfo.reason` of `status`, or "" without one.
pub(crate) fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// Whether `status` is the load-shedding refusal docs/operating.md documents.
pub(crate) fn is_shed(status: &Status) -> bool {
    status.code() == Code::ResourceExhausted && reason(status) == "OVERLOADED"
}
