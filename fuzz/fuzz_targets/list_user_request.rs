//! Arbitrary bytes as the body of a unary `/user.Users/ListUser` call, driven
//! in-process through the service as the server mounts it: `UsersServer`
//! around `LimitedUsers<UserDirectory>` with a decoding limit, inside the
//! admission checks (not-gRPC refusal, deadline, load shedding, the status
//! correction for oversized messages). Their panic catching does not hide a
//! panic: libFuzzer's panic hook aborts before any unwinding is caught.
//!
//! Byte 0 steers the call, the rest is the payload:
//! - bit 0: send the payload raw, or behind a valid 5-byte gRPC frame prefix
//!   (uncompressed, exact length), so most inputs reach prost instead of
//!   stopping at the framing;
//! - bits 1-2: `limits.max_name_length` (the default, or 1, 16, 256 bytes),
//!   so INVALID_ARGUMENT is reachable within libFuzzer's input sizes;
//! - bit 3: `limits.max_decoding_message_size` (the default, or the 1KiB floor);
//! - bits 4-5: how the body is split into HTTP/2 data frames (one, two,
//!   1-byte and 7-byte chunks), as the decoder sees them from the network.
//!
//! Properties: no panic; the answer carries a grpc-status (trailers-only
//! headers or trailers) from the set this method can produce; for a framed
//! payload the status and answer are exactly what the request calls for.
#![no_main]

use std::{
    collections::VecDeque,
    convert::Infallible,
    pin::Pin,
    sync::OnceLock,
    task::{Context, Poll},
};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use tonic::Code;
use tower::{Layer, ServiceExt};
use user_service::{
    layers::AdmissionLayer,
    proto::{Detail, UserRequest, UserResponse, users_server::UsersServer},
    settings::LimitsSettings,
    users::{LimitedUsers, UserDirectory},
};

/// gRPC's length-prefixed message header: compression flag and u32 length.
const FRAME_HEADER: usize = 5;
/// The 1KiB floor the settings accept for message limits.
const SMALL_DECODING_LIMIT: usize = 1024;

/// The codes a ListUser call may answer in-process: the contract's
/// (OK, NOT_FOUND for id 0, INVALID_ARGUMENT for a long name),
/// RESOURCE_EXHAUSTED for an oversized message, and INTERNAL for what tonic
/// cannot decode (bad varint, truncated frame, bad compression flag,
/// compressed flag without grpc-encoding, no message).
const ALLOWED: [Code; 5] = [
    Code::Ok,
    Code::NotFound,
    Code::InvalidArgument,
    Code::ResourceExhausted,
    Code::Internal,
];

/// One current-thread runtime for the whole run: building one per input
/// would cost more than the call itself.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            // The deadline's timer is armed when a call waits for its body.
            .enable_time()
            .build()
            .expect("a current-thread runtime")
    })
}

/// A request body handed over in fixed chunks, then no trailers, as hyper
/// hands over a client's DATA frames.
struct Chunks(VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.iter().map(|chunk| chunk.len() as u64).sum())
    }
}

struct Call {
    framed: bool,
    max_name_length: usize,
    decoding_limit: usize,
    chunking: u8,
    payload: Vec<u8>,
}

impl Call {
    fn from_input(data: &[u8]) -> Option<Self> {
        let (&control, payload) = data.split_first()?;
        let defaults = LimitsSettings::default();
        Some(Self {
            framed: control & 1 == 1,
            max_name_length: match (control >> 1) & 3 {
                0 => defaults.name_length_limit(),
                1 => 1,
                2 => 16,
                _ => 256,
            },
            decoding_limit: match (control >> 3) & 1 {
                0 => defaults.decoding_limit(),
                _ => SMALL_DECODING_LIMIT,
            },
            chunking: (control >> 4) & 3,
            payload: payload.to_vec(),
        })
    }

    fn body(&self) -> Bytes {
        if !self.framed {
            return Bytes::copy_from_slice(&self.payload);
        }
        let mut body = BytesMut::with_capacity(FRAME_HEADER + self.payload.len());
        body.put_u8(0);
        body.put_u32(u32::try_from(self.payload.len()).expect("libFuzzer inputs are small"));
        body.put_slice(&self.payload);
        body.freeze()
    }

    fn chunks(&self) -> VecDeque<Bytes> {
        let mut body = self.body();
        let size = match self.chunking {
            0 => return VecDeque::from([body]),
            // Split inside the frame header when there is one.
            1 => return VecDeque::from([body.split_to(body.len().min(3)), body]),
            2 => 1,
            _ => 7,
        };
        let mut chunks = VecDeque::new();
        while body.has_remaining() {
            chunks.push_back(body.split_to(body.len().min(size)));
        }
        chunks
    }

    /// What the service must answer to a framed payload, from prost alone.
    fn expected(&self) -> Expected {
        if self.payload.len() > self.decoding_limit {
            return Expected::Code(Code::ResourceExhausted);
        }
        let Ok(request) = UserRequest::decode(self.payload.as_slice()) else {
            return Expected::Code(Code::Internal);
        };
        if request.name.len() > self.max_name_length {
            return Expected::Code(Code::InvalidArgument);
        }
        if request.id == 0 {
            return Expected::Code(Code::NotFound);
        }
        let detail = Detail {
            id: request.id,
            value: request.name,
        };
        Expected::Answer(UserResponse {
            details: vec![detail.clone(), detail],
        })
    }
}

#[derive(Debug, PartialEq)]
enum Expected {
    Code(Code),
    Answer(UserResponse),
}

fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?;
    let number: i32 = value
        .to_str()
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("grpc-status is not a number: {value:?}"));
    Some(Code::from_i32(number))
}

async fn call(call: &Call) -> (Code, Bytes) {
    let users = UsersServer::new(LimitedUsers::new(UserDirectory, call.max_name_length))
        .max_decoding_message_size(call.decoding_limit)
        .max_encoding_message_size(LimitsSettings::default().encoding_limit());
    let limits = LimitsSettings::default();
    let service =
        AdmissionLayer::new(limits.request_timeout, limits.max_concurrent_calls).layer(users);
    let mut request = Request::new(Chunks(call.chunks()));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = http::Uri::from_static("/user.Users/ListUser");
    request.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    request
        .headers_mut()
        .insert("te", HeaderValue::from_static("trailers"));

    let response: Response<_> = match service.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let headers_status = grpc_status(response.headers());
    let collected = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|err| panic!("the answer's body failed: {err}"));
    let trailers_status = collected.trailers().and_then(grpc_status);
    let code = match (headers_status, trailers_status) {
        (Some(code), None) | (None, Some(code)) => code,
        (None, None) => panic!("the answer carries no grpc-status"),
        (Some(first), Some(second)) => {
            panic!("grpc-status twice: {first:?} in the headers, {second:?} in the trailers")
        }
    };
    (code, collected.to_bytes())
}

/// The answer's body as one uncompressed length-prefixed UserResponse.
fn decode_answer(mut body: Bytes) -> UserResponse {
    assert!(
        body.len() >= FRAME_HEADER,
        "OK with a body of {} bytes",
        body.len()
    );
    assert_eq!(body.get_u8(), 0, "the answer is marked compressed");
    let length = body.get_u32() as usize;
    assert_eq!(length, body.len(), "the answer's frame length is wrong");
    UserResponse::decode(body).expect("an OK answer decodes as UserResponse")
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Call::from_input(data) else {
        return;
    };
    let (code, body) = runtime().block_on(call(&input));
    assert!(ALLOWED.contains(&code), "unexpected grpc-status {code:?}");
    let answer = match code {
        Code::Ok => {
            let answer = decode_answer(body);
            assert_eq!(answer.details.len(), 2, "ListUser lists the user twice");
            assert_eq!(answer.details[0], answer.details[1]);
            assert_ne!(answer.details[0].id, 0, "id 0 must be refused");
            Expected::Answer(answer)
        }
        code => {
            assert!(body.is_empty(), "{code:?} with a message body");
            Expected::Code(code)
        }
    };
    if input.framed {
        assert_eq!(answer, input.expected());
    }
});
