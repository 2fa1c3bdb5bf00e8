//! Watching HTTP/2 at the frame level: a tap on what the server sends
//! reports each frame's type, so tests can see PINGs and GOAWAYs.
use std::{
    io,
    pin::Pin,
    task::{Context, Poll, ready},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::mpsc,
};

use crate::helpers::bounded;

/// HTTP/2 frame types (RFC 9113 §6).
pub(crate) const SETTINGS: u8 = 0x4;
pub(crate) const PING: u8 = 0x6;
pub(crate) const GOAWAY: u8 = 0x7;

/// The client connection preface and an empty SETTINGS frame: enough to
/// open an HTTP/2 connection by hand.
pub(crate) fn client_preface() -> Vec<u8> {
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]);
    bytes
}

/// Passes `inner` through, sending the type of every frame the server sends.
pub(crate) struct FrameTap<IO> {
    inner: IO,
    header: Vec<u8>,
    payload_left: usize,
    frames: mpsc::UnboundedSender<u8>,
}

/// The frame types seen on a [`FrameTap`], in order.
pub(crate) struct Frames(mpsc::UnboundedReceiver<u8>);

impl Frames {
    /// Waits until a frame of `kind` arrives; `false` if the connection
    /// ended first.
    pub(crate) async fn saw(&mut self, kind: u8) -> bool {
        bounded(async {
            while let Some(seen) = self.0.recv().await {
                if seen == kind {
                    return true;
                }
            }
            false
        })
        .await
    }
}

/// Taps `inner`.
pub(crate) fn tap<IO>(inner: IO) -> (FrameTap<IO>, Frames) {
    let (frames, seen) = mpsc::unbounded_channel();
    let tap = FrameTap {
        inner,
        header: Vec::with_capacity(9),
        payload_left: 0,
        frames,
    };
    (tap, Frames(seen))
}

impl<IO> FrameTap<IO> {
    fn observe(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let skipped = self.payload_left.min(bytes.len());
                self.payload_left -= skipped;
                bytes = &bytes[skipped..];
                continue;
            }
            let wanted = 9 - self.header.len();
            let taken = wanted.min(bytes.len());
            self.header.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
            if self.header.len() == 9 {
                let length =
                    u32::from_be_bytes([0, self.header[0], self.header[1], self.header[2]]);
                self.payload_left = usize::try_from(length).expect("24-bit length");
                let _ = self.frames.send(self.header[3]);
                self.header.clear();
            }
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for FrameTap<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let this = &mut *self;
        this.observe(&buf.filled()[before..]);
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for FrameTap<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
