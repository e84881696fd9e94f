//! `Client`: requests to the Anaconda Cloud API with the user's key (PRODUCT.md §7).

use crate::config::Settings;
use crate::domain::Domain;
use crate::error::{Error, Result, warn};
use crate::http;
use crate::secret::Secret;
use crate::storage::Store;
use crate::token;

/// An API client for `https://DOMAIN`.
///
/// The key is chosen once: an explicit one, else the configured `api_key`, else the stored,
/// unexpired key; with none, requests go out anonymously.
///
/// ```no_run
/// use anaconda_auth::{Client, Settings};
/// let settings = Settings::load(&Default::default())?;
/// let client = Client::builder(&settings).user_agent("my-tool/1.0").api_version("2023.01.10").build()?;
/// let account = client.get_json("/api/account")?;
/// println!("{account}");
/// # Ok::<(), anaconda_auth::Error>(())
/// ```
pub struct Client {
    agent: ureq::Agent,
    base: String,
    api_key: Option<Secret>,
    extra_headers: Vec<(String, String)>,
    api_version: Option<String>,
}

/// Builds a [`Client`] for another tool, with its own User-Agent and API version.
pub struct ClientBuilder<'a> {
    settings: &'a Settings,
    base_url: Option<String>,
    api_key: Option<Secret>,
    user_agent: String,
    api_version: Option<String>,
}

/// A successful response.
#[derive(Debug)]
pub struct Response {
    /// The status code (2xx).
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Client {
    /// A client for the configured domain with the default User-Agent.
    pub fn new(settings: &Settings) -> Result<Client> {
        Client::builder(settings).build()
    }

    /// A builder to set the key, User-Agent, API version or base URL.
    pub fn builder(settings: &Settings) -> ClientBuilder<'_> {
        ClientBuilder {
            settings,
            base_url: None,
            api_key: None,
            user_agent: http::USER_AGENT.to_string(),
            api_version: None,
        }
    }

    /// Whether requests carry a key.
    pub fn has_key(&self) -> bool {
        self.api_key.is_some()
    }

    /// The full URL for a path relative to the base.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// `GET path`, the body parsed as JSON.
    pub fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        let url = self.url(path);
        let response = self.request("GET", path, None)?;
        serde_json::from_slice(&response.body).map_err(|_| Error::Network {
            url,
            message: "the answer is not JSON".into(),
        })
    }

    /// Sends a request; a non-2xx status is an error (401/403 `auth_required` as the
    /// authentication errors, anything else as [`Error::Http`]).
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
        let mut response = self
            .agent
            .run(request)
            .map_err(|e| http::network_error(&url, e))?;
        let status = response.status().as_u16();
        self.check_min_version(&response);
        let body = http::read_body(&url, &mut response)?;
        if (200..300).contains(&status) {
            return Ok(Response { status, body });
        }
        Err(error_for(status, &url, &body, self.api_key.is_some()))
    }

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
        if version_key(min) > version_key(ours) {
            warn(format_args!(
                "the server's minimum API version is {min}, newer than {ours}; update anaconda-auth or the tool using it"
            ));
        }
    }
}

/// `2023.01.10` → `[2023, 1, 10]`, so that leading zeros compare as numbers.
fn version_key(v: &str) -> Vec<u64> {
    v.split(['.', '-'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// The error for a non-2xx answer.
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
            body: String::from_utf8_lossy(&body[..body.len().min(2000)]).into_owned(),
        },
    }
}

impl ClientBuilder<'_> {
    /// Sends this key instead of the configured or stored one.
    pub fn api_key(mut self, key: Secret) -> Self {
        self.api_key = Some(key);
        self
    }

    /// Sets the `User-Agent` (default `anaconda-auth/VERSION`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Sends `Api-Version` and warns when the server's `Min-Api-Version` is newer.
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Uses `https://…` base URL instead of `https://DOMAIN`; the key is then only sent if
    /// given explicitly, since it was issued for the domain.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Builds the client; reads the stored key when none was given or configured.
    pub fn build(self) -> Result<Client> {
        let settings = self.settings;
        let domain: Domain = settings.domain.value.clone();
        let api_key = match (self.api_key, &self.base_url) {
            (Some(key), _) => Some(key),
            (None, Some(_)) => None,
            (None, None) => match settings.api_key_for(&domain) {
                Some(key) => Some(key.value.clone()),
                None => Store::new(settings)
                    .load(&domain)?
                    .filter(|r| r.expires_at().is_none_or(|exp| exp > token::now()))
                    .and_then(|r| r.api_key),
            },
        };
        Ok(Client {
            agent: http::agent(settings, &self.user_agent)?,
            base: self
                .base_url
                .unwrap_or_else(|| domain.base_url())
                .trim_end_matches('/')
                .to_string(),
            api_key,
            extra_headers: settings.extra_headers.value.clone(),
            api_version: self.api_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Versions compare by number, not by text.
    #[test]
    fn version_order() {
        assert!(version_key("2023.01.10") > version_key("2023.1.9"));
        assert!(version_key("2099.01.10") > version_key("2023.12.31"));
        assert_eq!(version_key("2023.01.10"), version_key("2023.1.10"));
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
}
