//! Whether a prompt is allowed, the y/n prompt on the terminal, and the lock that makes
//! parallel callers wait for one login (PRODUCT.md §3 "When no usable key exists").

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{
    BufRead as _, BufReader, IsTerminal as _, Read as _, Seek as _, SeekFrom, Write as _,
};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result, verbose};

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
///
/// The lock file also carries the answer of a declined prompt, so that callers who waited
/// for it give up instead of asking the same question again.
pub struct LoginLock {
    file: File,
    /// When this process started waiting for another one (`None`: it did not wait).
    waited_since: Option<SystemTime>,
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
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::storage(&path, format!("cannot create the lock file: {e}")))?;
        let lock_failed = |e: std::io::Error| Error::storage(&path, format!("cannot lock: {e}"));
        let waited_since = match file.try_lock() {
            Ok(()) => None,
            Err(TryLockError::WouldBlock) => {
                let since = SystemTime::now();
                verbose("another anaconda-auth process is logging in; waiting for it");
                file.lock().map_err(lock_failed)?;
                Some(since)
            }
            Err(TryLockError::Error(e)) => return Err(lock_failed(e)),
        };
        Ok(LoginLock { file, waited_since })
    }

    /// Whether the process this one waited for was told `n` for a login to `domain`.
    pub fn declined_while_waiting(&self, domain: &str) -> bool {
        let Some(since) = self.waited_since else {
            return false;
        };
        let mut text = String::new();
        if (&self.file).seek(SeekFrom::Start(0)).is_err()
            || (&self.file).read_to_string(&mut text).is_err()
        {
            return false;
        }
        // A decline from before this process started waiting is someone else's answer.
        let since_ms = since
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        match text.trim().split_once(' ') {
            Some((at, declined)) => {
                declined == domain && at.parse::<u128>().is_ok_and(|at| at >= since_ms)
            }
            None => false,
        }
    }

    /// Records that the user said `n` to a login to `domain`, for the callers waiting.
    pub fn record_decline(&self, domain: &str) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        // Best effort: if this fails, the waiting callers ask again.
        let _ = self.file.set_len(0).and_then(|()| {
            (&self.file).seek(SeekFrom::Start(0))?;
            (&self.file).write_all(format!("{now_ms} {domain}\n").as_bytes())
        });
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

    // A decline counts for a caller that waited for it, for that domain only; a caller that
    // did not wait, or started waiting after the decline, asks again.
    #[test]
    fn declines_reach_only_the_waiting() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".anaconda");
        let first = LoginLock::acquire(&dir).unwrap();
        let (dir2, started) = (dir.clone(), std::sync::mpsc::channel());
        let waiter = std::thread::spawn(move || {
            started.0.send(()).unwrap();
            LoginLock::acquire(&dir2).unwrap()
        });
        started.1.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        first.record_decline("a.example");
        drop(first);
        let waited = waiter.join().unwrap();
        assert!(waited.declined_while_waiting("a.example"));
        assert!(!waited.declined_while_waiting("b.example"));
        drop(waited);
        let later = LoginLock::acquire(&dir).unwrap();
        assert!(!later.declined_while_waiting("a.example"));
    }
}
