//! Arbitrary bytes as the body of a unary `/user.Users/ListUser` call, driven
//! in-process through the whole stack the server serves
//! (`user_service::server::stack::build`: health, `user.Users`,
//! `user.v1.UserService` and reflection behind the admission checks: not-gRPC
//! refusal, deadline, load shedding, the status correction for oversized
//! messages). Their panic catching does not hide a panic: libFuzzer's panic
//! hook aborts before any unwinding is caught.
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
//! Each of the 8 settings combinations gets its own stack, built once.
//!
//! Properties: no panic; the answer carries a grpc-status (trailers-only
//! headers or trailers) from the set this method can produce; for a framed
//! payload the status and answer are exactly what the request calls for.
#![no_main]

mod in_process;

use std::collections::VecDeque;

use bytes::{Buf, Bytes};
use libfuzzer_sys::fuzz_target;
use prost::Message;
use tonic::Code;
use user_service::proto::{Detail, UserRequest, UserResponse};

use in_process::{Answer, runtime};

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

struct Call {
    framed: bool,
    /// The stack (settings combination) the call goes to.
    stack: u8,
    max_name_length: usize,
    decoding_limit: usize,
    chunking: u8,
    payload: Vec<u8>,
}

impl Call {
    fn from_input(data: &[u8]) -> Option<Self> {
        let (&control, payload) = data.split_first()?;
        // Bits 1-2 pick the name length, bit 3 the decoding limit.
        let stack = (control >> 1) & 7;
        let limits = in_process::settings(stack).limits;
        Some(Self {
            framed: control & 1 == 1,
            stack,
            max_name_length: limits.name_length_limit(),
            decoding_limit: limits.decoding_limit(),
            chunking: (control >> 4) & 3,
            payload: payload.to_vec(),
        })
    }

    fn body(&self) -> Bytes {
        match self.framed {
            true => in_process::frame(&self.payload),
            false => Bytes::copy_from_slice(&self.payload),
        }
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

fuzz_target!(|data: &[u8]| {
    let Some(input) = Call::from_input(data) else {
        return;
    };
    let service = in_process::service(input.stack);
    let answer: Answer = runtime().block_on(in_process::call(
        service,
        "/user.Users/ListUser",
        input.chunks(),
    ));
    let code = answer.code();
    assert!(ALLOWED.contains(&code), "unexpected grpc-status {code:?}");
    let answer = match code {
        Code::Ok => {
            let answer = UserResponse::decode(answer.message())
                .expect("an OK answer decodes as UserResponse");
            assert_eq!(answer.details.len(), 2, "ListUser lists the user twice");
            assert_eq!(answer.details[0], answer.details[1]);
            assert_ne!(answer.details[0].id, 0, "id 0 must be refused");
            Expected::Answer(answer)
        }
        code => {
            assert!(answer.body.is_empty(), "{code:?} with a message body");
            Expected::Code(code)
        }
    };
    if input.framed {
        assert_eq!(answer, input.expected());
    }
});
