//! The browser login in a real headless Chromium (Debian's `chromium`), driven by
//! `integration/standin/chromium-browser` (playwright-core) as `$BROWSER`: it fills the
//! provider's login form, consents and lands on the loopback server (PRODUCT.md §6, issue #6).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::running::Running;
use crate::util::{Home, StandIn, root};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Fails with instructions when Chromium or playwright-core is missing: never skips.
fn require_chromium() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium; \
         scripts/setup test does it)"
    );
    assert!(
        root()
            .join("integration/standin/node_modules/playwright-core")
            .is_dir(),
        "playwright-core is not installed: run `npm ci` in integration/standin (scripts/setup test does it)"
    );
}

/// Waits (at most 30 s) until the trace file holds a line containing `needle`.
fn wait_for_trace(trace: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(trace).unwrap_or_default();
        if text.contains(needle) || text.contains("FAILED") || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

// `login` opens real Chromium through $BROWSER; it logs in on the provider's pages, consents,
// and is answered by the loopback server; the key and the account's e-mail are stored.
#[test]
fn login_in_headless_chromium() {
    require_chromium();
    let standin = StandIn::shared();
    let mut home = Home::new(standin);
    let browser = root().join("integration/standin/chromium-browser");
    home.set("BROWSER", browser.to_str().unwrap());
    let trace = home.path().join("chromium.trace");
    home.set("STANDIN_BROWSER_TRACE", trace.to_str().unwrap());

    let login = home.run(&["login", "--timeout", "90"], "");
    let trace_text = wait_for_trace(&trace, "landed on");
    assert_eq!(login.code, 0, "{login:?}\nchromium: {trace_text}");
    assert!(
        login.stderr.contains("as test-user@example.com"),
        "{}",
        login.stderr
    );
    for step in [
        "submit the login form",
        "click Continue on the consent page",
    ] {
        assert!(trace_text.contains(step), "{trace_text}");
    }
    assert!(
        trace_text.contains("landed on http://127.0.0.1:")
            && trace_text.contains("/auth/oidc (params: code,state,iss) -> 200"),
        "{trace_text}"
    );
    let header = home.ok(&["get"], "").stdout;
    assert!(header.starts_with("Bearer ey"), "{header}");
}

// `login --device`: the printed URL, opened in Chromium "on another device", confirms the code
// after the provider's login and consent; the polling binary then stores the key.
#[test]
fn device_code_approved_in_headless_chromium() {
    require_chromium();
    let standin = StandIn::shared();
    let home = Home::new(standin);
    let mut login = Running::start(&home, &["login", "--device"]);
    let url = login.url(&standin.url("/api/auth/oauth2/device?user_code="));
    let chromium = home
        .command(root().join("integration/standin/chromium-browser"))
        .arg(&url)
        .output()
        .unwrap();
    let trace = String::from_utf8_lossy(&chromium.stderr);
    assert!(chromium.status.success(), "{trace}");
    assert!(trace.contains("confirm the device code"), "{trace}");
    assert!(trace.contains("sign-in success page reached"), "{trace}");
    let run = login.finish(Duration::from_secs(20));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("as test-user@example.com"),
        "{}",
        run.stderr
    );
    home.ok(&["api-key"], "");
}
