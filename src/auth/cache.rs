//! Verdicts on credentials (tokens, client certificates) remembered until
//! they expire, so a credential used again costs a hash lookup, not a
//! signature check. Bounded: when full, expired and outdated entries go
//! first, then an arbitrary one.
//!
//! The hash is taken over the credential's last bytes only: they are its
//! signature, which nobody without the signing key can choose, so entries
//! cannot be made to collide, and a lookup hashes a few dozen bytes however
//! long the token is. The whole credential is compared on a hit.
use std::{
    collections::HashMap,
    hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState},
    sync::{PoisonError, RwLock},
};

/// How many trailing bytes of a credential are hashed.
const HASHED_TAIL: usize = 32;

/// A bounded map from credentials to verdicts.
pub(crate) struct Cache<V> {
    map: RwLock<HashMap<u64, Entry<V>, BuildHasherDefault<Prehashed>>>,
    hasher: RandomState,
    capacity: usize,
}

struct Entry<V> {
    credential: Box<[u8]>,
    value: V,
    /// The key set's generation the verdict was reached under.
    generation: u64,
    /// Unix seconds after which the verdict no longer holds.
    expires: u64,
}

impl<V: Clone> Cache<V> {
    /// An empty cache of at most `capacity` entries.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::default()),
            hasher: RandomState::new(),
            capacity: capacity.max(1),
        }
    }

    fn key(&self, credential: &[u8]) -> u64 {
        let tail = credential.len().saturating_sub(HASHED_TAIL);
        self.hasher.hash_one(&credential[tail..])
    }

    /// The verdict on `credential`, if one is remembered, reached under
    /// `generation` and still valid at `now`.
    pub(crate) fn get(&self, credential: &[u8], generation: u64, now: u64) -> Option<V> {
        let key = self.key(credential);
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let entry = map.get(&key)?;
        (entry.generation == generation && now <= entry.expires && *entry.credential == *credential)
            .then(|| entry.value.clone())
    }

    /// Remembers `value` for `credential` until `expires`.
    pub(crate) fn insert(
        &self,
        credential: &[u8],
        value: V,
        generation: u64,
        expires: u64,
        now: u64,
    ) {
        let key = self.key(credential);
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= self.capacity && !map.contains_key(&key) {
            map.retain(|_, entry| entry.generation == generation && entry.expires >= now);
            if map.len() >= self.capacity
                && let Some(victim) = map.keys().next().copied()
            {
                map.remove(&victim);
            }
        }
        map.insert(
            key,
            Entry {
                credential: credential.into(),
                value,
                generation,
                expires,
            },
        );
    }

    /// How many entries are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Keys are hashes already: used as they are.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_holds_until_it_expires_or_the_keys_change() {
        let cache = Cache::new(4);
        cache.insert(b"header.claims.signature", 7, 1, 100, 50);
        assert_eq!(cache.get(b"header.claims.signature", 1, 100), Some(7));
        assert_eq!(cache.get(b"header.claims.signature", 1, 101), None);
        assert_eq!(cache.get(b"header.claims.signature", 2, 60), None);
        assert_eq!(cache.get(b"other.claims.signature", 1, 60), None);
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = Cache::new(3);
        for n in 0..10u8 {
            cache.insert(&[n; 40], n, 1, 100, 50);
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&[9; 40], 1, 50), Some(9));
    }
}
