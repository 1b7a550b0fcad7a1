//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The directory of golden files captured from real Aeron 1.54.
///
/// Looks, in order, at `$OXERON_GOLDEN_DIR`, `$CARGO_MANIFEST_DIR/../../../shared/golden` and
/// `/work/shared/golden`, and takes the first that exists. Panics, naming every place tried, when none does:
/// a golden test must fail rather than pass without its data.
pub fn golden_dir() -> PathBuf {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("OXERON_GOLDEN_DIR") {
        candidates.push(PathBuf::from(dir));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/golden"));
    candidates.push(PathBuf::from("/work/shared/golden"));
    candidates
        .iter()
        .find(|dir| dir.is_dir())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "golden directory not found; set OXERON_GOLDEN_DIR. Tried: {}",
                candidates
                    .iter()
                    .map(|dir| dir.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}
