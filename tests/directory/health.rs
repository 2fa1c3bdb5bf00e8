//! Health once the server runs: the directory's name and the process names
//! are all SERVING over a store that answers.
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::server::Server;

#[tokio::test]
async fn every_health_name_is_serving_once_started() {
    let server = Server::fresh().await;
    let mut health = server.health();
    for service in ["user.v1.UserService", "", "user.Users"] {
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        let status = health
            .check(request)
            .await
            .expect("known name")
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
}
