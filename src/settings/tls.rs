//! `[tls]`: serve over TLS, and with a client CA over mutual TLS. The files
//! are read and checked at start-up, so a missing, unreadable or mismatched
//! one stops the service before anything is bound.
use std::path::{Path, PathBuf};

use rustls::{
    RootCertStore,
    crypto::ring,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    sign::CertifiedKey,
};
use serde::{Deserialize, Serialize};

use super::validate::{Invalid, invalid};

/// `[tls]`. Empty paths mean plaintext.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificate chain of the server, leaf first. Setting it turns TLS on.
    pub cert_file: PathBuf,
    /// PEM private key of that certificate (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// PEM CA certificates that client certificates must chain to. Setting it
    /// turns mutual TLS on: clients without a trusted certificate are refused.
    pub client_ca_file: PathBuf,
}

/// The PEM contents of the configured files, checked.
#[derive(Debug, Clone)]
pub struct TlsPem {
    /// The certificate chain.
    pub cert: Vec<u8>,
    /// The private key.
    pub key: Vec<u8>,
    /// The client CA certificates, for mutual TLS.
    pub client_ca: Option<Vec<u8>>,
}

fn is_set(path: &Path) -> bool {
    !path.as_os_str().is_empty()
}

impl TlsSettings {
    /// Reads and checks the files: `None` for plaintext.
    pub fn read(&self) -> Result<Option<TlsPem>, Invalid> {
        match (is_set(&self.cert_file), is_set(&self.key_file)) {
            (false, false) if is_set(&self.client_ca_file) => {
                return Err(invalid(
                    "tls.client_ca_file",
                    "needs tls.cert_file and tls.key_file: mutual TLS is TLS first",
                ));
            }
            (false, false) => return Ok(None),
            (true, false) => {
                return Err(invalid("tls.key_file", "must be set with tls.cert_file"));
            }
            (false, true) => {
                return Err(invalid("tls.cert_file", "must be set with tls.key_file"));
            }
            (true, true) => {}
        }
        let cert = read("tls.cert_file", &self.cert_file)?;
        let chain = certificates("tls.cert_file", &self.cert_file, &cert)?;
        let key = read("tls.key_file", &self.key_file)?;
        let private_key = PrivateKeyDer::from_pem_slice(&key).map_err(|err| {
            invalid(
                "tls.key_file",
                format!(
                    "{} holds no usable PEM private key: {err}",
                    display(&self.key_file)
                ),
            )
        })?;
        CertifiedKey::from_der(chain, private_key, &ring::default_provider()).map_err(|err| {
            invalid(
                "tls.key_file",
                format!(
                    "{} does not fit the certificate in {}: {err}",
                    display(&self.key_file),
                    display(&self.cert_file)
                ),
            )
        })?;
        let client_ca = match is_set(&self.client_ca_file) {
            true => Some(self.read_client_ca()?),
            false => None,
        };
        Ok(Some(TlsPem {
            cert,
            key,
            client_ca,
        }))
    }

    fn read_client_ca(&self) -> Result<Vec<u8>, Invalid> {
        let key = "tls.client_ca_file";
        let pem = read(key, &self.client_ca_file)?;
        let mut roots = RootCertStore::empty();
        for certificate in certificates(key, &self.client_ca_file, &pem)? {
            roots.add(certificate).map_err(|err| {
                let path = display(&self.client_ca_file);
                invalid(
                    key,
                    format!("{path} holds an unusable CA certificate: {err}"),
                )
            })?;
        }
        Ok(pem)
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, Invalid> {
    std::fs::read(path).map_err(|err| invalid(key, format!("cannot read {}: {err}", display(path))))
}

fn certificates(
    key: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, Invalid> {
    let parsed: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    match parsed {
        Ok(chain) if !chain.is_empty() => Ok(chain),
        Ok(_) => Err(invalid(
            key,
            format!("{} holds no PEM certificate", display(path)),
        )),
        Err(err) => Err(invalid(
            key,
            format!("{} holds a malformed PEM certificate: {err}", display(path)),
        )),
    }
}

/// Checks the files, for start-up validation.
pub(super) fn validate(tls: &TlsSettings) -> Result<(), Invalid> {
    tls.read().map(|_| ())
}
