//! Adds an rpath to the Aeron C shared libraries that rusteron's build scripts compiled, so the test and
//! bench binaries run without `LD_LIBRARY_PATH`.
//!
//! rusteron does not export its library directory, so this looks for it beside our own build output:
//! `<target>/<profile>/build/rusteron-{media-driver,client}-<hash>/out/build/lib`, the newest one of each.
//! rusteron-media-driver declares `links`, so its build script has run before this one.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

fn newest_lib_dir(build_dir: &Path, crate_prefix: &str, library: &str) -> Option<PathBuf> {
    let mut best: Option<(SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(build_dir).ok()?.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(crate_prefix) {
            continue;
        }
        let lib_dir = entry.path().join("out").join("build").join("lib");
        let Ok(modified) = lib_dir.join(library).metadata().and_then(|m| m.modified()) else {
            continue;
        };
        if best.as_ref().is_none_or(|(t, _)| modified > *t) {
            best = Some((modified, lib_dir));
        }
    }
    best.map(|(_, dir)| dir)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_AERON_DRIVER_AERON_ROOT");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR is <target>/<profile>/build/oxeron-interop-<hash>/out.
    let Some(build_dir) = out_dir.ancestors().nth(2) else {
        return;
    };
    for prefix in ["rusteron-media-driver-", "rusteron-client-"] {
        if let Some(dir) = newest_lib_dir(build_dir, prefix, "libaeron.so") {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        } else {
            println!(
                "cargo:warning=no Aeron C libraries under {}{prefix}*: set LD_LIBRARY_PATH",
                build_dir.display()
            );
        }
    }
}
