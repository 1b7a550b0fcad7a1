//! What the `stat` and `errors` commands print, as functions over a mapped `cnc.dat` (ours, Aeron C's or
//! Aeron Java's).

use std::fmt::Write as _;
use std::path::Path;

use oxeron::client::cnc_file::{CncError, CncFile};
use oxeron::concurrent::counters::CountersReader;
use oxeron::concurrent::error_log::ErrorLogReader;

/// Maps `cnc.dat` read-only (copy-on-write), from an Aeron directory or the file's own path.
pub fn open_cnc(dir_or_file: &Path) -> Result<CncFile, CncError> {
    if dir_or_file.is_file() {
        CncFile::map_private(dir_or_file)
    } else {
        CncFile::map_private(&CncFile::path_in(dir_or_file))
    }
}

/// One counter as `stat` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRow {
    /// Counter id.
    pub id: i32,
    /// Type id (0 system, 1 pub-lmt, 4 sub-pos, 11 client heartbeat, ...).
    pub type_id: i32,
    /// Registration id.
    pub registration_id: i64,
    /// Owner (client) id.
    pub owner_id: i64,
    /// Current value.
    pub value: i64,
    /// Label.
    pub label: String,
}

/// Every allocated counter, optionally only those of `type_id` and whose label contains `label_filter`.
pub fn counters(
    cnc: &CncFile,
    type_id: Option<i32>,
    label_filter: Option<&str>,
) -> Result<Vec<CounterRow>, String> {
    let reader = CountersReader::new(
        cnc.counters_metadata_buffer().clone(),
        cnc.counters_values_buffer().clone(),
    )
    .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    reader.for_each_counter(|value, id, counter_type, _key, label| {
        if type_id.is_some_and(|t| t != counter_type)
            || label_filter.is_some_and(|f| !label.contains(f))
        {
            return;
        }
        rows.push(CounterRow {
            id,
            type_id: counter_type,
            registration_id: reader.counter_registration_id(id).unwrap_or(0),
            owner_id: reader.counter_owner_id(id).unwrap_or(0),
            value,
            label: label.to_string(),
        });
    });
    Ok(rows)
}

/// AeronStat's layout: `id: value - label`.
pub fn format_table(rows: &[CounterRow]) -> String {
    let mut out = String::new();
    for r in rows {
        let _ = writeln!(
            out,
            "{:4}: {:>26} - {}",
            r.id,
            group_thousands(r.value),
            r.label
        );
    }
    out
}

fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 {
        out.insert(0, '-');
    }
    out
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON array of counter objects.
pub fn format_json(rows: &[CounterRow]) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{{\"id\":{},\"type_id\":{},\"registration_id\":{},\"owner_id\":{},\"value\":{},\"label\":{}}}",
                r.id,
                r.type_id,
                r.registration_id,
                r.owner_id,
                r.value,
                json_string(&r.label)
            )
        })
        .collect();
    format!("[{}]\n", items.join(","))
}

/// Prometheus text exposition: one `aeron_counter` gauge per counter.
pub fn format_prometheus(rows: &[CounterRow]) -> String {
    let mut out =
        String::from("# HELP aeron_counter Aeron counter value\n# TYPE aeron_counter gauge\n");
    for r in rows {
        let label = r
            .label
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = writeln!(
            out,
            "aeron_counter{{id=\"{}\",type_id=\"{}\",label=\"{}\"}} {}",
            r.id, r.type_id, label, r.value
        );
    }
    out
}

/// The distinct error log as text: one block per distinct error.
pub fn format_errors(cnc: &CncFile) -> (usize, String) {
    let mut out = String::new();
    let count = ErrorLogReader::read(
        cnc.error_log_buffer(),
        0,
        |observations, first, last, text| {
            let _ = writeln!(
                out,
                "***\n{observations} observations from {first} to {last} (epoch ms) for:\n {text}"
            );
        },
    );
    let _ = writeln!(out, "\n{count} distinct errors observed.");
    (count, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<CounterRow> {
        vec![CounterRow {
            id: 3,
            type_id: 0,
            registration_id: 3,
            owner_id: -1,
            value: 1234567,
            label: "a \"quoted\" label".into(),
        }]
    }

    #[test]
    fn formats_escape_and_group() {
        assert_eq!(
            format_table(&rows()),
            "   3:                  1,234,567 - a \"quoted\" label\n"
        );
        assert_eq!(
            format_json(&rows()),
            "[{\"id\":3,\"type_id\":0,\"registration_id\":3,\"owner_id\":-1,\"value\":1234567,\"label\":\"a \\\"quoted\\\" label\"}]\n"
        );
        assert!(format_prometheus(&rows()).contains(
            "aeron_counter{id=\"3\",type_id=\"0\",label=\"a \\\"quoted\\\" label\"} 1234567"
        ));
        assert_eq!(group_thousands(-1000), "-1,000");
    }
}
