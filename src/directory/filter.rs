//! The AIP-160 subset ListUsers accepts: `email = "…"`, `display_name = "…"`
//! and `state = ACTIVE|DELETED`, joined by `AND`. Anything else is refused
//! with a message naming what is unsupported.
use std::fmt;

use super::model::{State, email_key};

/// One condition of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The email equals this, case-insensitively (held as its key).
    Email(String),
    /// The display name equals this exactly.
    DisplayName(String),
    /// The state is this.
    State(State),
}

/// Conditions that all hold; empty matches everyone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// In the order given.
    pub conditions: Vec<Condition>,
}

/// The longest filter accepted, in bytes: bounds parsing work.
const MAX_FILTER_BYTES: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Text(String),
    Operator(String),
}

impl Filter {
    /// Parses `filter`; the error says what is unsupported.
    pub fn parse(filter: &str) -> Result<Self, String> {
        if filter.len() > MAX_FILTER_BYTES {
            return Err(format!("must be at most {MAX_FILTER_BYTES} bytes"));
        }
        let tokens = tokenize(filter)?;
        let mut conditions = Vec::new();
        let mut rest = tokens.as_slice();
        while !rest.is_empty() {
            let (condition, after) = condition(rest)?;
            conditions.push(condition);
            rest = match after {
                [] => after,
                [Token::Word(and), more @ ..] if and == "AND" => {
                    if more.is_empty() {
                        return Err("AND must be followed by a condition".to_owned());
                    }
                    more
                }
                [Token::Word(word), ..] if word == "OR" || word == "NOT" => {
                    return Err(format!(
                        "{word} is not supported: only AND joins conditions"
                    ));
                }
                [other, ..] => {
                    return Err(format!("expected AND, found {}", describe(other)));
                }
            };
        }
        Ok(Self { conditions })
    }
}

fn condition(tokens: &[Token]) -> Result<(Condition, &[Token]), String> {
    if let Some(Token::Word(word)) = tokens.first()
        && matches!(word.as_str(), "NOT" | "OR" | "AND")
    {
        return Err(format!(
            "{word} is not supported here: a condition is `field = value`, joined by AND"
        ));
    }
    let [field, operator, value, rest @ ..] = tokens else {
        return Err("a condition is `field = value`".to_owned());
    };
    let Token::Word(field) = field else {
        return Err(format!("expected a field name, found {}", describe(field)));
    };
    match operator {
        Token::Operator(op) if op == "=" => {}
        Token::Operator(op) => {
            return Err(format!("operator `{op}` is not supported: only ="));
        }
        other => return Err(format!("expected =, found {}", describe(other))),
    }
    let condition = match (field.as_str(), value) {
        ("email", Token::Text(text)) => Condition::Email(email_key(text)),
        ("display_name", Token::Text(text)) => Condition::DisplayName(text.clone()),
        ("state", Token::Word(word) | Token::Text(word)) => match word.as_str() {
            "ACTIVE" => Condition::State(State::Active),
            "DELETED" => Condition::State(State::Deleted),
            other => return Err(format!("state must be ACTIVE or DELETED, not `{other}`")),
        },
        ("email" | "display_name", other) => {
            return Err(format!(
                "{field} must be compared with a quoted string, not {}",
                describe(other)
            ));
        }
        (other, _) => {
            return Err(format!(
                "field `{other}` is not supported: only email, display_name and state"
            ));
        }
    };
    Ok((condition, rest))
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(word) => format!("`{word}`"),
        Token::Text(text) => format!("the string {text:?}"),
        Token::Operator(op) => format!("`{op}`"),
    }
}

fn tokenize(filter: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = filter.char_indices().peekable();
    while let Some(&(_, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            tokens.push(Token::Text(quoted(&mut chars)?));
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut word = String::new();
            while let Some(&(_, c)) = chars
                .peek()
                .filter(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
            {
                word.push(c);
                chars.next();
            }
            tokens.push(Token::Word(word));
        } else if "=!<>:".contains(c) {
            let mut op = String::new();
            while let Some(&(_, c)) = chars.peek().filter(|(_, c)| "=!<>:".contains(*c)) {
                op.push(c);
                chars.next();
            }
            tokens.push(Token::Operator(op));
        } else {
            let what = match c {
                '(' | ')' => "parentheses are".to_owned(),
                '-' => "negation is".to_owned(),
                '.' => "field traversal is".to_owned(),
                '*' => "wildcards are".to_owned(),
                other => format!("`{other}` is"),
            };
            return Err(format!("{what} not supported"));
        }
    }
    Ok(tokens)
}

fn quoted(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Result<String, String> {
    let mut text = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => return Ok(text),
            '\\' => match chars.next() {
                Some((_, escaped @ ('"' | '\\'))) => text.push(escaped),
                _ => return Err("only \\\" and \\\\ are escapes in a string".to_owned()),
            },
            c => text.push(c),
        }
    }
    Err("a string is not closed".to_owned())
}

/// The canonical form, which page tokens are bound to.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, condition) in self.conditions.iter().enumerate() {
            if position > 0 {
                f.write_str(" AND ")?;
            }
            match condition {
                Condition::Email(key) => write!(f, "email = {key:?}")?,
                Condition::DisplayName(name) => write!(f, "display_name = {name:?}")?,
                Condition::State(State::Active) => f.write_str("state = ACTIVE")?,
                Condition::State(State::Deleted) => f.write_str("state = DELETED")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_parses() {
        let filter =
            Filter::parse(r#"email = "Ann@X.org" AND display_name="A \"B\"" AND state = DELETED"#)
                .expect("valid");
        assert_eq!(
            filter.conditions,
            [
                Condition::Email("ann@x.org".to_owned()),
                Condition::DisplayName("A \"B\"".to_owned()),
                Condition::State(State::Deleted),
            ]
        );
        assert_eq!(Filter::parse("  ").expect("empty"), Filter::default());
        assert_eq!(
            Filter::parse("state = ACTIVE").expect("state").to_string(),
            "state = ACTIVE"
        );
    }

    #[test]
    fn the_canonical_form_ignores_spacing_and_email_case() {
        let a = Filter::parse(r#"email="A@b"  AND state=ACTIVE"#).expect("a");
        let b = Filter::parse(r#"email = "a@B" AND state = ACTIVE"#).expect("b");
        assert_eq!(a.to_string(), b.to_string());
    }

    #[test]
    fn everything_else_names_what_is_unsupported() {
        for (bad, says) in [
            (r#"uid = "x""#, "field `uid` is not supported"),
            (r#"email != "x""#, "operator `!=`"),
            (r#"email : "x""#, "operator `:`"),
            (r#"email = "a" OR email = "b""#, "OR is not supported"),
            (r#"NOT email = "a""#, "NOT is not supported"),
            (r#"AND email = "a""#, "AND is not supported here"),
            (r#"(email = "a")"#, "parentheses"),
            (r#"-email = "a""#, "negation"),
            (r#"email = "a" AND"#, "AND must be followed"),
            (r#"email = "a" email = "b""#, "expected AND"),
            (r#"email = "a"#, "not closed"),
            ("email = x", "quoted string"),
            ("state = GONE", "ACTIVE or DELETED"),
            ("email", "field = value"),
            ("a.b = 1", "field traversal"),
        ] {
            let err = Filter::parse(bad).expect_err(bad);
            assert!(err.contains(says), "{bad}: {err}");
        }
        assert!(Filter::parse(&"a".repeat(3000)).is_err());
    }
}
