//! The OS keyring (Secret Service, Keychain, Credential Manager) of PRODUCT.md §4, behind a
//! 3-second timeout.
//!
//! A hung D-Bus on a headless machine must not hang the helper (Bazel kills it after 10 s),
//! so every call runs on a thread and is abandoned when it does not answer in time. Once the
//! store has been found missing or silent, later calls in the same process give up at once:
//! one wait per command, not one per call.

use std::sync::OnceLock;
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
    /// The keyring answered with a failure (a secret too long, a locked or broken store).
    Failed(String),
}

/// Why the store is unavailable, once that is known in this process.
static UNAVAILABLE: OnceLock<String> = OnceLock::new();

fn run<T: Send + 'static>(
    what: &'static str,
    service: &str,
    account: &str,
    call: impl FnOnce(&keyring::Entry) -> keyring::Result<T> + Send + 'static,
) -> Result<Option<T>, SystemError> {
    if let Some(why) = UNAVAILABLE.get() {
        return Err(SystemError::Unavailable(why.clone()));
    }
    let (service, account) = (service.to_string(), account.to_string());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // `Ok(Err(_))`: the store is there and the call failed; `Err(_)`: there is no store.
        let result = match keyring::Entry::new(&service, &account) {
            Ok(entry) => Ok(call(&entry)),
            Err(e) => Err(match keyring::Entry::store_status() {
                Err(why) => why.to_string(),
                Ok(()) => e.to_string(),
            }),
        };
        let _ = tx.send(result);
    });
    let unavailable = |why: String| {
        let why = UNAVAILABLE.get_or_init(|| why);
        SystemError::Unavailable(why.clone())
    };
    match rx.recv_timeout(TIMEOUT) {
        Ok(Ok(Ok(value))) => Ok(Some(value)),
        Ok(Ok(Err(keyring::Error::NoEntry))) => Ok(None),
        Ok(Ok(Err(e))) => Err(SystemError::Failed(failure(what, &e))),
        Ok(Err(why)) => Err(unavailable(why)),
        Err(_) => Err(unavailable(format!(
            "no answer within {} s",
            TIMEOUT.as_secs()
        ))),
    }
}

/// A failure in words, without the list of entries an `Ambiguous` error would print.
fn failure(what: &str, e: &keyring::Error) -> String {
    let why = match e {
        keyring::Error::TooLong(_, limit) => {
            format!("the secret is longer than the store allows ({limit})")
        }
        keyring::Error::Ambiguous(entries) => format!(
            "{} entries match; remove the extra ones with your keyring manager",
            entries.len()
        ),
        other => other.to_string(),
    };
    format!("{what} failed ({why})")
}

/// The secret for `service`/`account`, if the OS keyring has one.
pub fn get(service: &str, account: &str) -> Result<Option<Secret>, SystemError> {
    run("reading", service, account, |entry| {
        entry.get_password().map(Secret::new)
    })
}

/// Stores `secret` for `service`/`account` in the OS keyring.
pub fn set(service: &str, account: &str, secret: &Secret) -> Result<(), SystemError> {
    let secret = secret.clone();
    run("writing", service, account, move |entry| {
        entry.set_password(secret.expose())
    })
    .map(|_| ())
}

/// Deletes the entry; `false` if there was none.
pub fn delete(service: &str, account: &str) -> Result<bool, SystemError> {
    run("deleting", service, account, |entry| {
        entry.delete_credential()
    })
    .map(|deleted| deleted.is_some())
}
