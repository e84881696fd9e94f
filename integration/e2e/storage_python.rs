//! The file keyring shared with the real Python package (PRODUCT.md §4): `anaconda-cloud-auth`
//! 0.7.2 from PyPI, in a venv made by `integration/interop/setup.sh`, on the same HOME.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::util::{Home, Run, root, spawn};

/// The venv's python with `anaconda-cloud-auth==0.7.2`, made once per run (from PyPI).
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-venv");
        let setup = root().join("integration/interop/setup.sh");
        let out = Command::new(&setup)
            .arg(&venv)
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("{} does not run: {e}", setup.display()));
        assert!(
            out.status.success(),
            "{} failed: it needs python3 with venv (apt-get install python3 python3-venv, as \
             `scripts/setup test` does) and PyPI",
            setup.display()
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        PathBuf::from(stdout.lines().last().expect("setup.sh prints the python"))
    })
}

/// Runs `integration/interop/tokeninfo.py ARGS` with the Python package's own file keyring.
pub fn py(home: &Home, args: &[&str], stdin: &str) -> Run {
    py_with(
        home,
        args,
        stdin,
        &[(
            "PYTHON_KEYRING_BACKEND",
            "anaconda_cloud_auth.token.AnacondaKeyring",
        )],
    )
}

/// Runs `tokeninfo.py ARGS` with extra environment.
pub fn py_with(home: &Home, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    let mut cmd = home.command(python());
    cmd.arg(root().join("integration/interop/tokeninfo.py"))
        .args(args)
        .envs(env.iter().copied());
    spawn(&mut cmd, stdin).wait_with_output().unwrap().into()
}

/// The raw secret stored for `domain` in HOME's keyring file.
fn secret_in_file(home: &Home, domain: &str) -> Option<String> {
    let text = std::fs::read_to_string(home.keyring()).ok()?;
    let file: Value = serde_json::from_str(&text).unwrap();
    file["Anaconda Cloud"][domain].as_str().map(String::from)
}

fn jwt(exp: i64) -> String {
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!(r#"{{"exp":{exp},"sub":"someone"}}"#));
    format!("eyJhbGciOiJSUzI1NiJ9.{claims}.c2lnbmF0dXJl")
}

/// Records of every shape the two sides must agree on.
fn records() -> Vec<Value> {
    vec![
        json!({"domain": "a.example", "api_key": "key-a"}),
        json!({"domain": "b.example:8443", "api_key": jwt(4_102_444_800),
               "username": "Zoë 日本 😀 \"q\" \\ </x> \t\u{1}\u{7f}\u{2028}",
               "repo_tokens": [{"token": "t1", "org_name": "org1"},
                               {"token": "t2", "org_name": "Org-2"}]}),
        json!({"domain": "repo.example", "repo_tokens": [{"token": "t-only"}]}),
    ]
}

// A key stored by the binary is read by Python's `TokenInfo.load`, field for field.
#[test]
fn python_reads_what_the_binary_stores() {
    let home = Home::bare();
    for record in records() {
        home.ok(&["store"], &record.to_string());
        let domain = record["domain"].as_str().unwrap();
        let load = py(&home, &["load", domain], "");
        assert_eq!(load.code, 0, "{load:?}");
        assert!(load.stderr.contains("AnacondaKeyring"), "{}", load.stderr);
        let got: Value = serde_json::from_str(&load.stdout).unwrap();
        assert_eq!(got["domain"], record["domain"]);
        assert_eq!(got["api_key"], record["api_key"]);
        assert_eq!(got["username"], record["username"]);
        assert_eq!(got["version"], 1);
        let tokens = record["repo_tokens"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let got_tokens = got["repo_tokens"].as_array().unwrap();
        assert_eq!(got_tokens.len(), tokens.len());
        for (g, want) in got_tokens.iter().zip(&tokens) {
            assert_eq!(g["token"], want["token"]);
            assert_eq!(g["org_name"], want["org_name"]);
        }
    }
}

// A record saved by Python's `TokenInfo.save` is answered by `get` and `api-key`, repo tokens
// (with and without an org name) included.
#[test]
fn binary_reads_what_python_saves() {
    let home = Home::bare();
    for record in records() {
        let save = py(&home, &["save"], &record.to_string());
        assert_eq!(save.code, 0, "{save:?}");
    }
    let a = home.ok(&["api-key", "--domain", "a.example"], "");
    assert_eq!(a.stdout, "key-a\n");
    let b = home.ok(
        &["get"],
        r#"{"uri": "https://b.example:8443/repo/Org-2/main/noarch/repodata.json"}"#,
    );
    let answer: Value = serde_json::from_str(&b.stdout).unwrap();
    assert_eq!(answer["headers"]["Authorization"][0], "token t2");
    let api_key = home.ok(&["api-key", "--domain", "b.example:8443"], "");
    assert_eq!(api_key.stdout, format!("{}\n", jwt(4_102_444_800)));
    let repo = home.ok(&["get", "--uri", "https://repo.example/repo/any/x"], "");
    assert_eq!(repo.stdout, "token t-only\n");
}

// For the same record both sides write the same secret, byte for byte.
#[test]
fn same_record_same_secret() {
    let (by_python, by_binary) = (Home::bare(), Home::bare());
    for record in records() {
        let domain = record["domain"].as_str().unwrap();
        assert_eq!(py(&by_python, &["save"], &record.to_string()).code, 0);
        by_binary.ok(&["store"], &record.to_string());
        let python = secret_in_file(&by_python, domain).expect("python stored it");
        let binary = secret_in_file(&by_binary, domain).expect("the binary stored it");
        assert_eq!(
            binary,
            python,
            "for {domain}: python wrote {:?}",
            String::from_utf8_lossy(&STANDARD.decode(&python).unwrap())
        );
    }
}

// A key under the legacy `id.anaconda.cloud` is moved to `anaconda.cloud` exactly as Python
// moves it: the same secret under the new name, the old one gone.
#[test]
fn legacy_migration_matches_python() {
    let legacy = STANDARD.encode(
        r#"{"domain": "id.anaconda.cloud", "api_key": "legacy-key", "username": "old-user"}"#,
    );
    let file = json!({"Anaconda Cloud": {"id.anaconda.cloud": legacy}, "other": {"x": "y"}});
    let (by_python, by_binary) = (Home::bare(), Home::bare());
    for home in [&by_python, &by_binary] {
        std::fs::create_dir_all(home.path().join(".anaconda")).unwrap();
        std::fs::write(home.keyring(), file.to_string()).unwrap();
    }
    let load = py(&by_python, &["load", "anaconda.cloud"], "");
    assert_eq!(load.code, 0, "{load:?}");
    let get = by_binary.ok(&["get", "--format", "token"], "");
    assert_eq!(get.stdout, "legacy-key\n");
    for home in [&by_python, &by_binary] {
        let text = std::fs::read_to_string(home.keyring()).unwrap();
        let now: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(now["other"], json!({"x": "y"}));
        assert!(
            now["Anaconda Cloud"].get("id.anaconda.cloud").is_none(),
            "{text}"
        );
    }
    assert_eq!(
        secret_in_file(&by_binary, "anaconda.cloud"),
        secret_in_file(&by_python, "anaconda.cloud")
    );
}

// Python rewrites the file in place (truncate, then write), so a reader can catch it empty or
// half written. While Python saves every 15 ms, `get` never fails and `store` never drops
// what the file held.
#[test]
fn python_writing_in_place_is_waited_for() {
    let _turn = crate::storage::take_turns();
    let home = Home::bare();
    // More than Python's 8 KiB write buffer, so its writes take several system calls.
    let pad = "x".repeat(20_000);
    let file = json!({"other service": {"pad": pad}});
    std::fs::create_dir_all(home.path().join(".anaconda")).unwrap();
    std::fs::write(home.keyring(), file.to_string()).unwrap();
    home.ok(
        &["store"],
        r#"{"domain": "reader.example", "api_key": "rk"}"#,
    );

    let mut writer = home
        .command(python())
        .arg(root().join("integration/interop/tokeninfo.py"))
        .args(["writer", "300", "15"])
        .env(
            "PYTHON_KEYRING_BACKEND",
            "anaconda_cloud_auth.token.AnacondaKeyring",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let (mut runs, mut failures) = (0usize, Vec::new());
    while writer.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(60) {
        let run = if runs % 2 == 0 {
            home.run(&["get", "--domain", "reader.example"], "")
        } else {
            let record = json!({"domain": "mine.example", "api_key": format!("m{runs}")});
            home.run(&["store"], &record.to_string())
        };
        runs += 1;
        if run.code != 0 {
            failures.push(run);
        }
    }
    assert!(writer.wait().unwrap().success());
    assert!(runs >= 20, "only {runs} runs while Python wrote");
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed, first: {:?}",
        failures.len(),
        failures[0]
    );
    let text = std::fs::read_to_string(home.keyring()).unwrap();
    let now: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        now["other service"]["pad"].as_str().map(str::len),
        Some(20_000)
    );
}
