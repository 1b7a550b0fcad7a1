//! The flags every subcommand shares, and the value parsers behind the one vocabulary: `--aeron-dir`
//! (`AERON_DIR`), durations with a unit (`10s`, `500ms`), `--message-length` for a message's size and `--bytes`
//! for an amount of stream.

use std::path::PathBuf;
use std::time::Duration;

use oxeron::protocol::uri::parse_duration;

/// The Aeron directory of the driver a command talks to.
#[derive(clap::Args, Debug, Clone)]
pub struct AeronDirArg {
    /// Aeron directory of the media driver (default: /dev/shm/aeron-$USER, as Aeron's).
    #[arg(long, env = "AERON_DIR", value_name = "DIR")]
    pub aeron_dir: Option<PathBuf>,
}

impl AeronDirArg {
    /// A client context from Aeron's environment, in the directory given.
    pub fn client_context(&self) -> Result<oxeron::client::Context, String> {
        let ctx = oxeron::client::Context::from_env().map_err(|e| e.to_string())?;
        Ok(match &self.aeron_dir {
            Some(dir) => ctx.aeron_dir(dir),
            None => ctx,
        })
    }
}

/// The directory given, or Aeron's default.
pub fn aeron_dir_or_default(dir: &Option<PathBuf>) -> PathBuf {
    dir.clone()
        .unwrap_or_else(oxeron::client::default_aeron_dir)
}

/// Longest duration a flag takes: a day.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);
/// Aeron's largest message (`FrameDescriptor.MAX_MESSAGE_LENGTH`).
pub const MAX_MESSAGE_LENGTH: usize = 16 * 1024 * 1024;

/// A duration with its unit (`ns`, `us`, `ms`, `s`, as Aeron's settings write them), up to a day. A bare
/// number is refused: Aeron reads it as nanoseconds, which is rarely what a person typing it means.
pub fn duration(value: &str) -> Result<Duration, String> {
    let text = value.trim();
    if text.chars().last().is_none_or(|c| c.is_ascii_digit()) {
        return Err(format!(
            "{value:?} has no unit: write e.g. 10s, 500ms, 250us"
        ));
    }
    let parsed = parse_duration(text).map_err(|e| e.to_string())?;
    if parsed > MAX_DURATION {
        return Err(format!("{value} is longer than a day"));
    }
    Ok(parsed)
}

fn length_in(value: &str, min: usize) -> Result<usize, String> {
    let length: usize = value
        .parse()
        .map_err(|e| format!("{e}: expected a number of bytes"))?;
    if (min..=MAX_MESSAGE_LENGTH).contains(&length) {
        Ok(length)
    } else {
        Err(format!("{length} is not in {min}..={MAX_MESSAGE_LENGTH}"))
    }
}

/// A message length: at most Aeron's largest message.
pub fn message_length(value: &str) -> Result<usize, String> {
    length_in(value, 0)
}

/// A message length that also carries the 8-byte sequence number of verifiable messages.
pub fn checked_message_length(value: &str) -> Result<usize, String> {
    length_in(value, 8)
}

/// Rounds of a benchmark: 1 to 100.
pub fn rounds(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n @ 1..=100) => Ok(n),
        Ok(n) => Err(format!("{n} is not in 1..=100")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit_and_stay_within_a_day() {
        assert_eq!(duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("250us"), Ok(Duration::from_micros(250)));
        assert!(duration("10").unwrap_err().contains("no unit"));
        assert!(duration("").unwrap_err().contains("no unit"));
        assert!(duration("2d").is_err());
        assert!(duration("90000s")
            .unwrap_err()
            .contains("longer than a day"));
    }
}
