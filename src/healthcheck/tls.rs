//! The probe's TLS options, named and checked as grpc_health_probe's are.
use std::{path::PathBuf, sync::Arc};

use clap::Args;
use rustls::{
    DigitallySignedStruct, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, ring, verify_tls12_signature, verify_tls13_signature},
    pki_types::{CertificateDer, ServerName, UnixTime},
};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// grpc_health_probe's TLS flags.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// Connect over TLS.
    #[arg(long)]
    pub tls: bool,
    /// CA certificate(s) (PEM) that the server's certificate must chain to;
    /// default: the system's trusted roots.
    #[arg(long, value_name = "PATH")]
    pub tls_ca_cert: Option<PathBuf>,
    /// Client certificate (PEM), for servers that require mutual TLS.
    #[arg(long, value_name = "PATH")]
    pub tls_client_cert: Option<PathBuf>,
    /// Private key (PEM) of the client certificate.
    #[arg(long, value_name = "PATH")]
    pub tls_client_key: Option<PathBuf>,
    /// Name to expect in the server's certificate (and send as SNI) instead
    /// of the host of `--addr`.
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// Accept any server certificate (still encrypted, not authenticated).
    #[arg(long)]
    pub tls_no_verify: bool,
}

impl TlsArgs {
    /// The URI scheme to dial.
    pub(super) fn scheme(&self) -> &'static str {
        match self.tls {
            true => "https",
            false => "http",
        }
    }

    /// `endpoint` with TLS as the flags ask; `Err` names a bad argument.
    pub(super) fn apply(&self, endpoint: Endpoint) -> Result<Endpoint, String> {
        self.check()?;
        if !self.tls {
            return Ok(endpoint);
        }
        let mut config = ClientTlsConfig::new();
        if let Some(name) = &self.tls_server_name {
            config = config.domain_name(name);
        }
        if let (Some(cert), Some(key)) = (&self.tls_client_cert, &self.tls_client_key) {
            config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        let endpoint = match (&self.tls_ca_cert, self.tls_no_verify) {
            (_, true) => endpoint.tls_config_with_verifier(config, Arc::new(AnyServer::new())),
            (Some(ca), false) => {
                endpoint.tls_config(config.ca_certificate(Certificate::from_pem(read(ca)?)))
            }
            (None, false) => endpoint.tls_config(config.with_native_roots()),
        };
        endpoint.map_err(|err| format!("failed to initialize tls credentials: {err}"))
    }

    /// grpc_health_probe's rules for combining the flags.
    fn check(&self) -> Result<(), String> {
        if !self.tls {
            let given = [
                ("--tls-ca-cert", self.tls_ca_cert.is_some()),
                ("--tls-client-cert", self.tls_client_cert.is_some()),
                ("--tls-client-key", self.tls_client_key.is_some()),
                ("--tls-server-name", self.tls_server_name.is_some()),
                ("--tls-no-verify", self.tls_no_verify),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, given)| *given) {
                return Err(format!("specified {flag} without specifying --tls"));
            }
        }
        if self.tls_client_cert.is_some() != self.tls_client_key.is_some() {
            return Err("--tls-client-cert and --tls-client-key go together".to_owned());
        }
        if self.tls_no_verify && self.tls_ca_cert.is_some() {
            return Err(
                "cannot specify --tls-ca-cert with --tls-no-verify (CA cert would not be used)"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", path.display()))
}

/// `--tls-no-verify`: any certificate chain and name are accepted, but the
/// handshake signatures are still checked, as Go's `InsecureSkipVerify` does.
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl AnyServer {
    fn new() -> Self {
        Self(Arc::new(ring::default_provider()))
    }
}

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls() -> TlsArgs {
        TlsArgs {
            tls: true,
            ..TlsArgs::default()
        }
    }

    #[test]
    fn tls_options_without_tls_are_bad_arguments() {
        let args = TlsArgs {
            tls_ca_cert: Some("ca.pem".into()),
            ..TlsArgs::default()
        };
        let err = args.check().expect_err("needs --tls");
        assert!(
            err.contains("--tls-ca-cert without specifying --tls"),
            "{err}"
        );
    }

    #[test]
    fn a_client_certificate_needs_its_key() {
        let args = TlsArgs {
            tls_client_cert: Some("client.pem".into()),
            ..tls()
        };
        assert!(args.check().is_err());
    }

    #[test]
    fn a_ca_is_pointless_without_verification() {
        let args = TlsArgs {
            tls_ca_cert: Some("ca.pem".into()),
            tls_no_verify: true,
            ..tls()
        };
        assert!(args.check().is_err());
        assert_eq!(
            TlsArgs {
                tls_no_verify: true,
                ..tls()
            }
            .check(),
            Ok(())
        );
    }

    #[test]
    fn an_unreadable_ca_is_reported_with_its_path() {
        let args = TlsArgs {
            tls_ca_cert: Some("/nonexistent/ca.pem".into()),
            ..tls()
        };
        let endpoint = Endpoint::from_static("https://127.0.0.1:1");
        let err = args.apply(endpoint).expect_err("unreadable");
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }
}
