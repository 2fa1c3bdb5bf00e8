//! Carves a fuzz input into one `user.v1` request. Each field starts with a
//! choice byte: a seeded user's value, an edge case of the contract (ids at
//! the length and charset bounds, emails at the byte bound, display names
//! with control characters, unsupported filter syntax, output-only mask
//! paths), a fresh valid value, or carved text (a length byte, then that
//! many bytes, read as lossy UTF-8). An exhausted input reads as zero bytes,
//! so every input carves into some request, and a seed is a few choice bytes
//! (see `fuzz/corpus-seeds/make.py`).

use arbitrary::Unstructured;
use prost_types::FieldMask;
use user_service::proto::v1;

use super::request::{Etag, Token};

use super::vocabulary::{CONDITIONS, EDGE_IDS, MASK_PATHS, ORDERS, PAGE_SIZES, SEEDED, UUIDS};

/// Reads choice bytes and carved text from the input.
pub struct Carver<'a>(pub Unstructured<'a>);

impl Carver<'_> {
    pub(super) fn byte(&mut self) -> u8 {
        self.0.arbitrary().unwrap_or(0)
    }

    pub(super) fn choice(&mut self, count: usize) -> usize {
        usize::from(self.byte()) % count
    }

    pub(super) fn pick<'v>(&mut self, values: &[&'v str]) -> &'v str {
        values[self.choice(values.len())]
    }

    pub(super) fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    pub(super) fn text(&mut self) -> String {
        let length = usize::from(self.byte()).min(self.0.len());
        let bytes = self.0.bytes(length).unwrap_or_default();
        String::from_utf8_lossy(bytes).into_owned()
    }

    /// A fresh valid id, so creates succeed now and then. One byte of them:
    /// the store stays a few hundred users (Lists keep their speed over a
    /// long run) and fresh ids collide now and then.
    pub(super) fn fresh_id(&mut self) -> String {
        format!("f{:02x}", self.byte())
    }

    pub(super) fn seeded(&mut self) -> (&'static str, &'static str, &'static str) {
        SEEDED[self.choice(SEEDED.len())]
    }

    pub(super) fn user_id(&mut self) -> String {
        match self.choice(6) {
            0 => String::new(),
            1 => self.seeded().0.to_owned(),
            2 => self.pick(&EDGE_IDS).to_owned(),
            3 => self.text(),
            _ => self.fresh_id(),
        }
    }

    pub(super) fn name(&mut self) -> String {
        match self.choice(6) {
            0 => format!("users/{}", self.seeded().0),
            1 => format!("users/{}", self.pick(&EDGE_IDS)),
            2 => format!("users/{}", self.text()),
            3 => self.text(),
            4 => String::new(),
            _ => format!("users/{}", self.fresh_id()),
        }
    }

    pub(super) fn email(&mut self) -> String {
        match self.choice(9) {
            0 => String::new(),
            1 => self.seeded().1.to_owned(),
            2 => self.seeded().1.to_uppercase(),
            3 => self.text(),
            4 => format!("{}@{}", self.text(), self.text()),
            5 => "a@".to_owned(),
            6 => format!("{}@b.co", "a".repeat(usize::from(self.byte()) + 50)),
            _ => format!("{}@example.org", self.fresh_id()),
        }
    }

    pub(super) fn display_name(&mut self) -> String {
        match self.choice(6) {
            0 => String::new(),
            1 => self.text(),
            2 => self.seeded().2.to_owned(),
            3 => "bad\u{7}name".to_owned(),
            4 => "x".repeat(201),
            _ => "é".repeat(200),
        }
    }

    pub(super) fn request_id(&mut self) -> String {
        match self.choice(3) {
            0 => String::new(),
            1 => self.pick(&UUIDS).to_owned(),
            _ => self.text(),
        }
    }

    pub(super) fn filter(&mut self) -> String {
        match self.choice(5) {
            0 => String::new(),
            1 => self.pick(&CONDITIONS).to_owned(),
            2 => format!("{} AND {}", self.pick(&CONDITIONS), self.pick(&CONDITIONS)),
            3 => self.text(),
            _ => {
                // A condition with carved text spliced in at a char boundary.
                let mut filter = self.pick(&CONDITIONS).to_owned();
                let at = usize::from(self.byte()) % (filter.len() + 1);
                let at = (0..=at)
                    .rev()
                    .find(|i| filter.is_char_boundary(*i))
                    .unwrap_or(0);
                filter.insert_str(at, &self.text());
                filter
            }
        }
    }

    pub(super) fn order_by(&mut self) -> String {
        match self.choice(4) {
            0 => self.text(),
            _ => self.pick(&ORDERS).to_owned(),
        }
    }

    pub(super) fn page_size(&mut self) -> i32 {
        match self.choice(PAGE_SIZES.len() + 1) {
            i if i < PAGE_SIZES.len() => PAGE_SIZES[i],
            _ => i32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()]),
        }
    }

    pub(super) fn token(&mut self) -> Token {
        match self.choice(5) {
            0 => Token::Literal(String::new()),
            1 => Token::Real,
            2 => {
                let count = 1 + self.choice(3);
                Token::Mutated((0..count).map(|_| (self.byte(), self.byte())).collect())
            }
            3 => Token::Literal(self.text()),
            _ => {
                use base64::Engine;
                let raw = self.text();
                Token::Literal(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
            }
        }
    }

    pub(super) fn mask(&mut self) -> Option<FieldMask> {
        let count = match self.choice(5) {
            0 => return None,
            count => count - 1,
        };
        let paths = (0..count)
            .map(|_| match self.choice(MASK_PATHS.len() + 1) {
                i if i < MASK_PATHS.len() => MASK_PATHS[i].to_owned(),
                _ => self.text(),
            })
            .collect();
        Some(FieldMask { paths })
    }

    pub(super) fn etag(&mut self) -> Etag {
        match self.choice(3) {
            0 => Etag::Literal(String::new()),
            1 => Etag::Current,
            _ => Etag::Literal(self.text()),
        }
    }

    /// A user as a request carries it; output-only fields are set at times
    /// (the service must ignore them).
    pub(super) fn user(&mut self, name: String) -> Option<v1::User> {
        if self.choice(8) == 0 {
            return None;
        }
        let mut user = v1::User {
            name,
            email: self.email(),
            display_name: self.display_name(),
            ..v1::User::default()
        };
        if self.flag() {
            user.uid = self.text();
            user.state = i32::from(self.byte()) - 1;
        }
        Some(user)
    }
}
