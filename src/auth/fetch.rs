//! The JWKS URL fetch, bounded in time and size: a slow, huge or failing
//! key server costs a call at most `auth.jwks_fetch_timeout`, and its
//! answer at most `auth.jwks_max_size` bytes of memory.
use std::time::Duration;

use anyhow::Context;

/// Fetches one URL.
pub(crate) struct Fetcher {
    client: reqwest::Client,
    url: reqwest::Url,
    timeout: Duration,
    max_size: u64,
}

impl Fetcher {
    /// A fetcher for `url` (HTTPS verified against the system's roots).
    pub(crate) fn new(url: &str, timeout: Duration, max_size: u64) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(url).context("auth.jwks_url is not a URL")?;
        // rustls needs one process-wide provider when several are linked in.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .context("cannot build the HTTP client for auth.jwks_url")?;
        Ok(Self {
            client,
            url,
            timeout,
            max_size,
        })
    }

    /// The document, or why there is none.
    pub(crate) async fn get(&self) -> Result<Vec<u8>, String> {
        match tokio::time::timeout(self.timeout, self.fetch()).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "{} did not answer within {}",
                self.url,
                humantime::format_duration(self.timeout)
            )),
        }
    }

    async fn fetch(&self) -> Result<Vec<u8>, String> {
        let failed = |err: reqwest::Error| format!("cannot fetch {}: {err}", self.url);
        let mut response = self
            .client
            .get(self.url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(failed)?;
        if !response.status().is_success() {
            return Err(format!("{} answered {}", self.url, response.status()));
        }
        let too_large = || format!("{} sent more than auth.jwks_max_size", self.url);
        if response
            .content_length()
            .is_some_and(|length| length > self.max_size)
        {
            return Err(too_large());
        }
        let mut document = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if (document.len() + chunk.len()) as u64 > self.max_size {
                return Err(too_large());
            }
            document.extend_from_slice(&chunk);
        }
        Ok(document)
    }
}
