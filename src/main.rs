//! The `anaconda-auth` binary: parse, run, print the error, exit with its code.
//!
//! `get` runs once per download for some callers, so the process start is most of its cost
//! (issue #8, `scripts/bench`). Rust's usual runtime start-up reads and parses
//! `/proc/self/maps` to place a stack guard, which measured as a tenth of `get` here; so this
//! is a C `main` (`#![no_main]`), which does the two parts of that start-up that matter here
//! itself: standard streams that exist, and SIGPIPE ignored. A stack overflow then ends the
//! process with SIGSEGV and no message, the one thing given up.

// The test build of this file (`cargo test --all-targets`) is empty: it has no tests, and the
// harness brings its own main.
#![cfg(not(test))]
#![no_main]

use std::ffi::{CStr, c_char, c_int};
use std::fs::File;
use std::io::Write as _;
use std::os::fd::{AsRawFd as _, IntoRawFd as _};

/// Entered from the C runtime.
#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    open_standard_streams();
    // SAFETY: no other thread exists yet, and setting SIG_IGN has no other precondition.
    // Writes to a closed pipe or socket then fail with EPIPE instead of killing the process.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let args = arguments(argc, argv);
    let code = match anaconda_auth::cli::run(&args) {
        Ok(code) => code,
        Err(failure) => {
            let mut message = format!("anaconda-auth: {}\n", failure.error);
            for hint in &failure.hints {
                message.push_str(hint);
                message.push('\n');
            }
            anaconda_auth::error::write_stderr(&message);
            failure.error.exit_code()
        }
    };
    // Rust's runtime would flush stdout at exit; the C runtime does not know its buffer.
    let _ = std::io::stdout().flush();
    c_int::from(code)
}

/// The command line. Taken from the C runtime's `argv`: `std::env::args` needs Rust's
/// start-up except on glibc, and panics on an argument that is not UTF-8. Such an argument is
/// read with U+FFFD in place of the bad bytes, so it fails as a bad value with exit 2.
fn arguments(argc: c_int, argv: *const *const c_char) -> Vec<String> {
    let count = usize::try_from(argc).unwrap_or(0);
    (0..count)
        .map(|i| {
            // SAFETY: the C runtime passes `argc` pointers to NUL-terminated strings in `argv`.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            arg.to_string_lossy().into_owned()
        })
        .collect()
}

/// Puts `/dev/null` on any of stdin, stdout and stderr that the caller closed, as Rust's
/// start-up does. Otherwise the next file opened would take that number: a warning meant for
/// stderr could land in the keyring's temp file, or a key printed to stdout in some file.
fn open_standard_streams() {
    // A new file takes the lowest free number: while that is 0, 1 or 2, it fills a gap.
    while let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
        if null.as_raw_fd() > 2 {
            break;
        }
        let _kept_open = null.into_raw_fd();
    }
}
