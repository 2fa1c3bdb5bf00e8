//! A setting that holds a secret: it is read like any other, but printed
//! (`user-service config`, `Debug`, logs) only as `[redacted]`.
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a secret prints as.
pub const REDACTED: &str = "[redacted]";

/// A secret string. Empty means not set.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: call only where it is used, never to print it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no secret was set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.is_empty() {
            true => f.write_str("Secret(\"\")"),
            false => write!(f, "Secret({REDACTED})"),
        }
    }
}

/// Serialized redacted, so printing the settings never shows it; an unset
/// secret prints as empty, so the output says whether one is set.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.is_empty() {
            true => serializer.serialize_str(""),
            false => serializer.serialize_str(REDACTED),
        }
    }
}

/// The placeholder itself is refused: it is what a copy of `user-service
/// config`'s output holds, and taking it as the secret would start the
/// service with a password or key that is known to everyone.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        match value == REDACTED {
            true => Err(serde::de::Error::custom(format!(
                "`{REDACTED}` is what `user-service config` prints in place of a secret; \
                 give the secret itself"
            ))),
            false => Ok(Self(value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
        let toml =
            toml::to_string(&std::collections::BTreeMap::from([("s", &secret)])).expect("toml");
        assert!(!toml.contains("hunter2"), "{toml}");
        assert!(toml.contains(REDACTED));
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn the_placeholder_is_not_a_secret() {
        let refused = toml::from_str::<std::collections::BTreeMap<String, Secret>>(&format!(
            "s = \"{REDACTED}\""
        ));
        let message = refused.expect_err("the placeholder is refused").to_string();
        assert!(message.contains("in place of a secret"), "{message}");
        let kept: std::collections::BTreeMap<String, Secret> =
            toml::from_str("s = \"[redacted] \"").expect("any other value is a secret");
        assert_eq!(kept["s"].expose(), "[redacted] ");
    }

    #[test]
    fn an_unset_secret_prints_empty() {
        assert!(Secret::default().is_empty());
        assert_eq!(format!("{:?}", Secret::default()), "Secret(\"\")");
    }
}
