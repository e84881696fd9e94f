//! What callers that run many helpers at once see on the stderr they share (Bazel, conda and
//! pip run them in parallel): every message is one whole line (PRODUCT.md §3, errors).

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
