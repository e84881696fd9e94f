//! The file keyring `~/.anaconda/keyring` of PRODUCT.md §4, shared with the Python package.
//!
//! JSON `{"SERVICE": {"ACCOUNT": "SECRET"}}`. Writers take an exclusive lock on a side file,
//! re-read, change one entry and replace the file atomically (temp file + rename), so
//! concurrent writers lose nothing and readers, which take no lock, never see half a file of
//! ours; they wait a moment for one the Python package is rewriting in place.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use zeroize::Zeroize as _;

use crate::error::{Error, Result, warn};
use crate::secret::Secret;

/// The file keyring in one folder.
#[derive(Debug, Clone)]
pub struct FileKeyring {
    dir: PathBuf,
    path: PathBuf,
    /// How long a writer waits for the lock ([`LOCK_WAIT`]; shorter in tests).
    lock_wait: Duration,
}

type Services = Map<String, Value>;

/// The name of a writer's temp file starts with this.
const TEMP_PREFIX: &str = ".keyring.";

/// How long a reader waits for a file that may be in the middle of a rewrite. Python's
/// rewrite takes milliseconds, but a busy machine can stall it for hundreds of them.
const SETTLE: Duration = Duration::from_secs(1);
/// How often it looks again meanwhile.
const SETTLE_POLL: Duration = Duration::from_millis(10);
/// How long a writer waits for another to release the lock. Writers hold it for
/// milliseconds; one that holds it longer is stuck, and waiting for it would hang `store`.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// A file modified longer ago than this is not being written.
const RECENT: Duration = Duration::from_secs(2);

impl FileKeyring {
    /// The keyring `DIR/keyring` (DIR is normally `~/.anaconda`).
    pub fn new(dir: &Path) -> Self {
        FileKeyring {
            dir: dir.to_path_buf(),
            path: dir.join("keyring"),
            lock_wait: LOCK_WAIT,
        }
    }

    /// The keyring file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The secret stored for `service`/`account`, if any.
    ///
    /// The whole file is checked, as a write would check it, but only this entry is copied
    /// out of it: `get` stays as fast with a thousand domains stored as with one.
    pub fn get(&self, service: &str, account: &str) -> Result<Option<Secret>> {
        Ok(self
            .read_with(|bytes| lookup(bytes, service, account))?
            .flatten())
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
        Ok(self.read_with(parse)?.unwrap_or_default())
    }

    /// Reads the file and hands its bytes to `parse`; `None` when there is no file, or
    /// `parse` finds it empty. The bytes are wiped afterwards: they hold every stored key.
    ///
    /// The Python package rewrites the file in place (truncate, then write), so a reader can
    /// catch it empty or half written. A file that is empty or unparsable and was modified in
    /// the last 2 s is read again every 10 ms, for up to 1 s, before it counts as empty or
    /// corrupt; a file that stays so for longer is what it looks like.
    fn read_with<T>(&self, parse: impl Fn(&[u8]) -> ParseResult<T>) -> Result<Option<T>> {
        let deadline = Instant::now() + SETTLE;
        loop {
            let (mut bytes, modified) = match self.read_bytes()? {
                Some(read) => read,
                None => return Ok(None),
            };
            let parsed = parse(&bytes);
            bytes.zeroize();
            let settled = matches!(parsed, Ok(Some(_)))
                || modified.elapsed().map_or(true, |age| age > RECENT)
                || Instant::now() >= deadline;
            if settled {
                return parsed.map_err(|what| {
                    Error::storage(
                        &self.path,
                        format!(
                            "the keyring file is corrupt ({what}); fix or move it away, then log in again"
                        ),
                    )
                });
            }
            std::thread::sleep(SETTLE_POLL);
        }
    }

    /// The file's bytes and modification time; `None` when there is no file.
    fn read_bytes(&self) -> Result<Option<(Vec<u8>, SystemTime)>> {
        let cannot =
            |e: std::io::Error| Error::storage(&self.path, format!("cannot read the keyring: {e}"));
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(cannot(e)),
        };
        let modified = file.metadata().and_then(|m| m.modified()).map_err(cannot)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(cannot)?;
        Ok(Some((bytes, modified)))
    }

    /// Locked read-modify-write; `change` says whether anything changed.
    fn update(&self, change: impl FnOnce(&mut Services) -> bool) -> Result<()> {
        self.create_dir()?;
        let lock_path = self.dir.join("keyring.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| Error::storage(&lock_path, format!("cannot create the lock file: {e}")))?;
        self.wait_for(&lock, &lock_path)?;
        self.remove_stale_temp_files();
        let mut services = self.read()?;
        if change(&mut services) {
            self.tighten_dir();
            self.replace(&services)?;
        }
        Ok(())
    }

    /// Takes the exclusive lock on `lock`, waiting at most `lock_wait`.
    fn wait_for(&self, lock: &File, lock_path: &Path) -> Result<()> {
        let deadline = Instant::now() + self.lock_wait;
        loop {
            match lock.try_lock() {
                Ok(()) => return Ok(()),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(SETTLE_POLL);
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::storage(
                        lock_path,
                        format!(
                            "another process has held the keyring's lock for {} s; nothing was \
                             changed. Stop the stuck anaconda-auth (see `fuser {}`) and try again",
                            self.lock_wait.as_secs(),
                            lock_path.display()
                        ),
                    ));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::storage(
                        lock_path,
                        format!("cannot lock the keyring: {e}"),
                    ));
                }
            }
        }
    }

    /// Creates `~/.anaconda` as 0700 when it is missing.
    fn create_dir(&self) -> Result<()> {
        match fs::metadata(&self.dir) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(Error::storage(&self.dir, "exists and is not a folder")),
            Err(_) => fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .map_err(|e| Error::storage(&self.dir, format!("cannot create the folder: {e}"))),
        }
    }

    /// Takes group and other permissions off `~/.anaconda` (the Python package makes it
    /// 0755), and says so.
    fn tighten_dir(&self) {
        let Ok(meta) = fs::metadata(&self.dir) else {
            return;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            return;
        }
        match fs::set_permissions(&self.dir, fs::Permissions::from_mode(mode & 0o700)) {
            Ok(()) => warn(format_args!(
                "{} was open to other users (mode {mode:o}); it is now {:o}",
                self.dir.display(),
                mode & 0o700
            )),
            Err(e) => warn(format_args!("cannot tighten {}: {e}", self.dir.display())),
        }
    }

    /// Removes the temp files of writers killed before their rename: each holds a copy of the
    /// keyring. Called under the lock, which every writer holds while its temp file exists.
    fn remove_stale_temp_files(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Writes the whole file to a temp file beside it and renames it into place.
    fn replace(&self, services: &Services) -> Result<()> {
        let fail = |e: std::io::Error| {
            Error::storage(&self.path, format!("cannot write the keyring: {e}"))
        };
        let mut json = serde_json::to_vec(services).expect("a JSON map always serialises");
        let mut tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&self.dir)
            .map_err(fail)?;
        let written = tmp.write_all(&json).and_then(|()| tmp.as_file().sync_all());
        json.zeroize();
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

/// The services in a keyring file: `None` when it is empty, an error saying what is wrong
/// when it is not JSON of the right shape.
fn parse(bytes: &[u8]) -> ParseResult<Services> {
    if is_blank(bytes) {
        return Ok(None);
    }
    let services: Services = match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err("not a JSON object".into()),
        Err(_) => return Err("not valid JSON".into()),
    };
    for (service, accounts) in &services {
        let ok = accounts
            .as_object()
            .is_some_and(|a| a.values().all(Value::is_string));
        if !ok {
            return Err(format!("{service:?} is not an object of strings"));
        }
    }
    Ok(Some(services))
}

/// What a keyring file holds (`None`: it is empty), or what is wrong with it.
type ParseResult<T> = std::result::Result<Option<T>, String>;

/// A file of whitespace only (or 0 bytes) holds nothing: the Python package leaves them.
fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// The secret for `service`/`account` in a keyring file (`Some(None)`: not there), checking
/// the shape of the whole file as [`parse`] does, but copying no other entry out of it.
fn lookup(bytes: &[u8], service: &str, account: &str) -> ParseResult<Option<Secret>> {
    if is_blank(bytes) {
        return Ok(None);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // An object of services, each an object of strings.
    let services = Object {
        name: Some(service),
        value: |wanted: bool| Object {
            name: wanted.then_some(account),
            value: |keep| StringSeed { keep },
        },
    };
    let found = services
        .deserialize(&mut de)
        .and_then(|found| de.end().map(|()| found));
    match found {
        Ok(found) => Ok(Some(found)),
        // Only a damaged file gets here; the full parse says what is wrong with it.
        Err(e) => Err(parse(bytes).err().unwrap_or_else(|| e.to_string())),
    }
}

// The seeds `lookup` walks the file with: each checks its level's shape and keeps only the
// wanted entry. A name seen twice takes the last value, as `serde_json::Map` and Python's
// `json` do.

/// An object: the value under `name` is read by the seed `value(true)`, every other one by
/// `value(false)`; gives what the wanted one gave (`None` when `name` is `None` or absent).
struct Object<'a, F> {
    name: Option<&'a str>,
    value: F,
}

impl<'de, F, S> DeserializeSeed<'de> for Object<'_, F>
where
    F: Fn(bool) -> S,
    S: DeserializeSeed<'de, Value = Option<Secret>>,
{
    type Value = Option<Secret>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F, S> Visitor<'de> for Object<'_, F>
where
    F: Fn(bool) -> S,
    S: DeserializeSeed<'de, Value = Option<Secret>>,
{
    type Value = Option<Secret>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(wanted) = map.next_key_seed(NameIs(self.name))? {
            let value = map.next_value_seed((self.value)(wanted))?;
            if wanted {
                found = value;
            }
        }
        Ok(found)
    }
}

/// A name (an object key): whether it is the one wanted (`None`: none is).
struct NameIs<'a>(Option<&'a str>);

impl<'de> DeserializeSeed<'de> for NameIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for NameIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> std::result::Result<bool, E> {
        Ok(self.0 == Some(name))
    }
}

/// A string value: copied out only when it is the wanted one.
struct StringSeed {
    keep: bool,
}

impl<'de> DeserializeSeed<'de> for StringSeed {
    type Value = Option<Secret>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for StringSeed {
    type Value = Option<Secret>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> std::result::Result<Self::Value, E> {
        Ok(self.keep.then(|| Secret::new(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `text` as a file last modified an hour ago.
    fn write_old(path: &Path, text: &str) {
        fs::write(path, text).unwrap();
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let file = File::options().write(true).open(path).unwrap();
        file.set_modified(an_hour_ago).unwrap();
    }

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

    // A file caught in the middle of an in-place rewrite (Python's) is waited for.
    #[test]
    fn waits_for_a_rewrite_in_progress() {
        let (_home, k) = keyring();
        fs::create_dir_all(&k.dir).unwrap();
        for caught in ["", r#"{"s": {"a": "hal"#] {
            fs::write(k.path(), caught).unwrap();
            let path = k.path().to_path_buf();
            let writer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(60));
                fs::write(path, r#"{"s": {"a": "whole"}}"#).unwrap();
            });
            assert_eq!(k.get("s", "a").unwrap().unwrap().expose(), "whole");
            writer.join().unwrap();
        }
    }

    // An empty or corrupt file not touched for a while is taken as it is, at once.
    #[test]
    fn old_files_are_not_waited_for() {
        let (_home, k) = keyring();
        fs::create_dir_all(&k.dir).unwrap();
        for old in ["", "{not json"] {
            write_old(k.path(), old);
            let started = Instant::now();
            let _ = k.get("s", "a");
            assert!(started.elapsed() < SETTLE / 2, "{old:?}");
        }
    }

    // An empty file is nothing stored; a corrupt one is an error and stays as it was.
    #[test]
    fn empty_and_corrupt() {
        let (_home, k) = keyring();
        fs::create_dir_all(&k.dir).unwrap();
        write_old(k.path(), "");
        assert!(k.get("s", "a").unwrap().is_none());
        for bad in ["{not json", "[]", r#"{"s": {"a": 1}}"#, r#"{"s": "x"}"#] {
            write_old(k.path(), bad);
            let err = k.set("s", "a", &Secret::new("x")).unwrap_err();
            assert_eq!(err.exit_code(), 5);
            assert!(err.to_string().contains("keyring"), "{err}");
            assert_eq!(fs::read_to_string(k.path()).unwrap(), bad);
        }
    }

    // The lookup refuses every file the full parse refuses (its message is then the parse's).
    #[test]
    fn lookup_checks_the_whole_shape() {
        let bad = [
            "{not json",
            "[]",
            "\"x\"",
            r#"{"s": {"a": 1}}"#,
            r#"{"s": "x"}"#,
            r#"{"other": {"a": null}, "s": {"a": "k"}}"#,
            r#"{"s": {"a": "k"}} trailing"#,
            r#"{"s": {"a": "k"}, "z": []}"#,
        ];
        for text in bad {
            let expected = parse(text.as_bytes()).unwrap_err();
            assert_eq!(
                lookup(text.as_bytes(), "s", "a").unwrap_err(),
                expected,
                "{text}"
            );
        }
        assert_eq!(lookup(b" \n", "s", "a").unwrap(), None);
    }

    // Only the wanted service's account answers; the last of duplicate names wins; escapes
    // are decoded.
    #[test]
    fn lookup_finds_one_entry() {
        let text =
            r#"{"other": {"a": "wrong"}, "s": {"b": "x", "a": "first", "a": "caf\u00e9\/1"}}"#;
        let find = |service, account| {
            lookup(text.as_bytes(), service, account)
                .unwrap()
                .unwrap()
                .map(|s| s.expose().to_string())
        };
        assert_eq!(find("s", "a").as_deref(), Some("café/1"));
        assert_eq!(find("other", "a").as_deref(), Some("wrong"));
        assert_eq!(find("s", "c"), None);
        assert_eq!(find("nope", "a"), None);
        assert_eq!(
            parse(text.as_bytes()).unwrap().unwrap()["s"]["a"],
            "caf\u{e9}/1"
        );
    }
    // A lock that another process never lets go of: the writer gives up after its wait with
    // exit 5 naming the lock file, and nothing changes. It used to wait forever.
    #[test]
    fn a_stuck_lock_is_reported_not_waited_on_forever() {
        let (_home, mut k) = keyring();
        k.lock_wait = Duration::from_millis(300);
        k.set("s", "a", &Secret::new("x")).unwrap();
        let holder = File::options()
            .write(true)
            .open(k.dir.join("keyring.lock"))
            .unwrap();
        holder.lock().unwrap();
        let started = Instant::now();
        let err = k.set("s", "b", &Secret::new("y")).unwrap_err();
        assert!(started.elapsed() >= k.lock_wait);
        assert_eq!(err.exit_code(), 5);
        assert!(err.to_string().contains("keyring.lock"), "{err}");
        assert!(k.get("s", "b").unwrap().is_none());
        drop(holder);
        k.set("s", "b", &Secret::new("y")).unwrap();
    }
}
