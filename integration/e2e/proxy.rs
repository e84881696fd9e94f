//! TLS and proxies end to end (PRODUCT.md §5): `whoami` against the stand-in through the
//! stand-in's real CONNECT proxy (`integration/standin/proxy.mjs`, whose log names every
//! tunnel target), with the custom CA, `NO_PROXY`, `ssl_verify = false`, and wrong CAs.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::util::{Home, Run, StandIn, root};

/// A running `proxy.mjs`; it exits when this is dropped (its stdin closes).
struct Proxy {
    url: String,
    dir: tempfile::TempDir,
    _stdin: ChildStdin,
    _child: Child,
}

impl Proxy {
    fn start() -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("node")
            .arg(root().join("integration/standin/proxy.mjs"))
            .arg("--dir")
            .arg(dir.path())
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs (scripts/setup installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the proxy did not start ({e}): {line:?}"));
        Proxy {
            url: format!("http://127.0.0.1:{}", ready["port"]),
            _stdin: child.stdin.take().unwrap(),
            _child: child,
            dir,
        }
    }

    /// The `host:port` of every tunnel asked for so far.
    fn targets(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("proxy.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
}

/// A HOME for `standin` with a fresh API key in the environment, so `whoami` makes one
/// request to `/api/account`.
fn home_with_key(standin: &StandIn) -> Home {
    let mut home = Home::new(standin);
    home.set("ANACONDA_CLOUD_API_KEY", &standin.mint_key(3600));
    home
}

fn whoami(home: &Home) -> Run {
    home.run(&["whoami"], "")
}

fn assert_ok(run: &Run) {
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("test-user@example.com"), "{run:?}");
}

/// A CA certificate that did not sign the stand-in's certificate.
fn other_ca(dir: &Path) -> PathBuf {
    let ca = dir.join("other-ca.pem");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args([
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=Other Test CA",
            "-keyout",
        ])
        .arg(dir.join("other-ca-key.pem"))
        .arg("-out")
        .arg(&ca)
        .output()
        .expect("openssl runs (scripts/setup installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ca
}

// Through the proxy with the custom CA: the request works and the proxy saw the tunnel to
// the stand-in. Without the CA (platform roots only), the same tunnel is made and TLS fails:
// the certificate is checked end to end through the proxy.
#[test]
fn custom_ca_applies_through_the_proxy() {
    let standin = StandIn::shared();
    let proxy = Proxy::start();
    let mut home = home_with_key(standin);
    home.set("HTTPS_PROXY", &proxy.url);
    assert_ok(&whoami(&home));
    assert_eq!(proxy.targets(), [standin.domain.as_str()]);

    home.set("ANACONDA_CLOUD_SSL_VERIFY", "true");
    let run = whoami(&home);
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("TLS"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&standin.url("/api/account")),
        "{}",
        run.stderr
    );
    assert_eq!(proxy.targets().len(), 2);
}

// Every spelling of the proxy variables is honoured: lower case, ALL_PROXY, and HTTP_PROXY
// (all our requests are https; HTTP_PROXY is the last fallback).
#[test]
fn proxy_variables_in_any_case() {
    let standin = StandIn::shared();
    for name in [
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "http_proxy",
        "HTTP_PROXY",
    ] {
        let proxy = Proxy::start();
        let mut home = home_with_key(standin);
        home.set(name, &proxy.url);
        assert_ok(&whoami(&home));
        assert_eq!(proxy.targets(), [standin.domain.as_str()], "{name}");
    }
}

// NO_PROXY (either case, with spaces as people write it) sends the request past the proxy;
// a NO_PROXY naming another host does not.
#[test]
fn no_proxy_bypasses_the_proxy() {
    let standin = StandIn::shared();
    let proxy = Proxy::start();
    for (name, list) in [
        ("NO_PROXY", "localhost, 127.0.0.1"),
        ("no_proxy", "example.com,127.0.0.1:1"),
        ("NO_PROXY", "*"),
    ] {
        let mut home = home_with_key(standin);
        home.set("HTTPS_PROXY", &proxy.url);
        home.set(name, list);
        assert_ok(&whoami(&home));
        assert!(
            proxy.targets().is_empty(),
            "{name}={list}: {:?}",
            proxy.targets()
        );
    }
    let mut home = home_with_key(standin);
    home.set("HTTPS_PROXY", &proxy.url);
    home.set("NO_PROXY", "example.com, .internal");
    assert_ok(&whoami(&home));
    assert_eq!(proxy.targets(), [standin.domain.as_str()]);
}

// A proxy URL that cannot be used is a config error (exit 2) that does not print the URL.
#[test]
fn bad_proxy_url_is_a_config_error() {
    let standin = StandIn::shared();
    let mut home = home_with_key(standin);
    home.set("HTTPS_PROXY", "socks5://user:s3cret@127.0.0.1:1");
    let run = whoami(&home);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        "anaconda-auth: HTTPS_PROXY names a SOCKS proxy; only http:// and https:// proxies are supported"
    );
    assert!(!run.stderr.contains("s3cret"));
}

// ssl_verify = false works against the stand-in and warns exactly once, also for a login,
// which makes several connections.
#[test]
fn ssl_verify_false_warns_once() {
    let standin = StandIn::shared();
    let mut home = home_with_key(standin);
    home.set("ANACONDA_CLOUD_SSL_VERIFY", "false");
    let run = whoami(&home);
    assert_ok(&run);
    let warning =
        "anaconda-auth: warning: TLS certificate verification is off (ANACONDA_CLOUD_SSL_VERIFY)";
    assert_eq!(run.stderr.matches(warning).count(), 1, "{}", run.stderr);

    let home = Home::new(standin);
    let run = home.run(&["login", "--no-ssl-verify"], "");
    assert_eq!(run.code, 0, "{run:?}");
    let warning = "TLS certificate verification is off (flag --no-ssl-verify)";
    assert_eq!(run.stderr.matches(warning).count(), 1, "{}", run.stderr);
}

// A CA bundle that did not sign the server's certificate: exit 4, naming TLS and the URL.
#[test]
fn wrong_ca_is_a_tls_error() {
    let standin = StandIn::shared();
    let mut home = home_with_key(standin);
    let ca = other_ca(home.path());
    home.set("ANACONDA_CLOUD_SSL_VERIFY", ca.to_str().unwrap());
    let run = whoami(&home);
    assert_eq!(run.code, 4, "{run:?}");
    let first = run.stderr.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "anaconda-auth: cannot reach {}: TLS error",
            standin.url("/api/account")
        )),
        "{first}"
    );
    assert!(first.contains("set ssl_verify to its CA bundle"), "{first}");
}

// ssl_verify naming a file that is not there: exit 2 naming the source, before any request;
// a file with no certificate in it: exit 2 naming it.
#[test]
fn bad_ca_paths_are_config_errors() {
    let standin = StandIn::start();
    let mut home = home_with_key(&standin);
    home.set("ANACONDA_CLOUD_SSL_VERIFY", "/no/such/ca.pem");
    let run = whoami(&home);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        "anaconda-auth: ANACONDA_CLOUD_SSL_VERIFY must be true, false or a path to a CA bundle, and \"/no/such/ca.pem\" does not exist"
    );

    let mut home = home_with_key(&standin);
    home.env.retain(|(k, _)| k != "ANACONDA_CLOUD_SSL_VERIFY");
    std::fs::create_dir(home.path().join(".anaconda")).unwrap();
    std::fs::write(
        home.path().join(".anaconda/config.toml"),
        "[plugin.cloud]\n# the corporate CA\n\nssl_verify = \"/no/such/ca.pem\"\n",
    )
    .unwrap();
    let run = whoami(&home);
    assert_eq!(run.code, 2, "{run:?}");
    let config = home.path().join(".anaconda/config.toml");
    assert!(
        run.stderr.starts_with(&format!(
            "anaconda-auth: {} line 4: ssl_verify must be true, false or a path",
            config.display()
        )),
        "{}",
        run.stderr
    );

    let not_pem = home.path().join("not.pem");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    home.set("ANACONDA_CLOUD_SSL_VERIFY", not_pem.to_str().unwrap());
    let run = whoami(&home);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        format!(
            "anaconda-auth: ANACONDA_CLOUD_SSL_VERIFY: the CA bundle {} holds no PEM certificate",
            not_pem.display()
        )
    );
    assert!(standin.requests().is_empty(), "no request was made");
}

// ssl_verify = true uses the platform's roots, which honour SSL_CERT_FILE.
#[test]
fn platform_roots_honour_ssl_cert_file() {
    let standin = StandIn::shared();
    let mut home = home_with_key(standin);
    home.set("ANACONDA_CLOUD_SSL_VERIFY", "true");
    home.set("SSL_CERT_FILE", standin.ca.to_str().unwrap());
    assert_ok(&whoami(&home));
}
