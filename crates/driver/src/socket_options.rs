//! Socket options the standard library does not offer: buffer sizes and the multicast interface
//! (`setsockopt` through `libc`). The only `unsafe` of the UDP transport lives here.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd};

pub(crate) fn set_option<T>(
    socket: &UdpSocket,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` for the duration of the call and its exact size is passed; the
    // descriptor stays open while `socket` is borrowed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `SO_RCVBUF` (the kernel doubles it and caps it at `net.core.rmem_max`).
pub(crate) fn set_receive_buffer(socket: &UdpSocket, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    set_option(socket, libc::SOL_SOCKET, libc::SO_RCVBUF, &value)
}

/// `SO_SNDBUF` (the kernel doubles it and caps it at `net.core.wmem_max`).
pub(crate) fn set_send_buffer(socket: &UdpSocket, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    set_option(socket, libc::SOL_SOCKET, libc::SO_SNDBUF, &value)
}

/// `UDP_GRO`: the kernel may hand several datagrams of one length over as one buffer, with their length in a
/// control message (see `mmsg::RecvBatch`).
pub(crate) fn enable_gro(socket: &UdpSocket) -> io::Result<()> {
    set_option(
        socket,
        libc::SOL_UDP,
        crate::mmsg::UDP_GRO,
        &1 as &libc::c_int,
    )
}

/// A non-blocking UDP socket bound to `address` with `SO_REUSEADDR` set first, as Aeron binds multicast
/// sockets: the senders and receivers of one host share the group's port.
pub(crate) fn bind_reusable(address: SocketAddr) -> io::Result<UdpSocket> {
    let family = if address.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain system call with constant arguments; the result is checked below.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new, open descriptor nothing else owns; the socket closes it when dropped.
    let socket = unsafe { UdpSocket::from_raw_fd(fd) };
    set_option(
        &socket,
        libc::SOL_SOCKET,
        libc::SO_REUSEADDR,
        &1 as &libc::c_int,
    )?;
    let (name, length) = crate::mmsg::socket_address(&address);
    // SAFETY: `name` holds a socket address of `length` bytes for the socket's family; the descriptor is
    // open while `socket` lives.
    let rc = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&name as *const libc::sockaddr_storage).cast::<libc::sockaddr>(),
            length,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(socket)
}

/// `IP_MULTICAST_ALL` off: the socket receives only the groups it joined, not every group some socket of
/// this host joined on its port (Linux's default).
pub(crate) fn receive_joined_groups_only(socket: &UdpSocket) -> io::Result<()> {
    match set_option(
        socket,
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_ALL,
        &0 as &libc::c_int,
    ) {
        Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => Ok(()),
        other => other,
    }
}

/// `IP_MULTICAST_IF`: the interface multicast datagrams leave through.
pub(crate) fn set_multicast_interface_v4(
    socket: &UdpSocket,
    interface: Ipv4Addr,
) -> io::Result<()> {
    let value = libc::in_addr {
        s_addr: u32::from_ne_bytes(interface.octets()),
    };
    set_option(socket, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_and_interface_are_set() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        set_receive_buffer(&socket, 128 * 1024).unwrap();
        set_send_buffer(&socket, 64 * 1024).unwrap();
        set_multicast_interface_v4(&socket, Ipv4Addr::LOCALHOST).unwrap();
    }
}
