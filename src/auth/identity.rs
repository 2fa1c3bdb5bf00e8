//! Callers named by their client certificate under mutual TLS: a verified
//! certificate's URI SAN (`spiffe://…`) or DNS SAN, when
//! `auth.mtls_identities` maps it, stands for a principal with the mapped
//! scopes. rustls has verified the chain before any call is seen.
use std::sync::Arc;

use x509_parser::{certificate::X509Certificate, extensions::GeneralName, prelude::FromDer};

use super::{Principal, scopes::Scopes};
use crate::settings::AuthSettings;

/// The configured identities and their scopes.
pub(crate) struct Identities {
    entries: Vec<(String, Arc<Principal>)>,
}

impl Identities {
    /// The mapping `settings` configure (validated at start-up).
    pub(crate) fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let entries = settings
            .identities()?
            .into_iter()
            .map(|entry| {
                let principal = Principal {
                    subject: Arc::from(entry.identity),
                    scopes: Scopes::from_names(entry.scopes.iter().copied()),
                };
                (entry.identity.to_ascii_lowercase(), Arc::new(principal))
            })
            .collect();
        Ok(Self { entries })
    }

    /// True when no identity is mapped.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal a client certificate (DER) stands for: the first
    /// mapped identity among its URI and DNS SANs. Names compare without
    /// regard to ASCII case (DNS names are case-insensitive).
    pub(crate) fn principal(&self, certificate: &[u8]) -> Option<Arc<Principal>> {
        let (_, parsed) = X509Certificate::from_der(certificate).ok()?;
        let names = parsed.subject_alternative_name().ok()??;
        names
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::URI(name) | GeneralName::DNSName(name) => Some(*name),
                _ => None,
            })
            .find_map(|name| {
                self.entries
                    .iter()
                    .find(|(identity, _)| identity.eq_ignore_ascii_case(name))
                    .map(|(_, principal)| principal.clone())
            })
    }
}
