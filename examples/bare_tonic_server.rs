//! The ceiling for any tonic service, for benchmarks: the same proto and the
//! same ListUser answer, with no layers, health, reflection or telemetry.
//!
//! usage: bare_tonic_server [ADDR]   (default 127.0.0.1:50061)
use tonic::{Request, Response, Status, transport::Server};
use user_service::proto::{
    Detail, UserRequest, UserResponse,
    users_server::{Users, UsersServer},
};

struct Bare;

#[tonic::async_trait]
impl Users for Bare {
    async fn list_user(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let request = request.into_inner();
        if request.id == 0 {
            return Err(Status::not_found("Sorry, id is not allowed 0"));
        }
        let detail = Detail {
            id: request.id,
            value: request.name,
        };
        Ok(Response::new(UserResponse {
            details: vec![detail.clone(), detail],
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A process without a `tracing` dispatcher falls back to the `log` crate
    // at every h2 and hyper span (sqlx turns on tracing's `log` feature for
    // the whole build): about 13,600 instructions per call. Every real server
    // sets a subscriber; this one sets the one that records nothing.
    tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default())?;
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50061".to_owned())
        .parse()?;
    Server::builder()
        .add_service(UsersServer::new(Bare))
        .serve(addr)
        .await?;
    Ok(())
}
