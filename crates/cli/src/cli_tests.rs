//! The command line itself: every numeric flag refuses what is out of range by name, and every flag of every
//! subcommand follows the one vocabulary.

use super::*;
use crate::args::{MAX_DURATION, MAX_MESSAGE_LENGTH};
use clap::{CommandFactory, Parser};
use oxeron::protocol::uri::{parse_duration, parse_size};
use proptest::prelude::*;

/// Every numeric flag of every subcommand, as (subcommand words, flag).
const NUMERIC_FLAGS: &[(&[&str], &str)] = &[
    (&["publish"], "--message-length"),
    (&["publish"], "--count"),
    (&["publish"], "--stream"),
    (&["subscribe"], "--message-length"),
    (&["subscribe"], "--count"),
    (&["demo"], "--message-length"),
    (&["demo"], "--count"),
    (&["bench", "ipc"], "--message-length"),
    (&["bench", "ipc"], "--count"),
    (&["bench", "ipc"], "--round-trips"),
    (&["bench", "archive"], "--megabytes"),
    (&["bench", "archive"], "--rounds"),
    (&["archive"], "--file-sync-level"),
    (&["archive"], "--catalog-file-sync-level"),
    (&["record"], "--message-length"),
    (&["record"], "--publish"),
    (&["replay", "--recording-id", "0"], "--position"),
    (&["replay", "--recording-id", "0"], "--bytes"),
];

/// Every duration flag, as (subcommand words, flag).
const DURATION_FLAGS: &[(&[&str], &str)] = &[
    (&["driver"], "--client-liveness-timeout"),
    (&["publish"], "--connect-timeout"),
    (&["subscribe"], "--timeout"),
    (&["record"], "--duration"),
    (&["record"], "--message-timeout"),
    (&["replay", "--recording-id", "0"], "--timeout"),
    (&["replay", "--recording-id", "0"], "--message-timeout"),
    (&["stat"], "--watch"),
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i128>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just("18446744073709551615".to_string()),
        Just("-1".to_string()),
        "[0-9a-zA-Z.+-]{0,24}",
    ]
}

fn parse(words: &[&str], flag: &str, value: &str) -> Result<Cli, clap::Error> {
    let mut argv = vec!["oxeron"];
    argv.extend_from_slice(words);
    let pair = format!("{flag}={value}");
    argv.push(&pair);
    Cli::try_parse_from(&argv)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Parsing never panics; what parses is in the flag's range.
    #[test]
    fn numeric_flags_parse_or_are_refused_by_name(
        which in 0..NUMERIC_FLAGS.len(),
        value in value(),
    ) {
        let (words, flag) = NUMERIC_FLAGS[which];
        match parse(words, flag, &value) {
            Err(e) => {
                let text = e.to_string();
                prop_assert!(text.contains(flag), "{words:?} {flag}={value}: {text}");
            }
            Ok(cli) => match cli.command {
                Command::Publish(args) => prop_assert!(args.message_length <= MAX_MESSAGE_LENGTH),
                Command::Subscribe(args) => prop_assert!(args.message_length <= MAX_MESSAGE_LENGTH),
                Command::Demo { message_length, .. } => {
                    prop_assert!((8..=MAX_MESSAGE_LENGTH).contains(&message_length));
                }
                Command::Bench(args) => {
                    prop_assert!((8..=MAX_MESSAGE_LENGTH).contains(&args.message_length));
                    prop_assert!((1..=100).contains(&args.rounds) && args.count >= 1);
                }
                _ => {}
            },
        }
    }

    /// Duration flags take a number with a unit, up to a day, and name themselves when they refuse one.
    #[test]
    fn duration_flags_parse_or_are_refused_by_name(
        which in 0..DURATION_FLAGS.len(),
        value in prop_oneof!["[0-9]{0,12}(ns|us|ms|s)?", value()],
    ) {
        let (words, flag) = DURATION_FLAGS[which];
        let accepted = crate::args::duration(&value);
        match parse(words, flag, &value) {
            Err(e) => {
                prop_assert!(accepted.is_err(), "{flag}={value} refused: {e}");
                prop_assert!(e.to_string().contains(flag), "{flag}={value}: {e}");
            }
            Ok(_) => prop_assert!(accepted.is_ok_and(|d| d <= MAX_DURATION), "{flag}={value}"),
        }
    }

    /// Size and duration flags go through Aeron's parsers, which never panic.
    #[test]
    fn size_and_duration_parsers_never_panic(text in "[0-9]{0,25}[kKmMgGsSuUnN]{0,2}") {
        let _ = parse_size(&text);
        let _ = parse_duration(&text);
    }
}

/// Every subcommand, with the words that reach it.
fn subcommands(
    command: &clap::Command,
    path: Vec<String>,
    out: &mut Vec<(Vec<String>, clap::Command)>,
) {
    for sub in command.get_subcommands() {
        let mut words = path.clone();
        words.push(sub.get_name().to_string());
        out.push((words.clone(), sub.clone()));
        subcommands(sub, words, out);
    }
}

#[test]
fn every_flag_of_every_subcommand_follows_the_one_vocabulary() {
    let mut all = Vec::new();
    subcommands(&Cli::command(), Vec::new(), &mut all);
    assert!(all.len() >= 18, "{} subcommands", all.len());
    let durations: Vec<(String, &str)> = DURATION_FLAGS
        .iter()
        .map(|(words, flag)| (words[0].to_string(), *flag))
        .collect();
    let mut problems = Vec::new();
    for (words, mut command) in all {
        let name = words.join(" ");
        let help = command.render_long_help().to_string();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if ["help", "version"].contains(&long) {
                continue;
            }
            let flag = format!("--{long}");
            let help_text = arg
                .get_long_help()
                .or(arg.get_help())
                .map(|h| h.to_string());
            let help_text = help_text.unwrap_or_default();
            if ["dir", "length", "type-id"].contains(&long) || long.ends_with("-s") {
                problems.push(format!("{name} {flag}: say --aeron-dir, --message-length or --bytes, and durations with a unit"));
            }
            if long == "aeron-dir" && arg.get_env().is_none_or(|env| env != "AERON_DIR") {
                problems.push(format!("{name} {flag}: not read from AERON_DIR"));
            }
            let takes_value = arg.get_num_args().is_none_or(|n| n.takes_values());
            let documented_default = !arg.get_default_values().is_empty()
                || help_text.contains("default")
                || help_text.starts_with("Only")
                || help_text.starts_with("Also")
                || arg.is_required_set();
            if takes_value && !documented_default {
                problems.push(format!("{name} {flag}: no default shown ({help_text:?})"));
            }
            let duration_like = ["timeout", "duration", "watch", "interval", "linger"]
                .iter()
                .any(|word| long.contains(word));
            if duration_like && !durations.contains(&(words[0].clone(), flag.as_str())) {
                problems.push(format!(
                    "{name} {flag}: a duration flag missing from DURATION_FLAGS"
                ));
            }
            if let Some(env) = arg.get_env() {
                let env = env.to_string_lossy();
                if !help.contains(&format!("[env: {env}")) {
                    problems.push(format!("{name} {flag}: --help does not show {env}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
