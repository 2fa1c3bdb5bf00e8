//! Page tokens: opaque, tamper-evident (HMAC-SHA256), bound to the query
//! they page through, and expiring. Any replica holding the same secret
//! reads any replica's tokens, before and after restarts.
use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{
    model::{Micros, UserId},
    query::{Cursor, SortKey},
};

type HmacSha256 = Hmac<Sha256>;

/// The layout version written first in every token.
const VERSION: u8 = 1;
const TAG_BYTES: usize = 32;
const BINDING_BYTES: usize = 16;
/// Tokens longer than this are refused before any work (base64 characters).
const MAX_TOKEN_CHARS: usize = 2048;

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of this service, or changed.
    #[error("page_token is not valid")]
    Invalid,
    /// Valid but for another filter, order_by or show_deleted.
    #[error("page_token was issued for a different filter, order_by or show_deleted")]
    Mismatch,
    /// Valid but past its lifetime.
    #[error("page_token has expired; start again from the first page")]
    Expired,
}

/// Issues and reads page tokens.
#[derive(Clone)]
pub struct PageTokens {
    key: Vec<u8>,
    lifetime: Duration,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageTokens")
            .field("key", &"[redacted]")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

impl PageTokens {
    /// Tokens signed with a key derived from `secret`, valid for `lifetime`.
    pub fn new(secret: &[u8], lifetime: Duration) -> Self {
        Self {
            key: Sha256::digest(secret).to_vec(),
            lifetime,
        }
    }

    /// A token for the page after `cursor` of the query described by
    /// `binding` (its canonical filter, order and show_deleted).
    pub fn issue(&self, binding: &str, cursor: &Cursor, now: Micros) -> String {
        let expires = now.plus(self.lifetime).0;
        let mut body = vec![VERSION];
        body.extend_from_slice(&expires.to_be_bytes());
        body.extend_from_slice(&bind(binding));
        match &cursor.key {
            SortKey::Time(time) => {
                body.push(0);
                body.extend_from_slice(&time.0.to_be_bytes());
            }
            SortKey::Text(text) => {
                body.push(1);
                push_text(&mut body, text);
            }
        }
        push_text(&mut body, cursor.id.as_str());
        let tag = self.mac(&body).finalize().into_bytes();
        body.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(body)
    }

    /// The cursor a token holds, when it is genuine, for this `binding`,
    /// and not expired at `now`.
    pub fn read(&self, token: &str, binding: &str, now: Micros) -> Result<Cursor, TokenError> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::Invalid);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenError::Invalid)?;
        let split = raw
            .len()
            .checked_sub(TAG_BYTES)
            .ok_or(TokenError::Invalid)?;
        let (body, tag) = raw.split_at(split);
        self.mac(body)
            .verify_slice(tag)
            .map_err(|_| TokenError::Invalid)?;
        // Genuine from here on: a layout error is a bug or an old version.
        let mut reader = Reader(body);
        if reader.byte()? != VERSION {
            return Err(TokenError::Invalid);
        }
        let expires = reader.i64()?;
        if reader.take(BINDING_BYTES)? != bind(binding) {
            return Err(TokenError::Mismatch);
        }
        if now.0 > expires {
            return Err(TokenError::Expired);
        }
        let key = match reader.byte()? {
            0 => SortKey::Time(Micros(reader.i64()?)),
            1 => SortKey::Text(reader.text()?),
            _ => return Err(TokenError::Invalid),
        };
        let id = UserId::from_stored(reader.text()?);
        match reader.0.is_empty() {
            true => Ok(Cursor { key, id }),
            false => Err(TokenError::Invalid),
        }
    }

    fn mac(&self, body: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(body);
        mac
    }
}

fn bind(binding: &str) -> [u8; BINDING_BYTES] {
    let digest = Sha256::digest(binding.as_bytes());
    let mut bound = [0u8; BINDING_BYTES];
    bound.copy_from_slice(&digest[..BINDING_BYTES]);
    bound
}

fn push_text(body: &mut Vec<u8>, text: &str) {
    // Keys and ids are bounded far below 4 GiB by validation.
    body.extend_from_slice(&(text.len() as u32).to_be_bytes());
    body.extend_from_slice(text.as_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        if self.0.len() < n {
            return Err(TokenError::Invalid);
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, TokenError> {
        Ok(self.take(1)?[0])
    }

    fn i64(&mut self) -> Result<i64, TokenError> {
        let bytes: [u8; 8] = self.take(8)?.try_into().map_err(|_| TokenError::Invalid)?;
        Ok(i64::from_be_bytes(bytes))
    }

    fn text(&mut self) -> Result<String, TokenError> {
        let len: [u8; 4] = self.take(4)?.try_into().map_err(|_| TokenError::Invalid)?;
        let bytes = self.take(u32::from_be_bytes(len) as usize)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor {
            key: SortKey::Text("ann@x.org".to_owned()),
            id: UserId::from_stored("ann".to_owned()),
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_token_reads_back_its_cursor() {
        let tokens = PageTokens::new(b"secret", HOUR);
        let token = tokens.issue("b", &cursor(), Micros(0));
        assert_eq!(tokens.read(&token, "b", Micros(1)), Ok(cursor()));
        let time = Cursor {
            key: SortKey::Time(Micros(-5)),
            id: UserId::from_stored("x".to_owned()),
        };
        let token = tokens.issue("b", &time, Micros(0));
        assert_eq!(tokens.read(&token, "b", Micros(1)), Ok(time));
    }

    #[test]
    fn another_secret_reads_the_same_token_when_it_is_the_same() {
        let token = PageTokens::new(b"shared", HOUR).issue("b", &cursor(), Micros(0));
        let replica = PageTokens::new(b"shared", HOUR);
        assert_eq!(replica.read(&token, "b", Micros(0)), Ok(cursor()));
        let foreign = PageTokens::new(b"other", HOUR);
        assert_eq!(
            foreign.read(&token, "b", Micros(0)),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn every_changed_byte_is_detected() {
        let tokens = PageTokens::new(b"secret", HOUR);
        let token = tokens.issue("b", &cursor(), Micros(0));
        let raw = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        for position in 0..raw.len() {
            let mut changed = raw.clone();
            changed[position] ^= 0x01;
            let changed = URL_SAFE_NO_PAD.encode(changed);
            assert_eq!(
                tokens.read(&changed, "b", Micros(0)),
                Err(TokenError::Invalid),
                "byte {position}"
            );
        }
        for junk in ["", "x", "!!!!", &"A".repeat(5000)] {
            assert_eq!(tokens.read(junk, "b", Micros(0)), Err(TokenError::Invalid));
        }
    }

    #[test]
    fn tokens_are_bound_and_expire() {
        let tokens = PageTokens::new(b"secret", HOUR);
        let token = tokens.issue("email asc", &cursor(), Micros(0));
        assert_eq!(
            tokens.read(&token, "email desc", Micros(0)),
            Err(TokenError::Mismatch)
        );
        let late = Micros(0).plus(HOUR + Duration::from_secs(1));
        assert_eq!(
            tokens.read(&token, "email asc", late),
            Err(TokenError::Expired)
        );
    }
}
