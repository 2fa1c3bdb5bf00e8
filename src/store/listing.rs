//! The SQL of one page of a listing, written once for every engine: the
//! filter's equalities, the keyset condition after the previous page's last
//! user, the order and the limit (never OFFSET). Engines differ only in how
//! they write a bound value's placeholder and how they store a state.
use crate::directory::{Condition, ListQuery, SortField, SortKey, State};

/// A value bound to a listing's query, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// An integer column (a time) or the limit.
    Int(i64),
    /// The state column (each engine binds it as its own integer type).
    State(State),
    /// A text column.
    Text(String),
}

/// How an engine writes the placeholder of the `n`th bound value (from 1).
pub(crate) type Placeholder = fn(usize) -> String;

/// The SQL and its bound values. `select_where` is the engine's `SELECT …
/// FROM users WHERE <always true>` the conditions are appended to.
pub(crate) fn list_sql(
    query: &ListQuery,
    select_where: &str,
    placeholder: Placeholder,
) -> (String, Vec<Value>) {
    let mut sql = String::from(select_where);
    let mut values = Vec::new();
    let mut bind = |value: Value| {
        values.push(value);
        placeholder(values.len())
    };
    if !query.show_deleted {
        sql.push_str(" AND state = 1");
    }
    for condition in &query.filter.conditions {
        let (column, value) = match condition {
            Condition::Email(key) => ("email_key", Value::Text(key.clone())),
            Condition::DisplayName(name) => ("display_name", Value::Text(name.clone())),
            Condition::State(state) => ("state", Value::State(*state)),
        };
        sql.push_str(&format!(" AND {column} = {}", bind(value)));
    }
    let column = match query.ordering.field {
        SortField::CreateTime => "create_time",
        SortField::Email => "email_key",
        SortField::DisplayName => "display_name",
    };
    let (direction, after) = match query.ordering.descending {
        true => ("DESC", "<"),
        false => ("ASC", ">"),
    };
    if let Some(cursor) = &query.after {
        let key = bind(match &cursor.key {
            SortKey::Time(time) => Value::Int(time.0),
            SortKey::Text(text) => Value::Text(text.clone()),
        });
        let id = bind(Value::Text(cursor.id.as_str().to_owned()));
        sql.push_str(&format!(" AND ({column}, id) {after} ({key}, {id})"));
    }
    let limit = bind(Value::Int(i64::from(query.limit)));
    sql.push_str(&format!(
        " ORDER BY {column} {direction}, id {direction} LIMIT {limit}"
    ));
    (sql, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{Cursor, Filter, Ordering, UserId};

    fn query() -> ListQuery {
        ListQuery {
            filter: Filter::parse(r#"email = "A@b" AND state = ACTIVE"#).expect("filter"),
            ordering: Ordering::parse("email desc").expect("order"),
            show_deleted: false,
            after: Some(Cursor {
                key: SortKey::Text("a@b".to_owned()),
                id: UserId::from_stored("ann".to_owned()),
            }),
            limit: 11,
        }
    }

    #[test]
    fn listings_page_by_keyset_never_offset() {
        let (sql, values) = list_sql(&query(), "SELECT * FROM users WHERE TRUE", |n| {
            format!("${n}")
        });
        assert_eq!(
            sql,
            "SELECT * FROM users WHERE TRUE AND state = 1 AND email_key = $1 AND state = $2 \
             AND (email_key, id) < ($3, $4) ORDER BY email_key DESC, id DESC LIMIT $5"
        );
        assert_eq!(
            values,
            [
                Value::Text("a@b".to_owned()),
                Value::State(State::Active),
                Value::Text("a@b".to_owned()),
                Value::Text("ann".to_owned()),
                Value::Int(11),
            ]
        );
    }

    #[test]
    fn placeholders_are_the_engines() {
        let (sql, _) = list_sql(&query(), "SELECT * FROM users WHERE 1 = 1", |_| {
            "?".to_owned()
        });
        assert!(sql.ends_with("(email_key, id) < (?, ?) ORDER BY email_key DESC, id DESC LIMIT ?"));
        assert!(!sql.contains('$'));
    }
}
