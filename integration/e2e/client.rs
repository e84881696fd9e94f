//! The API client and the commands built on it (PRODUCT.md §2, §7): `whoami` and `status`
//! against the stand-in, each HTTP error path with its exit code and message.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anaconda_auth::config::{Overrides, Sources, SslVerify};
use anaconda_auth::storage::Store;
use anaconda_auth::token::TokenRecord;
use anaconda_auth::{Client, Domain, Error, Secret, Settings};
use serde_json::Value;

use crate::util::{Home, StandIn};

/// A CA bundle trusting both stand-ins, for tests that talk to two hosts.
fn both_cas(home: &Home, a: &StandIn, b: &StandIn) -> String {
    let mut pem = std::fs::read(&a.ca).unwrap();
    pem.extend(std::fs::read(&b.ca).unwrap());
    let path = home.path().join("both-cas.pem");
    std::fs::write(&path, pem).unwrap();
    path.to_str().unwrap().to_string()
}

// The configured key belongs to the configured domain: `--domain OTHER` never sends or prints
// it (PRODUCT.md §3), for whoami, api-key and status alike.
#[test]
fn env_key_stays_with_its_domain() {
    let configured = StandIn::shared();
    let other = StandIn::start();
    let mut home = Home::new(configured);
    let key = configured.mint_key(3600);
    home.set("ANACONDA_CLOUD_API_KEY", &key);
    home.set(
        "ANACONDA_CLOUD_SSL_VERIFY",
        &both_cas(&home, configured, &other),
    );
    home.ok(&["whoami"], "");

    let who = home.run(&["whoami", "--domain", &other.domain], "");
    assert_eq!(who.code, 3, "{who:?}");
    assert!(
        who.stderr
            .contains(&format!("not logged in to {}", other.domain)),
        "{}",
        who.stderr
    );
    assert!(
        other
            .requests()
            .iter()
            .all(|r| r.get("auth_scheme").is_none()),
        "the key went to {}: {:?}",
        other.domain,
        other.requests()
    );
    let api_key = home.run(&["api-key", "--domain", &other.domain], "");
    assert_eq!(api_key.code, 3, "{api_key:?}");
    assert!(!api_key.stdout.contains(&key));
    let status = home.run(&["status", "--domain", &other.domain], "");
    assert_eq!(status.code, 3, "{status:?}");
    assert!(
        !status.stdout.contains("ANACONDA_CLOUD_API_KEY"),
        "{}",
        status.stdout
    );
    for run in [&who, &api_key, &status] {
        assert!(!run.stderr.contains(&key) && !run.stdout.contains(&key));
    }
}

/// Settings for `standin` in `home`, from these environment variables only.
fn settings(standin: &StandIn, home: &Path, env: &[(&str, &str)]) -> Settings {
    let mut vars = vec![
        ("ANACONDA_CLOUD_DOMAIN".to_string(), standin.domain.clone()),
        (
            "ANACONDA_CLOUD_SSL_VERIFY".to_string(),
            standin.ca.to_str().unwrap().to_string(),
        ),
    ];
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let sources = Sources {
        env: vars,
        ..Sources::default()
    };
    Settings::from_sources(home.to_path_buf(), &sources, &Overrides::default()).unwrap()
}

fn store_key(settings: &Settings, key: &str) {
    let record = TokenRecord::new(settings.domain.value.as_str(), Secret::new(key));
    Store::new(settings).save(&record).unwrap();
}

/// What `/api/test/echo` saw: its headers (Authorization as the sha256 hex of the value).
fn echo(client: &Client) -> Value {
    client.get_json("/api/test/echo").unwrap()["headers"].clone()
}

fn sha256_hex(text: &str) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

// Each answer becomes its error type and exit code: 401/403 with the auth_required body are
// authentication errors (which one depends on whether a key was sent), anything else is an
// HTTP error naming status, reason and URL.
#[test]
fn statuses_become_error_types() {
    let standin = StandIn::shared();
    let home = tempfile::tempdir().unwrap();
    let s = settings(standin, home.path(), &[]);
    let anonymous = Client::new(&s).unwrap();
    let keyed = Client::builder(&s)
        .api_key(Secret::new(standin.mint_key(3600)))
        .build()
        .unwrap();
    assert!(!anonymous.has_key() && keyed.has_key());
    for (path, with_key, class, code) in [
        (
            "401?body=auth_required",
            false,
            "AuthenticationMissingError",
            3,
        ),
        ("401?body=auth_required", true, "InvalidAuthentication", 3),
        (
            "403?body=auth_required",
            false,
            "AuthenticationMissingError",
            3,
        ),
        ("403?body=auth_required", true, "InvalidAuthentication", 3),
        ("401", true, "HTTPError", 4),
        ("403", false, "HTTPError", 4),
        ("404", true, "HTTPError", 4),
        ("422", true, "HTTPError", 4),
        ("500", false, "HTTPError", 4),
        ("503?body=auth_required", true, "HTTPError", 4),
    ] {
        let client = if with_key { &keyed } else { &anonymous };
        let url = standin.url(&format!("/api/test/status/{path}"));
        let err = client
            .request("GET", &format!("api/test/status/{path}"), None)
            .unwrap_err();
        assert_eq!(
            (err.class_name(), err.exit_code()),
            (class, code),
            "{path}: {err}"
        );
        assert!(err.to_string().contains(&url), "{err}");
        if let Error::Http { status, reason, .. } = &err {
            let want = format!("HTTP {status} {reason} for url: {url}");
            assert_eq!(err.to_string(), want);
            assert_eq!(status.to_string(), path[..3]);
        }
    }
    let err = anonymous.get_json("/api/no-such-route").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "HTTP 404 Not Found for url: {}",
            standin.url("/api/no-such-route")
        )
    );
    let account = keyed.get_json("/api/account").unwrap();
    assert_eq!(account["user"]["email"], "test-user@example.com");
    // A 2xx that is not JSON (a portal's HTML page, say) is an HTTP-level failure.
    let err = anonymous.get_json("/").unwrap_err();
    assert_eq!(err.exit_code(), 4, "{err}");
    assert!(
        err.to_string().starts_with(&format!(
            "{} gave an unexpected answer: HTTP 200 but not the JSON expected",
            standin.url("/")
        )),
        "{err}"
    );
}

// The key: explicit beats configured beats stored; none means no Authorization header.
// User-Agent and Api-Version are ours; extra headers are added but never replace them.
#[test]
fn key_precedence_and_headers() {
    let standin = StandIn::shared();
    let home = tempfile::tempdir().unwrap();
    let (stored, configured, explicit) = (
        standin.mint_key(3600),
        standin.mint_key(3600),
        standin.mint_key(3600),
    );
    let bare = settings(standin, home.path(), &[]);
    let h = echo(&Client::new(&bare).unwrap());
    assert!(h.get("authorization").is_none(), "{h}");
    assert_eq!(
        h["user-agent"],
        concat!("anaconda-auth/", env!("CARGO_PKG_VERSION"))
    );
    assert!(h.get("api-version").is_none(), "{h}");

    store_key(&bare, &stored);
    let h = echo(&Client::new(&bare).unwrap());
    assert_eq!(h["authorization"], sha256_hex(&format!("Bearer {stored}")));

    let with_env = settings(
        standin,
        home.path(),
        &[
            ("ANACONDA_CLOUD_API_KEY", configured.as_str()),
            (
                "ANACONDA_CLOUD_EXTRA_HEADERS",
                r#"{"X-Extra": "1", "Authorization": "Bearer stolen", "User-Agent": "evil", "Api-Version": "1999.01.01"}"#,
            ),
        ],
    );
    let h = echo(&Client::new(&with_env).unwrap());
    assert_eq!(
        h["authorization"],
        sha256_hex(&format!("Bearer {configured}"))
    );
    assert_eq!(h["x-extra"], "1");
    assert_eq!(
        h["user-agent"],
        concat!("anaconda-auth/", env!("CARGO_PKG_VERSION"))
    );
    // This client sends no Api-Version of its own, so the configured one is not overriding.
    assert_eq!(h["api-version"], "1999.01.01");

    let client = Client::builder(&with_env)
        .api_key(Secret::new(explicit.clone()))
        .user_agent("my-tool/1.0")
        .api_version("2024.06.01")
        .build()
        .unwrap();
    let h = echo(&client);
    assert_eq!(
        h["authorization"],
        sha256_hex(&format!("Bearer {explicit}"))
    );
    assert_eq!(h["user-agent"], "my-tool/1.0");
    assert_eq!(h["api-version"], "2024.06.01");

    let client = Client::builder(&with_env)
        .extra_headers([("X-Other".to_string(), "2".to_string())])
        .build()
        .unwrap();
    let h = echo(&client);
    assert_eq!((h["x-other"].as_str(), h.get("x-extra")), (Some("2"), None));
}

// An expired stored key is not sent; a server asking for a key then gets TokenExpired
// (log in again) rather than "no key was sent".
#[test]
fn expired_stored_key() {
    let standin = StandIn::shared();
    let home = tempfile::tempdir().unwrap();
    let s = settings(standin, home.path(), &[]);
    let err = Client::new(&s)
        .unwrap()
        .get_json("/api/account")
        .unwrap_err();
    assert_eq!(err.class_name(), "AuthenticationMissingError", "{err}");
    store_key(&s, &standin.mint_key(-60));
    let client = Client::new(&s).unwrap();
    assert!(!client.has_key());
    assert!(echo(&client).get("authorization").is_none());
    let err = client.get_json("/api/account").unwrap_err();
    assert_eq!(
        (err.class_name(), err.exit_code()),
        ("TokenExpiredError", 3)
    );
    assert!(
        err.to_string()
            .starts_with(&format!("the API key for {} expired on", standin.domain)),
        "{err}"
    );
}

// A base URL: paths join onto it; a configured or stored key goes only to its own host;
// a domain and a base URL together are refused.
#[test]
fn base_url_and_domain() {
    let standin = StandIn::shared();
    let other = StandIn::start();
    let home = tempfile::tempdir().unwrap();
    let mut pem = std::fs::read(&standin.ca).unwrap();
    pem.extend(std::fs::read(&other.ca).unwrap());
    let bundle = home.path().join("both.pem");
    std::fs::write(&bundle, pem).unwrap();
    let s = settings(
        standin,
        home.path(),
        &[("ANACONDA_CLOUD_SSL_VERIFY", bundle.to_str().unwrap())],
    );
    let key = standin.mint_key(3600);
    store_key(&s, &key);

    let client = Client::builder(&s)
        .base_url(standin.url("/api/test/"))
        .build()
        .unwrap();
    assert_eq!(client.url("/echo"), standin.url("/api/test/echo"));
    let answer = client.get_json("echo").unwrap();
    assert_eq!(answer["path"], "/api/test/echo");
    assert_eq!(
        answer["headers"]["authorization"],
        sha256_hex(&format!("Bearer {key}"))
    );

    let elsewhere = [
        Client::builder(&s)
            .base_url(other.url("/"))
            .build()
            .unwrap(),
        Client::builder(&s)
            .domain(Domain::parse(&other.domain).unwrap())
            .build()
            .unwrap(),
    ];
    for client in &elsewhere {
        assert!(!client.has_key());
        assert!(echo(client).get("authorization").is_none());
    }
    assert!(
        other
            .requests()
            .iter()
            .all(|r| r.get("auth_scheme").is_none()),
        "a key reached the other host"
    );

    // A redirect to another host does not take the key along.
    let to = other.url("/api/test/echo");
    let client = Client::new(&s).unwrap();
    let answer = client
        .get_json(&format!("/api/test/redirect?to={to}"))
        .unwrap();
    assert_eq!(answer["path"], "/api/test/echo");
    assert!(answer["headers"].get("authorization").is_none(), "{answer}");

    let both = Client::builder(&s)
        .domain(Domain::parse(&other.domain).unwrap())
        .base_url(other.url("/"))
        .build();
    let err = both
        .err()
        .expect("domain and base URL together are refused");
    assert_eq!(err.exit_code(), 2, "{err}");
    assert!(Client::builder(&s).base_url("ftp://x/").build().is_err());
}

// A read timeout ends a request the server does not answer, and a connect timeout one whose
// TLS handshake never completes; both are network errors (exit 4) saying which.
#[test]
fn timeouts() {
    let standin = StandIn::shared();
    let home = tempfile::tempdir().unwrap();
    let s = settings(standin, home.path(), &[]);
    let client = Client::builder(&s)
        .read_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    assert!(client.get_json("/api/test/slow/0.2").is_ok());
    let started = Instant::now();
    let err = client.get_json("/api/test/slow/10").unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.exit_code(), 4);
    assert!(
        err.to_string()
            .ends_with("the server sent nothing for 1s (read timeout)"),
        "{err}"
    );

    // Accepted by the kernel, never answered: TLS cannot complete.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = Client::builder(&s)
        .base_url(format!("https://{}", silent.local_addr().unwrap()))
        .connect_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.get_json("/api/account").unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.exit_code(), 4);
    assert!(
        err.to_string()
            .ends_with("no connection within 1s (connect timeout)"),
        "{err}"
    );
}

// ssl_verify: the platform roots do not know the stand-in's CA (a TLS error, exit 4); its
// CA bundle does; verification off works too.
#[test]
fn ssl_verify_choices() {
    let standin = StandIn::shared();
    let home = tempfile::tempdir().unwrap();
    let s = settings(standin, home.path(), &[]);
    let with = |verify: SslVerify| {
        Client::builder(&s)
            .ssl_verify(verify)
            .build()
            .unwrap()
            .get_json("/api/test/echo")
    };
    let err = with(SslVerify::Yes).unwrap_err();
    assert_eq!(err.exit_code(), 4, "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
    assert!(with(SslVerify::CaBundle(standin.ca.clone())).is_ok());
    assert!(with(SslVerify::No).is_ok());
}

/// The stderr of this test binary running `client::min_api_version_child` for `case`.
fn min_version_stderr(standin: &StandIn, api_version: Option<&str>) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "client::min_api_version_child",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("E2E_CHILD_DOMAIN", &standin.domain)
        .env("E2E_CHILD_CA", &standin.ca)
        .env("E2E_CHILD_API_VERSION", api_version.unwrap_or(""))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

// The body of the child process of min_api_version_warns_once (the warning goes to this
// process's stderr, which only a parent can read).
#[test]
#[ignore = "run as a child process by min_api_version_warns_once"]
fn min_api_version_child() {
    let var = |name: &str| {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} unset: run by min_api_version_warns_once"))
    };
    let home = tempfile::tempdir().unwrap();
    let sources = Sources {
        env: vec![
            ("ANACONDA_CLOUD_DOMAIN".into(), var("E2E_CHILD_DOMAIN")),
            ("ANACONDA_CLOUD_SSL_VERIFY".into(), var("E2E_CHILD_CA")),
        ],
        ..Sources::default()
    };
    let s = Settings::from_sources(home.path().into(), &sources, &Overrides::default()).unwrap();
    let mut builder = Client::builder(&s);
    let version = var("E2E_CHILD_API_VERSION");
    if !version.is_empty() {
        builder = builder.api_version(version);
    }
    let client = builder.build().unwrap();
    client.get_json("/api/test/min-version").unwrap();
    client.get_json("/api/test/min-version").unwrap();
}

// The server's Min-Api-Version (2099.01.10) newer than ours: one warning per client on
// stderr; the same version written without leading zeros, a newer one, or none: silence.
#[test]
fn min_api_version_warns_once() {
    let standin = StandIn::shared();
    let stderr = min_version_stderr(standin, Some("2023.01.10"));
    let warning = "anaconda-auth: warning: the server's minimum API version is 2099.01.10, newer than the 2023.01.10 this client speaks";
    assert_eq!(stderr.matches(warning).count(), 1, "{stderr}");
    for quiet in [Some("2099.1.10"), Some("2100.01.01"), None] {
        let stderr = min_version_stderr(standin, quiet);
        assert!(!stderr.contains("warning"), "{quiet:?}: {stderr}");
    }
}

/// A HOME logged in to `standin` (a minted key stored through the binary); returns the key.
fn logged_in(standin: &StandIn) -> (Home, String) {
    let home = Home::new(standin);
    let key = standin.mint_key(3600);
    home.ok(
        &["store"],
        &format!(
            "{{\"domain\": \"{}\", \"api_key\": \"{key}\"}}",
            standin.domain
        ),
    );
    (home, key)
}

// whoami through each error the server can give (the stand-in answers /api/account with the
// status named by an extra header): exit 3 for the auth errors with the login guidance, exit
// 4 and one line with status, reason and URL for the rest; never the key.
#[test]
fn whoami_error_paths() {
    let standin = StandIn::shared();
    let url = standin.url("/api/account");
    for (status, body, code, first_line) in [
        (
            "500",
            "",
            4,
            format!("anaconda-auth: HTTP 500 Internal Server Error for url: {url}"),
        ),
        (
            "404",
            "",
            4,
            format!("anaconda-auth: HTTP 404 Not Found for url: {url}"),
        ),
        (
            "403",
            "",
            4,
            format!("anaconda-auth: HTTP 403 Forbidden for url: {url}"),
        ),
        (
            "401",
            "",
            4,
            format!("anaconda-auth: HTTP 401 Unauthorized for url: {url}"),
        ),
        (
            "401",
            "auth_required",
            3,
            format!("anaconda-auth: your API key or login token is invalid ({url} answered 401)"),
        ),
        (
            "403",
            "auth_required",
            3,
            format!("anaconda-auth: your API key or login token is invalid ({url} answered 403)"),
        ),
    ] {
        let (mut home, key) = logged_in(standin);
        home.set(
            "ANACONDA_CLOUD_EXTRA_HEADERS",
            &format!(r#"{{"X-Standin-Status": "{status}", "X-Standin-Body": "{body}"}}"#),
        );
        let run = home.run(&["whoami"], "");
        assert_eq!(run.code, code, "{status} {body}: {run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines[0], first_line, "{}", run.stderr);
        if code == 3 {
            assert!(
                run.stderr
                    .contains("To configure your credentials you can run")
            );
        } else {
            assert_eq!(
                lines[1..],
                [
                    "To see a more detailed error message run the command again as",
                    "  anaconda-auth --verbose whoami"
                ],
                "{}",
                run.stderr
            );
        }
        assert!(!run.stderr.contains(&key), "{}", run.stderr);
    }
}

// --verbose adds what the server said, with what it repeated of the key redacted.
#[test]
fn whoami_verbose_shows_the_body_without_secrets() {
    let standin = StandIn::shared();
    let (mut home, key) = logged_in(standin);
    home.set(
        "ANACONDA_CLOUD_EXTRA_HEADERS",
        r#"{"X-Standin-Status": "422", "X-Standin-Body": "echo-auth"}"#,
    );
    let run = home.run(&["--verbose", "whoami"], "");
    assert_eq!(run.code, 4, "{run:?}");
    assert!(!run.stderr.contains(&key), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "anaconda-auth: HTTP 422 Unprocessable Entity for url: {}",
            standin.url("/api/account")
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            r#"The server said: {"error":{"code":"test_error","message":"rejected Authorization: Bearer <redacted>","api_key":"<redacted>"}}"#
        ),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("run the command again"),
        "{}",
        run.stderr
    );
}

// whoami prints the account as pretty JSON; --domain picks the host; no key: exit 3 at once
// without asking the server; an unreachable host: exit 4.
#[test]
fn whoami_output_and_domain() {
    let standin = StandIn::shared();
    let (home, _) = logged_in(standin);
    let who = home.ok(&["whoami"], "");
    let account: Value = serde_json::from_str(&who.stdout).unwrap();
    assert_eq!(account["user"]["email"], "test-user@example.com");
    assert_eq!(
        who.stdout,
        format!("{}\n", serde_json::to_string_pretty(&account).unwrap())
    );

    // The domain from the flag alone (nothing configured).
    let mut bare = Home::bare();
    bare.set("ANACONDA_CLOUD_SSL_VERIFY", standin.ca.to_str().unwrap());
    let key = standin.mint_key(3600);
    bare.ok(
        &["store"],
        &format!(
            "{{\"domain\": \"{}\", \"api_key\": \"{key}\"}}",
            standin.domain
        ),
    );
    assert_eq!(
        bare.ok(&["whoami", "--domain", &standin.domain], "").stdout,
        who.stdout
    );
    let none = bare.run(&["whoami"], "");
    assert_eq!(none.code, 3, "{none:?}");
    assert!(
        none.stderr
            .starts_with("anaconda-auth: not logged in to anaconda.cloud"),
        "{none:?}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere = format!("127.0.0.1:{port}");
    bare.ok(
        &["store"],
        &format!("{{\"domain\": \"{nowhere}\", \"api_key\": \"{key}\"}}"),
    );
    let run = bare.run(&["whoami", "--domain", &nowhere], "");
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.starts_with(&format!(
            "anaconda-auth: cannot reach https://{nowhere}/api/account"
        )),
        "{run:?}"
    );
}

// status: domain and its source, storage, logged in or not, the expiry date, whether a
// configured key overrides; exit 0 or 3; never the key. --domain picks the host.
#[test]
fn status_reports() {
    let standin = StandIn::shared();
    let home = Home::new(standin);
    let run = home.run(&["status"], "");
    assert_eq!(run.code, 3, "{run:?}");
    let keyring = home.keyring();
    for line in [
        format!("Domain:   {} (from ANACONDA_CLOUD_DOMAIN)", standin.domain),
        format!("Storage:  {}", keyring.display()),
        format!("Stored:   nothing for {}", standin.domain),
        "Status:   not logged in".to_string(),
    ] {
        assert!(run.stdout.contains(&line), "{line:?} in\n{}", run.stdout);
    }

    let (home, key) = logged_in(standin);
    let expires = anaconda_auth::token::rfc3339(anaconda_auth::token::jwt_exp(&key).unwrap());
    let run = home.run(&["status"], "");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("Stored:   an API key, valid until {expires}")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Status:   logged in"), "{}", run.stdout);
    assert!(!run.stdout.contains("overrides"), "{}", run.stdout);

    let other = home.run(&["status", "--domain", "elsewhere.example"], "");
    assert_eq!(other.code, 3, "{other:?}");
    assert!(
        other
            .stdout
            .contains("Domain:   elsewhere.example (from flag --domain)"),
        "{}",
        other.stdout
    );

    let mut expired = Home::new(standin);
    let old = standin.mint_key(-60);
    expired.ok(
        &["store"],
        &format!(
            "{{\"domain\": \"{}\", \"api_key\": \"{old}\"}}",
            standin.domain
        ),
    );
    let run = expired.run(&["status"], "");
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stdout.contains("Stored:   an API key that expired on"),
        "{}",
        run.stdout
    );

    // A configured key answers instead: logged in, and it says so.
    let env_key = standin.mint_key(3600);
    expired.set("ANACONDA_CLOUD_API_KEY", &env_key);
    let run = expired.run(&["status"], "");
    assert_eq!(run.code, 0, "{run:?}");
    let env_expires =
        anaconda_auth::token::rfc3339(anaconda_auth::token::jwt_exp(&env_key).unwrap());
    assert!(
        run.stdout.contains(&format!(
            "API key:  from ANACONDA_CLOUD_API_KEY, valid until {env_expires} (overrides any stored key)"
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Status:   logged in"), "{}", run.stdout);

    // An expired configured key is no login either.
    let mut stale = Home::new(standin);
    let stale_key = standin.mint_key(-60);
    stale.set("ANACONDA_CLOUD_API_KEY", &stale_key);
    let stale_run = stale.run(&["status"], "");
    assert_eq!(stale_run.code, 3, "{stale_run:?}");
    assert!(
        stale_run
            .stdout
            .contains("API key:  from ANACONDA_CLOUD_API_KEY, expired on"),
        "{}",
        stale_run.stdout
    );
    assert!(!stale_run.stdout.contains(&stale_key));
    for r in [&run, &other] {
        for k in [&key, &old, &env_key] {
            assert!(!r.stdout.contains(k.as_str()) && !r.stderr.contains(k.as_str()));
        }
    }
}
