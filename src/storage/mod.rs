//! Where token records live (PRODUCT.md §4): the file keyring, or the OS keyring with the
//! file as fallback, plus the move from the legacy `id.anaconda.cloud` name.

pub mod file;
pub mod system;

use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::{Settings, StorageKind};
use crate::domain::Domain;
use crate::error::{Error, Result, warn};
use crate::secret::Secret;
use crate::token::{RECORD_VERSION, SERVICE, TokenRecord};

pub use file::FileKeyring;

/// The configured store.
#[derive(Debug, Clone)]
pub struct Store {
    kind: StorageKind,
    file: FileKeyring,
}

impl Store {
    /// The store the settings name.
    pub fn new(settings: &Settings) -> Store {
        Store {
            kind: settings.preferred_token_storage.value,
            file: FileKeyring::new(&settings.anaconda_dir()),
        }
    }

    /// Where keys go, for `status`.
    pub fn describe(&self) -> String {
        match self.kind {
            StorageKind::File => self.file.path().display().to_string(),
            StorageKind::System => format!(
                "system keyring (falling back to {})",
                self.file.path().display()
            ),
        }
    }

    /// The record for `domain`; a record under the legacy name is moved to the new one.
    pub fn load(&self, domain: &Domain) -> Result<Option<TokenRecord>> {
        if let Some(record) = self.load_exact(domain)? {
            return Ok(Some(record));
        }
        let Some(legacy) = domain.legacy() else {
            return Ok(None);
        };
        let Some(mut record) = self.load_exact(&legacy)? else {
            return Ok(None);
        };
        // As Python's TokenInfo.load does: the new name, and the current record version.
        record.domain = domain.as_str().to_string();
        record.version = Some(RECORD_VERSION);
        self.save(&record)?;
        self.delete_exact(&legacy)?;
        Ok(Some(record))
    }

    fn load_exact(&self, domain: &Domain) -> Result<Option<TokenRecord>> {
        let account = domain.as_str();
        let (secret, origin) = match self.kind {
            StorageKind::File => (
                self.file.get(SERVICE, account)?,
                self.file.path().display().to_string(),
            ),
            StorageKind::System => match system::get(SERVICE, account) {
                Ok(Some(secret)) => (Some(secret), "the system keyring".to_string()),
                Ok(None) => (
                    self.file.get(SERVICE, account)?,
                    self.file.path().display().to_string(),
                ),
                Err(system::SystemError::Unavailable(why) | system::SystemError::Refused(why)) => {
                    self.fallback(&why);
                    (
                        self.file.get(SERVICE, account)?,
                        self.file.path().display().to_string(),
                    )
                }
            },
        };
        let Some(secret) = secret else {
            return Ok(None);
        };
        TokenRecord::decode(secret.expose()).map(Some).map_err(|e| {
            Error::storage(origin, format!("the entry for {account} is corrupt ({e}); run `anaconda-auth logout` and log in again"))
        })
    }

    /// Stores `record` under its domain.
    pub fn save(&self, record: &TokenRecord) -> Result<()> {
        let secret: Secret = record.encode();
        if self.kind == StorageKind::System {
            match system::set(SERVICE, &record.domain, &secret) {
                Ok(()) => return Ok(()),
                Err(system::SystemError::Refused(why)) => {
                    return Err(Error::storage("system keyring", why));
                }
                Err(system::SystemError::Unavailable(why)) => self.fallback(&why),
            }
        }
        self.file.set(SERVICE, &record.domain, &secret)
    }

    /// Says on stderr, once per process, that the system keyring is not used and why.
    fn fallback(&self, why: &str) {
        static SAID: AtomicBool = AtomicBool::new(false);
        if !SAID.swap(true, Ordering::Relaxed) {
            warn(format_args!(
                "system keyring unavailable ({why}); using {}",
                self.file.path().display()
            ));
        }
    }

    /// Forgets the record for `domain`; `false` if there was none.
    pub fn delete(&self, domain: &Domain) -> Result<bool> {
        let mut removed = self.delete_exact(domain)?;
        if let Some(legacy) = domain.legacy() {
            removed |= self.delete_exact(&legacy)?;
        }
        Ok(removed)
    }

    fn delete_exact(&self, domain: &Domain) -> Result<bool> {
        let mut removed = false;
        if self.kind == StorageKind::System {
            match system::delete(SERVICE, domain.as_str()) {
                Ok(r) => removed = r,
                Err(system::SystemError::Unavailable(why) | system::SystemError::Refused(why)) => {
                    self.fallback(&why);
                }
            }
        }
        // The file may hold a key from a fallback, so it is always cleaned too.
        removed |= self.file.delete(SERVICE, domain.as_str())?;
        Ok(removed)
    }
}
