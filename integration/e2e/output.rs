//! Callers that are unusual but real: many helpers at once on one stderr (Bazel, conda and
//! pip run them in parallel), closed standard streams, arguments that are not UTF-8. Each
//! still gets one whole error line and an exit code (PRODUCT.md §3, errors).

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::process::Stdio;

use crate::storage::take_turns;
use crate::util::{Home, bin};

// 64 failing `get`s writing to one pipe: each error line arrives whole, never cut into by
// another process's. Each used to reach stderr in seven writes, and half the lines came out
// mixed.
#[test]
fn parallel_errors_are_whole_lines() {
    let _turn = take_turns();
    let home = Home::bare();
    // A shell starts them all at once, as a parallel build script does; they share its stderr.
    let script = r#"for i in $(seq 0 63); do "$0" get --domain "x$i.example" & done; wait"#;
    let run = home
        .command("sh")
        .args(["-c", script, bin()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8(run.stderr).unwrap();
    let mut lines: Vec<&str> = stderr.lines().collect();
    lines.sort_unstable();
    let mut expected: Vec<String> = (0..64)
        .map(|i| {
            format!(
                "anaconda-auth: not logged in to x{i}.example: run `anaconda-auth login --domain \
                 x{i}.example`, or set ANACONDA_CLOUD_API_KEY"
            )
        })
        .collect();
    expected.sort_unstable();
    assert_eq!(lines, expected);
}

// A caller that closed stdout and stderr: `store` still writes a whole keyring file. The
// warning about its loose mode goes nowhere; it must not land in the file, whose temp copy
// would otherwise have taken the number of stderr.
#[test]
fn closed_standard_streams_never_reach_the_keyring() {
    let home = Home::bare();
    home.ok(&["store"], r#"{"domain": "a.example", "api_key": "ka"}"#);
    let keyring = home.keyring();
    std::fs::set_permissions(&keyring, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut child = home
        .command("sh")
        .args(["-c", r#"exec "$0" store >&- 2>&-"#, bin()])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(br#"{"domain": "b.example", "api_key": "kb"}"#)
        .unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&keyring).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the keyring is not JSON ({e}): {text}"));
    let stored = &parsed["Anaconda Cloud"];
    assert!(
        stored["a.example"].is_string() && stored["b.example"].is_string(),
        "{text}"
    );
    let mode = std::fs::metadata(&keyring).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

// An argument that is not UTF-8 is a bad argument (exit 2, one line), not a crash: it used to
// abort with a panic (exit 134).
#[test]
fn non_utf8_argument_is_a_usage_error() {
    use std::os::unix::ffi::OsStrExt as _;
    let home = Home::bare();
    let run = home
        .command(bin())
        .arg("get")
        .arg("--domain")
        .arg(std::ffi::OsStr::from_bytes(b"\xff.example"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(run.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("anaconda-auth: "), "{stderr}");
}

// A reader that went away (`anaconda-auth status | true`): each command says it cannot write
// to stdout, exit 1, instead of a panic message and SIGABRT.
#[test]
fn closed_stdout_is_an_error_not_a_crash() {
    let home = Home::bare();
    home.ok(
        &["store"],
        r#"{"domain": "anaconda.cloud", "api_key": "k"}"#,
    );
    for args in [
        &["--version"][..],
        &["--help"],
        &["config"],
        &["status"],
        &["get"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let run = home
            .command(bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            "anaconda-auth: cannot write to stdout: Broken pipe (os error 32)",
            "{args:?}"
        );
    }
}
