//! The `anaconda-auth` binary: parse, run, print the error, exit with its code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match anaconda_auth::cli::run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("anaconda-auth: {}", failure.error);
            for hint in &failure.hints {
                eprintln!("{hint}");
            }
            ExitCode::from(failure.error.exit_code())
        }
    }
}
