//! Certificates made at test time: a CA, a server certificate for localhost
//! and 127.0.0.1, a client certificate from that CA, and a client
//! certificate from a second CA the server does not trust.
use std::{path::PathBuf, sync::Arc};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SanType,
};
use rustls::{RootCertStore, pki_types::PrivateKeyDer, pki_types::pem::PemObject};
use tempfile::TempDir;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};
use user_service::settings::Settings;

use crate::helpers::ClientTls;

/// A PEM certificate and its key, as text and as files.
pub(crate) struct Pair {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
    pub(crate) cert_file: PathBuf,
    pub(crate) key_file: PathBuf,
}

/// Which certificate a test client shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientCert {
    /// None at all.
    None,
    /// One from the CA the server trusts.
    Trusted,
    /// One from a CA the server does not know.
    Untrusted,
    /// One from the trusted CA naming a service: URI SAN [`SERVICE_URI`],
    /// DNS SAN [`SERVICE_DNS`].
    Service,
}

/// The URI SAN of the service client certificate.
pub(crate) const SERVICE_URI: &str = "spiffe://user-service.test/ns/billing/sa/api";
/// The DNS SAN of the service client certificate.
pub(crate) const SERVICE_DNS: &str = "billing.internal";

/// The test PKI, its files in a temporary directory.
pub(crate) struct Pki {
    _dir: TempDir,
    pub(crate) ca_pem: String,
    pub(crate) ca_file: PathBuf,
    pub(crate) server: Pair,
    pub(crate) client: Pair,
    pub(crate) rogue_client: Pair,
    pub(crate) service_client: Pair,
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::new()).expect("valid params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed CA");
    (cert.pem(), Issuer::new(params, key))
}

fn leaf(
    dir: &TempDir,
    name: &str,
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
) -> Pair {
    let sans: Vec<String> = sans.iter().map(|san| (*san).to_owned()).collect();
    leaf_with(
        dir,
        name,
        CertificateParams::new(sans).expect("valid names"),
        usage,
        issuer,
    )
}

fn leaf_with(
    dir: &TempDir,
    name: &str,
    mut params: CertificateParams,
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
) -> Pair {
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages.push(usage);
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, issuer).expect("signed");
    let pair = Pair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_file: dir.path().join(format!("{name}.pem")),
        key_file: dir.path().join(format!("{name}.key")),
    };
    std::fs::write(&pair.cert_file, &pair.cert_pem).expect("write cert");
    std::fs::write(&pair.key_file, &pair.key_pem).expect("write key");
    pair
}

impl Pki {
    pub(crate) fn generate() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (ca_pem, issuer) = ca("user-service test CA");
        let (_, rogue_issuer) = ca("someone else's CA");
        let server_names = ["localhost", "127.0.0.1"];
        let server = leaf(
            &dir,
            "server",
            &server_names,
            ExtendedKeyUsagePurpose::ServerAuth,
            &issuer,
        );
        let client = leaf(
            &dir,
            "client",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
            &issuer,
        );
        let rogue_client = leaf(
            &dir,
            "rogue-client",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
            &rogue_issuer,
        );
        let mut service = CertificateParams::new(vec![SERVICE_DNS.to_owned()]).expect("names");
        let uri = SERVICE_URI.try_into().expect("an IA5 URI");
        service.subject_alt_names.push(SanType::URI(uri));
        let service_client = leaf_with(
            &dir,
            "service-client",
            service,
            ExtendedKeyUsagePurpose::ClientAuth,
            &issuer,
        );
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &ca_pem).expect("write CA");
        Self {
            _dir: dir,
            ca_pem,
            ca_file,
            server,
            client,
            rogue_client,
            service_client,
        }
    }

    /// Serves TLS with the server certificate; with `mutual`, also requires
    /// client certificates from the test CA.
    pub(crate) fn configure(&self, settings: &mut Settings, mutual: bool) {
        settings.tls.cert_file = self.server.cert_file.clone();
        settings.tls.key_file = self.server.key_file.clone();
        if mutual {
            settings.tls.client_ca_file = self.ca_file.clone();
        }
    }

    /// A client that trusts the test CA and shows `cert`.
    pub(crate) fn client(&self, cert: ClientCert) -> ClientTls {
        let pair = match cert {
            ClientCert::None => None,
            ClientCert::Trusted => Some(&self.client),
            ClientCert::Untrusted => Some(&self.rogue_client),
            ClientCert::Service => Some(&self.service_client),
        };
        let mut tonic = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&self.ca_pem));
        if let Some(pair) = pair {
            tonic = tonic.identity(Identity::from_pem(&pair.cert_pem, &pair.key_pem));
        }
        ClientTls {
            tonic,
            rustls: Arc::new(self.rustls_client(pair)),
        }
    }

    fn rustls_client(&self, pair: Option<&Pair>) -> rustls::ClientConfig {
        let mut roots = RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("CA certificate");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots);
        let mut config = match pair {
            None => builder.with_no_client_auth(),
            Some(pair) => {
                let chain =
                    rustls::pki_types::CertificateDer::pem_slice_iter(pair.cert_pem.as_bytes())
                        .collect::<Result<Vec<_>, _>>()
                        .expect("cert PEM");
                let key = PrivateKeyDer::from_pem_slice(pair.key_pem.as_bytes()).expect("key");
                builder
                    .with_client_auth_cert(chain, key)
                    .expect("client identity")
            }
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        config
    }
}
