//! The short kill -9 matrix that CI runs: twelve seeded scenarios covering recording, replay and
//! replication with the driver, an archive, the publisher or a subscriber killed, at file sync levels 0
//! and 1. `interop/kill9-matrix` runs the full 50. Java's ArchiveTool checks every directory when a JDK
//! and the Aeron jar are there; without them the test says SKIPPED for that part and still runs the rest.

use std::path::Path;

use oxeron_interop::java::JavaPeer;
use oxeron_interop::kill9::{describe, run_scenario, Scenario};

#[test]
fn seeded_kill_9_runs_recover_every_message() {
    let bin = Path::new(env!("CARGO_BIN_EXE_kill9_matrix"));
    let java = JavaPeer::find("seeded_kill_9_runs_recover_every_message (ArchiveTool verify)");
    let mut failures = Vec::new();
    for seed in [0, 1, 2, 3, 4, 5, 18, 19, 20, 21, 22, 23] {
        let scenario = Scenario::from_seed(seed);
        match run_scenario(bin, &scenario, java.as_ref()) {
            Ok(outcome) => println!("{}", describe(&outcome)),
            Err(e) => failures.push(format!("seed {seed} {scenario:?}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
