//! A built-in `grpc_health_probe`, so a distroless image needs no shell or
//! extra binary for its health checks.
mod tls;

use std::{
    error::Error as _,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    process::ExitCode,
    time::Duration,
};

use tonic::transport::Endpoint;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

pub use tls::TlsArgs;

/// The probe's verdict, with grpc_health_probe's exit codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Exit 0.
    Serving,
    /// Exit 1: the address is not usable.
    BadArguments(String),
    /// Exit 2: no connection within the timeout.
    ConnectionFailure(String),
    /// Exit 3: the Check call failed (unknown service, timeout, …).
    RpcFailure(String),
    /// Exit 4: the server answered, but not SERVING.
    NotServing(String),
}

impl ProbeOutcome {
    /// The process exit code grpc_health_probe uses for this outcome.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Serving => 0,
            Self::BadArguments(_) => 1,
            Self::ConnectionFailure(_) => 2,
            Self::RpcFailure(_) => 3,
            Self::NotServing(_) => 4,
        }
    }

    /// Prints the verdict as grpc_health_probe does and returns the exit code.
    pub fn report(&self) -> ExitCode {
        match self {
            Self::Serving => println!("status: SERVING"),
            Self::NotServing(status) => eprintln!("service unhealthy (responded with {status:?})"),
            Self::BadArguments(why) | Self::ConnectionFailure(why) | Self::RpcFailure(why) => {
                eprintln!("error: {why}")
            }
        }
        ExitCode::from(self.exit_code())
    }
}

/// The address to probe when none is given: this host, on the port the
/// server is configured to listen on.
pub fn default_addr(listen: SocketAddr) -> String {
    let host = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(host, listen.port()).to_string()
}

/// Calls `grpc.health.v1.Health/Check` for `service` at `addr` (`host:port`),
/// over TLS when `tls` asks for it.
pub async fn probe(addr: &str, service: &str, timeout: Duration, tls: &TlsArgs) -> ProbeOutcome {
    let endpoint = match Endpoint::from_shared(format!("{}://{addr}", tls.scheme())) {
        Ok(endpoint) => endpoint.connect_timeout(timeout).timeout(timeout),
        Err(err) => return ProbeOutcome::BadArguments(format!("invalid address {addr:?}: {err}")),
    };
    let endpoint = match tls.apply(endpoint) {
        Ok(endpoint) => endpoint,
        Err(why) => return ProbeOutcome::BadArguments(why),
    };
    let channel = match tokio::time::timeout(timeout, endpoint.connect()).await {
        Ok(Ok(channel)) => channel,
        Ok(Err(err)) => {
            return ProbeOutcome::ConnectionFailure(format!("failed to connect to {addr}: {err}"));
        }
        Err(_) => {
            return ProbeOutcome::ConnectionFailure(format!(
                "timeout: failed to connect to {addr} within {}",
                humantime::format_duration(timeout)
            ));
        }
    };
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    match HealthClient::new(channel).check(request).await {
        Ok(response) => match response.into_inner().status() {
            ServingStatus::Serving => ProbeOutcome::Serving,
            other => ProbeOutcome::NotServing(other.as_str_name().to_owned()),
        },
        // The HTTP/2 (and TLS) handshake completes on the first call: a
        // failure there is a connection failure, as grpc_health_probe's
        // blocking dial reports it.
        Err(status) if is_transport_failure(&status) => ProbeOutcome::ConnectionFailure(format!(
            "failed to connect to {addr}: {}",
            causes(&status)
        )),
        Err(status) => ProbeOutcome::RpcFailure(format!(
            "health rpc failed: {:?}: {}",
            status.code(),
            status.message()
        )),
    }
}

fn is_transport_failure(status: &tonic::Status) -> bool {
    status
        .source()
        .is_some_and(|source| source.is::<tonic::transport::Error>())
}

/// The status's causes, outermost first, e.g. `transport error: received
/// fatal alert: CertificateRequired`.
fn causes(status: &tonic::Status) -> String {
    let mut causes = Vec::new();
    let mut cause = status
        .source()
        .map(|source| source as &(dyn std::error::Error + 'static));
    while let Some(error) = cause {
        causes.push(error.to_string());
        cause = error.source();
    }
    causes.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_addr_probes_loopback_for_wildcard_listeners() {
        assert_eq!(
            default_addr("0.0.0.0:50051".parse().expect("addr")),
            "127.0.0.1:50051"
        );
        assert_eq!(
            default_addr("[::]:7000".parse().expect("addr")),
            "[::1]:7000"
        );
        assert_eq!(
            default_addr("10.1.2.3:8080".parse().expect("addr")),
            "10.1.2.3:8080"
        );
    }

    #[tokio::test]
    async fn an_unparseable_address_is_a_bad_argument() {
        let outcome = probe(
            "not a host:port",
            "",
            Duration::from_millis(100),
            &TlsArgs::default(),
        )
        .await;
        assert_eq!(outcome.exit_code(), 1);
    }
}
