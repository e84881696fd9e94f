//! `login --device` (RFC 8628, PRODUCT.md §6) against the stand-in's real OpenID provider: the
//! scripted browser approves or refuses the printed code while the binary polls.

use std::time::Duration;

use crate::login_browser::browse;
use crate::running::Running;
use crate::util::{Home, Run, StandIn};

/// When the token endpoint was polled, in seconds since the first poll.
fn token_polls(standin: &StandIn) -> Vec<f64> {
    let times: Vec<f64> = token_requests(standin)
        .iter()
        .map(|r| {
            let t = chrono::DateTime::parse_from_rfc3339(r["time"].as_str().unwrap()).unwrap();
            t.timestamp_millis() as f64 / 1000.0
        })
        .collect();
    times.iter().map(|t| t - times[0]).collect()
}

/// The requests the token endpoint received, in order.
fn token_requests(standin: &StandIn) -> Vec<serde_json::Value> {
    standin
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/api/auth/oauth2/token")
        .collect()
}

/// Starts `login --device`, waits for `polls` polls, approves the code in the scripted
/// browser, and returns the finished login, which must have succeeded.
fn approved_device_login(home: &Home, standin: &StandIn, polls: usize) -> Run {
    let (login, url) = start_device_login(home, standin, &[]);
    wait_for_polls(standin, polls);
    let browser = browse(home, &url, "approve");
    assert_eq!(browser.code, 0, "{browser:?}");
    let run = login.finish(Duration::from_secs(30));
    assert_eq!(run.code, 0, "{run:?}");
    run
}

/// Waits until the token endpoint has been polled `n` times.
fn wait_for_polls(standin: &StandIn, n: usize) {
    for _ in 0..100 {
        if token_polls(standin).len() >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("fewer than {n} polls in 10 s: {:?}", token_polls(standin));
}

/// Starts `login --device` and returns it with the verification URL it printed.
fn start_device_login(home: &Home, standin: &StandIn, args: &[&str]) -> (Running, String) {
    let mut login = Running::start(home, &[&["login", "--device"], args].concat());
    let url = login.url(&standin.url("/api/auth/oauth2/device?user_code="));
    let code = url.rsplit_once('=').unwrap().1.to_string();
    login.line(|l| l == format!("and check that it shows the code {code}."));
    (login, url)
}

// Approved in the browser: polls at the server's interval (1 s here, not the 5 s default),
// then stores the key with the account's e-mail.
#[test]
fn approved_in_the_browser() {
    let standin = StandIn::start();
    let home = Home::new(&standin);
    let run = approved_device_login(&home, &standin, 2);
    assert!(run.stderr.contains("Logged in to"), "{}", run.stderr);
    let polls = token_polls(&standin);
    for pair in polls.windows(2) {
        let gap = pair[1] - pair[0];
        assert!((0.9..3.0).contains(&gap), "poll gaps: {polls:?}");
    }
    let key = home.ok(&["api-key"], "").stdout;
    assert!(!run.stderr.contains(key.trim()));
    let status = home.ok(&["status"], "").stdout;
    assert!(
        status.contains("Account:  test-user@example.com"),
        "{status}"
    );
}

// slow_down adds 5 s to the polling interval (RFC 8628 §3.5).
#[test]
fn slow_down_adds_five_seconds() {
    let standin = StandIn::start_with(&[], &[("STANDIN_DEVICE_SLOW_DOWN", "1")]);
    let home = Home::new(&standin);
    approved_device_login(&home, &standin, 1);
    let polls = token_polls(&standin);
    assert_eq!(polls.len(), 2, "the second poll succeeds: {polls:?}");
    assert!(
        (5.9..9.0).contains(&polls[1]),
        "1 s interval + 5 s after slow_down: {polls:?}"
    );
}

// A connection idle for seconds is not reused: servers close idle keep-alive connections
// (Node and Apache after 5 s), and a poll sent on one that the server is closing fails
// ("connection reset", then oauth2 waits 10 s more). The stand-in here keeps idle
// connections for a minute, so a reused one would show as the same client port.
#[test]
fn polls_seconds_apart_open_a_new_connection() {
    let standin = StandIn::start_with(
        &[],
        &[
            ("STANDIN_DEVICE_SLOW_DOWN", "1"),
            ("STANDIN_KEEPALIVE_S", "60"),
        ],
    );
    let home = Home::new(&standin);
    let run = approved_device_login(&home, &standin, 1);
    assert!(!run.stderr.contains("still waiting"), "{}", run.stderr);
    let ports: Vec<u64> = token_requests(&standin)
        .iter()
        .map(|r| r["client_port"].as_u64().unwrap())
        .collect();
    assert_eq!(ports.len(), 2, "{ports:?}");
    assert_ne!(
        ports[0], ports[1],
        "the poll 6 s later reused the idle connection"
    );
}

// Refused in the browser: the next poll gets access_denied, exit 3.
#[test]
fn refused_in_the_browser() {
    let standin = StandIn::shared();
    let home = Home::new(standin);
    let (login, url) = start_device_login(&home, standin, &[]);
    let browser = browse(&home, &url, "deny");
    assert_eq!(browser.code, 0, "{browser:?}");
    let run = login.finish(Duration::from_secs(20));
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "anaconda-auth: login failed: {} refused the login: access_denied",
            standin.domain
        )),
        "{}",
        run.stderr
    );
    assert!(!home.keyring().exists());
}

// A code nobody approves expires: exit 3 with what to do.
#[test]
fn expired_code() {
    let standin = StandIn::start_with(&[], &[("STANDIN_DEVICE_TTL", "2")]);
    let home = Home::new(&standin);
    let (login, _url) = start_device_login(&home, &standin, &[]);
    let run = login.finish(Duration::from_secs(20));
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .contains("expired before it was approved; run `anaconda-auth login --device` again"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(the code expires in 2 s)"),
        "{}",
        run.stderr
    );
}

// --timeout shorter than the code's lifetime ends the wait with its own message.
#[test]
fn timeout_before_the_code_expires() {
    let standin = StandIn::shared();
    let home = Home::new(standin);
    let (login, _url) = start_device_login(&home, standin, &["--timeout", "2"]);
    let run = login.finish(Duration::from_secs(20));
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("was not approved within 2 s; run `anaconda-auth login --device` again (--timeout to wait longer)"),
        "{}",
        run.stderr
    );
}

// A token endpoint that answers 503 (an HTML page from a proxy) while the code waits: each
// failed poll is reported and retried, and the approved code still logs in.
#[test]
fn unavailable_token_endpoint_is_retried() {
    let standin = StandIn::start_with(&[], &[("STANDIN_TOKEN_UNAVAILABLE", "2")]);
    let home = Home::new(&standin);
    let (login, url) = start_device_login(&home, &standin, &[]);
    let browser = browse(&home, &url, "approve");
    assert_eq!(browser.code, 0, "{browser:?}");
    let run = login.finish(Duration::from_secs(30));
    assert_eq!(run.code, 0, "{run:?}");
    let warning = format!(
        "anaconda-auth: warning: HTTP 503 Service Unavailable for url: {}; still waiting",
        standin.url("/api/auth/oauth2/token")
    );
    assert_eq!(run.stderr.matches(&warning).count(), 2, "{}", run.stderr);
    home.ok(&["api-key"], "");
}
