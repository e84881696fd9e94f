//! The browser login's hard cases against the stand-in's real OpenID provider (PRODUCT.md §6,
//! issue #6): stray requests, a wrong `state`, a refusal, no answer, a taken port, connections
//! left open, no browser to open, and `$BROWSER` with `%s`.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::running::Running;
use crate::util::{Home, Run, StandIn, root};

/// Runs the scripted browser on `url` in `mode` and waits for it, as a user would.
pub fn browse(home: &Home, url: &str, mode: &str) -> Run {
    home.command(root().join("integration/standin/browser"))
        .arg(url)
        .env("STANDIN_BROWSER_MODE", mode)
        .env_remove("STANDIN_BROWSER_LOG")
        .output()
        .unwrap()
        .into()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn authorize_url(standin: &StandIn) -> String {
    standin.url("/api/auth/oauth2/auth?")
}

// A favicon and another path on the loopback server get 404 and the login still completes.
#[test]
fn stray_requests_get_404_and_the_login_goes_on() {
    let standin = StandIn::shared();
    let mut home = Home::new(standin);
    let trace = home.path().join("browser.trace");
    home.set("STANDIN_BROWSER_MODE", "favicon");
    home.set("STANDIN_BROWSER_TRACE", trace.to_str().unwrap());
    let login = home.run(&["login", "--timeout", "60"], "");
    assert_eq!(login.code, 0, "{login:?}");
    let trace = read(&trace);
    assert!(trace.contains("/favicon.ico -> 404"), "{trace}");
    assert!(trace.contains("/other-path -> 404"), "{trace}");
    home.ok(&["api-key"], "");
}

// A callback with the wrong state is refused with an error page, neither ends nor completes
// the login, and the timeout message says an answer was refused.
#[test]
fn wrong_state_is_refused_and_the_wait_goes_on() {
    let standin = StandIn::shared();
    let home = Home::new(standin);
    let mut login = Running::start(&home, &["login", "--no-browser", "--timeout", "6"]);
    let url = login.url(&authorize_url(standin));
    let browser = browse(&home, &url, "wrong-state");
    assert_eq!(browser.code, 0, "{browser:?}");
    assert!(
        browser.stderr.contains("loopback answered 400"),
        "{}",
        browser.stderr
    );
    assert!(
        login.elapsed() < Duration::from_secs(6),
        "the browser took too long for this test: {:?}",
        login.elapsed()
    );
    let run = login.finish(Duration::from_secs(30));
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .contains("no answer from the browser within 6 s (one answer was refused: its state did not match this login)"),
        "{}",
        run.stderr
    );
    assert!(!home.keyring().exists(), "nothing is stored");
}

// The provider's error=access_denied ends the login at once with its error and description.
#[test]
fn access_denied_ends_the_login() {
    let standin = StandIn::shared();
    let mut home = Home::new(standin);
    home.set("STANDIN_BROWSER_MODE", "deny");
    let started = Instant::now();
    let login = home.run(&["login", "--timeout", "60"], "");
    assert_eq!(login.code, 3, "{login:?}");
    assert!(
        login.stderr.contains(&format!(
            "anaconda-auth: login failed: {} answered access_denied: ",
            standin.domain
        )),
        "{}",
        login.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!home.keyring().exists());
}

// A browser that never comes back: the login gives up after --timeout with a clear message.
#[test]
fn no_answer_times_out() {
    let standin = StandIn::shared();
    let mut home = Home::new(standin);
    home.set("STANDIN_BROWSER_MODE", "never");
    let started = Instant::now();
    let login = home.run(&["login", "--timeout", "2"], "");
    let took = started.elapsed();
    assert_eq!(login.code, 3, "{login:?}");
    assert!(
        login.stderr.contains(
            "anaconda-auth: login failed: no answer from the browser within 2 s; run `anaconda-auth login` again"
        ),
        "{}",
        login.stderr
    );
    assert!(login.stderr.contains("--timeout to wait longer"));
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(20),
        "{took:?}"
    );
}

// A taken port is reported before any browser opens, naming the port and redirect_uri.
#[test]
fn port_in_use_is_reported_before_the_browser_opens() {
    let standin = StandIn::shared();
    let mut home = Home::new(standin);
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let redirect = format!("http://127.0.0.1:{port}/auth/oidc");
    home.set("ANACONDA_CLOUD_REDIRECT_URI", &redirect);
    let log = home.path().join("browser.log");
    home.set("STANDIN_BROWSER_LOG", log.to_str().unwrap());
    let login = home.run(&["login", "--timeout", "60"], "");
    assert_eq!(login.code, 1, "{login:?}");
    assert!(
        login.stderr.contains(&format!(
            "port {port} is in use, so the login cannot receive the browser at {redirect}"
        )),
        "{}",
        login.stderr
    );
    assert!(
        login
            .stderr
            .contains("redirect_uri (ANACONDA_CLOUD_REDIRECT_URI)")
    );
    assert_eq!(login.stderr.lines().count(), 1, "{}", login.stderr);
    assert!(!log.exists(), "no browser was started");
}

// Connections held open on the loopback server (keep-alive after a request, idle, half a
// request) neither delay the callback nor keep the process alive.
#[test]
fn open_connections_do_not_keep_the_login_alive() {
    let standin = StandIn::shared();
    let home = Home::new(standin);
    let mut login = Running::start(&home, &["login", "--no-browser", "--timeout", "60"]);
    let url = login.url(&authorize_url(standin));
    let redirect = oauth2::url::Url::parse(&url).unwrap();
    let redirect = redirect
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    let loopback = oauth2::url::Url::parse(&redirect).unwrap();
    let addr = format!("127.0.0.1:{}", loopback.port().unwrap());

    let mut keep_alive = TcpStream::connect(&addr).unwrap();
    write!(
        keep_alive,
        "GET /favicon.ico HTTP/1.1\r\nHost: {addr}\r\nConnection: keep-alive\r\n\r\n"
    )
    .unwrap();
    let mut answer = [0u8; 64];
    let n = keep_alive.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    let _idle = TcpStream::connect(&addr).unwrap();
    let mut half = TcpStream::connect(&addr).unwrap();
    write!(half, "GET /auth/oidc?state=").unwrap();

    let browser = browse(&home, &url, "approve");
    assert_eq!(browser.code, 0, "{browser:?}");
    let run = login.finish(Duration::from_secs(15));
    assert_eq!(run.code, 0, "{run:?}");
    // The connections are still open on our side: the process ended regardless.
    write!(
        keep_alive,
        "GET /favicon.ico HTTP/1.1\r\nHost: {addr}\r\n\r\n"
    )
    .ok();
    home.ok(&["api-key"], "");
}

// --no-browser prints the URL, opens nothing and keeps waiting; a browser used by hand on
// that URL completes the login.
#[test]
fn no_browser_prints_the_url_and_waits() {
    let standin = StandIn::shared();
    let mut home = Home::new(standin);
    let log = home.path().join("browser.log");
    home.set("STANDIN_BROWSER_LOG", log.to_str().unwrap());
    let mut login = Running::start(&home, &["login", "--no-browser", "--timeout", "60"]);
    login.line(|l| l == "Open this URL in a browser to log in:");
    let url = login.url(&authorize_url(standin));
    std::thread::sleep(Duration::from_millis(500));
    assert!(!log.exists(), "--no-browser opened a browser");
    let browser = browse(&home, &url, "approve");
    assert_eq!(browser.code, 0, "{browser:?}");
    let run = login.finish(Duration::from_secs(15));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("Logged in to"), "{}", run.stderr);
    home.ok(&["api-key"], "");
}

// No $BROWSER and no display (an SSH session, a container): print the URL, suggest
// --device, and keep waiting.
#[test]
fn no_display_suggests_device() {
    let standin = StandIn::shared();
    let mut home = Home::new(standin);
    home.env.retain(|(k, _)| k != "BROWSER");
    let started = Instant::now();
    let login = home.run(&["login", "--timeout", "1"], "");
    assert_eq!(login.code, 3, "{login:?}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(
        login.stderr.starts_with(
            "No browser can be opened here ($BROWSER is not set and there is no display).\n\
             Open this URL in a browser on this machine to log in:\n  https://"
        ),
        "{}",
        login.stderr
    );
    assert!(
        login.stderr.contains(
            "On a machine without a browser, run `anaconda-auth login --device` instead."
        ),
        "{}",
        login.stderr
    );
}

// `$BROWSER` with `%s` gets the whole URL (every `&` parameter) as one argument.
#[test]
fn browser_command_with_placeholder_gets_the_whole_url() {
    let standin = StandIn::shared();
    let mut home = Home::new(standin);
    let browser = root().join("integration/standin/browser");
    home.set("BROWSER", &format!("{} %s", browser.display()));
    let log = home.path().join("browser.log");
    home.set("STANDIN_BROWSER_LOG", log.to_str().unwrap());
    let login = home.run(&["login", "--timeout", "60"], "");
    assert_eq!(login.code, 0, "{login:?}");
    let printed = login
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("https://"))
        .unwrap()
        .trim();
    assert!(printed.contains("&state=") && printed.contains("&code_challenge="));
    assert_eq!(read(&log).trim_end(), printed);
}

// A token endpoint that answers 503 with an HTML page: an HTTP error (exit 4) naming the
// status and URL, and nothing stored.
#[test]
fn unavailable_token_endpoint_is_an_http_error() {
    let standin = StandIn::start_with(&[], &[("STANDIN_TOKEN_UNAVAILABLE", "1")]);
    let home = Home::new(&standin);
    let login = home.run(&["login", "--timeout", "60"], "");
    assert_eq!(login.code, 4, "{login:?}");
    assert!(
        login.stderr.contains(&format!(
            "anaconda-auth: HTTP 503 Service Unavailable for url: {}",
            standin.url("/api/auth/oauth2/token")
        )),
        "{}",
        login.stderr
    );
    assert!(!home.keyring().exists());
}
