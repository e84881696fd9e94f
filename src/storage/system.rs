//! The OS keyring (Secret Service, Keychain, Credential Manager) behind a 3-second timeout.
//!
//! A hung D-Bus on a headless machine must not hang the helper (Bazel kills it after 10 s),
//! so every call runs on a thread and is abandoned when it does not answer in time.

use std::sync::mpsc;
use std::time::Duration;

use crate::secret::Secret;

/// How long one call to the OS keyring may take.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Why the OS keyring could not be used.
#[derive(Debug)]
pub enum SystemError {
    /// No OS keyring, or it did not answer in time: use the file instead.
    Unavailable(String),
    /// The keyring answered with a refusal that the file would not fix (secret too long).
    Refused(String),
}

fn run<T: Send + 'static>(
    what: &'static str,
    call: impl FnOnce() -> keyring::Result<T> + Send + 'static,
) -> Result<Option<T>, SystemError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(call());
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok(Ok(value)) => Ok(Some(value)),
        Ok(Err(keyring::Error::NoEntry)) => Ok(None),
        Ok(Err(keyring::Error::TooLong(_, limit))) => Err(SystemError::Refused(format!(
            "the secret is longer than the system keyring allows ({limit} bytes)"
        ))),
        Ok(Err(e)) => Err(SystemError::Unavailable(format!("{what}: {e}"))),
        Err(_) => Err(SystemError::Unavailable(format!(
            "{what}: no answer within {} s",
            TIMEOUT.as_secs()
        ))),
    }
}

/// The secret for `service`/`account`, if the OS keyring has one.
pub fn get(service: &str, account: &str) -> Result<Option<Secret>, SystemError> {
    let (service, account) = (service.to_string(), account.to_string());
    run("reading the system keyring", move || {
        keyring::Entry::new(&service, &account)?
            .get_password()
            .map(Secret::new)
    })
}

/// Stores `secret` for `service`/`account` in the OS keyring.
pub fn set(service: &str, account: &str, secret: &Secret) -> Result<(), SystemError> {
    let (service, account, secret) = (service.to_string(), account.to_string(), secret.clone());
    run("writing the system keyring", move || {
        keyring::Entry::new(&service, &account)?.set_password(secret.expose())
    })
    .map(|_| ())
}

/// Deletes the entry; `false` if there was none.
pub fn delete(service: &str, account: &str) -> Result<bool, SystemError> {
    let (service, account) = (service.to_string(), account.to_string());
    run("deleting from the system keyring", move || {
        keyring::Entry::new(&service, &account)?.delete_credential()
    })
    .map(|deleted| deleted.is_some())
}
