//! Domain users as the wire shows them.
use super::model::{State, User};
use crate::proto::v1;

impl From<User> for v1::User {
    fn from(user: User) -> Self {
        let state = match user.state {
            State::Active => v1::user::State::Active,
            State::Deleted => v1::user::State::Deleted,
        };
        Self {
            name: user.id.name(),
            // Encoded straight into a buffer, without the formatting machinery.
            uid: user
                .uid
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer())
                .to_owned(),
            email: user.email,
            display_name: user.display_name,
            state: state as i32,
            create_time: Some(user.create_time.to_timestamp()),
            update_time: Some(user.update_time.to_timestamp()),
            delete_time: user.delete_time.map(|time| time.to_timestamp()),
            purge_time: user.purge_time.map(|time| time.to_timestamp()),
            etag: user.etag,
        }
    }
}
