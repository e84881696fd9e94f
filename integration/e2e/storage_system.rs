//! `preferred_token_storage = "system"` (PRODUCT.md §4) against a real Secret Service:
//! gnome-keyring-daemon, unlocked, on a private D-Bus session from `dbus-run-session`. Then no
//! D-Bus at all, a D-Bus that never answers, and a bus that refuses a secret too large for it.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::storage::take_turns;
use crate::storage_python::py_with;
use crate::util::{Home, Run};

/// Fails, saying how to install it, when a program the tests need is missing.
fn require(program: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{program} is not installed: apt-get install {package} (scripts/setup test does it)"
    );
}

/// A D-Bus session bus with an unlocked gnome-keyring on it. Both end when this is dropped:
/// the session's command waits for its stdin to close.
struct SecretService {
    address: String,
    stdin: Option<ChildStdin>,
    child: Child,
}

impl SecretService {
    /// Starts `dbus-run-session` (with `config`, if given) and gnome-keyring-daemon in `home`.
    fn start(home: &Home, config: Option<&Path>) -> SecretService {
        require("dbus-run-session", "dbus-bin");
        require("gnome-keyring-daemon", "gnome-keyring");
        let mut cmd = home.command("dbus-run-session");
        if let Some(config) = config {
            cmd.arg("--config-file").arg(config);
        }
        let script = "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
                      && echo \"$DBUS_SESSION_BUS_ADDRESS\" && exec cat";
        let mut child = cmd
            .args(["--", "sh", "-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-run-session starts");
        let mut address = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        assert!(
            address.starts_with("unix:"),
            "gnome-keyring did not start on the session bus: {address:?}"
        );
        SecretService {
            address: address.trim().to_string(),
            stdin: child.stdin.take(),
            child,
        }
    }

    /// `home` with system storage on this bus.
    fn attach(&self, home: &mut Home) {
        home.set("ANACONDA_CLOUD_PREFERRED_TOKEN_STORAGE", "system");
        home.set("DBUS_SESSION_BUS_ADDRESS", &self.address);
    }

    /// `secret-tool ARGS` on this bus.
    fn secret_tool(&self, home: &Home, args: &[&str]) -> Run {
        require("secret-tool", "libsecret-tools");
        home.command("secret-tool")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
            .into()
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Runs the binary, killing it (and failing) if it takes longer than `limit`.
fn run_within(home: &Home, args: &[&str], stdin: &str, limit: Duration) -> (Run, Duration) {
    let started = Instant::now();
    let mut child = home.spawn(args, stdin);
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{args:?} hung for more than {limit:?}: {:?}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = started.elapsed();
    (child.wait_with_output().unwrap().into(), elapsed)
}

// The record goes to the Secret Service under service `Anaconda Cloud`, username = domain,
// with the same secret as the file would hold; no file is written. `get` answers from it, the
// Python package finds it there (and we find Python's), and `erase` removes only it.
#[test]
fn round_trip_through_gnome_keyring() {
    let _turn = take_turns();
    let mut home = Home::bare();
    let bus = SecretService::start(&home, None);
    bus.attach(&mut home);
    let record = r#"{"domain": "a.example", "api_key": "k-system", "username": "me"}"#;
    let store = home.ok(&["store"], record);
    assert_eq!(store.stderr, "");
    assert!(!home.keyring().exists(), "the file keyring was written");

    let lookup = bus.secret_tool(
        &home,
        &[
            "lookup",
            "service",
            "Anaconda Cloud",
            "username",
            "a.example",
        ],
    );
    assert_eq!(lookup.code, 0, "{lookup:?}");
    let stored = String::from_utf8(STANDARD.decode(lookup.stdout.trim()).unwrap()).unwrap();
    assert_eq!(
        stored,
        r#"{"domain":"a.example","api_key":"k-system","username":"me","repo_tokens":[],"version":1}"#
    );
    let get = home.ok(&["get", "--domain", "a.example"], "");
    assert_eq!(
        (get.stdout.as_str(), get.stderr.as_str()),
        ("Bearer k-system\n", "")
    );

    // The Python package with system storage (its keyring picks the Secret Service over its
    // file, which gets no entry) uses the same Secret Service items.
    let python_env = [
        ("ANACONDA_CLOUD_PREFERRED_TOKEN_STORAGE", "system"),
        ("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str()),
    ];
    let load = py_with(&home, &["load", "a.example"], "", &python_env);
    assert_eq!(load.code, 0, "{load:?}");
    let loaded: Value = serde_json::from_str(&load.stdout).unwrap();
    assert_eq!(loaded["api_key"], "k-system");
    let save = py_with(
        &home,
        &["save"],
        r#"{"domain": "b.example", "api_key": "k-python"}"#,
        &python_env,
    );
    assert_eq!(save.code, 0, "{save:?}");
    let get = home.ok(&["get", "--domain", "b.example"], "");
    assert_eq!(get.stdout, "Bearer k-python\n");
    let lookup = bus.secret_tool(
        &home,
        &[
            "lookup",
            "service",
            "Anaconda Cloud",
            "username",
            "b.example",
        ],
    );
    assert_eq!(lookup.code, 0, "not in the Secret Service: {lookup:?}");
    let file = std::fs::read_to_string(home.keyring()).unwrap_or_default();
    assert!(!file.contains("b.example"), "{file}");

    for _ in 0..2 {
        let erase = home.ok(&["erase"], r#"{"domain": "a.example"}"#);
        assert!(!erase.stderr.contains("system keyring"), "{}", erase.stderr);
    }
    let lookup = bus.secret_tool(
        &home,
        &[
            "lookup",
            "service",
            "Anaconda Cloud",
            "username",
            "a.example",
        ],
    );
    assert_ne!(lookup.code, 0, "still stored: {lookup:?}");
    assert_eq!(home.run(&["get", "--domain", "a.example"], "").code, 3);
    home.ok(&["get", "--domain", "b.example"], "");
}

// No D-Bus at all: the key goes to the file, and stderr says so; reads find it there.
#[test]
fn no_dbus_falls_back_to_the_file() {
    let _turn = take_turns();
    let mut home = Home::bare();
    home.set("ANACONDA_CLOUD_PREFERRED_TOKEN_STORAGE", "system");
    let missing = home.path().join("no-such-bus");
    home.set(
        "DBUS_SESSION_BUS_ADDRESS",
        &format!("unix:path={}", missing.display()),
    );
    let (store, _) = run_within(
        &home,
        &["store"],
        r#"{"domain": "a.example", "api_key": "k-file"}"#,
        Duration::from_secs(10),
    );
    assert_eq!(store.code, 0, "{store:?}");
    let keyring = home.keyring().display().to_string();
    assert_eq!(store.stderr.lines().count(), 1, "{}", store.stderr);
    assert!(
        store.stderr.contains("system keyring unavailable") && store.stderr.contains(&keyring),
        "{}",
        store.stderr
    );
    let text = std::fs::read_to_string(home.keyring()).unwrap();
    assert!(text.contains("a.example"), "{text}");
    let (get, _) = run_within(
        &home,
        &["get", "--domain", "a.example"],
        "",
        Duration::from_secs(10),
    );
    assert_eq!(get.code, 0, "{get:?}");
    assert_eq!(get.stdout, "Bearer k-file\n");
    assert!(
        get.stderr.contains("system keyring unavailable"),
        "{}",
        get.stderr
    );
    let (erase, _) = run_within(
        &home,
        &["erase"],
        r#"{"domain": "a.example"}"#,
        Duration::from_secs(10),
    );
    assert_eq!(erase.code, 0, "{erase:?}");
    assert!(
        !std::fs::read_to_string(home.keyring())
            .unwrap()
            .contains("a.example")
    );
}

// With the file keyring (the default), no command of the helper protocol opens the session
// bus: `get` is called once per download, and D-Bus set-up would be most of its cost.
#[test]
fn file_storage_never_connects_to_dbus() {
    let mut home = Home::bare();
    let socket = home.path().join("watched-bus");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    home.set(
        "DBUS_SESSION_BUS_ADDRESS",
        &format!("unix:path={}", socket.display()),
    );
    home.ok(&["store"], r#"{"domain": "a.example", "api_key": "k"}"#);
    assert_eq!(
        home.ok(&["get", "--domain", "a.example"], "").stdout,
        "Bearer k\n"
    );
    home.ok(&["status", "--domain", "a.example"], "");
    home.ok(&["erase"], r#"{"domain": "a.example"}"#);
    let connected = listener.accept();
    assert!(
        matches!(&connected, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "something connected to the session bus: {connected:?}"
    );
}

// A D-Bus that accepts the connection and never answers: each command gives up on it once,
// after 3 s, says so once, and uses the file; nothing hangs (Bazel kills a helper after 10 s).
#[test]
fn silent_dbus_times_out_once() {
    let _turn = take_turns();
    let mut home = Home::bare();
    let socket = home.path().join("silent-bus");
    // Connections queue in the backlog and are never accepted, read or answered.
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    home.set("ANACONDA_CLOUD_PREFERRED_TOKEN_STORAGE", "system");
    home.set(
        "DBUS_SESSION_BUS_ADDRESS",
        &format!("unix:path={}", socket.display()),
    );
    let limit = Duration::from_secs(9);
    let (store, took) = run_within(
        &home,
        &["store"],
        r#"{"domain": "anaconda.cloud", "api_key": "k-default"}"#,
        limit,
    );
    assert_eq!(store.code, 0, "{store:?}");
    assert!(
        took >= Duration::from_millis(2900),
        "gave up after {took:?}"
    );
    assert!(
        store.stderr.contains("no answer within 3 s"),
        "{}",
        store.stderr
    );

    // `anaconda.cloud` also has a legacy name to look at: still one wait, one warning.
    for (args, code) in [(&["logout"][..], 0), (&["get"][..], 3)] {
        let (run, took) = run_within(&home, args, "", limit);
        assert_eq!(run.code, code, "{args:?}: {run:?}");
        assert!(
            took < Duration::from_millis(4500),
            "{args:?} took {took:?}: {}",
            run.stderr
        );
        let warnings = run.stderr.matches("system keyring unavailable").count();
        assert_eq!(warnings, 1, "{args:?}: {}", run.stderr);
    }
    assert!(
        !std::fs::read_to_string(home.keyring())
            .unwrap()
            .contains("anaconda.cloud")
    );
}

// A bus that refuses a message as large as this record: a clear error (exit 5), and the key
// stored before is still there and still answered. Nothing goes to the file behind the old
// key's back, where the next read would not look first.
#[test]
fn secret_too_large_for_the_store_is_an_error() {
    let _turn = take_turns();
    let mut home = Home::bare();
    let config = home.path().join("small-bus.conf");
    std::fs::write(
        &config,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="max_message_size">16384</limit>
</busconfig>
"#,
            home.path().display()
        ),
    )
    .unwrap();
    let bus = SecretService::start(&home, Some(&config));
    bus.attach(&mut home);
    let first = home.ok(
        &["store"],
        r#"{"domain": "a.example", "api_key": "old-key"}"#,
    );
    assert_eq!(first.stderr, "");

    let big = format!(
        r#"{{"domain": "a.example", "api_key": "new-key", "repo_tokens": [{}]}}"#,
        (0..400)
            .map(|i| format!(r#"{{"token": "{}", "org_name": "org{i}"}}"#, "t".repeat(40)))
            .collect::<Vec<_>>()
            .join(",")
    );
    let store = home.run(&["store"], &big);
    assert_eq!(store.code, 5, "{store:?}");
    assert_eq!(store.stdout, "");
    assert_eq!(store.stderr.lines().count(), 1, "{}", store.stderr);
    assert!(
        store.stderr.contains("system keyring: writing failed")
            && store.stderr.contains("nothing was stored for a.example"),
        "{}",
        store.stderr
    );
    assert!(!home.keyring().exists(), "the record went to the file");
    let get = home.ok(&["get", "--domain", "a.example"], "");
    assert_eq!(get.stdout, "Bearer old-key\n");
}
