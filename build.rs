//! Links gcc's unwinder statically into the binary on Linux with glibc, so that it needs no
//! `libgcc_s.so` at run time.
//!
//! `get` runs once per download for some callers, and it costs little more than starting a
//! process (issue #8, `scripts/bench`). Loading `libgcc_s.so`, which Rust's standard library
//! links only for unwinding, was a sixth of that start: the C compiler's `libgcc_eh.a` is the
//! same unwinder as an archive (what `gcc -static-libgcc` uses). With it present, the linker's
//! `--as-needed` drops `libgcc_s`. Where the archive cannot be found, nothing changes.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = |name| std::env::var(name).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") != "linux" || target("CARGO_CFG_TARGET_ENV") != "gnu" {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let Ok(out) = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    // An unknown file is printed back as its bare name.
    let archive = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let Some(dir) = archive.parent() else { return };
    if out.status.success() && archive.is_absolute() && archive.is_file() {
        // Named as a library, it comes before `-lgcc_s` on the link line, so it is the one
        // the linker takes the unwinder from. Not bundled into the rlib: only final links
        // (the binary, and the tests) take it.
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    }
}
