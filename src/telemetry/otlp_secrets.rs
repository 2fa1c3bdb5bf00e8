//! What a signal's target carries that must not leak or be misread: its
//! headers (often API keys) and its TLS files, read once at start-up.
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use super::{
    otel_env::{TelemetryError, Vars, invalid},
    otlp_target::{ClientIdentity, Signal, pick},
};
use crate::settings::Secret;

/// W3C-baggage-style `key=value,key2=value2`, percent-decoded. Values are
/// never put in an error: they are often API keys.
pub(super) fn headers(name: &str, value: &str) -> Result<Vec<(String, Secret)>, TelemetryError> {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text.trim())
            .decode_utf8()
            .map(|decoded| decoded.into_owned())
    };
    value
        .split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (key, value) = entry
                .split_once('=')
                .ok_or_else(|| invalid(name, "every entry must be key=value"))?;
            let key = decode(key)
                .ok()
                .filter(|key| http::HeaderName::from_bytes(key.as_bytes()).is_ok())
                .ok_or_else(|| invalid(name, format!("{:?} is not a header name", key.trim())))?
                .to_ascii_lowercase();
            let value = decode(value)
                .ok()
                .filter(|value| http::HeaderValue::from_str(value).is_ok())
                .ok_or_else(|| {
                    invalid(name, format!("the value of {key} is not a header value"))
                })?;
            Ok((key, Secret::new(value)))
        })
        .collect()
}

/// The PEM text of the certificates in file `path`, at least one.
pub(super) fn certificates(name: &str, path: &str) -> Result<String, TelemetryError> {
    let pem = std::fs::read_to_string(path)
        .map_err(|err| invalid(name, format!("cannot read {path}: {err}")))?;
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect();
    match certs {
        Ok(certs) if !certs.is_empty() => Ok(pem),
        _ => Err(invalid(name, format!("{path} holds no PEM certificate"))),
    }
}

/// `_CLIENT_CERTIFICATE` and `_CLIENT_KEY`, which come together.
pub(super) fn client_identity(
    vars: Vars<'_>,
    signal: Signal,
) -> Result<Option<ClientIdentity>, TelemetryError> {
    match (
        pick(vars, signal, "CLIENT_CERTIFICATE"),
        pick(vars, signal, "CLIENT_KEY"),
    ) {
        (None, None) => Ok(None),
        (Some((name, _)), None) | (None, Some((name, _))) => Err(invalid(
            &name,
            "a client certificate needs its key: set both _CLIENT_CERTIFICATE and _CLIENT_KEY",
        )),
        (Some((cert_name, cert_path)), Some((key_name, key_path))) => {
            let cert_pem = certificates(&cert_name, cert_path)?;
            let key_pem = std::fs::read_to_string(key_path)
                .map_err(|err| invalid(&key_name, format!("cannot read {key_path}: {err}")))?;
            if PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).is_err() {
                return Err(invalid(
                    &key_name,
                    format!("{key_path} holds no PEM private key"),
                ));
            }
            Ok(Some(ClientIdentity {
                cert_pem,
                key_pem: Secret::new(key_pem),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, io::Write as _};

    use crate::{
        settings::Settings,
        telemetry::{ExportPlan, otel_env::resolve},
    };

    fn plan(pairs: &[(&str, &str)]) -> Result<ExportPlan, String> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        match resolve(&Settings::default().telemetry, &env) {
            Ok(plan) => Ok(plan.expect("enabled")),
            Err(err) => Err(err.to_string()),
        }
    }

    fn enabled(pairs: &[(&str, &str)]) -> ExportPlan {
        plan(pairs).expect("valid")
    }

    fn rejected(pairs: &[(&str, &str)]) -> String {
        plan(pairs).expect_err("invalid")
    }

    fn pem_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(text.as_bytes()).expect("write");
        file
    }

    #[test]
    fn certificate_files_are_read_at_start_up() {
        let pki = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
        let cert = pem_file(&pki.cert.pem());
        let key = pem_file(&pki.signing_key.serialize_pem());
        let path = |file: &tempfile::NamedTempFile| file.path().display().to_string();
        let (cert_path, key_path) = (path(&cert), path(&key));
        let plan = enabled(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4317"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", &cert_path),
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", &cert_path),
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", &key_path),
        ]);
        let traces = plan.traces.expect("traces");
        assert_eq!(traces.ca_pem.as_deref(), Some(pki.cert.pem().as_str()));
        let identity = traces.client_identity.expect("identity");
        assert!(!format!("{identity:?}").contains("PRIVATE KEY"));
        assert!(plan.metrics.expect("metrics").client_identity.is_none());
        let err = rejected(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4317"),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &cert_path),
        ]);
        assert!(
            err.contains("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
            "{err}"
        );
        let err = rejected(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4317"),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &cert_path),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", &cert_path),
        ]);
        assert!(err.contains("OTEL_EXPORTER_OTLP_CLIENT_KEY"), "{err}");
    }
}
