//! Aeron channel URIs: `aeron:udp?endpoint=host:port|mtu=1408`, `aeron:ipc`, `aeron-spy:aeron:udp?...`.
//!
//! Grammar (Aeron 1.54, `aeron_uri.c` and `ChannelUri.java`; where the two differ the stricter rule is kept so
//! that every URI accepted here is accepted by both):
//!
//! ```text
//! uri    = [ "aeron-spy:" ] "aeron:" media [ "?" param *( "|" param ) ]
//! media  = "udp" | "ipc"
//! param  = key "=" value      ; key: no '=' or '|', non-empty; value: no '|', non-empty
//! ```
//!
//! At most [`MAX_URI_LENGTH`] bytes. A repeated key keeps its first position and its last value. Keys Aeron does
//! not know are kept and readable with [`ChannelUri::get`]. `aeron:udp` without parameters parses (as in Java)
//! so that an empty UDP URI renders and re-parses, but [`ChannelUri::validate`] rejects it, as the C driver does.
//!
//! Every parameter Aeron 1.54 interprets has a name constant (`MTU_LENGTH_PARAM_NAME`, ... as in
//! `CommonContext.java`; all in [`KNOWN_PARAM_NAMES`]) and a typed accessor on [`ChannelUri`] returning
//! `Result<Option<T>, UriError>`: `Ok(None)` when the key is absent. [`ChannelUriBuilder`] goes the other way.

mod address;
mod builder;
mod params;
mod units;

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

pub use address::{InterfaceAddress, SocketAddress};
pub use builder::ChannelUriBuilder;
pub use params::*;
pub use units::{format_duration, parse_duration, parse_size};

/// Longest channel URI Aeron accepts, in bytes (`AERON_URI_MAX_LENGTH - 1`, `ChannelUri.MAX_URI_LENGTH`).
pub const MAX_URI_LENGTH: usize = 4095;
/// The scheme every channel starts with, after the optional spy prefix.
pub const AERON_PREFIX: &str = "aeron:";
/// Prefix of a spy subscription channel: reads a local network publication's log directly.
pub const SPY_PREFIX: &str = "aeron-spy:";
/// The bare IPC channel.
pub const IPC_CHANNEL: &str = "aeron:ipc";
/// The UDP channel base (needs parameters to be usable).
pub const UDP_CHANNEL: &str = "aeron:udp";
/// Media name of IPC channels.
pub const IPC_MEDIA: &str = "ipc";
/// Media name of UDP channels.
pub const UDP_MEDIA: &str = "udp";
/// Prefix of a parameter value that refers to a tagged entity (`session-id=tag:7`).
pub const TAG_PREFIX: &str = "tag:";

/// Something wrong with a channel URI or one of its parameter values. Every variant names the bad part.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UriError {
    /// The URI is longer than [`MAX_URI_LENGTH`].
    #[error("URI too long: {length} bytes, max {MAX_URI_LENGTH}")]
    TooLong {
        /// Length of the rejected URI in bytes.
        length: usize,
    },
    /// The URI does not start with `aeron:` (after an optional `aeron-spy:`).
    #[error("URI must start with \"aeron:\" or \"aeron-spy:aeron:\", found \"{found}\"")]
    MissingScheme {
        /// The start of the rejected URI (at most 32 characters).
        found: String,
    },
    /// The media is neither `udp` nor `ipc`.
    #[error("unknown media \"{media}\"")]
    UnknownMedia {
        /// The media found.
        media: String,
    },
    /// A reserved character (`:`, `|`, `=`) inside the media name.
    #[error("unexpected '{ch}' in media at offset {offset}")]
    BadMediaChar {
        /// The character found.
        ch: char,
        /// Byte offset in the URI.
        offset: usize,
    },
    /// A parameter with no key: `?=v`, `||`, a trailing `|` or `?`.
    #[error("empty parameter key at offset {offset}")]
    EmptyKey {
        /// Byte offset in the URI where a key should start.
        offset: usize,
    },
    /// A key not followed by `=` before the next `|` or the end.
    #[error("missing '=' in \"{key}\" at offset {offset}")]
    MissingEquals {
        /// The key.
        key: String,
        /// Byte offset where `=` was expected.
        offset: usize,
    },
    /// A key with `=` but nothing after it (the C client rejects these).
    #[error("empty value for \"{key}\" at offset {offset}")]
    EmptyValue {
        /// The key.
        key: String,
        /// Byte offset where the value should start.
        offset: usize,
    },
    /// A key given to a setter contains `=` or `|`, or is empty.
    #[error("invalid parameter key \"{key}\": {reason}")]
    InvalidKey {
        /// The key.
        key: String,
        /// Why it is not allowed.
        reason: &'static str,
    },
    /// A parameter value that does not parse or is out of range.
    #[error("invalid value \"{value}\" for {key}: {reason}")]
    InvalidValue {
        /// The parameter key.
        key: String,
        /// The value found.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Parameters that are valid one by one but not together (see [`ChannelUri::validate`]).
    #[error("inconsistent parameters: {reason}")]
    Inconsistent {
        /// What does not fit.
        reason: String,
    },
}

impl UriError {
    pub(crate) fn invalid(key: &str, value: &str, reason: impl Into<String>) -> Self {
        UriError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The transport of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Media {
    /// `aeron:udp`: unicast, multicast or multi-destination UDP.
    Udp,
    /// `aeron:ipc`: shared memory on one machine.
    Ipc,
}

impl Media {
    /// The media name as written in a URI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Media::Udp => UDP_MEDIA,
            Media::Ipc => IPC_MEDIA,
        }
    }
}

impl fmt::Display for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a key for [`ChannelUri::set`]: non-empty, no `=` or `|`.
fn check_key(key: &str) -> Result<(), UriError> {
    let reason = if key.is_empty() {
        "empty"
    } else if key.contains('=') {
        "contains '='"
    } else if key.contains('|') {
        "contains '|'"
    } else {
        return Ok(());
    };
    Err(UriError::InvalidKey {
        key: key.to_owned(),
        reason,
    })
}

/// Checks a value for [`ChannelUri::set`]: non-empty, no `|`.
fn check_value(key: &str, value: &str) -> Result<(), UriError> {
    if value.is_empty() {
        Err(UriError::invalid(key, value, "empty value"))
    } else if value.contains('|') {
        Err(UriError::invalid(key, value, "contains '|'"))
    } else {
        Ok(())
    }
}

/// A parsed channel URI: media, spy flag and the parameters in the order they were given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelUri {
    media: Media,
    spy: bool,
    params: Vec<(String, String)>,
}

impl ChannelUri {
    /// A URI with the given media and no parameters.
    pub const fn new(media: Media) -> Self {
        ChannelUri {
            media,
            spy: false,
            params: Vec::new(),
        }
    }

    /// Parses a channel URI. See the module docs for the grammar and what counts as an error.
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        if uri.len() > MAX_URI_LENGTH {
            return Err(UriError::TooLong { length: uri.len() });
        }

        let (spy, rest) = match uri.strip_prefix(SPY_PREFIX) {
            Some(rest) => (true, rest),
            None => (false, uri),
        };
        let Some(rest) = rest.strip_prefix(AERON_PREFIX) else {
            let found: String = uri.chars().take(32).collect();
            return Err(UriError::MissingScheme { found });
        };
        let media_start = uri.len() - rest.len();

        let (media_str, query) = match rest.find('?') {
            Some(q) => (&rest[..q], Some(&rest[q + 1..])),
            None => (rest, None),
        };
        if let Some((i, ch)) = media_str
            .char_indices()
            .find(|&(_, c)| matches!(c, ':' | '|' | '='))
        {
            return Err(UriError::BadMediaChar {
                ch,
                offset: media_start + i,
            });
        }
        let media = match media_str {
            UDP_MEDIA => Media::Udp,
            IPC_MEDIA => Media::Ipc,
            other => {
                return Err(UriError::UnknownMedia {
                    media: other.to_owned(),
                })
            }
        };

        let mut channel = ChannelUri {
            media,
            spy,
            params: Vec::new(),
        };
        if let Some(query) = query {
            let mut offset = media_start + media_str.len() + 1;
            for param in query.split('|') {
                let Some(eq) = param.find('=') else {
                    if param.is_empty() {
                        return Err(UriError::EmptyKey { offset });
                    }
                    return Err(UriError::MissingEquals {
                        key: param.to_owned(),
                        offset: offset + param.len(),
                    });
                };
                let (key, value) = (&param[..eq], &param[eq + 1..]);
                if key.is_empty() {
                    return Err(UriError::EmptyKey { offset });
                }
                if value.is_empty() {
                    return Err(UriError::EmptyValue {
                        key: key.to_owned(),
                        offset: offset + eq + 1,
                    });
                }
                channel.insert(key, value);
                offset += param.len() + 1;
            }
        }
        Ok(channel)
    }

    /// The transport.
    pub const fn media(&self) -> Media {
        self.media
    }

    /// Changes the transport.
    pub fn set_media(&mut self, media: Media) {
        self.media = media;
    }

    /// True for UDP channels.
    pub const fn is_udp(&self) -> bool {
        matches!(self.media, Media::Udp)
    }

    /// True for IPC channels.
    pub const fn is_ipc(&self) -> bool {
        matches!(self.media, Media::Ipc)
    }

    /// True when the URI has the `aeron-spy:` prefix.
    pub const fn is_spy(&self) -> bool {
        self.spy
    }

    /// Adds or removes the `aeron-spy:` prefix.
    pub fn set_spy(&mut self, spy: bool) {
        self.spy = spy;
    }

    /// The raw value of a parameter, known to Aeron or not.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True if the parameter is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets a parameter, keeping its position if it was already there, and returns the old value. The key must be
    /// non-empty without `=` or `|`; the value non-empty without `|`.
    pub fn set(&mut self, key: &str, value: &str) -> Result<Option<String>, UriError> {
        check_key(key)?;
        check_value(key, value)?;
        Ok(self.insert(key, value))
    }

    /// Removes a parameter and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let index = self.params.iter().position(|(k, _)| k == key)?;
        Some(self.params.remove(index).1)
    }

    /// The parameters in order, as `(key, value)`.
    pub fn params(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Length in bytes of the rendered URI (what `to_string().len()` would give).
    pub fn encoded_length(&self) -> usize {
        let prefix = if self.spy { SPY_PREFIX.len() } else { 0 };
        let params: usize = self.params.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        prefix + AERON_PREFIX.len() + self.media.as_str().len() + params
    }

    fn insert(&mut self, key: &str, value: &str) -> Option<String> {
        match self.params.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => Some(std::mem::replace(v, value.to_owned())),
            None => {
                self.params.push((key.to_owned(), value.to_owned()));
                None
            }
        }
    }
}

impl fmt::Display for ChannelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.spy {
            f.write_str(SPY_PREFIX)?;
        }
        f.write_str(AERON_PREFIX)?;
        f.write_str(self.media.as_str())?;
        let mut separator = '?';
        for (key, value) in &self.params {
            write!(f, "{separator}{key}={value}")?;
            separator = '|';
        }
        Ok(())
    }
}

impl FromStr for ChannelUri {
    type Err = UriError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChannelUri::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(uri: &str) -> UriError {
        ChannelUri::parse(uri).expect_err(uri)
    }

    #[test]
    fn parses_golden_channels() {
        let uri =
            ChannelUri::parse("aeron:udp?endpoint=localhost:24400|term-length=65536").unwrap();
        assert_eq!(uri.media(), Media::Udp);
        assert!(!uri.is_spy());
        assert_eq!(uri.get("endpoint"), Some("localhost:24400"));
        assert_eq!(uri.get("term-length"), Some("65536"));
        assert_eq!(
            uri.to_string(),
            "aeron:udp?endpoint=localhost:24400|term-length=65536"
        );
        let uri = ChannelUri::parse("aeron:udp?endpoint=localhost:20121").unwrap();
        assert_eq!(uri.len(), 1);
    }

    #[test]
    fn parses_ipc_with_and_without_params() {
        let uri = ChannelUri::parse("aeron:ipc").unwrap();
        assert!(uri.is_ipc() && uri.is_empty());
        assert_eq!(uri.to_string(), IPC_CHANNEL);
        let uri = ChannelUri::parse("aeron:ipc?term-length=64k|alias=x=y").unwrap();
        assert_eq!(uri.get("alias"), Some("x=y"));
        assert_eq!(uri.to_string(), "aeron:ipc?term-length=64k|alias=x=y");
    }

    #[test]
    fn parses_spy_prefix() {
        let uri = ChannelUri::parse("aeron-spy:aeron:udp?endpoint=224.0.1.1:40456").unwrap();
        assert!(uri.is_spy() && uri.is_udp());
        assert_eq!(
            uri.to_string(),
            "aeron-spy:aeron:udp?endpoint=224.0.1.1:40456"
        );
    }

    #[test]
    fn duplicate_key_keeps_first_position_last_value() {
        let uri = ChannelUri::parse("aeron:udp?mtu=1408|endpoint=a:1|mtu=4096").unwrap();
        assert_eq!(
            uri.params().collect::<Vec<_>>(),
            vec![("mtu", "4096"), ("endpoint", "a:1")]
        );
    }

    #[test]
    fn unknown_keys_are_kept() {
        let uri = ChannelUri::parse("aeron:udp?endpoint=a:1|so-tos=16|x-custom=hello").unwrap();
        assert_eq!(uri.get("so-tos"), Some("16"));
        assert_eq!(uri.get("x-custom"), Some("hello"));
    }

    #[test]
    fn length_limit() {
        let base = "aeron:ipc?alias=";
        let ok = format!("{base}{}", "a".repeat(MAX_URI_LENGTH - base.len()));
        assert!(ChannelUri::parse(&ok).is_ok());
        let long = format!("{ok}a");
        assert_eq!(err(&long), UriError::TooLong { length: 4096 });
        assert_eq!(err(&long).to_string(), "URI too long: 4096 bytes, max 4095");
    }

    #[test]
    fn error_cases_name_the_bad_part() {
        assert_eq!(
            err("udp?endpoint=a:1").to_string(),
            "URI must start with \"aeron:\" or \"aeron-spy:aeron:\", found \"udp?endpoint=a:1\""
        );
        assert_eq!(
            err("aeron-spy:udp").to_string(),
            "URI must start with \"aeron:\" or \"aeron-spy:aeron:\", found \"aeron-spy:udp\""
        );
        assert_eq!(
            err("aeron:tcp?endpoint=a:1").to_string(),
            "unknown media \"tcp\""
        );
        assert_eq!(err("aeron:").to_string(), "unknown media \"\"");
        assert_eq!(
            err("aeron:udp:x").to_string(),
            "unexpected ':' in media at offset 9"
        );
        assert_eq!(
            err("aeron:ud|p").to_string(),
            "unexpected '|' in media at offset 8"
        );
        assert_eq!(
            err("aeron:udp?endpoint=a:1|mtu").to_string(),
            "missing '=' in \"mtu\" at offset 26"
        );
        assert_eq!(
            err("aeron:udp?mtu|endpoint=a:1").to_string(),
            "missing '=' in \"mtu\" at offset 13"
        );
        assert_eq!(
            err("aeron:udp?=1").to_string(),
            "empty parameter key at offset 10"
        );
        assert_eq!(
            err("aeron:udp?").to_string(),
            "empty parameter key at offset 10"
        );
        assert_eq!(
            err("aeron:udp?endpoint=a:1|").to_string(),
            "empty parameter key at offset 23"
        );
        assert_eq!(
            err("aeron:udp?endpoint=a:1||mtu=1").to_string(),
            "empty parameter key at offset 23"
        );
        assert_eq!(
            err("aeron:udp?mtu=|endpoint=a:1").to_string(),
            "empty value for \"mtu\" at offset 14"
        );
        assert_eq!(
            err("aeron:udp?endpoint=").to_string(),
            "empty value for \"endpoint\" at offset 19"
        );
    }

    #[test]
    fn set_and_remove() {
        let mut uri = ChannelUri::new(Media::Udp);
        assert_eq!(uri.set("endpoint", "a:1"), Ok(None));
        assert_eq!(uri.set("endpoint", "b:2"), Ok(Some("a:1".to_owned())));
        assert_eq!(
            uri.set("a|b", "x").unwrap_err().to_string(),
            "invalid parameter key \"a|b\": contains '|'"
        );
        assert_eq!(
            uri.set("a=b", "x").unwrap_err().to_string(),
            "invalid parameter key \"a=b\": contains '='"
        );
        assert_eq!(
            uri.set("", "x").unwrap_err().to_string(),
            "invalid parameter key \"\": empty"
        );
        assert_eq!(
            uri.set("alias", "x|y").unwrap_err().to_string(),
            "invalid value \"x|y\" for alias: contains '|'"
        );
        assert_eq!(
            uri.set("alias", "").unwrap_err().to_string(),
            "invalid value \"\" for alias: empty value"
        );
        uri.set_spy(true);
        assert_eq!(uri.to_string(), "aeron-spy:aeron:udp?endpoint=b:2");
        assert_eq!(uri.encoded_length(), uri.to_string().len());
        assert_eq!(uri.remove("endpoint"), Some("b:2".to_owned()));
        assert_eq!(uri.remove("endpoint"), None);
        assert_eq!(uri.to_string(), "aeron-spy:aeron:udp");
    }

    #[test]
    fn non_ascii_does_not_panic() {
        assert!(ChannelUri::parse("aeron:udp?é=ü|ß").is_err());
        let uri = ChannelUri::parse("aeron:ipc?alias=ünï").unwrap();
        assert_eq!(uri.get("alias"), Some("ünï"));
        assert!(ChannelUri::parse("aeron:ïpc").is_err());
    }
}
