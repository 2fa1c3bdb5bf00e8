//! Who may call: bearer tokens, scopes, keys from a JWKS file or URL, mTLS
//! identities, and what telemetry shows of a caller.

mod bad_tokens;
mod hmac;
mod jwks_file;
mod jwks_url;
mod mtls;
mod scopes;
mod secrecy;
mod startup;
mod support;
