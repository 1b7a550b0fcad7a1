//! A parsed `aeron:udp` channel with its addresses resolved, and the non-blocking sockets its endpoints use.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};

use oxeron_protocol::uri::{ChannelUri, ControlMode, SocketAddress};

use crate::socket_options;

/// Why a UDP channel cannot be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UdpChannelError {
    /// A host name did not resolve.
    #[error("unknown host {0}")]
    UnknownHost(String),
    /// The channel lacks an address it needs, or holds one in the wrong place.
    #[error("{0}")]
    Invalid(String),
}

/// A UDP channel: the URI, its resolved addresses and the key endpoints are shared by.
#[derive(Debug, Clone)]
pub(crate) struct UdpChannel {
    /// The parsed URI.
    pub(crate) uri: ChannelUri,
    /// `endpoint`, resolved.
    pub(crate) endpoint: Option<SocketAddr>,
    /// `control`, resolved.
    pub(crate) control: Option<SocketAddr>,
    /// `interface` (address and optional port), resolved.
    pub(crate) interface: Option<SocketAddr>,
    /// `control-mode`.
    pub(crate) control_mode: Option<ControlMode>,
    /// The endpoint is a multicast group.
    pub(crate) is_multicast: bool,
    /// For a multicast endpoint, Aeron's control group: the (odd) data group address plus one, same port.
    /// Senders listen there and receivers send status messages and NAKs there.
    pub(crate) multicast_control: Option<SocketAddr>,
    /// Key of channels that share one endpoint (Aeron's canonical form: `UDP-<local>-<remote>`).
    pub(crate) canonical_form: String,
}

fn resolve(address: &SocketAddress) -> Result<SocketAddr, UdpChannelError> {
    if let Ok(ip) = address.host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, address.port));
    }
    let mut found = (address.host.as_str(), address.port)
        .to_socket_addrs()
        .map_err(|_| UdpChannelError::UnknownHost(address.host.clone()))?;
    let all: Vec<SocketAddr> = found.by_ref().collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.first())
        .copied()
        .ok_or_else(|| UdpChannelError::UnknownHost(address.host.clone()))
}

impl UdpChannel {
    /// Resolves the addresses of `uri` (an `aeron:udp` URI).
    pub(crate) fn parse(uri: ChannelUri) -> Result<Self, UdpChannelError> {
        let invalid = |e: &dyn std::fmt::Display| UdpChannelError::Invalid(e.to_string());
        let endpoint = uri
            .endpoint()
            .map_err(|e| invalid(&e))?
            .map(|a| resolve(&a))
            .transpose()?;
        let control = uri
            .control()
            .map_err(|e| invalid(&e))?
            .map(|a| resolve(&a))
            .transpose()?;
        let interface = uri
            .interface()
            .map_err(|e| invalid(&e))?
            .map(|i| resolve(&SocketAddress::new(i.host, i.port.unwrap_or(0))))
            .transpose()?;
        let control_mode = uri.control_mode().map_err(|e| invalid(&e))?;
        let is_multicast = endpoint.is_some_and(|e| e.ip().is_multicast());
        let multicast_control = match endpoint {
            Some(data) if is_multicast => Some(multicast_control_address(data)?),
            _ => None,
        };
        let local = control
            .or(interface)
            .map_or_else(|| "0.0.0.0:0".to_string(), |a| a.to_string());
        let remote = endpoint.map_or_else(|| "0.0.0.0:0".to_string(), |a| a.to_string());
        let mut canonical_form = format!("UDP-{local}-{remote}");
        if let Some(mode) = control_mode {
            canonical_form.push_str(&format!("-{mode:?}"));
        }
        Ok(UdpChannel {
            uri,
            endpoint,
            control,
            interface,
            control_mode,
            is_multicast,
            multicast_control,
            canonical_form,
        })
    }

    /// Whether a publication on this channel sends to several receivers (multicast or MDC).
    pub(crate) fn has_group_semantics(&self) -> bool {
        self.is_multicast
            || matches!(
                self.control_mode,
                Some(ControlMode::Manual | ControlMode::Dynamic)
            )
    }

    /// Whether the channel is a multi-destination-cast publication with manual control.
    pub(crate) fn is_manual_control(&self) -> bool {
        self.control_mode == Some(ControlMode::Manual)
    }

    /// Whether the channel is a multi-destination-cast publication with dynamic control.
    pub(crate) fn is_dynamic_control(&self) -> bool {
        self.control_mode == Some(ControlMode::Dynamic)
            || (self.control.is_some() && self.control_mode.is_none() && !self.is_multicast)
    }
}

/// Aeron's control group of a multicast data group: the address with its last byte plus one. The data
/// address's last byte must be odd (Aeron refuses an even one), so the pair never overlaps another pair.
fn multicast_control_address(data: SocketAddr) -> Result<SocketAddr, UdpChannelError> {
    let bump = |last: u8| -> Result<u8, UdpChannelError> {
        if last & 1 == 0 {
            return Err(UdpChannelError::Invalid(format!(
                "multicast data address must be odd: {data}"
            )));
        }
        Ok(last + 1)
    };
    let ip = match data.ip() {
        IpAddr::V4(v4) => {
            let mut octets = v4.octets();
            octets[3] = bump(octets[3])?;
            IpAddr::V4(Ipv4Addr::from(octets))
        }
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[15] = bump(octets[15])?;
            IpAddr::V6(Ipv6Addr::from(octets))
        }
    };
    Ok(SocketAddr::new(ip, data.port()))
}

fn unspecified_like(address: &SocketAddr) -> IpAddr {
    if address.is_ipv4() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    }
}

/// Socket buffer lengths: the channel's `so-rcvbuf`/`so-sndbuf`, else the driver's; 0 keeps the OS default.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SocketBuffers {
    /// `SO_RCVBUF`.
    pub(crate) receive: usize,
    /// `SO_SNDBUF`.
    pub(crate) send: usize,
}

impl SocketBuffers {
    /// The buffers of `channel` with `receive` and `send` as the driver's defaults.
    pub(crate) fn of(channel: &UdpChannel, receive: usize, send: usize) -> Self {
        let size = |v: Option<u64>, default: usize| v.map_or(default, |v| v as usize);
        SocketBuffers {
            receive: size(channel.uri.socket_rcvbuf().ok().flatten(), receive),
            send: size(channel.uri.socket_sndbuf().ok().flatten(), send),
        }
    }

    fn apply(&self, socket: &UdpSocket) -> io::Result<()> {
        if self.receive > 0 {
            socket_options::set_receive_buffer(socket, self.receive)?;
        }
        if self.send > 0 {
            socket_options::set_send_buffer(socket, self.send)?;
        }
        Ok(())
    }
}

/// A non-blocking UDP socket bound to `address`.
pub(crate) fn bind_socket(address: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(address)?;
    socket.set_nonblocking(true)?;
    // Coalesced receives are split again by the receive batch; a kernel without UDP GRO just says no.
    let _ = socket_options::enable_gro(&socket);
    Ok(socket)
}

/// The socket of a send channel endpoint: for a multicast channel a member of its control group, else bound to
/// `control` (dynamic MDC), else to the interface, else to an
/// ephemeral port on the wildcard address of the endpoint's family.
pub(crate) fn bind_send_socket(
    channel: &UdpChannel,
    buffers: SocketBuffers,
) -> io::Result<UdpSocket> {
    if let Some(control) = channel.multicast_control {
        // As Aeron: a member of the control group, where the receivers' status messages and NAKs arrive.
        let socket = bind_multicast(channel, control, buffers)?;
        if let Some(ttl) = channel.uri.ttl().ok().flatten() {
            socket.set_multicast_ttl_v4(u32::from(ttl))?;
        }
        return Ok(socket);
    }
    let address = match (channel.control, channel.interface, channel.endpoint) {
        (Some(control), _, _) if channel.control_mode != Some(ControlMode::Manual) => control,
        (_, Some(interface), _) => interface,
        (_, _, Some(endpoint)) => SocketAddr::new(unspecified_like(&endpoint), 0),
        _ => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
    };
    let socket = bind_socket(address)?;
    buffers.apply(&socket)?;
    Ok(socket)
}

/// A socket of a multicast channel, bound as Aeron binds them: the group's port on every address with
/// `SO_REUSEADDR` (the senders and receivers of one host share it), a member of `group` only, sending
/// through the channel's interface with loopback on.
fn bind_multicast(
    channel: &UdpChannel,
    group: SocketAddr,
    buffers: SocketBuffers,
) -> io::Result<UdpSocket> {
    let socket =
        socket_options::bind_reusable(SocketAddr::new(unspecified_like(&group), group.port()))?;
    let _ = socket_options::enable_gro(&socket);
    socket_options::receive_joined_groups_only(&socket)?;
    buffers.apply(&socket)?;
    let interface = match channel.interface.map(|i| i.ip()) {
        Some(IpAddr::V4(ip)) => Some(ip),
        _ => None,
    };
    if let IpAddr::V4(group) = group.ip() {
        socket.join_multicast_v4(&group, &interface.unwrap_or(Ipv4Addr::UNSPECIFIED))?;
    }
    if let Some(interface) = interface {
        socket_options::set_multicast_interface_v4(&socket, interface)?;
    }
    socket.set_multicast_loop_v4(true)?;
    Ok(socket)
}

/// The socket of a receive channel endpoint: bound to the endpoint (or, for a multicast group, to the group's
/// port on the wildcard address, joined on the interface).
pub(crate) fn bind_receive_socket(
    channel: &UdpChannel,
    endpoint: SocketAddr,
    buffers: SocketBuffers,
) -> io::Result<UdpSocket> {
    if endpoint.is_ipv4() && endpoint.ip().is_multicast() {
        return bind_multicast(channel, endpoint, buffers);
    }
    let socket = bind_socket(endpoint)?;
    buffers.apply(&socket)?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(channel: &str) -> Result<UdpChannel, UdpChannelError> {
        UdpChannel::parse(ChannelUri::parse(channel).unwrap())
    }

    #[test]
    fn a_multicast_group_has_its_control_group_one_above() {
        let channel = parse("aeron:udp?endpoint=224.0.1.1:40456|interface=127.0.0.1").unwrap();
        assert!(channel.is_multicast);
        assert_eq!(
            channel.multicast_control,
            Some("224.0.1.2:40456".parse().unwrap())
        );
        let v6 = parse("aeron:udp?endpoint=[ff02::3]:40456").unwrap();
        assert_eq!(
            v6.multicast_control,
            Some("[ff02::4]:40456".parse().unwrap())
        );
        assert_eq!(
            parse("aeron:udp?endpoint=127.0.0.1:40456")
                .unwrap()
                .multicast_control,
            None
        );
    }

    #[test]
    fn an_even_multicast_data_address_is_refused_as_aeron_does() {
        let error = parse("aeron:udp?endpoint=224.0.1.2:40456").unwrap_err();
        assert!(error.to_string().contains("must be odd"), "{error}");
    }
}
