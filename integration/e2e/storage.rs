//! The file keyring `~/.anaconda/keyring` (PRODUCT.md §4) under parallel writers, readers
//! and killed writers, with loose permissions and damaged files; domain normalisation and
//! `logout`.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Child;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::util::Home;

/// The keyring file as JSON, with every `Anaconda Cloud` secret decoded: a corrupt file fails.
fn records(home: &Home) -> (Value, Vec<Value>) {
    let text = std::fs::read_to_string(home.keyring()).unwrap();
    let file: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the keyring is not JSON ({e}): {text:?}"));
    let records = file["Anaconda Cloud"]
        .as_object()
        .map(|accounts| {
            accounts
                .iter()
                .map(|(account, secret)| {
                    let json = STANDARD.decode(secret.as_str().unwrap()).unwrap();
                    let record: Value = serde_json::from_slice(&json).unwrap();
                    assert_eq!(record["domain"], account.as_str());
                    record
                })
                .collect()
        })
        .unwrap_or_default();
    (file, records)
}

/// Held by the tests that start many processes or time what they run, so that those do not
/// run beside each other on a small machine (a 3 s timeout is part of what is tested).
pub fn take_turns() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(PoisonError::into_inner)
}

fn write_keyring(home: &Home, text: &str) {
    std::fs::create_dir_all(home.path().join(".anaconda")).unwrap();
    std::fs::write(home.keyring(), text).unwrap();
}

/// Marks the keyring file as last modified an hour ago: not in the middle of a rewrite.
fn age_keyring(home: &Home) {
    let file = std::fs::File::options()
        .write(true)
        .open(home.keyring())
        .unwrap();
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

// 64 processes store 64 domains at once while readers keep asking: every record is there,
// the file is valid JSON, other services are kept, and no reader ever fails.
#[test]
fn parallel_writers_lose_nothing() {
    let _turn = take_turns();
    let home = Home::bare();
    write_keyring(&home, r#"{"other service": {"someone": "their secret"}}"#);
    home.ok(
        &["store"],
        r#"{"domain": "reader.example", "api_key": "rk"}"#,
    );
    let writers: Vec<Child> = (0..64)
        .map(|i| {
            let record = json!({"domain": format!("d{i}.example"), "api_key": format!("key-{i}")});
            home.spawn(&["store"], &record.to_string())
        })
        .collect();
    let readers: Vec<Child> = (0..16)
        .map(|_| home.spawn(&["get", "--domain", "reader.example"], ""))
        .collect();
    for child in writers {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    for child in readers {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, b"Bearer rk\n");
    }
    let (file, records) = records(&home);
    assert_eq!(file["other service"], json!({"someone": "their secret"}));
    assert_eq!(records.len(), 65);
    for i in 0..64 {
        let domain = format!("d{i}.example");
        let record = records.iter().find(|r| r["domain"] == domain.as_str());
        assert_eq!(
            record.map(|r| r["api_key"].clone()),
            Some(json!(format!("key-{i}"))),
            "{domain}"
        );
    }
}

// A writer killed with SIGKILL at any point of a store leaves the old file or the new one,
// never a corrupt one. The kill times spread over a whole store, so some stores land and some
// do not: the window is real.
#[test]
fn killed_writers_never_corrupt_the_file() {
    let _turn = take_turns();
    let home = Home::bare();
    write_keyring(&home, r#"{"other service": {"someone": "their secret"}}"#);
    home.ok(
        &["store"],
        r#"{"domain": "base.example", "api_key": "base"}"#,
    );
    let started = Instant::now();
    home.ok(
        &["store"],
        r#"{"domain": "timing.example", "api_key": "t"}"#,
    );
    let one_store = started.elapsed();

    let (mut landed, mut lost) = (0, 0);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..150 {
        // xorshift: a different point of the store each time, the same run to run.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = one_store.mul_f64((seed % 1000) as f64 / 1000.0 * 1.2);
        let domain = format!("k{i}.example");
        let mut child = home.spawn(
            &["store"],
            &json!({"domain": domain, "api_key": format!("key-{i}")}).to_string(),
        );
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        let (file, records) = records(&home);
        assert_eq!(file["other service"], json!({"someone": "their secret"}));
        assert!(records.iter().any(|r| r["api_key"] == "base"));
        if records.iter().any(|r| r["domain"] == domain.as_str()) {
            landed += 1;
        } else {
            lost += 1;
        }
    }
    assert!(
        landed >= 5 && lost >= 5,
        "kills did not spread over the store ({landed} landed, {lost} lost, one store takes {one_store:?})"
    );
    // The next store removes the temp files (copies of the keyring) of the killed writers.
    home.ok(&["store"], r#"{"domain": "last.example", "api_key": "l"}"#);
    let mut left: Vec<String> = std::fs::read_dir(home.path().join(".anaconda"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["keyring", "keyring.lock"]);
    home.ok(&["get", "--domain", "base.example"], "");
}

// A folder and file left open to others (as the Python package leaves them) are tightened to
// 0700 and 0600 on the next write, and stderr says so; the entries in them are kept.
#[test]
fn loose_permissions_are_tightened() {
    let home = Home::bare();
    write_keyring(&home, r#"{"other service": {"someone": "their secret"}}"#);
    let dir = home.path().join(".anaconda");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(home.keyring(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = home.ok(&["store"], r#"{"domain": "a.example", "api_key": "k"}"#);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&home.keyring()), 0o600);
    assert!(
        store.stderr.contains(&format!(
            "{} was open to other users (mode 755)",
            dir.display()
        )),
        "{}",
        store.stderr
    );
    assert!(
        store
            .stderr
            .contains("readable by other users (mode 644); it is now 600"),
        "{}",
        store.stderr
    );
    let (file, records) = records(&home);
    assert_eq!(file["other service"], json!({"someone": "their secret"}));
    assert_eq!(records.len(), 1);
    // Nothing to tighten: nothing said.
    let again = home.ok(&["store"], r#"{"domain": "b.example", "api_key": "k"}"#);
    assert_eq!(again.stderr, "");
}

// A corrupt or unreadable keyring is an error naming the file (exit 5) for every command that
// touches it, and is left byte for byte as it was; a 0-byte one means nothing stored.
#[test]
fn damaged_keyring_is_never_replaced() {
    let home = Home::bare();
    let keyring = home.keyring().display().to_string();
    for damaged in [
        "{\"Anaconda Cloud\": {\"a.example\": ",
        "[\"a list\"]",
        "{\"Anaconda Cloud\": {\"a.example\": 7}}",
        "\u{0}\u{1}binary",
    ] {
        write_keyring(&home, damaged);
        age_keyring(&home);
        for (args, stdin) in [
            (&["store"][..], r#"{"domain": "a.example", "api_key": "k"}"#),
            (&["erase"][..], r#"{"domain": "a.example"}"#),
            (&["logout", "--domain", "a.example"][..], ""),
            (&["get", "--domain", "a.example"][..], ""),
            (&["api-key", "--domain", "a.example"][..], ""),
        ] {
            let run = home.run(args, stdin);
            assert_eq!(run.code, 5, "{args:?} on {damaged:?}: {run:?}");
            assert!(
                run.stderr.contains(&keyring) && run.stderr.contains("corrupt"),
                "{args:?}: {}",
                run.stderr
            );
            if ["store", "erase", "get"].contains(&args[0]) {
                assert_eq!((run.stdout.as_str(), run.stderr.lines().count()), ("", 1));
            }
            assert_eq!(std::fs::read_to_string(home.keyring()).unwrap(), damaged);
        }
    }

    std::fs::remove_file(home.keyring()).unwrap();
    std::fs::create_dir(home.keyring()).unwrap();
    let run = home.run(&["get", "--domain", "a.example"], "");
    assert_eq!(run.code, 5, "{run:?}");
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);
    std::fs::remove_dir(home.keyring()).unwrap();

    write_keyring(&home, "");
    age_keyring(&home);
    assert_eq!(home.run(&["get", "--domain", "a.example"], "").code, 3);
    assert_eq!(home.run(&["logout", "--domain", "a.example"], "").code, 0);
    home.ok(&["store"], r#"{"domain": "a.example", "api_key": "k"}"#);
    assert_eq!(records(&home).1.len(), 1);
}

// A domain is stored under one spelling: lowercase host, port kept unless it is 443, no
// scheme or slash; every spelling of it finds the record.
#[test]
fn domains_are_normalised() {
    let home = Home::bare();
    home.ok(
        &["store"],
        r#"{"domain": "https://Repo.Example.COM:443/", "api_key": "k1"}"#,
    );
    home.ok(
        &["store"],
        r#"{"uri": "https://__token__@Other.Example:8443/repo/x", "api_key": "k2"}"#,
    );
    let (file, _) = records(&home);
    let mut accounts: Vec<&String> = file["Anaconda Cloud"].as_object().unwrap().keys().collect();
    accounts.sort();
    assert_eq!(accounts, ["other.example:8443", "repo.example.com"]);
    for asked in [
        "repo.example.com",
        "REPO.example.com:443",
        "https://repo.EXAMPLE.com",
    ] {
        let run = home.ok(&["get", "--domain", asked], "");
        assert_eq!(run.stdout, "Bearer k1\n", "{asked}");
    }
    let run = home.ok(&["get", "--uri", "https://OTHER.example:8443/x"], "");
    assert_eq!(run.stdout, "Bearer k2\n");
    assert_eq!(home.run(&["get", "--domain", "other.example"], "").code, 3);
}

// `logout` removes only its own domain's record (and the legacy one for anaconda.cloud);
// running it twice is fine.
#[test]
fn logout_removes_only_its_own_entry() {
    let home = Home::bare();
    let legacy = STANDARD.encode(r#"{"domain":"id.anaconda.cloud","api_key":"old"}"#);
    write_keyring(
        &home,
        &json!({"other service": {"anaconda.cloud": "theirs"},
                "Anaconda Cloud": {"id.anaconda.cloud": legacy}})
        .to_string(),
    );
    home.ok(
        &["store"],
        r#"{"domain": "anaconda.cloud", "api_key": "k"}"#,
    );
    home.ok(&["store"], r#"{"domain": "b.example", "api_key": "kb"}"#);
    let first = home.ok(&["logout"], "");
    assert_eq!(first.stderr, "Logged out of anaconda.cloud.\n");
    let second = home.ok(&["logout"], "");
    assert_eq!(
        second.stderr,
        "Not logged in to anaconda.cloud; nothing to do.\n"
    );
    let (file, records) = records(&home);
    assert_eq!(file["other service"], json!({"anaconda.cloud": "theirs"}));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["domain"], "b.example");
    assert_eq!(home.run(&["status"], "").code, 3);
}

// Reads take no lock: a writer holding the lock does not hold up `get`.
#[test]
fn readers_do_not_wait_for_the_lock() {
    let home = Home::bare();
    home.ok(&["store"], r#"{"domain": "a.example", "api_key": "k"}"#);
    let lock = std::fs::File::open(home.path().join(".anaconda/keyring.lock")).unwrap();
    lock.lock().unwrap();
    let started = Instant::now();
    let get = home.ok(&["get", "--domain", "a.example"], "");
    assert_eq!(get.stdout, "Bearer k\n");
    assert!(started.elapsed() < Duration::from_secs(2));
    // A writer waits for it, then stores.
    let mut writer = home.spawn(&["store"], r#"{"domain": "b.example", "api_key": "kb"}"#);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        writer.try_wait().unwrap().is_none(),
        "the writer did not wait"
    );
    drop(lock);
    assert!(writer.wait().unwrap().success());
    home.ok(&["get", "--domain", "b.example"], "");
}
