//! The kill -9 matrix (issue #14): `kill9_matrix run [--runs N] [--first-seed S]` runs N seeded scenarios
//! and prints one line each; `kill9_matrix role <name>` is how the matrix starts its own processes.

use std::process::ExitCode;

use oxeron_interop::java::JavaPeer;
use oxeron_interop::kill9::{describe, run_role, run_scenario, Scenario};

fn flag(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .ok_or(format!("{name} needs a value"))?
            .parse()
            .map_err(|e| format!("{name}: {e}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("role") => run_role(args.get(1).map(String::as_str).unwrap_or_default()),
        Some("run") => run(&args[1..]),
        _ => Err("usage: kill9_matrix run [--runs N] [--first-seed S]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kill9_matrix: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let runs = flag(args, "--runs", 50)?;
    let first = flag(args, "--first-seed", 0)?;
    let bin = std::env::current_exe().map_err(|e| e.to_string())?;
    let java = JavaPeer::find("kill9_matrix: Java's ArchiveTool");
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    for seed in first..first + runs {
        let scenario = Scenario::from_seed(seed);
        match run_scenario(&bin, &scenario, java.as_ref()) {
            Ok(outcome) => println!("{}", describe(&outcome)),
            Err(e) => {
                println!("seed {seed:>3}  FAILED {scenario:?}: {e}");
                failures.push(seed);
            }
        }
    }
    println!(
        "{runs} runs in {:.0} s, {} failed{}",
        started.elapsed().as_secs_f64(),
        failures.len(),
        if failures.is_empty() {
            String::new()
        } else {
            format!(": seeds {failures:?}")
        }
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err("some runs failed".into())
    }
}
