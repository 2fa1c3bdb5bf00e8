//! Binding the listen socket, dual-stack where the address asks for it.
use std::{
    io,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr},
};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

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
}
