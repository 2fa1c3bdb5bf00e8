//! In-process OTLP/HTTP (protobuf) receivers, plain or behind TLS, taking
//! exports at any path (a path ending in `traces` holds spans) and gzip
//! bodies.
use std::{io::Read as _, net::SocketAddr, sync::Arc};

use axum::{
    body::Bytes,
    http::{HeaderMap, Uri},
};
use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::collector::{
    metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse},
    trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
};
use prost::Message;
use rustls::{
    RootCertStore, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::WebPkiClientVerifier,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, server::TlsStream};

use crate::{pki::Pki, receiver::Received};

/// An OTLP/HTTP receiver on an ephemeral loopback port, on a thread of its
/// own so it outlives any one test's runtime.
pub(crate) fn start_http_in_background() -> (SocketAddr, Received) {
    start(None)
}

/// The same behind TLS with the test PKI's server certificate; with
/// `mutual`, it also demands a client certificate from the test CA.
pub(crate) fn start_https_in_background(pki: &Pki, mutual: bool) -> (SocketAddr, Received) {
    start(Some(TlsAcceptor::from(Arc::new(server_tls(pki, mutual)))))
}

fn start(tls: Option<TlsAcceptor>) -> (SocketAddr, Received) {
    let received = Received::new(None);
    let (ready, addr) = std::sync::mpsc::channel();
    let state = received.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            ready
                .send(listener.local_addr().expect("addr"))
                .expect("report addr");
            let app = axum::Router::new().fallback(
                move |uri: Uri, headers: HeaderMap, body: Bytes| async move {
                    export(&state, &uri, headers, body)
                },
            );
            match tls {
                None => axum::serve(listener, app).await.expect("serves"),
                Some(acceptor) => {
                    let listener = TlsListener { listener, acceptor };
                    axum::serve(listener, app).await.expect("serves");
                }
            }
        });
    });
    (addr.recv().expect("receiver started"), received)
}

fn export(received: &Received, uri: &Uri, headers: HeaderMap, body: Bytes) -> Vec<u8> {
    let gzip = headers
        .get("content-encoding")
        .is_some_and(|value| value == "gzip");
    received.add_request(uri.path(), headers);
    let body = match gzip {
        true => {
            let mut plain = Vec::new();
            GzDecoder::new(&body[..])
                .read_to_end(&mut plain)
                .expect("valid gzip");
            Bytes::from(plain)
        }
        false => body,
    };
    if uri.path().ends_with("traces") {
        let request = ExportTraceServiceRequest::decode(body).expect("valid OTLP");
        received.add_traces(request);
        ExportTraceServiceResponse::default().encode_to_vec()
    } else {
        let request = ExportMetricsServiceRequest::decode(body).expect("valid OTLP");
        received.add_metrics(request);
        ExportMetricsServiceResponse::default().encode_to_vec()
    }
}

fn server_tls(pki: &Pki, mutual: bool) -> ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("protocol versions");
    let builder = match mutual {
        false => builder.with_no_client_auth(),
        true => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
                roots.add(cert.expect("CA PEM")).expect("CA certificate");
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        }
    };
    let chain = CertificateDer::pem_slice_iter(pki.server.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("server cert");
    let key = PrivateKeyDer::from_pem_slice(pki.server.key_pem.as_bytes()).expect("server key");
    let mut config = builder
        .with_single_cert(chain, key)
        .expect("server identity");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// Accepts TCP connections and completes their TLS handshakes; a failed
/// handshake (say, no client certificate) is dropped.
struct TlsListener {
    listener: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.listener.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}
