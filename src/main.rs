//! The `anaconda-auth` binary: parse, run, print the error, exit with its code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match anaconda_auth::cli::run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            let mut message = format!("anaconda-auth: {}\n", failure.error);
            for hint in &failure.hints {
                message.push_str(hint);
                message.push('\n');
            }
            anaconda_auth::error::write_stderr(&message);
            ExitCode::from(failure.error.exit_code())
        }
    }
}
