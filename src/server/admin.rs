//! The admin HTTP server: Prometheus text at `GET /metrics`.
use axum::{Router, http::header, response::IntoResponse, routing::get};
use tokio::net::TcpListener;

use crate::telemetry::RpcMetrics;

/// The Prometheus text exposition format's content type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

fn router(metrics: RpcMetrics) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move { ([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], metrics.render()).into_response() }
        }),
    )
}

/// Serves until `stop` resolves.
pub(super) async fn serve(
    listener: TcpListener,
    metrics: RpcMetrics,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(metrics))
        .with_graceful_shutdown(stop)
        .await
}
