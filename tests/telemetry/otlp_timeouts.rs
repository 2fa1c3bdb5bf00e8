//! Each export timeout variable bounds exports to a collector that answers
//! too late: the failure is reported within seconds, not after the 10 s
//! default.
use std::time::Duration;

use tonic::transport::{Channel, Server};
use user_service::proto::{UserRequest, users_client::UsersClient};

use crate::{
    Caller,
    process::{start, wait_for_log},
    receiver::{self, Received},
};

/// Far longer than any timeout under test, and than the 10 s default.
const COLLECTOR_DELAY: Duration = Duration::from_secs(30);
/// Well under the default timeout, well over the ones under test.
const REPORTED_WITHIN: Duration = Duration::from_secs(5);

#[tokio::test]
async fn export_timeouts_bound_exports_to_a_slow_collector() {
    let received = Received::new(None).slow(COLLECTOR_DELAY);
    let collector = receiver::serve_grpc(Server::builder(), received).await;
    let endpoint = format!("http://{collector}");
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("OTEL_EXPORTER_OTLP_TIMEOUT", "300")], "spans"),
        (&[("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "300")], "spans"),
        (&[("OTEL_BSP_EXPORT_TIMEOUT", "300")], "spans"),
        (
            &[
                ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "300"),
                ("OTEL_METRIC_EXPORT_TIMEOUT", "20000"),
            ],
            "metrics",
        ),
        (&[("OTEL_METRIC_EXPORT_TIMEOUT", "300")], "metrics"),
    ];
    for (timeouts, signal) in cases {
        // One signal at a time: both share one warning per minute.
        let other_off = match signal {
            "spans" => ("OTEL_METRICS_EXPORTER", "none"),
            _ => ("OTEL_TRACES_EXPORTER", "none"),
        };
        let mut env = vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "100"),
            other_off,
        ];
        env.extend_from_slice(timeouts);
        let mut running = start(&env).await;
        let channel = Channel::from_shared(format!("http://{}", running.addr))
            .expect("uri")
            .connect()
            .await
            .expect("connects");
        let request = UserRequest {
            id: 4,
            name: "slow".to_owned(),
        };
        UsersClient::new(channel)
            .list_user(Caller::new().request(request))
            .await
            .expect("answered, whatever the collector");
        let failed = tokio::time::timeout(
            REPORTED_WITHIN,
            wait_for_log(&mut running.logs, "telemetry.export_failed"),
        )
        .await
        .unwrap_or_else(|_| panic!("{timeouts:?}: no export failure within {REPORTED_WITHIN:?}"));
        assert_eq!(failed["signal"].as_str(), Some(signal), "{failed}");
    }
}
