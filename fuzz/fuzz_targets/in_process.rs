//! The service's whole gRPC stack, as `user_service::server::stack::build`
//! makes it for the server, driven in-process: one current-thread runtime,
//! one SQLite store in a temporary directory, and one stack per distinct
//! limits combination (all built lazily, each once per process).
//!
//! The admission layer catches panics, but that hides nothing here:
//! libFuzzer's panic hook aborts before any unwinding is caught.

use std::{
    collections::VecDeque,
    convert::Infallible,
    pin::Pin,
    sync::{Arc, OnceLock},
    task::{Context, Poll},
};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tempfile::TempDir;
use tokio::sync::watch;
use tonic::{Code, Status};
use tower::ServiceExt;
use user_service::{
    directory::{PageTokens, UserStore},
    server::{
        HealthSwitch,
        stack::{self, InProcess},
    },
    settings::{Settings, StoreSettings},
    store::Instrumented,
    users::LegacyUsers,
};

/// gRPC's length-prefixed message header: compression flag and u32 length.
pub const FRAME_HEADER: usize = 5;
/// The 1KiB floor the settings accept for message limits.
pub const SMALL_DECODING_LIMIT: u64 = 1024;
/// `limits.max_name_length` choices: the default, or lengths a fuzzed name
/// reaches within libFuzzer's input sizes.
const NAME_LENGTHS: [Option<u64>; 4] = [None, Some(1), Some(16), Some(256)];

/// One current-thread runtime for the whole run: building one per input
/// would cost more than the call itself.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            // Deadlines, the store's operation timeout and sqlx's pool timers.
            .enable_time()
            .build()
            .expect("a current-thread runtime")
    })
}

/// The settings of stack `index` (0..8): bits 0-1 pick
/// `limits.max_name_length`, bit 2 the small `max_decoding_message_size`.
pub fn settings(index: u8) -> Settings {
    let mut settings = Settings::default();
    if let Some(length) = NAME_LENGTHS[usize::from(index & 3)] {
        settings.limits.max_name_length = length;
    }
    if index & 4 != 0 {
        settings.limits.max_decoding_message_size = SMALL_DECODING_LIMIT;
    }
    settings
}

/// Where each process keeps its store: `PID-RANDOM` directories in the fuzz
/// crate's build output.
const STORES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/stores");

/// Removes the stores of processes that are gone. Statics are never
/// dropped, and libFuzzer ends a run with `exit`, so no process removes its
/// own: the next one does (Linux: a live process has `/proc/PID`).
fn remove_stale_stores() {
    let Ok(entries) = std::fs::read_dir(STORES) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name.to_str().and_then(|name| name.split('-').next());
        let alive = pid.is_some_and(|pid| std::path::Path::new("/proc").join(pid).exists());
        if !alive {
            // Another process may be removing it at the same time.
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The one store of the process: a real SQLite file, migrated, behind the
/// same instrumented wrapper (spans, the per-operation timeout) the server
/// puts around it.
fn store() -> Arc<dyn UserStore> {
    static STORE: OnceLock<(TempDir, Arc<dyn UserStore>)> = OnceLock::new();
    let (_dir, store) = STORE.get_or_init(|| {
        remove_stale_stores();
        std::fs::create_dir_all(STORES).expect("the stores directory");
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-", std::process::id()))
            .tempdir_in(STORES)
            .expect("a store directory");
        let settings = StoreSettings {
            url: format!("sqlite://{}", dir.path().join("users.db").display()),
            // Survives a crash of the process, which is all a fuzz run needs;
            // `full` would sync the file on every write.
            sqlite_synchronous: "normal".to_owned(),
            ..StoreSettings::default()
        };
        let store = runtime()
            .block_on(user_service::store::open(&settings))
            .expect("the fuzz store opens");
        let store: Arc<dyn UserStore> = Arc::new(Instrumented::new(store, settings.timeout, None));
        (dir, store)
    });
    store.clone()
}

/// Stack `index` (see [`settings`]), built on first use.
pub fn service(index: u8) -> InProcess {
    // The draining sender lives as long as the stack, as in the server.
    type Built = (InProcess, watch::Sender<bool>);
    static STACKS: [OnceLock<Built>; 8] = [const { OnceLock::new() }; 8];
    let (service, _draining) = STACKS[usize::from(index & 7)].get_or_init(|| {
        let settings = settings(index);
        let (draining, draining_rx) = watch::channel(false);
        let parts = stack::Parts {
            legacy: LegacyUsers::new(&settings.limits),
            store: store(),
            page_tokens: PageTokens::new(b"fuzz-secret", settings.directory.page_token_lifetime),
            health: runtime().block_on(HealthSwitch::new()),
            draining: draining_rx,
            metrics: None,
        };
        let stack = stack::build(&settings, parts).expect("the stack builds");
        (stack.into_service(), draining)
    });
    service.clone()
}

/// A request body handed over in fixed chunks, then no trailers, as hyper
/// hands over a client's DATA frames.
pub struct Chunks(pub VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.iter().map(|chunk| chunk.len() as u64).sum())
    }
}

/// `message` behind an uncompressed gRPC frame prefix of its exact length.
pub fn frame(message: &[u8]) -> Bytes {
    let mut body = BytesMut::with_capacity(FRAME_HEADER + message.len());
    body.put_u8(0);
    body.put_u32(u32::try_from(message.len()).expect("libFuzzer inputs are small"));
    body.put_slice(message);
    body.freeze()
}

/// What a call answered: its one grpc-status (with the details it carries)
/// and the response body's data.
pub struct Answer {
    pub status: Status,
    pub body: Bytes,
}

impl Answer {
    pub fn code(&self) -> Code {
        self.status.code()
    }

    /// The body as one uncompressed length-prefixed message.
    pub fn message(&self) -> Bytes {
        let mut body = self.body.clone();
        assert!(
            body.len() >= FRAME_HEADER,
            "OK with a body of {} bytes",
            body.len()
        );
        assert_eq!(body.get_u8(), 0, "the answer is marked compressed");
        let length = body.get_u32() as usize;
        assert_eq!(length, body.len(), "the answer's frame length is wrong");
        body
    }
}

fn status_of(headers: &HeaderMap) -> Option<Status> {
    let value = headers.get("grpc-status")?;
    let valid = value
        .to_str()
        .ok()
        .and_then(|text| text.parse::<i32>().ok());
    assert!(valid.is_some(), "grpc-status is not a number: {value:?}");
    Some(Status::from_header_map(headers).expect("a grpc-status header reads as a Status"))
}

/// One unary call of `path` (`/package.Service/Method`) on `service`.
pub async fn call(service: InProcess, path: &'static str, chunks: VecDeque<Bytes>) -> Answer {
    let mut request = Request::new(tonic::body::Body::new(Chunks(chunks)));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = http::Uri::from_static(path);
    let headers = request.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert("te", HeaderValue::from_static("trailers"));

    let response = match service.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let in_headers = status_of(response.headers());
    let collected = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|err| panic!("the answer's body failed: {err}"));
    let in_trailers = collected.trailers().and_then(status_of);
    let status = match (in_headers, in_trailers) {
        (Some(status), None) | (None, Some(status)) => status,
        (None, None) => panic!("the answer carries no grpc-status"),
        (Some(first), Some(second)) => panic!(
            "grpc-status twice: {:?} in the headers, {:?} in the trailers",
            first.code(),
            second.code()
        ),
    };
    Answer {
        status,
        body: collected.to_bytes(),
    }
}
