//! Batched datagram I/O. Receive: one `recvmmsg` reads up to [`BATCH`] datagrams with their source addresses,
//! and a buffer the kernel coalesced (UDP GRO) is split back into its datagrams. Send: [`SendBatch`] gathers
//! datagrams of one length and sends them with one `sendmsg` the kernel segments (UDP GSO), or with one
//! `sendmmsg` where GSO is not available. The `unsafe` lives here, next to the only other raw socket call
//! module (`socket_options`).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

/// Datagrams read per call.
pub(crate) const BATCH: usize = 16;
/// Room per datagram: the largest UDP payload (and the largest buffer GRO coalesces).
const SLOT: usize = 64 * 1024;
/// `UDP_SEGMENT` (linux/udp.h): the segment size of a GSO send.
pub(crate) const UDP_SEGMENT: libc::c_int = 103;
/// `UDP_GRO` (linux/udp.h): the socket option enabling GRO, and the control message giving the segment size.
pub(crate) const UDP_GRO: libc::c_int = 104;
/// Room for one control message carrying an `int`, in 8-byte words so it is aligned for `cmsghdr`.
const CONTROL_WORDS: usize = 4;

/// Buffers for one `recvmmsg` call and the datagrams it read.
pub(crate) struct RecvBatch {
    data: Vec<u8>,
    control: Vec<[u64; CONTROL_WORDS]>,
    /// Datagrams of the last receive: start in `data`, length, source.
    datagrams: Vec<(usize, usize, Option<SocketAddr>)>,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch")
            .field("datagrams", &self.datagrams.len())
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

/// The segment size the kernel reported for a coalesced (GRO) buffer, if it did.
///
/// # Safety
/// `header` must be a header `recvmmsg` filled, whose control buffer is still alive.
unsafe fn gro_segment_size(header: &libc::msghdr) -> Option<usize> {
    // SAFETY: the caller guarantees the header and its control buffer are valid; the CMSG macros only walk
    // inside `msg_control..msg_control + msg_controllen`.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(header);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_UDP && (*cmsg).cmsg_type == UDP_GRO {
                let size = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                return usize::try_from(size).ok().filter(|&s| s > 0);
            }
            cmsg = libc::CMSG_NXTHDR(header, cmsg);
        }
    }
    None
}

impl RecvBatch {
    /// Empty buffers for [`BATCH`] datagrams.
    pub(crate) fn new() -> Self {
        RecvBatch {
            data: vec![0; BATCH * SLOT],
            control: vec![[0; CONTROL_WORDS]; BATCH],
            datagrams: Vec::with_capacity(BATCH * 64),
        }
    }

    /// Reads what waits on non-blocking `socket` (up to [`BATCH`] receives); returns how many datagrams that
    /// was, a coalesced buffer counting as the datagrams it holds (0 when none waited).
    pub(crate) fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.datagrams.clear();
        // SAFETY: all-zero bytes are a valid `sockaddr_storage`, `iovec` and `mmsghdr` (null pointers, zero
        // lengths).
        let mut addresses: [libc::sockaddr_storage; BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut iovecs: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for (i, (slot, control)) in self
            .data
            .chunks_exact_mut(SLOT)
            .zip(self.control.iter_mut())
            .enumerate()
        {
            iovecs[i].iov_base = slot.as_mut_ptr().cast();
            iovecs[i].iov_len = SLOT;
            headers[i].msg_hdr.msg_name = (&mut addresses[i] as *mut libc::sockaddr_storage).cast();
            headers[i].msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
            headers[i].msg_hdr.msg_iov = &mut iovecs[i];
            headers[i].msg_hdr.msg_iovlen = 1;
            headers[i].msg_hdr.msg_control = control.as_mut_ptr().cast();
            headers[i].msg_hdr.msg_controllen = std::mem::size_of_val(control);
        }
        // SAFETY: every header points at a live slot of `self.data` (SLOT bytes), a live address slot and a
        // live control buffer of the sizes given, all outliving the call; the descriptor is open while
        // `socket` is borrowed.
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
        for (i, header) in headers.iter().take(received as usize).enumerate() {
            let length = header.msg_len as usize;
            let source = to_socket_addr(&addresses[i]);
            // SAFETY: `recvmmsg` filled this header; its control buffer is `self.control[i]`, alive here.
            let segment = unsafe { gro_segment_size(&header.msg_hdr) }.unwrap_or(length);
            let start = i * SLOT;
            let mut offset = 0;
            loop {
                let part = segment.min(length - offset);
                self.datagrams.push((start + offset, part, source));
                offset += part;
                if offset >= length || part == 0 {
                    break;
                }
            }
        }
        Ok(self.datagrams.len())
    }

    /// Datagram `i` of the last [`receive`](Self::receive) and its source.
    pub(crate) fn get(&self, i: usize) -> Option<(&[u8], SocketAddr)> {
        let &(start, length, source) = self.datagrams.get(i)?;
        Some((&self.data[start..start + length], source?))
    }
}

/// Most datagrams one GSO send may carry (the kernel's `UDP_MAX_SEGMENTS` on older kernels).
const MAX_SEGMENTS: usize = 64;
/// Most bytes one GSO send may carry: the largest UDP payload over IPv6 and IPv4 headers alike.
const MAX_GSO_BYTES: usize = 65_000;

/// Datagrams waiting to go out together: all of one length but the last, which may be shorter, so one GSO send
/// can carry them. Falls back to `sendmmsg` (one system call, one header per datagram) where GSO fails.
pub(crate) struct SendBatch {
    data: Vec<u8>,
    segment: usize,
    count: usize,
    /// Cleared for good when the kernel refuses a GSO send (no `UDP_SEGMENT`, or a device that cannot do it).
    gso: bool,
}

impl std::fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBatch")
            .field("count", &self.count)
            .field("segment", &self.segment)
            .field("gso", &self.gso)
            .finish()
    }
}

/// What one [`SendBatch::flush`] to one address did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sent {
    /// Bytes the kernel took.
    pub(crate) bytes: usize,
    /// Datagrams it did not take.
    pub(crate) short: usize,
}

impl SendBatch {
    /// An empty batch; `gso` false sends with `sendmmsg` only.
    pub(crate) fn new(gso: bool) -> Self {
        SendBatch {
            data: Vec::with_capacity(MAX_GSO_BYTES),
            segment: 0,
            count: 0,
            gso,
        }
    }

    /// True when nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds `datagram` if it can join the batch (same length as the first, or shorter as the last, and room
    /// left); false means flush first. An empty datagram never joins a batch.
    pub(crate) fn push(&mut self, datagram: &[u8]) -> bool {
        if datagram.is_empty() {
            return false;
        }
        if self.count == 0 {
            self.segment = datagram.len();
        } else if self.count >= MAX_SEGMENTS
            || self.data.len() + datagram.len() > MAX_GSO_BYTES
            || datagram.len() > self.segment
            || self.data.len() % self.segment != 0
        {
            return false;
        }
        self.data.extend_from_slice(datagram);
        self.count += 1;
        true
    }

    /// Empties the batch (after it went to every destination).
    pub(crate) fn clear(&mut self) {
        self.data.clear();
        self.count = 0;
    }

    /// Sends the batch to `address`; it stays in the batch for further destinations until [`clear`].
    ///
    /// [`clear`]: Self::clear
    pub(crate) fn send_to(&mut self, socket: &UdpSocket, address: &SocketAddr) -> Sent {
        if self.count == 0 {
            return Sent { bytes: 0, short: 0 };
        }
        if self.count == 1 {
            return match socket.send_to(&self.data, address) {
                Ok(n) if n == self.data.len() => Sent { bytes: n, short: 0 },
                _ => Sent { bytes: 0, short: 1 },
            };
        }
        if self.gso {
            match send_gso(socket, &self.data, self.segment, address) {
                Ok(n) if n == self.data.len() => return Sent { bytes: n, short: 0 },
                Ok(_) => {
                    return Sent {
                        bytes: 0,
                        short: self.count,
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Sent {
                        bytes: 0,
                        short: self.count,
                    }
                }
                // EIO, EINVAL, ENOPROTOOPT: this kernel or device cannot segment; never try again.
                Err(_) => self.gso = false,
            }
        }
        send_many(socket, &self.data, self.segment, address)
    }
}

pub(crate) fn socket_address(address: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero bytes are a valid `sockaddr_storage`.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let length = match address {
        SocketAddr::V4(a) => {
            let v4 = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: `sockaddr_storage` is larger than and aligned for `sockaddr_in`.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), v4) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let v6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: `sockaddr_storage` is larger than and aligned for `sockaddr_in6`.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), v6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, length as libc::socklen_t)
}

/// One `sendmsg` of `data` with a `UDP_SEGMENT` control message: the kernel cuts it into `segment`-byte
/// datagrams (the last may be shorter).
fn send_gso(
    socket: &UdpSocket,
    data: &[u8],
    segment: usize,
    address: &SocketAddr,
) -> io::Result<usize> {
    let (mut name, name_length) = socket_address(address);
    let mut control = [0u64; CONTROL_WORDS];
    let mut iovec = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    // SAFETY: all-zero bytes are a valid `msghdr`.
    let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
    header.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
    header.msg_namelen = name_length;
    header.msg_iov = &mut iovec;
    header.msg_iovlen = 1;
    header.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a length.
    header.msg_controllen = unsafe { libc::CMSG_SPACE(std::mem::size_of::<u16>() as u32) } as usize;
    let segment =
        u16::try_from(segment).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: the control buffer is 32 aligned bytes, more than CMSG_SPACE(2); the first header and its data
    // lie inside it.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&header);
        (*cmsg).cmsg_level = libc::SOL_UDP;
        (*cmsg).cmsg_type = UDP_SEGMENT;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), segment);
    }
    // SAFETY: the header points at the live address, iovec (over `data`, only read) and control buffer, all
    // outliving the call; the descriptor is open while `socket` is borrowed.
    let sent = unsafe { libc::sendmsg(socket.as_raw_fd(), &header, libc::MSG_DONTWAIT) };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// One `sendmmsg` of `data` cut into `segment`-byte datagrams (the last may be shorter).
fn send_many(socket: &UdpSocket, data: &[u8], segment: usize, address: &SocketAddr) -> Sent {
    let (mut name, name_length) = socket_address(address);
    let count = data.len().div_ceil(segment);
    // SAFETY: all-zero bytes are a valid `iovec` and `mmsghdr`.
    let mut iovecs: [libc::iovec; MAX_SEGMENTS] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut headers: [libc::mmsghdr; MAX_SEGMENTS] = unsafe { std::mem::zeroed() };
    for (i, chunk) in data.chunks(segment).enumerate() {
        iovecs[i].iov_base = chunk.as_ptr().cast_mut().cast();
        iovecs[i].iov_len = chunk.len();
        headers[i].msg_hdr.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
        headers[i].msg_hdr.msg_namelen = name_length;
        headers[i].msg_hdr.msg_iov = &mut iovecs[i];
        headers[i].msg_hdr.msg_iovlen = 1;
    }
    let mut done = 0;
    while done < count {
        // SAFETY: headers `done..count` point at live iovecs over `data` (only read) and the live address,
        // all outliving the call; the descriptor is open while `socket` is borrowed.
        let sent = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                headers[done..].as_mut_ptr(),
                (count - done) as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if sent <= 0 {
            break;
        }
        done += sent as usize;
    }
    let bytes = data.len().min(done * segment);
    Sent {
        bytes,
        short: count - done,
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

    fn receive_all(receiver: &UdpSocket, batch: &mut RecvBatch, want: usize) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while seen.len() < want && std::time::Instant::now() < deadline {
            let n = batch.receive(receiver).unwrap();
            for i in 0..n {
                seen.push(batch.get(i).unwrap().0.to_vec());
            }
        }
        seen
    }

    fn datagrams_arrive_whole(gso: bool, gro: bool) {
        let receiver = crate::udp_channel::bind_socket("127.0.0.1:0".parse().unwrap()).unwrap();
        if !gro {
            crate::socket_options::set_option(&receiver, libc::SOL_UDP, UDP_GRO, &0i32).unwrap();
        }
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver.local_addr().unwrap();
        let mut batch = SendBatch::new(gso);
        let mut expected = Vec::new();
        // 40 datagrams of 1,408 bytes then a shorter last one: one batch.
        for i in 0..41u8 {
            let datagram = vec![i; if i == 40 { 96 } else { 1408 }];
            assert!(batch.push(&datagram), "datagram {i} joins the batch");
            expected.push(datagram);
        }
        assert!(
            !batch.push(&[1; 64]),
            "nothing joins after a shorter datagram"
        );
        let sent = batch.send_to(&sender, &to);
        assert_eq!(
            sent,
            Sent {
                bytes: 40 * 1408 + 96,
                short: 0
            }
        );
        batch.clear();
        assert!(batch.is_empty());
        let mut receive = RecvBatch::new();
        assert_eq!(receive_all(&receiver, &mut receive, 41), expected);
    }

    #[test]
    fn a_gso_batch_arrives_as_its_datagrams_with_and_without_gro() {
        datagrams_arrive_whole(true, true);
        datagrams_arrive_whole(true, false);
    }

    #[test]
    fn the_sendmmsg_fallback_sends_the_same_datagrams() {
        datagrams_arrive_whole(false, true);
        datagrams_arrive_whole(false, false);
    }

    #[test]
    fn a_batch_keeps_one_length_and_stays_under_the_limits() {
        let mut batch = SendBatch::new(true);
        assert!(!batch.push(&[]), "an empty datagram never joins");
        assert!(batch.push(&[0; 1400]));
        assert!(!batch.push(&[0; 1401]), "longer than the first");
        for _ in 1..46 {
            assert!(batch.push(&[0; 1400]));
        }
        assert!(!batch.push(&[0; 1400]), "65,000 bytes at most");
        batch.clear();
        for _ in 0..MAX_SEGMENTS {
            assert!(batch.push(&[0; 32]));
        }
        assert!(!batch.push(&[0; 32]), "at most {MAX_SEGMENTS} datagrams");
    }
}
