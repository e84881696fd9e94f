//! The one HTTP stack: a ureq `Agent` with the configured TLS, proxies and User-Agent, and the
//! adapter that lets oauth2 send its requests through it (PRODUCT.md §5, FACTS.md on oauth2).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ureq::tls::{PemItem, RootCerts, TlsConfig};
use ureq::{Proxy, ProxyProtocol};
use zeroize::Zeroize as _;

use crate::config::{Settings, SslVerify};
use crate::error::{Error, Result, verbose, warn};

/// The default `User-Agent`: `anaconda-auth/VERSION`.
pub const USER_AGENT: &str = concat!("anaconda-auth/", env!("CARGO_PKG_VERSION"));

static WARNED_NO_VERIFY: AtomicBool = AtomicBool::new(false);

/// Builds the agent every request of the process goes through.
///
/// HTTP error statuses are returned as responses, not errors, so that callers can read
/// `{"error": ...}` bodies. The proxy comes from the environment ([`proxy_from_env`]); the
/// TLS settings apply to connections tunnelled through it too.
///
/// A connection idle for more than 2 s is not reused (`MAX_IDLE`).
pub fn agent(settings: &Settings, user_agent: &str) -> Result<ureq::Agent> {
    let proxy = proxy_from_env(|name| std::env::var(name).ok())?;
    Ok(ureq::Agent::config_builder()
        .tls_config(tls_config(settings)?)
        .proxy(proxy)
        .http_status_as_error(false)
        .user_agent(user_agent)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(60)))
        .max_idle_age(MAX_IDLE)
        .build()
        .into())
}

/// How long an idle connection may wait for its next request.
///
/// Servers close idle keep-alive connections, Node and Apache after 5 s; a request sent as
/// the server closes fails with "connection reset". Device-flow polls come 5 s or more apart,
/// and a token exchange follows the user's login, so ureq's 15 s would reuse exactly such
/// connections. A new connection costs a TLS handshake, a few ms next to those waits.
const MAX_IDLE: Duration = Duration::from_secs(2);

/// `ssl_verify` as TLS settings: the platform's roots, none (warned about once per process),
/// or only the certificates of a CA bundle.
fn tls_config(settings: &Settings) -> Result<TlsConfig> {
    let source = &settings.ssl_verify.source;
    let builder = match &settings.ssl_verify.value {
        SslVerify::Yes => TlsConfig::builder().root_certs(RootCerts::PlatformVerifier),
        SslVerify::No => {
            if !WARNED_NO_VERIFY.swap(true, Ordering::Relaxed) {
                warn(format_args!(
                    "TLS certificate verification is off ({source}): anyone on the network can read your key"
                ));
            }
            TlsConfig::builder().disable_verification(true)
        }
        SslVerify::CaBundle(path) => {
            let invalid = |problem: String| {
                Error::Config(format!(
                    "{source}: the CA bundle {} {problem}",
                    path.display()
                ))
            };
            let pem = std::fs::read(path).map_err(|e| invalid(format!("cannot be read: {e}")))?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(cert)) => Some(cert),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(invalid("holds no PEM certificate".into()));
            }
            TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(certs)))
        }
    };
    Ok(builder.build())
}

/// The proxy for our requests (all https), read from the environment the way curl and Python
/// requests read it: `https_proxy`, `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY`, and last
/// `http_proxy`, `HTTP_PROXY`; lower case first; empty counts as unset.
///
/// `no_proxy`/`NO_PROXY` is a comma list of hosts (spaces allowed, ports ignored): `example.com`
/// and `.example.com` both cover `example.com` and its subdomains, `*` covers everything.
/// CIDR ranges are not supported. A proxy URL that cannot be used is an error (never a silent
/// direct connection); the message does not repeat the URL, which may hold a password.
fn proxy_from_env(env: impl Fn(&str) -> Option<String>) -> Result<Option<Proxy>> {
    let names = [
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "http_proxy",
        "HTTP_PROXY",
    ];
    let Some((name, url)) = names.iter().find_map(|name| {
        env(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (*name, v))
    }) else {
        return Ok(None);
    };
    let bad = |problem: &str| Error::Config(format!("{name} {problem}"));
    let parsed =
        Proxy::new(url.trim()).map_err(|_| bad("is not a proxy URL like http://host:port"))?;
    let protocol = parsed.protocol();
    if !matches!(protocol, ProxyProtocol::Http | ProxyProtocol::Https) {
        return Err(bad(
            "names a SOCKS proxy; only http:// and https:// proxies are supported",
        ));
    }
    let mut builder = Proxy::builder(protocol)
        .host(parsed.host())
        .port(parsed.port());
    if let Some(user) = parsed.username() {
        builder = builder.username(user);
    }
    if let Some(password) = parsed.password() {
        builder = builder.password(password);
    }
    let no_proxy = ["no_proxy", "NO_PROXY"]
        .iter()
        .find_map(|name| env(name))
        .unwrap_or_default();
    for host in no_proxy_hosts(&no_proxy) {
        if host == "*" {
            builder = builder.no_proxy("*");
        } else {
            builder = builder.no_proxy(&host).no_proxy(&format!(".{host}"));
        }
    }
    verbose(format_args!("requests go through the proxy in {name}"));
    builder
        .build()
        .map(Some)
        .map_err(|_| bad("is not a proxy URL like http://host:port"))
}

/// The hosts of a `NO_PROXY` list: lower case, without spaces, ports or a leading `*.`/`.`,
/// IPv6 addresses in brackets (as ureq compares them); `*` stays `*`. CIDR ranges are dropped.
fn no_proxy_hosts(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter_map(|entry| {
            if entry == "*" {
                return Some(entry.to_string());
            }
            if entry.contains('/') {
                verbose(format_args!(
                    "NO_PROXY: CIDR ranges are not supported: {entry}"
                ));
                return None;
            }
            let entry = entry.trim_start_matches("*.").trim_start_matches('.');
            let host = if let Some(v6) = entry.strip_prefix('[') {
                format!("[{}]", v6.split(']').next().unwrap_or_default())
            } else if entry.parse::<std::net::Ipv6Addr>().is_ok() {
                format!("[{entry}]")
            } else {
                entry.split(':').next().unwrap_or_default().to_string()
            };
            (!host.is_empty() && host != "[]").then(|| host.to_ascii_lowercase())
        })
        .collect()
}

/// Turns a transport failure into a [`Error::Network`] naming the URL; a TLS failure says so.
pub fn network_error(url: &str, e: ureq::Error) -> Error {
    let text = e.to_string();
    // Handshake failures reach us as io errors wrapping rustls's: recognised by their text.
    let lower = text.to_ascii_lowercase();
    let tls = matches!(e, ureq::Error::Rustls(_) | ureq::Error::Tls(_))
        || ["certificate", "rustls", "handshake", "tls"]
            .iter()
            .any(|w| lower.contains(w));
    let message = if tls {
        format!(
            "TLS error ({text}); if your network uses its own certificate authority, set ssl_verify to its CA bundle"
        )
    } else {
        text
    };
    Error::Network {
        url: url.to_string(),
        message,
    }
}

/// The canonical reason phrase of a status code.
pub fn reason(status: u16) -> String {
    ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown")
        .to_string()
}

/// The response body, at most 1 MiB.
pub fn read_body(url: &str, response: &mut ureq::http::Response<ureq::Body>) -> Result<Vec<u8>> {
    response
        .body_mut()
        .with_config()
        .limit(1024 * 1024)
        .read_to_vec()
        .map_err(|e| network_error(url, e))
}

/// An oauth2 HTTP client over `agent`: oauth2 builds the requests, ureq sends them.
pub fn oauth_client(
    agent: &ureq::Agent,
) -> impl Fn(oauth2::HttpRequest) -> Result<oauth2::HttpResponse> + '_ {
    move |request: oauth2::HttpRequest| {
        let url = request.uri().to_string();
        // The form carries the code, the PKCE verifier or the device code: wiped once sent.
        let (parts, mut form) = request.into_parts();
        let sent = agent.run(ureq::http::Request::from_parts(parts, &form));
        form.zeroize();
        let mut response = sent.map_err(|e| network_error(&url, e))?;
        let body = read_body(&url, &mut response)?;
        let status = response.status().as_u16();
        // An error page (a proxy's 502, a 503 while the provider is down) is an HTTP error,
        // not an unreadable answer; oauth2 keeps the OAuth errors of RFC 6749 §5.2, and its
        // device-flow poller retries on this one with a growing pause.
        if !(200..300).contains(&status) && !is_oauth_error(&body) {
            return Err(Error::Http {
                status,
                reason: reason(status),
                url,
                body: String::from_utf8_lossy(&body[..body.len().min(2000)]).into_owned(),
            });
        }
        let (parts, _) = response.into_parts();
        Ok(oauth2::HttpResponse::from_parts(parts, body))
    }
}

/// Whether `body` is an OAuth error answer: JSON with a string `error` (RFC 6749 §5.2).
fn is_oauth_error(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v["error"].is_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(vars: &[(&str, &str)]) -> Result<Option<Proxy>> {
        proxy_from_env(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    fn bypasses(vars: &[(&str, &str)], url: &str) -> bool {
        let proxy = proxy(vars).unwrap().expect("a proxy");
        proxy.is_no_proxy(&url.parse().unwrap())
    }

    // https_proxy before HTTPS_PROXY before all_proxy before http_proxy; empty is unset.
    #[test]
    fn which_variable() {
        let port = |vars: &[(&str, &str)]| proxy(vars).unwrap().map(|p| p.port());
        assert_eq!(port(&[]), None);
        assert_eq!(port(&[("HTTP_PROXY", "http://p:1")]), Some(1));
        assert_eq!(port(&[("http_proxy", "http://p:1")]), Some(1));
        assert_eq!(
            port(&[("HTTP_PROXY", "http://p:1"), ("ALL_PROXY", "http://p:2")]),
            Some(2)
        );
        assert_eq!(
            port(&[("all_proxy", "http://p:2"), ("HTTPS_PROXY", "http://p:3")]),
            Some(3)
        );
        assert_eq!(
            port(&[("HTTPS_PROXY", "http://p:3"), ("https_proxy", "http://p:4")]),
            Some(4)
        );
        assert_eq!(
            port(&[("https_proxy", ""), ("HTTPS_PROXY", "http://p:3")]),
            Some(3)
        );
        // No scheme means http, as in curl.
        assert_eq!(port(&[("HTTPS_PROXY", "p:5")]), Some(5));
    }

    // A proxy URL that cannot be used is an error naming the variable, never the URL.
    #[test]
    fn bad_proxy_urls() {
        let err = proxy(&[("HTTPS_PROXY", "http://user:s3cret@")]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            err.to_string(),
            "HTTPS_PROXY is not a proxy URL like http://host:port"
        );
        let err = proxy(&[("ALL_PROXY", "socks5://user:s3cret@p:1080")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ALL_PROXY names a SOCKS proxy; only http:// and https:// proxies are supported"
        );
    }

    // The proxy's user and password survive (ureq sends them with CONNECT).
    #[test]
    fn proxy_credentials() {
        let p = proxy(&[("HTTPS_PROXY", "http://us%40er:p%3Ass@p:8080")])
            .unwrap()
            .unwrap();
        assert_eq!((p.username(), p.password()), (Some("us@er"), Some("p:ss")));
        assert_eq!((p.host(), p.port()), ("p", 8080));
    }

    // NO_PROXY as curl and Python requests read it: spaces, ports, leading dots, subdomains.
    #[test]
    fn no_proxy_matching() {
        let via = |no_proxy: &str, url: &str| {
            bypasses(
                &[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", no_proxy)],
                url,
            )
        };
        assert!(via("localhost, 127.0.0.1", "https://127.0.0.1:8443/api"));
        assert!(via("example.com", "https://example.com/"));
        assert!(via("example.com", "https://api.Example.com/"));
        assert!(via(".example.com", "https://example.com/"));
        assert!(via("*.example.com", "https://a.b.example.com/"));
        assert!(via("example.com:443", "https://example.com/"));
        assert!(via("*", "https://anything.example/"));
        assert!(via("::1", "https://[::1]:8443/"));
        assert!(via("[::1]:8443", "https://[::1]:8443/"));
        assert!(!via("example.com", "https://badexample.com/"));
        assert!(!via("example.com", "https://example.org/"));
        assert!(!via("10.0.0.0/8", "https://10.1.2.3/"));
        assert!(!via("", "https://example.com/"));
        // Lower case first, as curl reads it.
        let both = [
            ("HTTPS_PROXY", "http://p:1"),
            ("no_proxy", "a.example"),
            ("NO_PROXY", "b.example"),
        ];
        assert!(bypasses(&both, "https://a.example/"));
        assert!(!bypasses(&both, "https://b.example/"));
    }

    // OAuth error answers are told apart from error pages and other JSON.
    #[test]
    fn oauth_errors() {
        assert!(is_oauth_error(br#"{"error":"invalid_grant"}"#));
        assert!(!is_oauth_error(b"<html>503</html>"));
        assert!(!is_oauth_error(br#"{"error":{"code":"x"}}"#));
        assert!(!is_oauth_error(b""));
    }
}
