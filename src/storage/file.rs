//! The file keyring `~/.anaconda/keyring` of PRODUCT.md §4, shared with the Python package.
//!
//! JSON `{"SERVICE": {"ACCOUNT": "SECRET"}}`. Writers take an exclusive lock on a side file,
//! re-read, change one entry and replace the file atomically (temp file + rename), so
//! concurrent writers lose nothing and readers, which take no lock, never see half a file.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result, warn};
use crate::secret::Secret;

/// The file keyring in one folder.
#[derive(Debug, Clone)]
pub struct FileKeyring {
    dir: PathBuf,
    path: PathBuf,
}

type Services = Map<String, Value>;

impl FileKeyring {
    /// The keyring `DIR/keyring` (DIR is normally `~/.anaconda`).
    pub fn new(dir: &Path) -> Self {
        FileKeyring {
            dir: dir.to_path_buf(),
            path: dir.join("keyring"),
        }
    }

    /// The keyring file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The secret stored for `service`/`account`, if any.
    pub fn get(&self, service: &str, account: &str) -> Result<Option<Secret>> {
        let services = self.read()?;
        Ok(services
            .get(service)
            .and_then(|accounts| accounts.get(account))
            .and_then(Value::as_str)
            .map(Secret::new))
    }

    /// Stores `secret` for `service`/`account`, keeping every other entry.
    pub fn set(&self, service: &str, account: &str, secret: &Secret) -> Result<()> {
        self.update(|services| {
            let accounts = services
                .entry(service.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(accounts) = accounts {
                accounts.insert(
                    account.to_string(),
                    Value::String(secret.expose().to_string()),
                );
            }
            true
        })
    }

    /// Removes the entry for `service`/`account`; `false` if there was none.
    pub fn delete(&self, service: &str, account: &str) -> Result<bool> {
        if !self.path.exists() {
            return Ok(false);
        }
        let mut removed = false;
        self.update(|services| {
            if let Some(Value::Object(accounts)) = services.get_mut(service) {
                removed = accounts.remove(account).is_some();
            }
            removed
        })?;
        Ok(removed)
    }

    /// Reads and checks the whole file. Missing or empty (0 bytes) means nothing stored.
    fn read(&self) -> Result<Services> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
            Err(e) => {
                return Err(Error::storage(
                    &self.path,
                    format!("cannot read the keyring: {e}"),
                ));
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        let corrupt = |what: &str| {
            Error::storage(
                &self.path,
                format!(
                    "the keyring file is corrupt ({what}); fix or move it away, then log in again"
                ),
            )
        };
        let services: Services = match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(corrupt("not a JSON object")),
            Err(_) => return Err(corrupt("not valid JSON")),
        };
        for (service, accounts) in &services {
            let ok = accounts
                .as_object()
                .is_some_and(|a| a.values().all(Value::is_string));
            if !ok {
                return Err(corrupt(&format!("{service:?} is not an object of strings")));
            }
        }
        Ok(services)
    }

    /// Locked read-modify-write; `change` says whether anything changed.
    fn update(&self, change: impl FnOnce(&mut Services) -> bool) -> Result<()> {
        self.prepare_dir()?;
        let lock_path = self.dir.join("keyring.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| Error::storage(&lock_path, format!("cannot create the lock file: {e}")))?;
        lock.lock()
            .map_err(|e| Error::storage(&lock_path, format!("cannot lock the keyring: {e}")))?;
        let mut services = self.read()?;
        if change(&mut services) {
            self.replace(&services)?;
        }
        Ok(())
    }

    /// Creates `~/.anaconda` as 0700, or tightens a looser existing one.
    fn prepare_dir(&self) -> Result<()> {
        match fs::metadata(&self.dir) {
            Ok(meta) if meta.is_dir() => {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    match fs::set_permissions(&self.dir, fs::Permissions::from_mode(mode & 0o700)) {
                        Ok(()) => warn(format_args!(
                            "{} was open to other users (mode {mode:o}); it is now {:o}",
                            self.dir.display(),
                            mode & 0o700
                        )),
                        Err(e) => warn(format_args!("cannot tighten {}: {e}", self.dir.display())),
                    }
                }
                Ok(())
            }
            Ok(_) => Err(Error::storage(&self.dir, "exists and is not a folder")),
            Err(_) => fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .map_err(|e| Error::storage(&self.dir, format!("cannot create the folder: {e}"))),
        }
    }

    /// Writes the whole file to a temp file beside it and renames it into place.
    fn replace(&self, services: &Services) -> Result<()> {
        let fail = |e: std::io::Error| {
            Error::storage(&self.path, format!("cannot write the keyring: {e}"))
        };
        let mut json = serde_json::to_vec(services).expect("a JSON map always serialises");
        let mut tmp = tempfile::Builder::new()
            .prefix(".keyring.")
            .tempfile_in(&self.dir)
            .map_err(fail)?;
        let written = tmp.write_all(&json).and_then(|()| tmp.as_file().sync_all());
        zeroize::Zeroize::zeroize(&mut json);
        written.map_err(fail)?;
        if let Ok(meta) = fs::metadata(&self.path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                warn(format_args!(
                    "{} was readable by other users (mode {mode:o}); it is now 600",
                    self.path.display()
                ));
            }
        }
        tmp.persist(&self.path).map_err(|e| fail(e.error))?;
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> (tempfile::TempDir, FileKeyring) {
        let home = tempfile::tempdir().unwrap();
        let k = FileKeyring::new(&home.path().join(".anaconda"));
        (home, k)
    }

    // Set, get and delete, with other services and accounts kept.
    #[test]
    fn round_trip_keeps_others() {
        let (_home, k) = keyring();
        fs::create_dir_all(&k.dir).unwrap();
        fs::write(k.path(), r#"{"other": {"x": "y"}}"#).unwrap();
        k.set("Anaconda Cloud", "a.example", &Secret::new("s1"))
            .unwrap();
        k.set("Anaconda Cloud", "b.example", &Secret::new("s2"))
            .unwrap();
        assert_eq!(
            k.get("Anaconda Cloud", "a.example")
                .unwrap()
                .unwrap()
                .expose(),
            "s1"
        );
        assert!(k.delete("Anaconda Cloud", "a.example").unwrap());
        assert!(!k.delete("Anaconda Cloud", "a.example").unwrap());
        let text = fs::read_to_string(k.path()).unwrap();
        assert_eq!(
            text,
            r#"{"other":{"x":"y"},"Anaconda Cloud":{"b.example":"s2"}}"#
        );
    }

    // New files are 0600 in a 0700 folder.
    #[test]
    fn permissions() {
        let (_home, k) = keyring();
        k.set("s", "a", &Secret::new("x")).unwrap();
        assert_eq!(
            fs::metadata(k.path()).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(&k.dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    // An empty file is nothing stored; a corrupt one is an error and stays as it was.
    #[test]
    fn empty_and_corrupt() {
        let (_home, k) = keyring();
        fs::create_dir_all(&k.dir).unwrap();
        fs::write(k.path(), "").unwrap();
        assert!(k.get("s", "a").unwrap().is_none());
        for bad in ["{not json", "[]", r#"{"s": {"a": 1}}"#, r#"{"s": "x"}"#] {
            fs::write(k.path(), bad).unwrap();
            let err = k.set("s", "a", &Secret::new("x")).unwrap_err();
            assert_eq!(err.exit_code(), 5);
            assert!(err.to_string().contains("keyring"), "{err}");
            assert_eq!(fs::read_to_string(k.path()).unwrap(), bad);
        }
    }
}
