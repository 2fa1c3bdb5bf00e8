//! The servers the bad-input table runs against: limits small enough to
//! reach quickly, and what every row needs to inspect a status.
use std::time::Duration;

use tonic_types::StatusExt;
use user_service::settings::Settings;

use crate::helpers::{TestApp, TestUsers, spawn_app_over, test_settings};

/// Limits of the table's servers, small enough to reach quickly.
pub(crate) const MAX_MESSAGE: u64 = 64 << 10;
pub(crate) const MAX_ANSWER: u64 = 48 << 10;
pub(crate) const MAX_NAME: u64 = 32 << 10;
pub(crate) const MAX_CALLS: u32 = 4;
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(500);

/// Settings of the servers the table runs against.
pub(crate) fn table_settings() -> Settings {
    let mut settings = test_settings();
    let limits = &mut settings.limits;
    limits.max_decoding_message_size = MAX_MESSAGE;
    limits.max_encoding_message_size = MAX_ANSWER;
    limits.max_name_length = MAX_NAME;
    limits.max_concurrent_calls = MAX_CALLS as usize;
    limits.handshake_timeout = HANDSHAKE_TIMEOUT;
    settings
}

/// A plaintext server with the table's settings.
pub(crate) async fn spawn_table_app(users: &TestUsers) -> TestApp {
    spawn_app_over(table_settings(), users.clone(), None).await
}

/// The `ErrorInfo.reason` of `status`, or "" without one.
pub(crate) fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}
