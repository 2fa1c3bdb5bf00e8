//! `order_by`: one of `create_time` (the default), `email`, `display_name`,
//! each optionally followed by `desc` (or `asc`).
use std::fmt;

/// The column a listing is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    /// When users were created.
    CreateTime,
    /// Email, compared case-insensitively.
    Email,
    /// Display name, as stored.
    DisplayName,
}

/// A listing's order; ties are broken by user id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ordering {
    /// The column.
    pub field: SortField,
    /// Descending instead of ascending.
    pub descending: bool,
}

impl Default for Ordering {
    fn default() -> Self {
        Self {
            field: SortField::CreateTime,
            descending: false,
        }
    }
}

impl Ordering {
    /// Parses `order_by`; the error says what is unsupported.
    pub fn parse(order_by: &str) -> Result<Self, String> {
        if order_by.trim().is_empty() {
            return Ok(Self::default());
        }
        if order_by.contains(',') {
            return Err("ordering by more than one field is not supported".to_owned());
        }
        let mut words = order_by.split_whitespace();
        let field = match words.next().unwrap_or_default() {
            "create_time" => SortField::CreateTime,
            "email" => SortField::Email,
            "display_name" => SortField::DisplayName,
            other => {
                return Err(format!(
                    "cannot order by `{other}`: only create_time, email and display_name"
                ));
            }
        };
        let descending = match words.next() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(format!("`{other}` is not asc or desc")),
        };
        if let Some(extra) = words.next() {
            return Err(format!("unexpected `{extra}` after the direction"));
        }
        Ok(Self { field, descending })
    }
}

/// The canonical form, which page tokens are bound to.
impl fmt::Display for Ordering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = match self.field {
            SortField::CreateTime => "create_time",
            SortField::Email => "email",
            SortField::DisplayName => "display_name",
        };
        let direction = if self.descending { "desc" } else { "asc" };
        write!(f, "{field} {direction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_create_time_ascending() {
        assert_eq!(Ordering::parse("").expect("empty"), Ordering::default());
        assert_eq!(
            Ordering::parse(" create_time asc ").expect("asc"),
            Ordering::default()
        );
    }

    #[test]
    fn each_field_may_be_descending() {
        let ordering = Ordering::parse("email desc").expect("email desc");
        assert_eq!(
            (ordering.field, ordering.descending),
            (SortField::Email, true)
        );
        assert_eq!(ordering.to_string(), "email desc");
        let ordering = Ordering::parse("display_name").expect("display_name");
        assert_eq!(ordering.to_string(), "display_name asc");
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        for (bad, says) in [
            ("uid", "cannot order by `uid`"),
            ("email,display_name", "more than one field"),
            ("email up", "not asc or desc"),
            ("email desc x", "unexpected `x`"),
        ] {
            let err = Ordering::parse(bad).expect_err(bad);
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
