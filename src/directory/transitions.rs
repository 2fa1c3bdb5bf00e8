//! What each conditional write does to the user it loaded, written once for
//! every engine: the engines load the row under their lock, check what only
//! the database can answer (is an email free?), apply one of these and save.
use super::{
    model::{State, User, email_key},
    store::{Changes, SoftDelete, StoreError, Write},
};

impl<T> Write<T> {
    /// The write's time and new etag on `user`.
    fn stamp(&self, user: &mut User) {
        user.update_time = self.now;
        user.etag.clone_from(&self.new_etag);
    }
}

impl Write<Changes> {
    /// Refuses a deleted user (they are read-only until undeleted).
    pub fn check(&self, user: &User) -> Result<(), StoreError> {
        match user.state {
            State::Deleted => Err(StoreError::Deleted),
            State::Active => Ok(()),
        }
    }

    /// The key of the email this update gives `user`, when it differs from
    /// the current one: the store must find no other user holding it.
    pub fn new_email_key(&self, user: &User) -> Option<String> {
        let key = self.what.email.as_ref()?.key();
        (key != email_key(&user.email)).then_some(key)
    }

    /// Writes the changes into `user`.
    pub fn apply(&self, user: &mut User) {
        if let Some(email) = &self.what.email {
            user.email = email.as_str().to_owned();
        }
        if let Some(name) = &self.what.display_name {
            user.display_name = name.as_str().to_owned();
        }
        self.stamp(user);
    }
}

impl Write<SoftDelete> {
    /// Marks `user` deleted until its purge time; a deleted user cannot be
    /// deleted again.
    pub fn apply(&self, user: &mut User) -> Result<(), StoreError> {
        if user.state == State::Deleted {
            return Err(StoreError::Deleted);
        }
        user.state = State::Deleted;
        user.delete_time = Some(self.now);
        user.purge_time = Some(self.what.purge_time);
        self.stamp(user);
        Ok(())
    }
}

impl Write<()> {
    /// Refuses a user that is not deleted.
    pub fn check(&self, user: &User) -> Result<(), StoreError> {
        match user.state {
            State::Active => Err(StoreError::NotDeleted),
            State::Deleted => Ok(()),
        }
    }

    /// Marks `user` active again (the store has checked its email is free).
    pub fn apply(&self, user: &mut User) {
        user.state = State::Active;
        user.delete_time = None;
        user.purge_time = None;
        self.stamp(user);
    }
}
