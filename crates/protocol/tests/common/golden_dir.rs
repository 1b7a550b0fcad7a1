//! Where the golden files captured from real Aeron live.

use std::path::PathBuf;

/// The golden directory: `OXERON_GOLDEN_DIR` if set, else `shared/golden` next to the checkout, else
/// `/work/shared/golden`. Panics if none exists.
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
    let beside_checkout = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/golden");
    if beside_checkout.is_dir() {
        return beside_checkout;
    }
    let fixed = PathBuf::from("/work/shared/golden");
    if fixed.is_dir() {
        return fixed;
    }
    panic!(
        "golden files not found: set OXERON_GOLDEN_DIR, or put them at {} or {}",
        beside_checkout.display(),
        fixed.display()
    );
}
