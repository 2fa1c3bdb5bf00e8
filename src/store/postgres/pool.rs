//! The store's connections to PostgreSQL.
//!
//! sqlx's own pool sends every connection given back to it a round trip
//! (a `Sync`, answered `ReadyForQuery`) from a task of its own, to flush
//! whatever a dropped call may have left unread. On a GetUser that is a
//! second round trip after the statement's: a spawned task, two system
//! calls and a wake-up in the service and as much work again in the
//! database's backend as the statement's own answer. This pool skips it
//! when the connection is known to be idle, that is when the operation
//! that held it finished ([`Conn::release`]): each statement reads its
//! answer up to `ReadyForQuery`. A connection given back any other way (an
//! error, a transaction dropped without commit, a call cancelled mid-way)
//! is checked and flushed with that round trip before another call gets it,
//! as sqlx's pool does, or closed.
use std::{
    ops::{Deref, DerefMut},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use sqlx::{ConnectOptions, Connection, PgConnection, postgres::PgConnectOptions};
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::{Instant, sleep, timeout_at},
};

/// A connection idle for longer than this is pinged before a call uses it:
/// one that sat in the pool through a database restart is replaced instead
/// of failing a call, while connections in steady use skip the round trip.
const STALE_AFTER: Duration = Duration::from_secs(1);
/// A connection this old is closed when given back (sqlx's default): a
/// server-side session does not grow for ever, and after a failover behind
/// a proxy the replicas move over within this time.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// A connection unused for this long is closed (sqlx's default): a replica
/// gives back what a burst opened.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Bound on the round trip that checks a connection given back mid-way.
const CHECK_BOUND: Duration = Duration::from_secs(5);
/// The first pause between attempts to connect to a server that refuses
/// connections (it doubles, up to a fifth of the acquire timeout).
const FIRST_BACKOFF: Duration = Duration::from_millis(10);

/// Up to `max` connections to one database, made on demand.
#[derive(Debug, Clone)]
pub(super) struct Pool {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    options: PgConnectOptions,
    acquire_timeout: Duration,
    max: u32,
    /// One per connection a call may hold: held with the connection until
    /// it is back among the idle ones (or closed).
    permits: Arc<Semaphore>,
    /// Connections nobody holds, the most recently used last.
    idle: Mutex<Vec<Idle>>,
    /// Connections open: idle, held, or being checked or closed.
    open: AtomicU32,
}

#[derive(Debug)]
struct Idle {
    conn: PgConnection,
    opened: Instant,
    since: Instant,
}

impl Pool {
    pub(super) fn new(options: PgConnectOptions, max: u32, acquire_timeout: Duration) -> Self {
        Self {
            shared: Arc::new(Shared {
                options,
                acquire_timeout,
                max,
                permits: Arc::new(Semaphore::new(max as usize)),
                idle: Mutex::new(Vec::with_capacity(max as usize)),
                open: AtomicU32::new(0),
            }),
        }
    }

    /// A connection, within the acquire timeout: an idle one (checked
    /// first if it sat unused for a while), else a new one.
    pub(super) async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        let shared = &self.shared;
        let deadline = Instant::now() + shared.acquire_timeout;
        let permit = timeout_at(deadline, Arc::clone(&shared.permits).acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        while let Some(idle) = shared.pop_idle() {
            if idle.since.elapsed() <= STALE_AFTER {
                return Ok(Conn::new(idle.conn, idle.opened, permit, shared));
            }
            let mut conn = idle.conn;
            match timeout_at(deadline, conn.ping()).await {
                Ok(Ok(())) => return Ok(Conn::new(conn, idle.opened, permit, shared)),
                // Broken (the server restarted, say) or too slow to answer:
                // dropped, and the next one tried.
                _ => shared.closed(conn),
            }
        }
        let conn = shared.connect(deadline).await?;
        Ok(Conn::new(conn, Instant::now(), permit, shared))
    }

    /// A session outside the pool (migrations hold a lock on theirs).
    pub(super) async fn connect_detached(&self) -> Result<PgConnection, sqlx::Error> {
        self.shared.options.connect().await
    }

    /// Connections open, and how many of those are idle.
    pub(super) fn usage(&self) -> (u32, u32) {
        let idle = self.shared.lock_idle().len() as u32;
        (self.shared.open.load(Ordering::Relaxed), idle)
    }

    pub(super) fn max(&self) -> u32 {
        self.shared.max
    }
}

impl Shared {
    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // The list stays consistent whatever panicked while holding it.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pop_idle(&self) -> Option<Idle> {
        self.lock_idle().pop()
    }

    /// Back among the idle ones; the longest unused one is closed if it
    /// has been for [`IDLE_TIMEOUT`].
    fn push_idle(self: &Arc<Self>, conn: PgConnection, opened: Instant) {
        let now = Instant::now();
        let expired = {
            let mut idle = self.lock_idle();
            idle.push(Idle {
                conn,
                opened,
                since: now,
            });
            match idle.first() {
                Some(oldest) if now.duration_since(oldest.since) > IDLE_TIMEOUT => {
                    Some(idle.remove(0).conn)
                }
                _ => None,
            }
        };
        if let Some(conn) = expired {
            self.close(conn);
        }
    }

    /// Connects, trying again while the server refuses connections or is
    /// starting up, until `deadline`; then the last error is the answer.
    async fn connect(&self, deadline: Instant) -> Result<PgConnection, sqlx::Error> {
        let mut backoff = FIRST_BACKOFF;
        let max_backoff = (self.acquire_timeout / 5).max(FIRST_BACKOFF);
        loop {
            let err = match timeout_at(deadline, self.options.connect()).await {
                Ok(Ok(conn)) => {
                    self.open.fetch_add(1, Ordering::Relaxed);
                    return Ok(conn);
                }
                Ok(Err(err)) if retryable(&err) => err,
                Ok(Err(err)) => return Err(err),
                Err(_) => return Err(sqlx::Error::PoolTimedOut),
            };
            if Instant::now() + backoff >= deadline {
                return Err(err);
            }
            sleep(backoff).await;
            backoff = (backoff * 2).min(max_backoff);
        }
    }

    /// Closes a connection nobody will use again, politely if a runtime is
    /// there to finish it.
    fn close(self: &Arc<Self>, conn: PgConnection) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                // The server ends the session either way.
                let _ = tokio::time::timeout(CHECK_BOUND, conn.close()).await;
            });
        }
    }

    /// Forgets a connection found broken: nothing to say to the server.
    fn closed(&self, conn: PgConnection) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        drop(conn);
    }
}

/// An error a server gives while it is not (yet) there: refused, or
/// starting up, or out of connection slots for a moment.
fn retryable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(io) => io.kind() == std::io::ErrorKind::ConnectionRefused,
        sqlx::Error::Database(db) => db.is_transient_in_connect_phase(),
        _ => false,
    }
}

/// A connection a call holds. Dropped as it is, it goes back through the
/// check round trip; [`Conn::release`] gives it back at once.
#[derive(Debug)]
pub(super) struct Conn {
    /// Always there until the connection is given back (in `drop`).
    held: Option<Held>,
    shared: Arc<Shared>,
    idle: bool,
}

#[derive(Debug)]
struct Held {
    conn: PgConnection,
    opened: Instant,
    permit: OwnedSemaphorePermit,
}

const HELD: &str = "a connection is held until it is given back";

impl Conn {
    fn new(
        conn: PgConnection,
        opened: Instant,
        permit: OwnedSemaphorePermit,
        shared: &Arc<Shared>,
    ) -> Self {
        Self {
            held: Some(Held {
                conn,
                opened,
                permit,
            }),
            shared: Arc::clone(shared),
            idle: false,
        }
    }

    /// Gives the connection back after the operation that held it finished
    /// (every statement's answer read, no transaction left open), so the
    /// next call gets it without a round trip.
    pub(super) fn release(mut self) {
        self.idle = true;
    }
}

impl Deref for Conn {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.held.as_ref().expect(HELD).conn
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.held.as_mut().expect(HELD).conn
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(Held {
            mut conn,
            opened,
            permit,
        }) = self.held.take()
        else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        if opened.elapsed() > MAX_LIFETIME {
            shared.close(conn);
            drop(permit);
            return;
        }
        // Known idle: back at once (the permit after the connection, so a
        // call woken by the permit finds it).
        if self.idle {
            shared.push_idle(conn, opened);
            drop(permit);
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            shared.closed(conn);
            return;
        };
        // Anything unread is read, a dropped transaction's ROLLBACK sent:
        // the connection goes back idle, or is closed if that fails.
        runtime.spawn(async move {
            match tokio::time::timeout(CHECK_BOUND, conn.ping()).await {
                Ok(Ok(())) => shared.push_idle(conn, opened),
                _ => shared.closed(conn),
            }
            drop(permit);
        });
    }
}
