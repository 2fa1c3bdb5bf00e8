//! Per-connection bounds that tonic lacks, enforced on the socket itself:
//! - a new connection must send its first bytes (the 24-byte HTTP/2 preface,
//!   or with TLS the client hello) within `limits.handshake_timeout`, so
//!   clients that connect and send nothing cannot pile up;
//! - a connection is closed outright `max_connection_age_grace` after
//!   `max_connection_age`. tonic sends the GOAWAY at `max_connection_age`,
//!   but its own grace option replaces that GOAWAY with a hard close at
//!   age + grace (tonic 0.14), so the grace is enforced here instead.
use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use futures::{Stream, TryStreamExt};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    time::{Sleep, sleep},
};
use tonic::transport::server::Connected;

use crate::settings::LimitsSettings;

/// The HTTP/2 client connection preface is 24 bytes long.
const PREFACE_LEN: usize = 24;

/// Wraps every accepted connection in [`LimitedIo`].
pub(super) fn limit(
    incoming: impl Stream<Item = io::Result<TcpStream>>,
    limits: &LimitsSettings,
) -> impl Stream<Item = io::Result<LimitedIo<TcpStream>>> {
    let handshake = limits.handshake_timeout;
    let lifetime = limits
        .max_connection_age
        .saturating_add(limits.max_connection_age_grace);
    incoming.map_ok(move |stream| LimitedIo::new(stream, handshake, lifetime))
}

/// A connection that fails its reads and writes once a bound is broken, which
/// makes the HTTP/2 server drop it.
#[derive(Debug)]
pub(super) struct LimitedIo<IO> {
    inner: IO,
    /// Running until the client has sent the preface's worth of bytes.
    handshake: Option<Pin<Box<Sleep>>>,
    received: usize,
    /// Age plus grace: the connection's end, whatever it is doing.
    end_of_life: Pin<Box<Sleep>>,
}

impl<IO> LimitedIo<IO> {
    fn new(inner: IO, handshake: Duration, lifetime: Duration) -> Self {
        Self {
            inner,
            handshake: Some(Box::pin(sleep(handshake))),
            received: 0,
            end_of_life: Box::pin(sleep(lifetime)),
        }
    }

    /// For reads: makes sure the timers wake the task reading when one runs
    /// out, even while the connection is idle, then looks at them.
    ///
    /// The timers are polled on every read. Skipping that when they were
    /// last armed for the same task (`Waker::will_wake`) saved about 100
    /// instructions a call but lost wake-ups: slow calls on a server with
    /// one more periodic task stopped holding their slots
    /// (tests/reliability/overload.rs).
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.end_of_life.as_mut().poll(cx).is_ready() {
            return Err(end_of_life());
        }
        if let Some(handshake) = &mut self.handshake
            && handshake.as_mut().poll(cx).is_ready()
        {
            return Err(no_handshake());
        }
        Ok(())
    }

    /// For writes: one task drives both directions of the connection and its
    /// reads keep the timers armed, so writes only look (no waker to store).
    fn check_alive(&self) -> io::Result<()> {
        match self.end_of_life.is_elapsed() {
            true => Err(end_of_life()),
            false => Ok(()),
        }
    }
}

fn no_handshake() -> io::Error {
    tracing::debug!("connection.closed: nothing sent within handshake_timeout");
    io::Error::new(
        io::ErrorKind::TimedOut,
        "no handshake within handshake_timeout",
    )
}

fn end_of_life() -> io::Error {
    tracing::debug!("connection.closed: max_connection_age + grace reached");
    io::Error::new(
        io::ErrorKind::TimedOut,
        "max_connection_age + max_connection_age_grace reached",
    )
}

impl<IO: AsyncRead + Unpin> AsyncRead for LimitedIo<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.check(cx)?;
        let before = buf.filled().len();
        if Pin::new(&mut this.inner).poll_read(cx, buf)?.is_pending() {
            return Poll::Pending;
        }
        if this.handshake.is_some() {
            this.received += buf.filled().len() - before;
            if this.received >= PREFACE_LEN {
                this.handshake = None;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for LimitedIo<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check_alive()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check_alive()?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check_alive()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The peer address and the like, as the unwrapped connection reports them.
impl<IO: Connected> Connected for LimitedIo<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    #[tokio::test(start_paused = true)]
    async fn silence_past_the_handshake_timeout_fails_the_read() {
        let (_client, server) = duplex(64);
        let mut io = LimitedIo::new(server, Duration::from_secs(1), LONG);
        let err = io.read(&mut [0; 8]).await.expect_err("timed out");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn a_preface_in_time_lifts_the_handshake_timeout() {
        let (mut client, server) = duplex(64);
        let mut io = LimitedIo::new(server, Duration::from_secs(1), LONG);
        client.write_all(&[b'x'; PREFACE_LEN]).await.expect("write");
        let mut buf = [0; PREFACE_LEN];
        io.read_exact(&mut buf).await.expect("preface read");
        tokio::time::sleep(Duration::from_secs(5)).await;
        client.write_all(b"later").await.expect("write");
        assert_eq!(io.read(&mut buf).await.expect("still open"), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn the_end_of_life_fails_reads_and_writes() {
        let (mut client, server) = duplex(64);
        let mut io = LimitedIo::new(server, Duration::from_secs(1), Duration::from_secs(10));
        client.write_all(&[b'x'; PREFACE_LEN]).await.expect("write");
        io.read_exact(&mut [0; PREFACE_LEN]).await.expect("read");
        tokio::time::sleep(Duration::from_secs(10)).await;
        let err = io.write_all(b"late").await.expect_err("past end of life");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let err = io.read(&mut [0; 8]).await.expect_err("past end of life");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    /// A read that waits on an idle connection with an end of life 10s
    /// away (paused clock); panics unless the end of life woke it.
    async fn idle_read(io: &mut LimitedIo<tokio::io::DuplexStream>) -> io::Result<usize> {
        let start = tokio::time::Instant::now();
        let read = tokio::time::timeout(Duration::from_secs(60), io.read(&mut [0; 8]))
            .await
            .expect("the end of life woke the waiting read");
        // A read nobody woke would end only at the timeout's own wake.
        assert!(start.elapsed() < Duration::from_secs(30), "woken late");
        read
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_woken_at_its_end_of_life() {
        let (mut client, server) = duplex(64);
        let mut io = LimitedIo::new(server, Duration::from_secs(1), Duration::from_secs(10));
        client.write_all(&[b'x'; PREFACE_LEN]).await.expect("write");
        io.read_exact(&mut [0; PREFACE_LEN]).await.expect("read");
        let err = idle_read(&mut io).await.expect_err("past end of life");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_handed_to_another_task_is_woken_in_that_task() {
        let (mut client, server) = duplex(64);
        let io = LimitedIo::new(server, Duration::from_secs(1), Duration::from_secs(10));
        // The first reads happen in another task, as a TLS handshake would.
        let (mut io, _client) = tokio::spawn(async move {
            let mut io = io;
            client.write_all(&[b'x'; PREFACE_LEN]).await.expect("write");
            io.read_exact(&mut [0; PREFACE_LEN]).await.expect("read");
            (io, client)
        })
        .await
        .expect("first task");
        let err = idle_read(&mut io).await.expect_err("past end of life");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
