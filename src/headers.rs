//! Looking up one header in the small maps a gRPC call carries.
use http::{HeaderMap, HeaderName, HeaderValue};

/// Maps with at most this many values are searched by comparing names.
const SCANNED_UP_TO: usize = 8;

/// The first value of `name` in `headers`, as [`HeaderMap::get`] finds it.
/// A call's headers and trailers hold a handful of entries, and comparing
/// each name costs less than hashing a custom name such as `grpc-status`
/// (several look-ups per call: BENCHMARKS.md, "What changed, each with
/// before and after"); a larger map is looked up by hash.
pub(crate) fn find<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a HeaderValue> {
    if headers.len() > SCANNED_UP_TO {
        return headers.get(name);
    }
    headers
        .iter()
        .find_map(|(entry, value)| (entry == name).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).expect("a value")
    }

    #[test]
    fn finds_what_get_finds_in_small_and_large_maps() {
        let wanted = HeaderName::from_static("grpc-status");
        let mut headers = HeaderMap::new();
        assert_eq!(find(&headers, &wanted), None);
        headers.insert(http::header::CONTENT_TYPE, value("application/grpc"));
        headers.insert("grpc-message", value("gone"));
        assert_eq!(find(&headers, &wanted), None);
        headers.insert(wanted.clone(), value("5"));
        headers.append(wanted.clone(), value("0"));
        assert_eq!(
            find(&headers, &wanted),
            Some(&value("5")),
            "the first value"
        );
        assert_eq!(
            find(&headers, &http::header::CONTENT_TYPE),
            Some(&value("application/grpc")),
            "standard names too"
        );
        for extra in 0..12 {
            let name = HeaderName::from_bytes(format!("x-extra-{extra}").as_bytes());
            headers.insert(name.expect("a name"), value("v"));
        }
        assert!(headers.len() > SCANNED_UP_TO, "now looked up by hash");
        assert_eq!(find(&headers, &wanted), headers.get(&wanted));
        assert_eq!(find(&headers, &wanted), Some(&value("5")));
        assert_eq!(find(&headers, &HeaderName::from_static("absent")), None);
    }
}
