//! Sizes (`64k`, `1m`) and durations (`5s`, `100ms`) as Aeron writes them in URIs and properties
//! (`aeron_parse_size64` / `aeron_parse_duration_ns`, Agrona `SystemUtil.parseSize` / `parseDuration`).

use std::time::Duration;

/// Nanoseconds Aeron saturates a duration at (`LLONG_MAX`).
const MAX_DURATION_NS: u64 = i64::MAX as u64;

/// Splits `s` into the value of its leading ASCII digits (`None` on `u64` overflow) and the rest; `None` if there
/// are no digits.
fn split_digits(s: &str) -> Option<(Option<u64>, &str)> {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    Some((s[..end].parse::<u64>().ok(), &s[end..]))
}

/// Parses a size: decimal digits with an optional `k`, `m` or `g` suffix (either case) multiplying by 1024,
/// 1024² or 1024³. The result must fit in an `i64`, as in Aeron. Returns a reason on failure.
pub fn parse_size(s: &str) -> Result<u64, &'static str> {
    let (value, suffix) =
        split_digits(s).ok_or("not a size (digits with optional k/m/g suffix)")?;
    let multiplier: u64 = match suffix {
        "" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        _ => return Err("not a size (digits with optional k/m/g suffix)"),
    };
    value
        .and_then(|v| v.checked_mul(multiplier))
        .filter(|&v| v <= i64::MAX as u64)
        .ok_or("size too large")
}

/// Parses a duration: decimal digits meaning nanoseconds, or with a suffix `s`, `ms`, `us` or `ns` (either case).
/// Values too large for an `i64` of nanoseconds saturate there, as in Aeron. Returns a reason on failure.
pub fn parse_duration(s: &str) -> Result<Duration, &'static str> {
    const BAD: &str = "not a duration (digits with optional s/ms/us/ns suffix)";
    let (value, suffix) = split_digits(s).ok_or(BAD)?;
    let nanos_per_unit: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        _ => return Err(BAD),
    };
    let nanos = value
        .and_then(|v| v.checked_mul(nanos_per_unit))
        .map_or(MAX_DURATION_NS, |n| n.min(MAX_DURATION_NS));
    Ok(Duration::from_nanos(nanos))
}

/// Renders a duration in the largest unit that keeps it exact (`5s`, `100ms`, `10us`, `7ns`), saturating at
/// `i64::MAX` nanoseconds. [`parse_duration`] reads it back.
pub fn format_duration(duration: Duration) -> String {
    let nanos =
        u64::try_from(duration.as_nanos()).map_or(MAX_DURATION_NS, |n| n.min(MAX_DURATION_NS));
    if nanos == 0 {
        return "0".to_owned();
    }
    for (unit, suffix) in [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")] {
        if nanos % unit == 0 {
            return format!("{}{suffix}", nanos / unit);
        }
    }
    format!("{nanos}ns")
}

/// Parses a decimal integer with an optional sign into `T` (Aeron accepts `strtol` input; only decimal is kept
/// here, since C and Java disagree on leading zeros).
pub(crate) fn parse_int<T: std::str::FromStr>(s: &str) -> Result<T, &'static str> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a decimal integer");
    }
    s.parse::<T>().map_err(|_| "out of range")
}

/// Parses `true` or `false` exactly.
pub(crate) fn parse_bool(s: &str) -> Result<bool, &'static str> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1408"), Ok(1408));
        assert_eq!(parse_size("64k"), Ok(65536));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("8589934591g"), Ok(8589934591 << 30));
        assert_eq!(parse_size("8589934592g"), Err("size too large"));
        assert_eq!(parse_size("9223372036854775807"), Ok(i64::MAX as u64));
        assert_eq!(parse_size("9223372036854775808"), Err("size too large"));
        assert_eq!(parse_size("99999999999999999999"), Err("size too large"));
        for bad in ["", "k", "-1", "+1", " 1", "1 ", "1kb", "1t", "1.5m", "0x10"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1000"), Ok(Duration::from_nanos(1000)));
        assert_eq!(parse_duration("1000ns"), Ok(Duration::from_nanos(1000)));
        assert_eq!(parse_duration("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_duration("10US"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("5S"), Ok(Duration::from_secs(5)));
        let max = Duration::from_nanos(i64::MAX as u64);
        assert_eq!(parse_duration("9223372037s"), Ok(max));
        assert_eq!(parse_duration("99999999999999999999999ms"), Ok(max));
        for bad in [
            "", "s", "-1s", "1 s", "1sec", "1m", "1h", "1mss", "1.5s", "ms",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn duration_formatting() {
        assert_eq!(format_duration(Duration::ZERO), "0");
        assert_eq!(format_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_duration(Duration::from_millis(100)), "100ms");
        assert_eq!(format_duration(Duration::from_micros(10)), "10us");
        assert_eq!(format_duration(Duration::from_nanos(1001)), "1001ns");
        assert_eq!(format_duration(Duration::MAX), "9223372036854775807ns");
    }

    #[test]
    fn ints_and_bools() {
        assert_eq!(parse_int::<i32>("-5"), Ok(-5));
        assert_eq!(parse_int::<i32>("+5"), Ok(5));
        assert_eq!(parse_int::<i32>("2147483648"), Err("out of range"));
        assert_eq!(parse_int::<i32>("0x10"), Err("not a decimal integer"));
        assert_eq!(parse_int::<i32>("-"), Err("not a decimal integer"));
        assert_eq!(parse_bool("true"), Ok(true));
        assert_eq!(parse_bool("false"), Ok(false));
        assert!(parse_bool("truex").is_err());
        assert!(parse_bool("1").is_err());
    }

    proptest! {
        #[test]
        fn duration_round_trips(nanos in 0u64..=i64::MAX as u64) {
            let d = Duration::from_nanos(nanos);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn size_suffixes_multiply(n in 0u64..1 << 33) {
            prop_assert_eq!(parse_size(&format!("{n}k")), Ok(n << 10));
            prop_assert_eq!(parse_size(&format!("{n}m")), Ok(n << 20));
            prop_assert_eq!(parse_size(&format!("{n}g")), Ok(n << 30));
        }

        #[test]
        fn unit_parsers_never_panic(s in "\\PC{0,24}") {
            let _ = parse_size(&s);
            let _ = parse_duration(&s);
            let _ = parse_int::<i64>(&s);
        }
    }
}
