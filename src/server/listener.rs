//! Binding the listen socket, dual-stack where the address asks for it, and
//! accepting on it until shutdown without resetting anyone.
use std::{
    collections::VecDeque,
    future::Future,
    io,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr},
    pin::Pin,
    task::{Context, Poll, ready},
    time::{Duration, Instant},
};

use futures::{FutureExt, Stream, future::Fuse};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::{
    net::{TcpListener, TcpStream},
    time::{Sleep, sleep_until},
};

/// Pending connections the kernel queues before accept.
const BACKLOG: i32 = 1024;

/// Binds `addr`. The IPv4 wildcard `0.0.0.0` becomes a dual-stack `[::]`
/// socket where the host has IPv6, so the default address serves IPv4 and
/// IPv6 clients alike; without IPv6 it stays `0.0.0.0`.
pub(super) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    if addr.ip() == Ipv4Addr::UNSPECIFIED {
        let dual_stack = SocketAddr::from((Ipv6Addr::UNSPECIFIED, addr.port()));
        if let Ok(listener) = bind_socket(dual_stack, true) {
            return Ok(listener);
        }
    }
    bind_socket(addr, false)
}

/// Whether `listener` also takes IPv4 clients: an IPv6 wildcard socket
/// without `IPV6_V6ONLY`, which is what [`bind`] makes of `0.0.0.0`. Read
/// from the socket rather than inferred from the address, because a `[::]`
/// asked for directly follows the host's `net.ipv6.bindv6only` default.
pub(super) fn is_dual_stack(listener: &TcpListener) -> bool {
    match listener.local_addr() {
        Ok(addr) if addr.ip() == Ipv6Addr::UNSPECIFIED => {
            SockRef::from(listener).only_v6().is_ok_and(|only| !only)
        }
        _ => false,
    }
}

fn bind_socket(addr: SocketAddr, dual_stack: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if dual_stack {
        socket.set_only_v6(false)?;
    }
    // Lets a restarted server bind while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// After the close, how long a connection accepted last gets to send its
/// first call before every connection is sent its GOAWAY.
const SETTLE: Duration = Duration::from_millis(500);

/// Accepted connections (with `TCP_NODELAY`) until `stop` resolves, then
/// the connections already waiting in the kernel's accept queue, then the
/// end, which makes the server close every connection with a GOAWAY.
///
/// Closing a listen socket resets every connection still in its accept
/// queue. Those clients completed the TCP handshake and have usually sent
/// their first call already, so a bare close shows them a reset mid-call
/// (tonic reports UNKNOWN "connection reset"). Taking the queue first hands
/// those connections to the server; clients that connect after the close are
/// refused, which they report as UNAVAILABLE. Only a handshake completing in
/// the instant between the last accept and the close can still be reset: the
/// kernel offers no way to stop new handshakes while keeping the queue.
///
/// A connection that gets its GOAWAY before its client sent the first call
/// loses that call: tonic's client reports CANCELLED "connection closed"
/// (clients that retry calls refused by a GOAWAY, like grpc-go, would then
/// see the listener closed). So the end waits until the last connection
/// accepted is [`SETTLE`] old: no wait at all when nobody connected lately.
pub(super) struct Incoming<S> {
    /// `None` once closed.
    listener: Option<TcpListener>,
    stop: Fuse<S>,
    /// Taken from the accept queue at the close, handed out before the end.
    backlog: VecDeque<io::Result<TcpStream>>,
    last_accepted: Option<Instant>,
    /// Runs from the close until the end.
    settle: Option<Pin<Box<Sleep>>>,
}

impl<S: Future> Incoming<S> {
    pub(super) fn new(listener: TcpListener, stop: S) -> Self {
        Self {
            listener: Some(listener),
            stop: stop.fuse(),
            backlog: VecDeque::new(),
            last_accepted: None,
            settle: None,
        }
    }
}

impl<S: Future + Unpin> Stream for Incoming<S> {
    type Item = io::Result<TcpStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(listener) = &this.listener {
            if Pin::new(&mut this.stop).poll(cx).is_pending() {
                let accepted = ready!(listener.poll_accept(cx));
                this.last_accepted = Some(Instant::now());
                return Poll::Ready(Some(accepted.and_then(|(stream, _)| with_nodelay(stream))));
            }
            if let Some(listener) = this.listener.take() {
                this.backlog = close(listener);
                if !this.backlog.is_empty() {
                    this.last_accepted = Some(Instant::now());
                }
                this.settle = this
                    .last_accepted
                    .map(|accepted| Box::pin(sleep_until((accepted + SETTLE).into())));
            }
        }
        if let Some(next) = this.backlog.pop_front() {
            return Poll::Ready(Some(next));
        }
        if let Some(settle) = &mut this.settle {
            ready!(settle.as_mut().poll(cx));
        }
        Poll::Ready(None)
    }
}

/// Accepts what waits in the accept queue, then closes the listen socket.
/// The accept calls go to the kernel directly: the runtime's readiness flag
/// can lag behind a connection that just arrived.
fn close(listener: TcpListener) -> VecDeque<io::Result<TcpStream>> {
    let mut backlog = VecDeque::new();
    let listener = match listener.into_std() {
        Ok(listener) => listener,
        Err(err) => {
            backlog.push_back(Err(err));
            return backlog;
        }
    };
    loop {
        match listener.accept() {
            Ok((stream, _)) => backlog.push_back(
                stream
                    .set_nonblocking(true)
                    .and_then(|()| TcpStream::from_std(stream))
                    .and_then(with_nodelay),
            ),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            // Whatever else failed, the rest of the queue stays unreachable.
            Err(err) => {
                backlog.push_back(Err(err));
                break;
            }
        }
    }
    tracing::debug!(connections = backlog.len(), "listener.closed");
    backlog
}

fn with_nodelay(stream: TcpStream) -> io::Result<TcpStream> {
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loopback_port_zero_binds_an_ephemeral_port() {
        let listener = bind("127.0.0.1:0".parse().expect("valid address")).expect("bind");
        let local = listener.local_addr().expect("local addr");
        assert_eq!(local.ip(), Ipv4Addr::LOCALHOST);
        assert_ne!(local.port(), 0);
    }

    #[tokio::test]
    async fn ipv4_wildcard_accepts_ipv4_clients() {
        let listener = bind("0.0.0.0:0".parse().expect("valid address")).expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let client = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port));
        let (accepted, connected) = tokio::join!(listener.accept(), client);
        accepted.expect("accept");
        connected.expect("connect");
    }

    #[tokio::test]
    async fn only_a_wildcard_bound_as_ipv6_counts_as_dual_stack() {
        let loopback = bind("127.0.0.1:0".parse().expect("valid address")).expect("bind");
        assert!(!is_dual_stack(&loopback));
        let wildcard = bind("0.0.0.0:0".parse().expect("valid address")).expect("bind");
        let ipv6 = wildcard.local_addr().expect("local addr").is_ipv6();
        // Without IPv6 on the host the wildcard stays an IPv4 socket.
        assert_eq!(is_dual_stack(&wildcard), ipv6);
    }

    #[tokio::test]
    async fn stopping_hands_out_the_accept_queue_then_refuses_new_clients() {
        let listener = bind("127.0.0.1:0".parse().expect("valid address")).expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut incoming = Incoming::new(listener, Box::pin(stopped));
        // Complete handshakes, all still in the kernel's accept queue.
        let mut queued = Vec::new();
        for _ in 0..3 {
            queued.push(TcpStream::connect(addr).await.expect("connect"));
        }
        stop.send(()).expect("stop");

        let mut handed_out = 0;
        while let Some(accepted) = futures::StreamExt::next(&mut incoming).await {
            accepted.expect("a queued connection");
            handed_out += 1;
        }
        assert_eq!(handed_out, 3);
        let refused = TcpStream::connect(addr).await.expect_err("closed");
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    }
}
