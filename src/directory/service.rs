//! The `user.v1.UserService` handlers: convert at the edge, call the store,
//! convert back. No rule lives here that the store or the edge can hold.
use std::{sync::Arc, time::Duration};

use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{
    error::DirectoryError,
    model::{Micros, User, UserId, new_etag},
    page_token::PageTokens,
    query::{Cursor, ListQuery},
    requests::{self, CreateUser, ListUsers, UpdateUser},
    store::{NewUser, SoftDelete, StoreError, UserStore, Write},
};
use crate::proto::v1::{self, user_service_server::UserService};

/// The directory as the server runs it: a store, the page-token key and the
/// soft-delete retention.
#[derive(Debug, Clone)]
pub struct Directory {
    store: Arc<dyn UserStore>,
    tokens: PageTokens,
    purge_after: Duration,
}

impl Directory {
    /// A directory over `store`.
    pub fn new(store: Arc<dyn UserStore>, tokens: PageTokens, purge_after: Duration) -> Self {
        Self {
            store,
            tokens,
            purge_after,
        }
    }

    async fn create(&self, create: CreateUser) -> Result<User, DirectoryError> {
        let id = create.id.unwrap_or_else(UserId::generate);
        let new = NewUser {
            id: id.clone(),
            uid: Uuid::new_v4(),
            email: create.email,
            display_name: create.display_name,
            request_id: create.request_id,
            now: Micros::now(),
            etag: new_etag(),
        };
        let store_error = DirectoryError::store(&id);
        if create.validate_only {
            return match self.store.check_create(&new).await.map_err(store_error)? {
                Some(earlier) => Ok(earlier),
                // What validate_only answers: the user as it would be created.
                None => Ok(new.to_user()),
            };
        }
        let (user, _created) = self.store.create(&new).await.map_err(store_error)?;
        Ok(user)
    }

    async fn list(&self, list: ListUsers) -> Result<v1::ListUsersResponse, DirectoryError> {
        let binding = list.binding();
        let now = Micros::now();
        let after = match list.page_token.as_str() {
            "" => None,
            token => Some(self.tokens.read(token, &binding, now)?),
        };
        let query = ListQuery {
            filter: list.filter,
            ordering: list.ordering,
            show_deleted: list.show_deleted,
            after,
            // One more than the page tells whether another page follows.
            limit: list.page_size + 1,
        };
        let mut users = self
            .store
            .list(&query)
            .await
            .map_err(DirectoryError::store_wide)?;
        let next_page_token = match users.len() > list.page_size as usize {
            true => {
                users.truncate(list.page_size as usize);
                users
                    .last()
                    .map(|last| {
                        self.tokens
                            .issue(&binding, &Cursor::after(last, query.ordering), now)
                    })
                    .unwrap_or_default()
            }
            false => String::new(),
        };
        Ok(v1::ListUsersResponse {
            users: users.into_iter().map(v1::User::from).collect(),
            next_page_token,
        })
    }

    async fn update(&self, update: UpdateUser) -> Result<User, DirectoryError> {
        let write = Write {
            id: update.id.clone(),
            etag: update.etag,
            now: Micros::now(),
            new_etag: new_etag(),
            what: update.changes,
        };
        let store_error = DirectoryError::store(&update.id);
        match self.store.update(&write).await {
            Err(StoreError::NotFound) if update.allow_missing => {}
            result => return result.map_err(store_error),
        }
        // AIP-134 allow_missing: the update creates the user.
        let Some(email) = write.what.email.clone() else {
            return Err(DirectoryError::InvalidArgument(vec![
                super::error::FieldViolation {
                    field: "user.email",
                    description: "is required to create the user (allow_missing)".to_owned(),
                },
            ]));
        };
        let new = NewUser {
            id: update.id.clone(),
            uid: Uuid::new_v4(),
            email,
            display_name: write.what.display_name.clone().unwrap_or_default(),
            request_id: None,
            now: write.now,
            etag: write.new_etag.clone(),
        };
        match self.store.create(&new).await {
            Ok((user, _)) => Ok(user),
            // Created meanwhile by another caller: update that one.
            Err(StoreError::UserIdTaken) => self.store.update(&write).await.map_err(store_error),
            Err(err) => Err(store_error(err)),
        }
    }

    async fn delete(&self, request: v1::DeleteUserRequest) -> Result<v1::User, DirectoryError> {
        let id = requests::named("name", &request.name)?;
        let now = Micros::now();
        let write = Write {
            id: id.clone(),
            etag: requests::etag(request.etag),
            now,
            new_etag: new_etag(),
            what: SoftDelete {
                purge_time: now.plus(self.purge_after),
            },
        };
        match self.store.delete(&write).await {
            Ok(user) => Ok(user.into()),
            // Nothing to do, as asked: the user is gone or already deleted.
            Err(StoreError::NotFound) if request.allow_missing => Ok(v1::User {
                name: id.name(),
                ..v1::User::default()
            }),
            Err(StoreError::Deleted) if request.allow_missing => self
                .store
                .get(&id)
                .await
                .map_err(DirectoryError::store(&id))?
                .map(v1::User::from)
                .ok_or_else(|| DirectoryError::store(&id)(StoreError::NotFound)),
            Err(err) => Err(DirectoryError::store(&id)(err)),
        }
    }
}

fn answer<T, U: From<T>>(result: Result<T, DirectoryError>) -> Result<Response<U>, Status> {
    result
        .map(|value| Response::new(value.into()))
        .map_err(Status::from)
}

#[tonic::async_trait]
impl UserService for Directory {
    async fn create_user(
        &self,
        request: Request<v1::CreateUserRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let create = CreateUser::try_from(request.into_inner())?;
        answer(self.create(create).await)
    }

    async fn get_user(
        &self,
        request: Request<v1::GetUserRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let id = requests::named("name", &request.get_ref().name)?;
        let user = self
            .store
            .get(&id)
            .await
            .map_err(DirectoryError::store(&id));
        answer(
            user.and_then(|user| {
                user.ok_or_else(|| DirectoryError::store(&id)(StoreError::NotFound))
            }),
        )
    }

    async fn list_users(
        &self,
        request: Request<v1::ListUsersRequest>,
    ) -> Result<Response<v1::ListUsersResponse>, Status> {
        let list = ListUsers::try_from(request.into_inner())?;
        answer(self.list(list).await)
    }

    async fn update_user(
        &self,
        request: Request<v1::UpdateUserRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let update = UpdateUser::try_from(request.into_inner())?;
        answer(self.update(update).await)
    }

    async fn delete_user(
        &self,
        request: Request<v1::DeleteUserRequest>,
    ) -> Result<Response<v1::User>, Status> {
        answer(self.delete(request.into_inner()).await)
    }

    async fn undelete_user(
        &self,
        request: Request<v1::UndeleteUserRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let request = request.into_inner();
        let id = requests::named("name", &request.name)?;
        let write = Write {
            id: id.clone(),
            etag: requests::etag(request.etag),
            now: Micros::now(),
            new_etag: new_etag(),
            what: (),
        };
        answer(
            self.store
                .undelete(&write)
                .await
                .map_err(DirectoryError::store(&id)),
        )
    }
}
