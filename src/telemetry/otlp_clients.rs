//! The span and metric exporters of one OTLP target: over gRPC (tonic) or
//! HTTP (a blocking reqwest client), with its headers, compression and TLS.
use anyhow::Context as _;
use opentelemetry_otlp::{
    Compression, MetricExporter, Protocol, SpanExporter, WithExportConfig, WithHttpConfig,
    WithTonicConfig,
};
use tonic::{
    metadata::MetadataMap,
    transport::{Certificate, ClientTlsConfig, Identity},
};

use super::otlp_target::OtlpTarget;
use crate::settings::OtlpProtocol;

/// The span exporter of `target`.
pub(super) fn span_exporter(target: &OtlpTarget) -> anyhow::Result<SpanExporter> {
    let builder = SpanExporter::builder();
    Ok(match target.protocol {
        OtlpProtocol::Grpc => over_grpc(builder.with_tonic(), target)?.build()?,
        OtlpProtocol::HttpProtobuf => over_http(builder.with_http(), target)?.build()?,
    })
}

/// The metric exporter of `target`.
pub(super) fn metric_exporter(target: &OtlpTarget) -> anyhow::Result<MetricExporter> {
    let builder = MetricExporter::builder();
    Ok(match target.protocol {
        OtlpProtocol::Grpc => over_grpc(builder.with_tonic(), target)?.build()?,
        OtlpProtocol::HttpProtobuf => over_http(builder.with_http(), target)?.build()?,
    })
}

fn over_grpc<B: WithExportConfig + WithTonicConfig>(
    builder: B,
    target: &OtlpTarget,
) -> anyhow::Result<B> {
    let mut builder = builder
        .with_endpoint(target.endpoint.as_str())
        .with_timeout(target.timeout)
        .with_metadata(MetadataMap::from_headers(header_map(target)?));
    if target.gzip {
        builder = builder.with_compression(Compression::Gzip);
    }
    if target.endpoint.starts_with("https://") {
        let mut tls = match &target.ca_pem {
            Some(ca) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)),
            None => ClientTlsConfig::new().with_native_roots(),
        };
        if let Some(identity) = &target.client_identity {
            tls = tls.identity(Identity::from_pem(
                &identity.cert_pem,
                identity.key_pem.expose(),
            ));
        }
        builder = builder.with_tls_config(tls);
    }
    Ok(builder)
}

fn over_http<B: WithExportConfig + WithHttpConfig>(
    builder: B,
    target: &OtlpTarget,
) -> anyhow::Result<B> {
    let mut builder = builder
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(target.endpoint.as_str())
        .with_timeout(target.timeout)
        .with_http_client(http_client(target)?);
    if target.gzip {
        builder = builder.with_compression(Compression::Gzip);
    }
    Ok(builder)
}

/// The target's headers, marked sensitive so that no client prints them.
fn header_map(target: &OtlpTarget) -> anyhow::Result<http::HeaderMap> {
    let mut headers = http::HeaderMap::new();
    for (name, value) in &target.headers {
        let mut value = http::HeaderValue::from_str(value.expose())
            .with_context(|| format!("the value of header {name} is not a header value"))?;
        value.set_sensitive(true);
        headers.append(http::HeaderName::from_bytes(name.as_bytes())?, value);
    }
    Ok(headers)
}

/// A blocking client that sends the target's headers and trusts its CA
/// (the system's roots without one), showing its client certificate.
fn http_client(target: &OtlpTarget) -> anyhow::Result<reqwest::blocking::Client> {
    let mut builder = reqwest::blocking::Client::builder()
        .timeout(target.timeout)
        .default_headers(header_map(target)?)
        .tls_backend_rustls();
    if let Some(ca) = &target.ca_pem {
        let roots = reqwest::Certificate::from_pem_bundle(ca.as_bytes())
            .context("the collector's CA certificate")?;
        builder = builder.tls_certs_only(roots);
    }
    if let Some(identity) = &target.client_identity {
        let pem = format!("{}\n{}", identity.cert_pem, identity.key_pem.expose());
        let identity =
            reqwest::Identity::from_pem(pem.as_bytes()).context("the client certificate")?;
        builder = builder.identity(identity);
    }
    // reqwest's blocking client refuses to be built on a thread that runs
    // async code, which this one may be (the gRPC exporters' runtime).
    std::thread::scope(|scope| scope.spawn(|| builder.build()).join())
        .map_err(|_| anyhow::anyhow!("building the OTLP/HTTP client panicked"))?
        .context("cannot build the OTLP/HTTP client")
}
