//! `host:port` and `host[:port][/prefix]` values (`endpoint`, `control`, `interface`), split the way
//! `aeron_address_split` / `aeron_interface_split` do. No name resolution happens here.

use std::fmt;

/// Why a host part is rejected.
fn check_host(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        Err("empty host")
    } else if host.contains(['[', ']', '/']) {
        Err("unexpected '[', ']' or '/' in host")
    } else {
        Ok(())
    }
}

fn parse_port(s: &str) -> Result<u16, &'static str> {
    if s.is_empty() {
        return Err("missing port");
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("port is not a number");
    }
    s.parse::<u16>().map_err(|_| "port out of range 0..=65535")
}

/// Splits `host` or `host:port` or `[v6]` or `[v6]:port` into host (without brackets) and the port text.
fn split_host_port(s: &str) -> Result<(&str, Option<&str>), &'static str> {
    if let Some(rest) = s.strip_prefix('[') {
        let close = rest.find(']').ok_or("missing ']' after IPv6 address")?;
        let host = &rest[..close];
        let after = &rest[close + 1..];
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or("unexpected text after ']'")?),
        };
        if host.is_empty() {
            return Err("empty host");
        }
        if host.contains(['[', ']', '/']) {
            return Err("unexpected '[', ']' or '/' in host");
        }
        Ok((host, port))
    } else {
        match s.rfind(':') {
            Some(colon) => {
                let host = &s[..colon];
                if host.contains(':') {
                    return Err("IPv6 address must be in brackets: [addr]:port");
                }
                check_host(host)?;
                Ok((host, Some(&s[colon + 1..])))
            }
            None => {
                check_host(s)?;
                Ok((s, None))
            }
        }
    }
}

fn write_host(f: &mut fmt::Formatter<'_>, host: &str) -> fmt::Result {
    if host.contains(':') {
        write!(f, "[{host}]")
    } else {
        f.write_str(host)
    }
}

/// A `host:port` or `[ipv6]:port` value, host kept as text (a name, IPv4 or IPv6 address, possibly with a
/// `%scope`). Port 0 means "any" for a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SocketAddress {
    /// Host name or address, without brackets.
    pub host: String,
    /// UDP port.
    pub port: u16,
}

impl SocketAddress {
    /// A new address.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        SocketAddress {
            host: host.into(),
            port,
        }
    }

    /// Parses `host:port` or `[ipv6]:port`. Returns a reason on failure.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let (host, port) = split_host_port(s)?;
        let port = parse_port(port.ok_or("missing port")?)?;
        Ok(SocketAddress {
            host: host.to_owned(),
            port,
        })
    }

    /// True when the host holds a `:` and is rendered in brackets.
    pub fn is_ipv6(&self) -> bool {
        self.host.contains(':')
    }
}

impl fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_host(f, &self.host)?;
        write!(f, ":{}", self.port)
    }
}

/// An `interface` value: `host[:port][/prefix-length]`, e.g. `192.168.1.0/24` or `[fe80::1]:4000`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InterfaceAddress {
    /// Host name or address, without brackets.
    pub host: String,
    /// Port to bind, if given.
    pub port: Option<u16>,
    /// Subnet prefix length (0..=128), if given.
    pub prefix_length: Option<u8>,
}

impl InterfaceAddress {
    /// Parses `host[:port][/prefix]`. Returns a reason on failure.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let (address, prefix_length) = match s.rfind('/') {
            Some(slash) => {
                let prefix = &s[slash + 1..];
                if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("subnet prefix is not a number");
                }
                let prefix = prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|&p| p <= 128)
                    .ok_or("subnet prefix out of range 0..=128")?;
                (&s[..slash], Some(prefix))
            }
            None => (s, None),
        };
        let (host, port) = split_host_port(address)?;
        let port = port.map(parse_port).transpose()?;
        Ok(InterfaceAddress {
            host: host.to_owned(),
            port,
            prefix_length,
        })
    }
}

impl fmt::Display for InterfaceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_host(f, &self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(prefix) = self.prefix_length {
            write!(f, "/{prefix}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn socket_addresses() {
        assert_eq!(
            SocketAddress::parse("localhost:24400"),
            Ok(SocketAddress::new("localhost", 24400))
        );
        assert_eq!(
            SocketAddress::parse("224.0.1.1:0"),
            Ok(SocketAddress::new("224.0.1.1", 0))
        );
        assert_eq!(
            SocketAddress::parse("[::1]:40456"),
            Ok(SocketAddress::new("::1", 40456))
        );
        assert_eq!(
            SocketAddress::parse("[fe80::1%eth0]:1"),
            Ok(SocketAddress::new("fe80::1%eth0", 1))
        );
        assert_eq!(SocketAddress::new("::1", 40456).to_string(), "[::1]:40456");
        assert_eq!(SocketAddress::new("host", 65535).to_string(), "host:65535");
        assert_eq!(SocketAddress::parse("host"), Err("missing port"));
        assert_eq!(SocketAddress::parse("host:"), Err("missing port"));
        assert_eq!(SocketAddress::parse(":80"), Err("empty host"));
        assert_eq!(
            SocketAddress::parse("host:65536"),
            Err("port out of range 0..=65535")
        );
        assert_eq!(SocketAddress::parse("host:-1"), Err("port is not a number"));
        assert_eq!(SocketAddress::parse("host:8x"), Err("port is not a number"));
        assert_eq!(
            SocketAddress::parse("::1:80"),
            Err("IPv6 address must be in brackets: [addr]:port")
        );
        assert_eq!(
            SocketAddress::parse("[::1"),
            Err("missing ']' after IPv6 address")
        );
        assert_eq!(
            SocketAddress::parse("[::1]80"),
            Err("unexpected text after ']'")
        );
        assert_eq!(SocketAddress::parse("[]:80"), Err("empty host"));
        assert_eq!(SocketAddress::parse("[::1]"), Err("missing port"));
    }

    #[test]
    fn interfaces() {
        let i = InterfaceAddress::parse("192.168.1.0/24").unwrap();
        assert_eq!(
            (i.host.as_str(), i.port, i.prefix_length),
            ("192.168.1.0", None, Some(24))
        );
        let i = InterfaceAddress::parse("[fe80::1]:4000/64").unwrap();
        assert_eq!(
            (i.host.as_str(), i.port, i.prefix_length),
            ("fe80::1", Some(4000), Some(64))
        );
        assert_eq!(i.to_string(), "[fe80::1]:4000/64");
        let i = InterfaceAddress::parse("eth0").unwrap();
        assert_eq!(i.to_string(), "eth0");
        assert_eq!(
            InterfaceAddress::parse("10.0.0.1/"),
            Err("subnet prefix is not a number")
        );
        assert_eq!(
            InterfaceAddress::parse("10.0.0.1/129"),
            Err("subnet prefix out of range 0..=128")
        );
        assert_eq!(
            InterfaceAddress::parse("10.0.0.1:x"),
            Err("port is not a number")
        );
        assert_eq!(InterfaceAddress::parse("/24"), Err("empty host"));
    }

    proptest! {
        #[test]
        fn socket_address_round_trips(host in "[a-z0-9.-]{1,20}|[0-9a-f:]{0,10}:[0-9a-f]{1,4}", port: u16) {
            let address = SocketAddress::new(host, port);
            prop_assert_eq!(SocketAddress::parse(&address.to_string()), Ok(address));
        }

        #[test]
        fn address_parsers_never_panic(s in "[\\[\\]:/%0-9a-z]{0,16}|\\PC{0,16}") {
            let _ = SocketAddress::parse(&s);
            let _ = InterfaceAddress::parse(&s);
        }
    }
}
