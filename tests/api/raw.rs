//! Raw connections for input a tonic client never sends: hand-made HTTP/2
//! requests (through the `h2` crate) and plain bytes, over TCP or TLS.
use std::net::{IpAddr, Ipv4Addr};

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, Request, StatusCode};
use rustls::pki_types::ServerName;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite},
    net::TcpStream,
};
use tokio_rustls::TlsConnector;
use tonic::Status;

use crate::helpers::{BOUND, TestApp, bounded};

/// A connection, plain or TLS.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl TestApp {
    /// A bare TCP connection, before any TLS.
    pub(crate) async fn connect_tcp(&self) -> TcpStream {
        bounded(TcpStream::connect(self.addr))
            .await
            .expect("the server accepts TCP connections")
    }

    /// A connection in the transport the server expects (TLS with the
    /// test client's certificate, or plain TCP), before any HTTP/2.
    pub(crate) async fn connect_raw(&self) -> Box<dyn Io> {
        let tcp = self.connect_tcp().await;
        let Some(tls) = &self.tls else {
            return Box::new(tcp);
        };
        let name = ServerName::IpAddress(IpAddr::from(Ipv4Addr::LOCALHOST).into());
        let stream = bounded(TlsConnector::from(tls.rustls.clone()).connect(name, tcp))
            .await
            .expect("TLS handshake");
        Box::new(stream)
    }

    /// An HTTP/2 client connection, driven in the background.
    pub(crate) async fn h2_client(&self) -> h2::client::SendRequest<Bytes> {
        let io = self.connect_raw().await;
        let (client, connection) = bounded(h2::client::handshake(io))
            .await
            .expect("HTTP/2 handshake");
        tokio::spawn(connection);
        client
    }

    /// Sends one hand-made request with `body` and reads the whole answer.
    pub(crate) async fn h2_call(&self, request: Request<()>, body: Bytes) -> RawResponse {
        let client = self.h2_client().await;
        bounded(exchange(client, request, body))
            .await
            .expect("an HTTP/2 answer")
    }
}

/// A gRPC request for `path`, as a client would start it.
pub(crate) fn grpc_request(path: &str) -> http::request::Builder {
    Request::post(format!("http://127.0.0.1{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
}

/// `message` in a gRPC frame: uncompressed flag, 32-bit length, bytes.
pub(crate) fn grpc_frame(message: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(5 + message.len());
    frame.put_u8(0);
    frame.put_u32(u32::try_from(message.len()).expect("small message"));
    frame.put_slice(message);
    frame.freeze()
}

/// What the server answered on one stream.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) http_status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) trailers: Option<HeaderMap>,
}

impl RawResponse {
    /// The gRPC status: from the trailers, or the headers when trailers-only.
    pub(crate) fn grpc_status(&self) -> Option<Status> {
        self.trailers
            .as_ref()
            .and_then(Status::from_header_map)
            .or_else(|| Status::from_header_map(&self.headers))
    }
}

pub(crate) async fn exchange(
    client: h2::client::SendRequest<Bytes>,
    request: Request<()>,
    body: Bytes,
) -> Result<RawResponse, h2::Error> {
    let mut client = client.ready().await?;
    let (response, mut stream) = client.send_request(request, false)?;
    stream.send_data(body, true)?;
    let (parts, mut body) = response.await?.into_parts();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    Ok(RawResponse {
        http_status: parts.status,
        headers: parts.headers,
        trailers: body.trailers().await?,
    })
}

/// Writes `bytes`, then waits (within [`BOUND`]) for the server to close the
/// connection, reading and discarding whatever it sends first.
pub(crate) async fn closed_after_sending(mut io: Box<dyn Io>, bytes: &[u8]) {
    use tokio::io::AsyncWriteExt;
    // The server may close before everything is written; that is the point.
    let _ = io.write_all(bytes).await;
    let _ = io.flush().await;
    closed(io).await;
}

/// Waits (within [`BOUND`]) for the server to close `io`.
pub(crate) async fn closed(mut io: impl AsyncRead + Unpin) {
    let drained = tokio::time::timeout(BOUND, async {
        let mut buf = [0_u8; 1024];
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(drained.is_ok(), "the server closed the connection in time");
}
