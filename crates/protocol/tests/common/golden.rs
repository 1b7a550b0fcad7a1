//! Locates the golden files captured from real Aeron 1.54.

use std::path::PathBuf;

/// The golden data directory: `OXERON_GOLDEN_DIR` if set, else `shared/golden` three levels above this crate,
/// else `/work/shared/golden`. Panics when none exists, so golden tests fail rather than pass silently.
pub fn golden_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OXERON_GOLDEN_DIR") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.is_dir(),
            "OXERON_GOLDEN_DIR={} is not a directory",
            dir.display()
        );
        return dir;
    }
    let beside_workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/golden");
    if beside_workspace.is_dir() {
        return beside_workspace;
    }
    let fixed = PathBuf::from("/work/shared/golden");
    if fixed.is_dir() {
        return fixed;
    }
    panic!(
        "golden data not found: set OXERON_GOLDEN_DIR, or provide {} or {}",
        beside_workspace.display(),
        fixed.display()
    );
}
