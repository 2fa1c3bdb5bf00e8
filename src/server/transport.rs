//! The HTTP/2 server as the settings shape it: stream and header limits,
//! keepalive, connection age, and TLS or mutual TLS.
use anyhow::Context;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::settings::Settings;

/// A server builder with every transport limit and, when configured, TLS.
pub(super) fn server(settings: &Settings) -> anyhow::Result<Server> {
    let limits = &settings.limits;
    let server = Server::builder()
        .max_concurrent_streams(limits.max_concurrent_streams)
        .http2_max_header_list_size(limits.header_list_limit())
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout))
        // Only the GOAWAY: the grace is enforced per connection (see
        // `connection`), as tonic's grace option would drop the GOAWAY.
        .max_connection_age(limits.max_connection_age);
    // Settings validation read these files already; reading fails here only
    // if they changed since.
    let Some(pem) = settings.tls.read()? else {
        return Ok(server);
    };
    // rustls needs one process-wide crypto provider when several are linked
    // in; this keeps TLS working whatever another dependency enables.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(pem.cert, pem.key))
        .timeout(limits.handshake_timeout);
    if let Some(client_ca) = pem.client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(client_ca));
    }
    server
        .tls_config(tls)
        .context("cannot use tls.cert_file and tls.key_file")
}
