//! Requests that are not gRPC. tonic serves any HTTP/2 request whose path
//! names a method, whatever its HTTP method or content-type. As the gRPC over
//! HTTP/2 spec asks (and grpc-go does), a content-type other than
//! `application/grpc[+format][;params]` is answered HTTP 415 with
//! INVALID_ARGUMENT, and a method other than POST HTTP 405 with INTERNAL,
//! trailers-only, so no plain HTTP client mistakes the error for a success.
use http::{HeaderMap, Method, StatusCode, header::CONTENT_TYPE};
use tonic::{Code, Status};

use crate::errors;

/// The answer to a request that is not gRPC, or `None` for gRPC requests.
pub(crate) fn refuse<B: Default>(request: &http::Request<impl Sized>) -> Option<http::Response<B>> {
    let (http_status, status) = refusal(request.method(), request.headers())?;
    tracing::debug!(
        rpc.path = request.uri().path(),
        http.status = http_status.as_u16(),
        "call.not_grpc"
    );
    let mut response = status.into_http();
    *response.status_mut() = http_status;
    Some(response)
}

/// The HTTP status and gRPC status for a request that is not gRPC.
fn refusal(method: &Method, headers: &HeaderMap) -> Option<(StatusCode, Status)> {
    let content_type = headers.get(CONTENT_TYPE).map(|value| value.as_bytes());
    if !content_type.is_some_and(is_grpc_content_type) {
        let shown = content_type
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let message = format!("invalid gRPC request content-type {shown:?}");
        let status = errors::status(Code::InvalidArgument, message, "INVALID_CONTENT_TYPE");
        return Some((StatusCode::UNSUPPORTED_MEDIA_TYPE, status));
    }
    if method != Method::POST {
        let message = format!("HTTP method {method} is not POST");
        let status = errors::status(Code::Internal, message, "INVALID_HTTP_METHOD");
        return Some((StatusCode::METHOD_NOT_ALLOWED, status));
    }
    None
}

/// `application/grpc`, optionally followed by `+format` or `;parameters`.
fn is_grpc_content_type(value: &[u8]) -> bool {
    match value.strip_prefix(b"application/grpc") {
        Some(rest) => matches!(rest.first(), None | Some(b'+' | b';')),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_content_types_pass_and_others_do_not() {
        for good in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc;x=y",
        ] {
            assert!(is_grpc_content_type(good.as_bytes()), "{good}");
        }
        for bad in [
            "application/grpcx",
            "application/json",
            "text/plain",
            "",
            "grpc",
        ] {
            assert!(!is_grpc_content_type(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn a_missing_content_type_is_415_and_a_get_is_405() {
        let (http_status, status) =
            refusal(&Method::POST, &HeaderMap::new()).expect("no content-type");
        assert_eq!(http_status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(status.code(), Code::InvalidArgument);

        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/grpc".parse().expect("valid"));
        let (http_status, status) = refusal(&Method::GET, &headers).expect("GET");
        assert_eq!(http_status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(status.code(), Code::Internal);
        assert!(refusal(&Method::POST, &headers).is_none());
    }
}
