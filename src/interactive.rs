//! Whether a prompt is allowed, the y/n prompt on the terminal, and the lock that makes
//! parallel callers wait for one login (PRODUCT.md §3 "When no usable key exists").

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, IsTerminal as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;

use crate::error::{Error, Result};

/// `CI` counts as set when it is non-empty and not `false` or `0`.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Whether the user can be asked: a terminal can be opened, stderr is a terminal, `CI` is
/// unset, and the caller allows it.
pub fn prompt_allowed(caller_allows: bool) -> bool {
    caller_allows && !ci() && std::io::stderr().is_terminal() && File::open("/dev/tty").is_ok()
}

/// Asks `question [y/n]: ` on the terminal (never on stdout) and reads the answer.
pub fn confirm(question: &str) -> Result<bool> {
    let tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| Error::Other(format!("cannot open the terminal: {e}")))?;
    let mut out = &tty;
    loop {
        write!(out, "{question} [y/n]: ")
            .and_then(|()| out.flush())
            .map_err(|e| Error::Other(e.to_string()))?;
        let mut line = String::new();
        let read = BufReader::new(&tty)
            .read_line(&mut line)
            .map_err(|e| Error::Other(e.to_string()))?;
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(true),
            "n" | "no" => return Ok(false),
            _ if read == 0 => return Ok(false),
            _ => {}
        }
    }
}

/// Held while one process logs in; others wait for it, then find the new key.
pub struct LoginLock {
    _file: File,
}

impl LoginLock {
    /// Takes `DIR/login.lock`, waiting while another process holds it.
    pub fn acquire(dir: &Path) -> Result<LoginLock> {
        // The folder of the keyring: private, as the keyring expects to find it (PRODUCT.md §4).
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::storage(dir, format!("cannot create the folder: {e}")))?;
        let path = dir.join("login.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::storage(&path, format!("cannot create the lock file: {e}")))?;
        file.lock()
            .map_err(|e| Error::storage(&path, format!("cannot lock: {e}")))?;
        Ok(LoginLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    // The lock creates a missing ~/.anaconda as private as the keyring would.
    #[test]
    fn lock_creates_a_private_folder() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".anaconda");
        let _lock = LoginLock::acquire(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
