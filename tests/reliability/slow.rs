//! Slow calls: ListUser over raw HTTP/2 that sends its headers and the start
//! of the length-prefixed gRPC message, then holds the rest of the body back.
//! The server has dispatched the call (it holds a concurrency slot) but
//! cannot answer until the body completes, so a test decides exactly when
//! each call ends.
use std::net::SocketAddr;

use bytes::{BufMut, Bytes, BytesMut};
use http::Request;
use prost::Message;
use tokio::net::TcpStream;
use tonic::{Code, Status};
use user_service::proto::{UserRequest, UserResponse};

use crate::process::WAIT_BOUND;

/// Bytes of the gRPC frame sent up front: the 5-byte prefix and a little of
/// the message, never all of it.
const SENT_FIRST: usize = 7;

/// An HTTP/2 connection to `addr`, driven in the background.
pub(crate) async fn connect(addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let io = tokio::time::timeout(WAIT_BOUND, TcpStream::connect(addr))
        .await
        .expect("connects within the bound")
        .expect("the server accepts connections");
    io.set_nodelay(true).expect("nodelay");
    let (client, connection) = tokio::time::timeout(WAIT_BOUND, h2::client::handshake(io))
        .await
        .expect("handshake within the bound")
        .expect("HTTP/2 handshake");
    tokio::spawn(async move {
        // Ends with the connection; errors show up on the calls.
        let _ = connection.await;
    });
    client
}

/// A ListUser call whose body is partly sent.
pub(crate) struct SlowCall {
    id: i32,
    name: String,
    body: h2::SendStream<Bytes>,
    response: h2::client::ResponseFuture,
    rest: Bytes,
}

/// How a slow call ended.
#[derive(Debug)]
pub(crate) struct SlowAnswer {
    id: i32,
    name: String,
    /// The gRPC status, from the trailers or a trailers-only answer.
    pub(crate) status: Status,
    /// The decoded answer, when one came.
    pub(crate) answer: Option<UserResponse>,
}

impl SlowCall {
    /// Sends the headers and the first bytes of `ListUser(id, name)` on `client`.
    pub(crate) async fn start(
        client: &h2::client::SendRequest<Bytes>,
        id: i32,
        name: &str,
    ) -> Result<Self, h2::Error> {
        let message = UserRequest {
            id,
            name: name.to_owned(),
        }
        .encode_to_vec();
        let mut frame = BytesMut::with_capacity(5 + message.len());
        frame.put_u8(0);
        frame.put_u32(u32::try_from(message.len()).expect("small message"));
        frame.put_slice(&message);
        let mut frame = frame.freeze();
        assert!(frame.len() > SENT_FIRST, "a name long enough to hold back");
        let first = frame.split_to(SENT_FIRST);

        let request = Request::post("http://127.0.0.1/user.Users/ListUser")
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .expect("valid request");
        let mut client = tokio::time::timeout(WAIT_BOUND, client.clone().ready())
            .await
            .expect("a stream slot within the bound")?;
        let (response, mut body) = client.send_request(request, false)?;
        body.send_data(first, false)?;
        Ok(Self {
            id,
            name: name.to_owned(),
            body,
            response,
            rest: frame,
        })
    }

    /// Sends the rest of the body and reads the whole answer.
    pub(crate) async fn finish(self) -> Result<SlowAnswer, h2::Error> {
        let Self {
            id,
            name,
            mut body,
            response,
            rest,
        } = self;
        body.send_data(rest, true)?;
        let exchange = async {
            let (parts, mut body) = response.await?.into_parts();
            let mut received = BytesMut::new();
            while let Some(chunk) = body.data().await {
                let chunk = chunk?;
                let _ = body.flow_control().release_capacity(chunk.len());
                received.extend_from_slice(&chunk);
            }
            let trailers = body.trailers().await?;
            let status = trailers
                .as_ref()
                .and_then(Status::from_header_map)
                .or_else(|| Status::from_header_map(&parts.headers))
                .unwrap_or_else(|| Status::unknown("no grpc-status"));
            let answer = match received.len() {
                0 => None,
                _ => Some(decode(received.freeze())),
            };
            Ok(SlowAnswer {
                id,
                name,
                status,
                answer,
            })
        };
        tokio::time::timeout(WAIT_BOUND, exchange)
            .await
            .expect("the answer comes within the bound")
    }
}

impl SlowAnswer {
    /// Whether this is a success with the contract's two entries for the call.
    pub(crate) fn is_right(&self) -> bool {
        self.status.code() == Code::Ok
            && self.answer.as_ref().is_some_and(|answer| {
                crate::client::is_contract_answer(answer, self.id, &self.name)
            })
    }
}

/// One length-prefixed, uncompressed gRPC message.
fn decode(mut frame: Bytes) -> UserResponse {
    assert!(frame.len() >= 5, "a whole gRPC frame prefix");
    let prefix = frame.split_to(5);
    assert_eq!(prefix[0], 0, "uncompressed");
    let length = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]);
    assert_eq!(frame.len(), length as usize, "exactly one message");
    UserResponse::decode(frame).expect("a UserResponse")
}
