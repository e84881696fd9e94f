//! The loopback server that receives the browser after login (RFC 8252 §7.3, PRODUCT.md §6).
//!
//! Unlike a one-request server, it answers stray requests (favicon, other paths) with 404 and
//! keeps waiting, refuses a callback whose `state` does not match without ending the wait,
//! ends on an `error=...` from the provider, and gives up after a timeout.
//!
//! Every request is answered at once with a complete page. tiny_http reads each connection on
//! a thread of its own and hands over only complete requests, so an idle or keep-alive
//! connection (browsers open them ahead of time) never delays the callback, and it cannot keep
//! the process alive: the login returns when the callback arrives, whatever is still open.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::domain::Domain;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// A bound loopback listener for one login.
pub struct Loopback {
    server: tiny_http::Server,
    redirect_uri: String,
    path: String,
}

impl Loopback {
    /// Binds the host and port of `redirect_uri` (port 0: any free port) before any browser
    /// opens, so a port in use is reported at once.
    pub fn bind(redirect_uri: &str) -> Result<Loopback> {
        let bad = || {
            Error::Other(format!(
                "redirect_uri {redirect_uri:?} is not a loopback http URL"
            ))
        };
        let rest = redirect_uri.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = if path.is_empty() { "/" } else { path };
        let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "80"));
        let port: u16 = port.parse().map_err(|_| bad())?;
        let addrs: Vec<SocketAddr> = (host.trim_matches(['[', ']']), port)
            .to_socket_addrs()
            .map_err(|_| bad())?
            .filter(|a| a.ip().is_loopback())
            .collect();
        let listener = TcpListener::bind(&addrs[..]).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                Error::Other(format!(
                    "port {port} is in use, so the login cannot receive the browser at {redirect_uri}; \
                     stop what uses it, or set redirect_uri (ANACONDA_CLOUD_REDIRECT_URI) to another port"
                ))
            } else {
                Error::Other(format!("cannot listen on {authority} for {redirect_uri}: {e}"))
            }
        })?;
        let actual = listener
            .local_addr()
            .map_err(|e| Error::Other(e.to_string()))?
            .port();
        let redirect_uri = format!("http://{host}:{actual}{path}");
        let server = tiny_http::Server::from_listener(listener, None)
            .map_err(|e| Error::Other(format!("cannot serve {redirect_uri}: {e}")))?;
        Ok(Loopback {
            server,
            redirect_uri,
            path: path.to_string(),
        })
    }

    /// The redirect URI to send to the provider (with the port actually bound).
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the callback carrying `state` and returns its `code`.
    pub fn wait(&self, state: &str, timeout: Duration, domain: &Domain) -> Result<Secret> {
        let deadline = Instant::now() + timeout;
        let mut refused = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let request = match self.server.recv_timeout(left) {
                Ok(Some(request)) => request,
                Ok(None) => return Err(timed_out(timeout, refused)),
                Err(e) => return Err(Error::Other(format!("the login server failed: {e}"))),
            };
            let url = request.url().to_string();
            let (path, query) = url.split_once('?').unwrap_or((&url, ""));
            if path != self.path {
                respond(
                    request,
                    404,
                    "Not found",
                    "This is the anaconda-auth login server.",
                );
                continue;
            }
            let params = parse_query(query);
            let get = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            if get("state") != Some(state) {
                refused += 1;
                respond(
                    request,
                    400,
                    "Login link does not match",
                    "This answer does not belong to the login in progress (state mismatch), so it was ignored.",
                );
                continue;
            }
            if let Some(error) = get("error") {
                let description = get("error_description").unwrap_or("");
                respond(
                    request,
                    400,
                    "Login failed",
                    &format!("{error}: {description}"),
                );
                return Err(Error::LoginFailed(format!(
                    "{domain} answered {error}{}{description}",
                    if description.is_empty() { "" } else { ": " }
                )));
            }
            match get("code") {
                Some(code) => {
                    let code = Secret::new(code);
                    respond(
                        request,
                        200,
                        "Logged in",
                        &format!("You are logged in to {domain}. You can close this window."),
                    );
                    return Ok(code);
                }
                None => respond(request, 400, "Login failed", "The answer carries no code."),
            }
        }
    }
}

/// The timeout error; it mentions answers refused for a wrong `state`, which may come from an
/// older login in another tab.
fn timed_out(timeout: Duration, refused: usize) -> Error {
    let refused = match refused {
        0 => String::new(),
        1 => " (one answer was refused: its state did not match this login)".into(),
        n => format!(" ({n} answers were refused: their state did not match this login)"),
    };
    Error::LoginFailed(format!(
        "no answer from the browser within {} s{refused}; run `anaconda-auth login` again \
         (--timeout to wait longer, --device on a machine without a browser)",
        timeout.as_secs()
    ))
}

fn respond(request: tiny_http::Request, status: u16, title: &str, text: &str) {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;margin:4em\"><h1>{title}</h1><p>{}</p></body></html>",
        escape(text)
    );
    let headers = [
        tiny_http::Header::from_bytes("Content-Type", "text/html; charset=utf-8")
            .expect("valid header"),
        tiny_http::Header::from_bytes("Cache-Control", "no-store").expect("valid header"),
    ];
    let mut response = tiny_http::Response::from_string(html).with_status_code(status);
    for h in headers {
        response.add_header(h);
    }
    let _ = request.respond(response);
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `a=1&b=x%20y` → pairs, percent- and plus-decoded.
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Percent and plus decoding, and broken escapes left alone.
    #[test]
    fn query_decoding() {
        let p = parse_query("code=a%2Fb&error_description=no+way%21&x=%zz&y=%4");
        assert_eq!(p[0], ("code".into(), "a/b".into()));
        assert_eq!(p[1].1, "no way!");
        assert_eq!(p[2].1, "%zz");
        assert_eq!(p[3].1, "%4");
    }

    // A port in use is reported before anything else happens, naming the setting.
    #[test]
    fn port_in_use() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = Loopback::bind(&format!("http://127.0.0.1:{port}/auth/oidc"))
            .err()
            .unwrap();
        assert!(
            err.to_string().contains(&format!("port {port} is in use")),
            "{err}"
        );
        assert!(err.to_string().contains("redirect_uri"));
        assert_eq!(err.exit_code(), 1);
    }

    // Port 0 binds a free port and the redirect URI says which.
    #[test]
    fn port_zero() {
        let l = Loopback::bind("http://127.0.0.1:0/auth/oidc").unwrap();
        assert!(!l.redirect_uri().contains(":0/"));
        assert!(l.redirect_uri().ends_with("/auth/oidc"));
    }
}
