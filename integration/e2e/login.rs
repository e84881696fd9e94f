//! The browser login against the real OpenID provider, then `get` and curl with the key.

use crate::util::{Home, Run, StandIn, bin, spawn};

// The walking skeleton: login → get → an authenticated curl request.
#[test]
fn login_then_get_then_curl() {
    let standin = StandIn::shared();
    let home = Home::new(standin);
    let login = home.run(&["login"], "");
    assert_eq!(login.code, 0, "{login:?}");
    assert!(login.stderr.contains("Logged in to"), "{}", login.stderr);

    let header = home.ok(&["get"], "").stdout;
    assert!(header.starts_with("Bearer ey"), "{header}");
    let header = header.trim_end();
    assert!(!login.stderr.contains(header.trim_start_matches("Bearer ")));

    let curl = home
        .command("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(&standin.ca)
        .args(["-H", &format!("Authorization: {header}")])
        .arg(standin.url("/api/account"))
        .output()
        .unwrap();
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    let account: serde_json::Value = serde_json::from_slice(&curl.stdout).unwrap();
    assert_eq!(account["user"]["email"], "test-user@example.com");

    // The record keeps the account's e-mail as username, and the file is private.
    let json = home.ok(&["get"], "{}").stdout;
    let answer: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(answer["expires"].as_str().unwrap().ends_with('Z'));
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(home.keyring())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let status = home.ok(&["status"], "").stdout;
    assert!(status.contains("test-user@example.com"), "{status}");
}

// The api-keys request carries the product's tag and the PKCE-obtained access token.
#[test]
fn api_key_request_is_tagged() {
    let standin = StandIn::start();
    let home = Home::new(&standin);
    home.ok(&["login"], "");
    let requests = standin.requests();
    let create = requests
        .iter()
        .find(|r| r["path"] == "/api/iam/api-keys")
        .expect("an api-keys request");
    assert_eq!(create["method"], "POST");
    assert_eq!(
        create["body"],
        serde_json::json!({"scopes": ["cloud:read", "cloud:write"], "tags": [concat!("anaconda-auth/v", env!("CARGO_PKG_VERSION"))]})
    );
    assert_eq!(create["auth_scheme"], "Bearer");
}

// `get` on a stored key answers from local state: no request reaches the server.
#[test]
fn get_makes_no_network_request() {
    let standin = StandIn::start();
    let home = Home::new(&standin);
    home.ok(&["login"], "");
    let before = standin.requests().len();
    for _ in 0..3 {
        home.ok(&["get"], "");
        home.ok(
            &["get"],
            &format!("{{\"uri\": \"{}\"}}", standin.url("/api/x")),
        );
        home.ok(&["api-key"], "");
    }
    assert_eq!(standin.requests().len(), before);
}

// whoami shows the account of the stored key; logout forgets it and twice is fine.
#[test]
fn whoami_and_logout() {
    let standin = StandIn::shared();
    let home = Home::new(standin);
    home.ok(&["login"], "");
    let who = home.ok(&["whoami"], "").stdout;
    assert!(
        who.contains("\"email\": \"test-user@example.com\""),
        "{who}"
    );
    home.ok(&["logout"], "");
    home.ok(&["logout"], "");
    let get = home.run(&["get"], "");
    assert_eq!(get.code, 3, "{get:?}");
    assert!(get.stdout.is_empty());
}

// A login that is already valid does nothing without --force.
#[test]
fn login_twice_needs_force() {
    let standin = StandIn::shared();
    let mut home = Home::new(standin);
    home.ok(&["login"], "");
    let first = home.ok(&["api-key"], "").stdout;
    let log = home.path().join("browser.log");
    home.set("STANDIN_BROWSER_LOG", log.to_str().unwrap());
    let again = home.ok(&["login"], "");
    assert!(again.stderr.contains("Already logged in"), "{again:?}");
    assert!(!log.exists(), "no browser was opened");
    home.ok(&["login", "--force"], "");
    assert!(log.exists());
    assert_ne!(home.ok(&["api-key"], "").stdout, first);
}

// An expired stored key: `get` says so (exit 3), and `login` logs in again without --force.
#[test]
fn expired_key_logs_in_again() {
    let standin = StandIn::shared();
    let home = Home::new(standin);
    let expired = standin.mint_key(-60);
    let store = format!(
        "{{\"domain\": \"{}\", \"api_key\": \"{expired}\"}}",
        standin.domain
    );
    home.ok(&["store"], &store);
    let get = home.run(&["get"], "{}");
    assert_eq!(get.code, 3, "{get:?}");
    assert!(get.stderr.contains("expired on"), "{}", get.stderr);
    assert!(!get.stderr.contains(&expired));
    home.ok(&["login"], "");
    let fresh = home.ok(&["get", "--format", "token"], "").stdout;
    assert_ne!(fresh.trim(), expired);
}

/// Runs `anaconda-auth ARGS` on a pseudo-terminal (util-linux `script`), typing `input`.
fn on_terminal(home: &Home, args: &str, input: &str) -> Run {
    let command = format!("'{}' {args}", bin());
    let mut script = home.command("script");
    script.args(["-qec", &command, "/dev/null"]);
    spawn(&mut script, input).wait_with_output().unwrap().into()
}

// Already logged in, on a terminal: `login` asks whether to log in again; no keeps the key
// and opens nothing, yes logs in again.
#[test]
fn login_on_a_terminal_asks_before_logging_in_again() {
    let standin = StandIn::shared();
    let mut home = Home::new(standin);
    home.ok(&["login"], "");
    let first = home.ok(&["api-key"], "").stdout;
    let log = home.path().join("browser.log");
    home.set("STANDIN_BROWSER_LOG", log.to_str().unwrap());
    let question = format!(
        "You are already logged in to {}. Log in again? [y/n]:",
        standin.domain
    );

    let no = on_terminal(&home, "login", "n\n");
    assert_eq!(no.code, 0, "{no:?}");
    assert!(no.stdout.contains(&question), "{no:?}");
    assert!(no.stdout.contains("Already logged in"), "{no:?}");
    assert!(!log.exists(), "no browser was opened");
    assert_eq!(home.ok(&["api-key"], "").stdout, first);

    let yes = on_terminal(&home, "login", "y\n");
    assert_eq!(yes.code, 0, "{yes:?}");
    assert!(yes.stdout.contains(&question), "{yes:?}");
    assert!(yes.stdout.contains("Logged in to"), "{yes:?}");
    assert!(log.exists(), "the browser was opened");
    assert_ne!(home.ok(&["api-key"], "").stdout, first);
}
