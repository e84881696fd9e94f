//! `Client`: requests to the Anaconda Cloud API with the user's key (PRODUCT.md §7), the Rust
//! counterpart of the Python package's `BaseClient`, and the errors its answers become.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::config::{Setting, Settings, Source, SslVerify};
use crate::domain::Domain;
use crate::error::{Error, Result, verbose, warn};
use crate::http;
use crate::secret::Secret;
use crate::storage::Store;
use crate::token;

/// How long a connection (DNS, TCP and TLS) may take unless [`ClientBuilder::connect_timeout`]
/// says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long the server may stay silent while answering unless
/// [`ClientBuilder::read_timeout`] says otherwise.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How much of an error response's body is kept for `--verbose`.
const ERROR_BODY_CHARS: usize = 2000;

/// An API client for `https://DOMAIN` (or an explicit base URL).
///
/// The key is chosen once, when the client is built: an explicit one
/// ([`ClientBuilder::api_key`]), else the configured `api_key` (`ANACONDA_CLOUD_API_KEY`,
/// `.env`, config.toml), else the stored, unexpired key. Configured and stored keys are only
/// sent to the host they belong to. With none, requests go out anonymously, which is fine for
/// public endpoints.
///
/// Every request carries `User-Agent` (default `anaconda-auth/VERSION`), `Api-Version` when
/// one is set, and the configured `extra_headers`, which never replace those or
/// `Authorization`. Non-2xx answers are errors: 401/403 with
/// `{"error": {"code": "auth_required"}}` become [`Error::AuthenticationMissing`] (no key
/// sent), [`Error::InvalidAuthentication`] (a key sent) or [`Error::TokenExpired`] (the stored
/// key had expired); anything else is [`Error::Http`] with the status, reason, URL and the
/// start of the body, secrets redacted.
///
/// ```no_run
/// use anaconda_auth::{Client, Settings};
///
/// let settings = Settings::load(&Default::default())?;
/// let client = Client::new(&settings)?;
/// let account = client.get_json("/api/account")?;
/// println!("{account:#}");
/// # Ok::<(), anaconda_auth::Error>(())
/// ```
///
/// # A client type for your own tool
///
/// The Python package has tools subclass `BaseClient` to set their own user agent and API
/// version. In Rust, wrap a `Client` built with them; `Deref` gives your type every method:
///
/// ```no_run
/// use anaconda_auth::{Client, Result, Settings};
///
/// /// The client of `my-tool`, speaking the API of 2024-06-01.
/// pub struct MyToolClient(Client);
///
/// impl MyToolClient {
///     pub fn new(settings: &Settings) -> Result<Self> {
///         Client::builder(settings)
///             .user_agent(concat!("my-tool/", env!("CARGO_PKG_VERSION")))
///             .api_version("2024.06.01")
///             .build()
///             .map(MyToolClient)
///     }
/// }
///
/// impl std::ops::Deref for MyToolClient {
///     type Target = Client;
///     fn deref(&self) -> &Client {
///         &self.0
///     }
/// }
///
/// let client = MyToolClient::new(&Settings::load(&Default::default())?)?;
/// let things: serde_json::Value = client.request("GET", "api/things", None)?.json()?;
/// # Ok::<(), anaconda_auth::Error>(())
/// ```
pub struct Client {
    agent: ureq::Agent,
    base: String,
    api_key: Option<Secret>,
    /// The stored key that was not used because it had expired: its domain and `exp`.
    expired: Option<(Domain, i64)>,
    extra_headers: Vec<(String, String)>,
    api_version: Option<String>,
    connect_timeout: Duration,
    read_timeout: Duration,
    warned_min_version: AtomicBool,
}

/// Builds a [`Client`]: the base (domain or URL), key, User-Agent, API version, headers, TLS
/// verification and timeouts.
///
/// ```
/// use anaconda_auth::config::{Overrides, Settings, Sources};
/// use anaconda_auth::{Client, Secret};
/// use std::time::Duration;
///
/// // Settings from no sources at all: the defaults.
/// let settings = Settings::from_sources(std::env::temp_dir(), &Sources::default(), &Overrides::default())?;
/// let client = Client::builder(&settings)
///     .base_url("https://example.com/api/v2")
///     .api_key(Secret::new("KEY"))
///     .connect_timeout(Duration::from_secs(5))
///     .read_timeout(Duration::from_secs(30))
///     .build()?;
/// assert_eq!(client.url("account"), "https://example.com/api/v2/account");
/// assert_eq!(client.url("/account"), "https://example.com/api/v2/account");
/// # Ok::<(), anaconda_auth::Error>(())
/// ```
pub struct ClientBuilder {
    settings: Settings,
    domain: Option<Domain>,
    base_url: Option<String>,
    api_key: Option<Secret>,
    user_agent: String,
    api_version: Option<String>,
    extra_headers: Option<Vec<(String, String)>>,
    connect_timeout: Duration,
    read_timeout: Duration,
}

/// A successful (2xx) response.
#[derive(Debug)]
pub struct Response {
    /// The URL that answered.
    pub url: String,
    /// The status code.
    pub status: u16,
    /// The body (at most 1 MiB is read).
    pub body: Vec<u8>,
}

impl Response {
    /// The body parsed as JSON into `T`; anything else is a network error (exit 4), as an
    /// HTML page from a proxy or captive portal would be.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::UnexpectedAnswer {
            url: self.url.clone(),
            message: format!("HTTP {} but not the JSON expected ({e})", self.status),
        })
    }
}

impl Client {
    /// A client for the configured domain with the default User-Agent.
    pub fn new(settings: &Settings) -> Result<Client> {
        Client::builder(settings).build()
    }

    /// A builder to set the base, key, User-Agent, API version, headers, TLS or timeouts.
    pub fn builder(settings: &Settings) -> ClientBuilder {
        ClientBuilder {
            settings: settings.clone(),
            domain: None,
            base_url: None,
            api_key: None,
            user_agent: http::USER_AGENT.to_string(),
            api_version: None,
            extra_headers: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }

    /// Whether requests carry a key.
    pub fn has_key(&self) -> bool {
        self.api_key.is_some()
    }

    /// The full URL of `path`: the base, a slash, and `path` without its leading slashes.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// `GET path`, the body parsed as JSON.
    pub fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        self.request("GET", path, None)?.json()
    }

    /// Sends `method path` (with `json` as the body, if any); a non-2xx answer is an error.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        json: Option<&serde_json::Value>,
    ) -> Result<Response> {
        let url = self.url(path);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        // Ours first; extra headers never override them.
        let mut ours: Vec<(&str, String)> = Vec::new();
        if let Some(key) = &self.api_key {
            ours.push(("Authorization", format!("Bearer {}", key.expose())));
        }
        if let Some(v) = &self.api_version {
            ours.push(("Api-Version", v.clone()));
        }
        if json.is_some() {
            ours.push(("Content-Type", "application/json".into()));
        }
        for (name, value) in &self.extra_headers {
            if !ours.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
                && !name.eq_ignore_ascii_case("user-agent")
            {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        for (name, value) in &ours {
            builder = builder.header(*name, value.as_str());
        }
        let body = json.map(|v| v.to_string().into_bytes()).unwrap_or_default();
        let request = builder
            .body(body)
            .map_err(|e| Error::Other(format!("cannot build a request to {url}: {e}")))?;
        // Requests-style timeouts: one budget to connect, one for each wait on the server.
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(None)
            .timeout_resolve(Some(self.connect_timeout))
            .timeout_connect(Some(self.connect_timeout))
            .timeout_per_read(Some(self.read_timeout))
            .timeout_per_write(Some(self.read_timeout))
            .build();
        let mut response = self
            .agent
            .run(request)
            .map_err(|e| self.transport_error(&url, e))?;
        let status = response.status().as_u16();
        verbose(format_args!("{method} {url} -> {status}"));
        self.check_min_version(&response);
        let body = response
            .body_mut()
            .with_config()
            .limit(1024 * 1024)
            .read_to_vec()
            .map_err(|e| self.transport_error(&url, e))?;
        if (200..300).contains(&status) {
            return Ok(Response { url, status, body });
        }
        // A server may repeat what it was sent; the key never reaches an error message.
        let body = match &self.api_key {
            Some(key) => String::from_utf8_lossy(&body)
                .replace(key.expose(), REDACTED)
                .into_bytes(),
            None => body,
        };
        Err(
            match error_for(status, &url, &body, self.api_key.is_some()) {
                Error::AuthenticationMissing { .. } if self.expired.is_some() => {
                    let (domain, exp) = self.expired.as_ref().expect("checked above");
                    Error::TokenExpired {
                        domain: domain.to_string(),
                        expired: token::rfc3339(*exp),
                    }
                }
                e => e,
            },
        )
    }

    /// A transport failure as [`Error::Network`]; timeouts say which one and how long.
    fn transport_error(&self, url: &str, e: ureq::Error) -> Error {
        let message = match e {
            ureq::Error::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => format!(
                "no connection within {:?} (connect timeout)",
                self.connect_timeout
            ),
            ureq::Error::Timeout(_) => format!(
                "the server sent nothing for {:?} (read timeout)",
                self.read_timeout
            ),
            e => return http::network_error(url, e),
        };
        Error::Network {
            url: url.to_string(),
            message,
        }
    }

    /// Warns once per client when the server's `Min-Api-Version` is newer than ours.
    fn check_min_version(&self, response: &ureq::http::Response<ureq::Body>) {
        let (Some(ours), Some(min)) = (
            self.api_version.as_deref(),
            response
                .headers()
                .get("Min-Api-Version")
                .and_then(|v| v.to_str().ok()),
        ) else {
            return;
        };
        if version_key(min) > version_key(ours)
            && !self.warned_min_version.swap(true, Ordering::Relaxed)
        {
            warn(format_args!(
                "the server's minimum API version is {min}, newer than the {ours} this client speaks; update anaconda-auth or the tool using it"
            ));
        }
    }
}

/// `2023.01.10` → `[2023, 1, 10]`, so that leading zeros compare as numbers (and trailing
/// zero parts do not count: `2023.1` is `2023.1.0`).
fn version_key(v: &str) -> Vec<u64> {
    let mut key: Vec<u64> = v
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    while key.last() == Some(&0) {
        key.pop();
    }
    key
}

/// The error for a non-2xx answer. `sent_key`: whether the request carried a key.
pub(crate) fn error_for(status: u16, url: &str, body: &[u8], sent_key: bool) -> Error {
    let auth_required = (status == 401 || status == 403)
        && serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v.pointer("/error/code")
                    .and_then(|c| c.as_str())
                    .map(|c| c == "auth_required")
            })
            .unwrap_or(false);
    match (auth_required, sent_key) {
        (true, false) => Error::AuthenticationMissing {
            url: url.to_string(),
        },
        (true, true) => Error::InvalidAuthentication {
            url: url.to_string(),
            status,
        },
        _ => Error::Http {
            status,
            reason: http::reason(status),
            url: url.to_string(),
            body: redact(&String::from_utf8_lossy(body))
                .chars()
                .take(ERROR_BODY_CHARS)
                .collect(),
        },
    }
}

const REDACTED: &str = "<redacted>";

/// An error body with what looks like a credential replaced by `<redacted>`: the values of
/// JSON fields named like one (`api_key`, `access_token`, `password`, ...), JWTs, and
/// whatever follows `Bearer ` or `token `.
fn redact(body: &str) -> String {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut json) => {
            redact_json(&mut json);
            json.to_string()
        }
        Err(_) => body.to_string(),
    };
    redact_text(&text)
}

fn redact_json(value: &mut serde_json::Value) {
    const SECRET_NAMES: [&str; 7] = [
        "token",
        "key",
        "secret",
        "password",
        "authorization",
        "cookie",
        "credential",
    ];
    match value {
        serde_json::Value::Object(map) => {
            for (name, v) in map.iter_mut() {
                let lower = name.to_ascii_lowercase();
                if v.is_string() && SECRET_NAMES.iter().any(|s| lower.contains(s)) {
                    *v = serde_json::Value::String(REDACTED.into());
                } else {
                    redact_json(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// Redacts JWT-shaped runs (`eyJ…` with a dot) and the word after `Bearer `/`token `.
fn redact_text(text: &str) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "-_.~+/=".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let lower = rest.to_ascii_lowercase();
        let scheme = ["bearer ", "token "]
            .iter()
            .find(|s| lower.starts_with(**s))
            .map(|s| s.len());
        let at_word_start = out
            .chars()
            .last()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        if let Some(len) = scheme.filter(|_| at_word_start) {
            let token_len = rest[len..]
                .find(|c: char| !is_token_char(c))
                .unwrap_or(rest.len() - len);
            if token_len > 0 {
                out.push_str(&rest[..len]);
                out.push_str(REDACTED);
                rest = &rest[len + token_len..];
                continue;
            }
        }
        if rest.starts_with("eyJ") {
            let run = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
            if rest[..run].contains('.') {
                out.push_str(REDACTED);
                rest = &rest[run..];
                continue;
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

impl ClientBuilder {
    /// Sends this key instead of the configured or stored one.
    pub fn api_key(mut self, key: Secret) -> Self {
        self.api_key = Some(key);
        self
    }

    /// Talks to `https://DOMAIN` instead of the configured domain (the key is then the one
    /// stored for `domain`). Not together with [`ClientBuilder::base_url`].
    pub fn domain(mut self, domain: Domain) -> Self {
        self.domain = Some(domain);
        self
    }

    /// Talks to this `https://host[:port][/path]` instead of `https://DOMAIN`; paths are
    /// joined onto it. A configured or stored key is sent only if it belongs to that host.
    /// Not together with [`ClientBuilder::domain`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the `User-Agent` (default `anaconda-auth/VERSION`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Sends `Api-Version` and warns (once) when the server's `Min-Api-Version` is newer.
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Sends these headers instead of the configured `extra_headers`; they never replace
    /// `Authorization`, `User-Agent`, `Api-Version` or `Content-Type`.
    pub fn extra_headers(mut self, headers: impl IntoIterator<Item = (String, String)>) -> Self {
        self.extra_headers = Some(headers.into_iter().collect());
        self
    }

    /// Checks TLS certificates this way instead of the configured `ssl_verify`.
    pub fn ssl_verify(mut self, verify: SslVerify) -> Self {
        self.settings.ssl_verify = Setting {
            value: verify,
            source: Source::Flag("ClientBuilder::ssl_verify"),
        };
        self
    }

    /// How long connecting (DNS, TCP, TLS) may take (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long the server may stay silent while a request is sent or answered (default
    /// [`DEFAULT_READ_TIMEOUT`]), as Python requests' read timeout.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Builds the client; reads the stored key when none was given or configured.
    pub fn build(self) -> Result<Client> {
        let settings = self.settings;
        let (base, host) = match (self.base_url, self.domain) {
            (Some(_), Some(_)) => {
                return Err(Error::Usage(
                    "a Client takes a domain or a base URL, not both".into(),
                ));
            }
            (Some(url), None) => {
                let (host, _) = Domain::from_uri(&url).map_err(|_| {
                    Error::Usage(format!("the base URL {url:?} is not an http(s) URL"))
                })?;
                (url.trim_end_matches('/').to_string(), host)
            }
            (None, Some(domain)) => (domain.base_url(), domain),
            (None, None) => (
                settings.domain.value.base_url(),
                settings.domain.value.clone(),
            ),
        };
        let mut expired = None;
        let api_key = match (self.api_key, settings.api_key_for(&host)) {
            (Some(key), _) => Some(key),
            (None, Some(configured)) => Some(configured.value.clone()),
            (None, None) => match Store::new(&settings).load(&host)? {
                Some(record) => match (record.expires_at(), record.api_key) {
                    (Some(exp), Some(_)) if exp <= token::now() => {
                        expired = Some((host, exp));
                        None
                    }
                    (_, key) => key,
                },
                None => None,
            },
        };
        Ok(Client {
            agent: http::agent(&settings, &self.user_agent)?,
            base,
            api_key,
            expired,
            extra_headers: self
                .extra_headers
                .unwrap_or_else(|| settings.extra_headers.value.clone()),
            api_version: self.api_version,
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            warned_min_version: AtomicBool::new(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Versions compare by number, not by text; trailing zero parts do not count.
    #[test]
    fn version_order() {
        assert!(version_key("2023.01.10") > version_key("2023.1.9"));
        assert!(version_key("2099.01.10") > version_key("2023.12.31"));
        assert!(version_key("2023.10.01") > version_key("2023.9.30"));
        assert_eq!(version_key("2023.01.10"), version_key("2023.1.10"));
        assert_eq!(version_key("2023.1"), version_key("2023.01.0"));
    }

    // 401/403 map to the auth errors only with the auth_required body.
    #[test]
    fn maps_errors() {
        let body = br#"{"error": {"code": "auth_required"}}"#;
        assert!(matches!(
            error_for(401, "u", body, false),
            Error::AuthenticationMissing { .. }
        ));
        assert!(matches!(
            error_for(403, "u", body, true),
            Error::InvalidAuthentication { .. }
        ));
        assert!(matches!(
            error_for(401, "u", b"<html>", true),
            Error::Http { status: 401, .. }
        ));
        assert!(matches!(
            error_for(500, "u", body, true),
            Error::Http { status: 500, .. }
        ));
    }

    // Credential-looking values leave an error body; the rest stays readable.
    #[test]
    fn redacts_bodies() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let json = format!(
            r#"{{"error": {{"message": "bad key {jwt}", "api_key": "opaque-1", "items": [{{"refresh_token": "opaque-2"}}], "code": 7}}}}"#
        );
        let out = redact(&json);
        for secret in [jwt, "opaque-1", "opaque-2"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains(r#""message":"bad key <redacted>""#), "{out}");
        assert!(out.contains(r#""code":7"#), "{out}");
        assert_eq!(
            redact("<p>Authorization: Bearer abc.DEF-123 was refused</p>"),
            "<p>Authorization: Bearer <redacted> was refused</p>"
        );
        assert_eq!(
            redact("token opaque-3, tokens left"),
            "token <redacted>, tokens left"
        );
        assert_eq!(redact("no secrets in here"), "no secrets in here");
    }

    // The body kept for --verbose is redacted before it is cut, so no key is left half-shown.
    #[test]
    fn long_bodies_are_cut_after_redaction() {
        let jwt = format!("eyJ{}.{}", "a".repeat(1990), "b".repeat(100));
        let body = format!("{}{jwt}", "x".repeat(10));
        let Error::Http { body, .. } = error_for(500, "u", body.as_bytes(), false) else {
            panic!("an HTTP error");
        };
        assert_eq!(body, format!("{}{REDACTED}", "x".repeat(10)));
    }
}
