//! Runs every `spec/vectors/*.json` case against the built binary (spec/protocol.md §8).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

const SERVICE: &str = "Anaconda Cloud";

fn keyring_text(records: &[Value]) -> String {
    let mut accounts = Map::new();
    for record in records {
        let domain = record["domain"]
            .as_str()
            .expect("a stored record has a domain");
        let compact = serde_json::to_string(record).unwrap();
        accounts.insert(domain.to_string(), Value::String(STANDARD.encode(compact)));
    }
    json!({ SERVICE: accounts }).to_string()
}

fn stored_records(keyring: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(keyring).unwrap_or_default();
    let file: Value = serde_json::from_str(&text).unwrap_or(json!({}));
    let mut records: Vec<Value> = file[SERVICE]
        .as_object()
        .map(|accounts| {
            accounts
                .values()
                .map(|s| {
                    serde_json::from_slice(&STANDARD.decode(s.as_str().unwrap()).unwrap()).unwrap()
                })
                .collect()
        })
        .unwrap_or_default();
    records.sort_by_key(|r| r["domain"].as_str().unwrap_or_default().to_string());
    records
}

/// Every string that must never show up on stderr.
fn secrets(case: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for record in case["stored"].as_array().into_iter().flatten() {
        if let Some(k) = record["api_key"].as_str() {
            out.push(k.to_string());
        }
        for t in record["repo_tokens"].as_array().into_iter().flatten() {
            out.push(t["token"].as_str().unwrap().to_string());
        }
    }
    for name in ["ANACONDA_CLOUD_API_KEY", "ANACONDA_AUTH_API_KEY"] {
        if let Some(k) = case["env"][name].as_str() {
            out.push(k.to_string());
        }
    }
    if let Some(k) = case["stdin"]["api_key"].as_str() {
        out.push(k.to_string());
    }
    for t in case["stdin"]["repo_tokens"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(token) = t.as_str().or_else(|| t["token"].as_str()) {
            out.push(token.to_string());
        }
    }
    // Anything else the case names: a password in a uri, say.
    for s in case["secrets"].as_array().into_iter().flatten() {
        out.push(s.as_str().unwrap().to_string());
    }
    out.retain(|s| !s.is_empty());
    out
}

fn run_case(name: &str, case: &Value) -> Result<(), String> {
    let home = tempfile::tempdir().unwrap();
    let anaconda = home.path().join(".anaconda");
    let keyring = anaconda.join("keyring");
    let initial = if let Some(text) = case["keyring_file"].as_str() {
        Some(text.to_string())
    } else {
        case["stored"].as_array().map(|r| keyring_text(r))
    };
    if let Some(text) = &initial {
        std::fs::create_dir_all(&anaconda).unwrap();
        std::fs::write(&keyring, text).unwrap();
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anaconda-auth"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .current_dir(home.path())
        .args(
            case["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap()),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in case["env"].as_object().into_iter().flatten() {
        cmd.env(k, v.as_str().unwrap());
    }
    let mut child = cmd.spawn().unwrap();
    let input = match &case["stdin"] {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let code = out.status.code().unwrap_or(-1);
    let expect = &case["expect"];
    let fail = |what: String| {
        Err(format!(
            "{name}: {what}\n  stdout: {stdout:?}\n  stderr: {stderr:?}"
        ))
    };
    if let Some(want) = expect["exit"].as_i64()
        && i64::from(code) != want
    {
        return fail(format!("exit {code}, want {want}"));
    }
    if code != 0 {
        if !stdout.is_empty() {
            return fail("stdout not empty on error".into());
        }
        if stderr.lines().count() != 1 {
            return fail("stderr is not exactly one line".into());
        }
    }
    for secret in secrets(case) {
        if stderr.contains(&secret) {
            return fail(format!(
                "a secret ({} chars) appears on stderr",
                secret.len()
            ));
        }
    }
    if let Some(want) = expect["stdout"].as_str()
        && stdout != want
    {
        return fail(format!("stdout differs from {want:?}"));
    }
    if let Some(want) = expect.get("stdout_json") {
        let got: Value = serde_json::from_str(&stdout)
            .map_err(|e| format!("{name}: stdout is not JSON: {e}"))?;
        if &got != want {
            return fail(format!("stdout JSON differs from {want}"));
        }
        if !stdout.ends_with('\n') || stdout.trim_end().contains('\n') {
            return fail("the JSON answer is not one line".into());
        }
    }
    if let Some(want) = expect["stderr_contains"].as_str()
        && !stderr.contains(want)
    {
        return fail(format!("stderr lacks {want:?}"));
    }
    if expect["keyring_unchanged"].as_bool() == Some(true) {
        let now = std::fs::read_to_string(&keyring).ok();
        if now != initial {
            return fail("the keyring file changed".into());
        }
    }
    if let Some(want) = expect["stored_after"].as_array() {
        let mut want = want.clone();
        want.sort_by_key(|r| r["domain"].as_str().unwrap_or_default().to_string());
        let got = stored_records(&keyring);
        if got != want {
            return fail(format!("stored records {got:?}, want {want:?}"));
        }
    }
    Ok(())
}

#[test]
fn spec_vectors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 30,
        "expected the vector files in {}",
        dir.display()
    );
    let failures: Vec<String> = names
        .iter()
        .filter_map(|path| {
            let case: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            run_case(&name, &case).err()
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
