//! Batched datagram receive (`recvmmsg`): one system call reads up to [`BATCH`] datagrams with their source
//! addresses. The `unsafe` lives here, next to the only other raw socket call module (`socket_options`).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

/// Datagrams read per call.
pub(crate) const BATCH: usize = 16;
/// Room per datagram: the largest UDP payload.
const SLOT: usize = 64 * 1024;

/// Buffers for one `recvmmsg` call and the datagrams it read.
pub(crate) struct RecvBatch {
    data: Vec<u8>,
    lengths: [usize; BATCH],
    sources: [Option<SocketAddr>; BATCH],
    count: usize,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch")
            .field("count", &self.count)
            .finish()
    }
}

fn to_socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a `sockaddr_in` (family AF_INET) into storage large and aligned enough
            // for any socket address.
            let v4 =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)),
                u16::from_be(v4.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for a `sockaddr_in6` (family AF_INET6).
            let v6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(v6.sin6_addr.s6_addr),
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

impl RecvBatch {
    /// Empty buffers for [`BATCH`] datagrams.
    pub(crate) fn new() -> Self {
        RecvBatch {
            data: vec![0; BATCH * SLOT],
            lengths: [0; BATCH],
            sources: [None; BATCH],
            count: 0,
        }
    }

    /// Reads up to [`BATCH`] datagrams from non-blocking `socket`; returns how many (0 when none waited).
    pub(crate) fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.count = 0;
        // SAFETY: all-zero bytes are a valid `sockaddr_storage`, `iovec` and `mmsghdr` (null pointers, zero
        // lengths).
        let mut addresses: [libc::sockaddr_storage; BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut iovecs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for (i, slot) in self.data.chunks_exact_mut(SLOT).enumerate() {
            iovecs[i].iov_base = slot.as_mut_ptr().cast();
            iovecs[i].iov_len = SLOT;
            headers[i].msg_hdr.msg_name = (&mut addresses[i] as *mut libc::sockaddr_storage).cast();
            headers[i].msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
            headers[i].msg_hdr.msg_iov = &mut iovecs[i];
            headers[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every header points at a live slot of `self.data` (SLOT bytes) and a live address slot of
        // the size given, all outliving the call; the descriptor is open while `socket` is borrowed.
        let received = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if received < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        let received = received as usize;
        for i in 0..received {
            self.lengths[i] = headers[i].msg_len as usize;
            self.sources[i] = to_socket_addr(&addresses[i]);
        }
        self.count = received;
        Ok(received)
    }

    /// Datagram `i` of the last [`receive`](Self::receive) and its source.
    pub(crate) fn get(&self, i: usize) -> Option<(&[u8], SocketAddr)> {
        if i >= self.count {
            return None;
        }
        let start = i * SLOT;
        Some((&self.data[start..start + self.lengths[i]], self.sources[i]?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_several_datagrams_with_their_sources() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_nonblocking(true).unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut batch = RecvBatch::new();
        assert_eq!(batch.receive(&receiver).unwrap(), 0);
        for i in 0..20u8 {
            sender
                .send_to(&vec![i; 1 + usize::from(i)], receiver.local_addr().unwrap())
                .unwrap();
        }
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while seen.len() < 20 && std::time::Instant::now() < deadline {
            let n = batch.receive(&receiver).unwrap();
            for i in 0..n {
                let (bytes, source) = batch.get(i).unwrap();
                assert_eq!(source, sender.local_addr().unwrap());
                seen.push(bytes.to_vec());
            }
        }
        assert_eq!(seen.len(), 20);
        for (i, d) in seen.iter().enumerate() {
            assert_eq!(d, &vec![i as u8; 1 + i]);
        }
        assert!(batch.get(BATCH).is_none());
    }
}
