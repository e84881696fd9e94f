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
use system::SystemError;

/// How errors name the OS keyring.
const SYSTEM: &str = "system keyring";

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
                Err(SystemError::Unavailable(why)) => {
                    self.fallback(&why);
                    (
                        self.file.get(SERVICE, account)?,
                        self.file.path().display().to_string(),
                    )
                }
                Err(SystemError::Failed(why)) => return Err(Error::storage(SYSTEM, why)),
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
    ///
    /// With system storage, only a store that is missing or silent sends the record to the
    /// file. One that answers with a failure (a secret too large for it, a locked store) is an
    /// error and nothing changes: a record put in the file instead would stay hidden behind
    /// the older one in the system store, which reads look at first.
    pub fn save(&self, record: &TokenRecord) -> Result<()> {
        let secret: Secret = record.encode();
        if self.kind == StorageKind::System {
            match system::set(SERVICE, &record.domain, &secret) {
                Ok(()) => return Ok(()),
                Err(SystemError::Failed(why)) => {
                    return Err(Error::storage(
                        SYSTEM,
                        format!(
                            "{why}; nothing was stored for {} (a {}-byte secret). To keep keys in {} \
                             instead, set preferred_token_storage = \"anaconda-keyring\"",
                            record.domain,
                            secret.expose().len(),
                            self.file.path().display()
                        ),
                    ));
                }
                Err(SystemError::Unavailable(why)) => self.fallback(&why),
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
                Err(SystemError::Unavailable(why)) => self.fallback(&why),
                Err(SystemError::Failed(why)) => {
                    return Err(Error::storage(
                        SYSTEM,
                        format!("{why}; the key for {domain} is still stored there"),
                    ));
                }
            }
        }
        // The file may hold a key from a fallback, so it is always cleaned too.
        removed |= self.file.delete(SERVICE, domain.as_str())?;
        Ok(removed)
    }
}
