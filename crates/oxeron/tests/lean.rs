//! An application that depends on `oxeron` builds the library alone: none of the command's dependencies
//! (argument parsing, log formatting, histograms, progress bars, plotting) nor the examples' async runtime.

use std::process::Command;

#[test]
fn the_library_depends_on_none_of_the_commands_crates() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "--edges", "normal", "--prefix", "none"])
        .args(["--manifest-path", manifest, "-p", "oxeron"])
        .output()
        .expect("cargo tree");
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && tree.starts_with("oxeron v"),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    for unwanted in [
        "clap",
        "tracing-subscriber",
        "hdrhistogram",
        "indicatif",
        "plotters",
        "regex",
        "tokio",
        "oxeron-cli",
    ] {
        assert!(
            !names.contains(&unwanted),
            "oxeron depends on {unwanted}:\n{tree}"
        );
    }
    for wanted in ["oxeron-client", "oxeron-driver", "oxeron-archive"] {
        assert!(names.contains(&wanted), "no {wanted} in\n{tree}");
    }
}
