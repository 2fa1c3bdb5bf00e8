//! Sizes in settings: a plain byte count (`65536`) or a human string
//! (`"4MiB"`, `"64 KiB"`, `"1MB"`), read with `bytesize`. Used as
//! `#[serde(with = "size")]` on `u64` fields.
use std::fmt;

use bytesize::ByteSize;
use serde::{Deserializer, Serializer, de};

/// Binary units, largest first, for printing.
const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];

/// Writes the exact size with the largest binary unit that divides it
/// (`"4MiB"`), or a plain integer, so printed settings load back unchanged
/// (`bytesize`'s own display rounds: `"976.6 KiB"`).
pub(super) fn serialize<S: Serializer>(bytes: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    match UNITS
        .iter()
        .find(|(unit, _)| *bytes >= *unit && bytes.is_multiple_of(*unit))
    {
        Some((unit, name)) => serializer.serialize_str(&format!("{}{name}", *bytes / *unit)),
        None => serializer.serialize_u64(*bytes),
    }
}

/// Reads an integer or a string with an optional unit.
pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_any(SizeVisitor)
}

struct SizeVisitor;

impl de::Visitor<'_> for SizeVisitor {
    type Value = u64;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a size in bytes, such as 65536 or \"4MiB\"")
    }

    fn visit_u64<E: de::Error>(self, bytes: u64) -> Result<u64, E> {
        Ok(bytes)
    }

    fn visit_i64<E: de::Error>(self, bytes: i64) -> Result<u64, E> {
        u64::try_from(bytes).map_err(|_| E::invalid_value(de::Unexpected::Signed(bytes), &self))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<u64, E> {
        text.trim()
            .parse::<ByteSize>()
            .map(|size| size.as_u64())
            .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "super")]
        size: u64,
    }

    fn parse(toml_value: &str) -> Result<u64, toml::de::Error> {
        toml::from_str::<Holder>(&format!("size = {toml_value}")).map(|holder| holder.size)
    }

    #[test]
    fn units_and_plain_integers_are_read() {
        assert_eq!(parse("\"4MiB\"").expect("4MiB"), 4 * 1024 * 1024);
        assert_eq!(parse("\"64 KiB\"").expect("64 KiB"), 64 * 1024);
        assert_eq!(parse("\"1MB\"").expect("1MB"), 1_000_000);
        assert_eq!(parse("\"1048576\"").expect("string integer"), 1_048_576);
        assert_eq!(parse("65536").expect("integer"), 65_536);
    }

    #[test]
    fn nonsense_and_negative_sizes_are_refused() {
        for bad in ["\"big\"", "\"4 parsecs\"", "-1", "true"] {
            let err = parse(bad).expect_err(bad).to_string();
            assert!(err.contains("a size in bytes"), "{bad}: {err}");
        }
    }

    #[test]
    fn printing_is_exact_and_reads_back() {
        for (size, printed) in [
            (4 << 20, "\"4MiB\""),
            (16 << 10, "\"16KiB\""),
            (3 << 30, "\"3GiB\""),
            (1_000_000, "1000000"),
        ] {
            let text = toml::to_string(&Holder { size }).expect("serialises");
            assert_eq!(text.trim(), format!("size = {printed}"));
            assert_eq!(parse(printed).expect("reads back"), size);
        }
    }
}
