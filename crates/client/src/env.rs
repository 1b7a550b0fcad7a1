//! Reading settings from Aeron's environment variable names (`AERON_DIR`, `AERON_DRIVER_TIMEOUT`, ...),
//! with Aeron's value syntax: sizes like `64k`/`16m`, durations like `10s`/`500ms` (plain numbers are
//! nanoseconds), booleans `true`/`false`.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use oxeron_protocol::uri::{parse_duration, parse_size};

/// An environment variable whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name}={value:?}: {reason}")]
pub struct EnvError {
    /// The variable.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

fn raw(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl EnvError {
    /// `name=value` refused for `reason`.
    pub fn new(name: &str, value: &str, reason: impl ToString) -> Self {
        EnvError {
            name: name.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}

fn error(name: &str, value: &str, reason: impl ToString) -> EnvError {
    EnvError::new(name, value, reason)
}

/// A path, if the variable is set.
pub fn path(name: &str) -> Option<PathBuf> {
    raw(name).map(PathBuf::from)
}

/// A string, if the variable is set.
pub fn string(name: &str) -> Option<String> {
    raw(name)
}

/// A size (`65536`, `64k`, `16m`, `1g`), if set.
pub fn size(name: &str) -> Result<Option<u64>, EnvError> {
    raw(name)
        .map(|v| parse_size(v.trim()).map_err(|e| error(name, &v, e)))
        .transpose()
}

/// A size that must fit an `i32` (term lengths, MTUs), if set.
pub fn size_i32(name: &str) -> Result<Option<i32>, EnvError> {
    match size(name)? {
        Some(v) => i32::try_from(v)
            .map(Some)
            .map_err(|_| error(name, &v.to_string(), "too large")),
        None => Ok(None),
    }
}

/// A size that must fit a `usize`, if set.
pub fn size_usize(name: &str) -> Result<Option<usize>, EnvError> {
    match size(name)? {
        Some(v) => usize::try_from(v)
            .map(Some)
            .map_err(|_| error(name, &v.to_string(), "too large")),
        None => Ok(None),
    }
}

/// A duration (`10s`, `500ms`, `100us`, nanoseconds without a unit), if set.
pub fn duration(name: &str) -> Result<Option<Duration>, EnvError> {
    raw(name)
        .map(|v| parse_duration(v.trim()).map_err(|e| error(name, &v, e)))
        .transpose()
}

/// A boolean (`true` or `false`), if set.
pub fn boolean(name: &str) -> Result<Option<bool>, EnvError> {
    raw(name)
        .map(|v| match v.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(error(name, &v, "expected true or false")),
        })
        .transpose()
}

/// Any value with a `FromStr` (threading modes, idle strategies), if set.
pub fn parsed<T>(name: &str) -> Result<Option<T>, EnvError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    raw(name)
        .map(|v| v.trim().parse().map_err(|e| error(name, &v, e)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_with_aeron_syntax_and_errors_name_the_variable() {
        // Names unique to this test, so parallel tests do not see them.
        std::env::set_var("OXERON_TEST_ENV_SIZE", "64k");
        std::env::set_var("OXERON_TEST_ENV_DURATION", "250ms");
        std::env::set_var("OXERON_TEST_ENV_BAD", "lots");
        assert_eq!(size_i32("OXERON_TEST_ENV_SIZE"), Ok(Some(65536)));
        assert_eq!(
            duration("OXERON_TEST_ENV_DURATION"),
            Ok(Some(Duration::from_millis(250)))
        );
        assert_eq!(size("OXERON_TEST_ENV_UNSET"), Ok(None));
        let err = size("OXERON_TEST_ENV_BAD").unwrap_err();
        assert!(err.to_string().contains("OXERON_TEST_ENV_BAD"), "{err}");
        assert!(boolean("OXERON_TEST_ENV_BAD").is_err());
    }
}
