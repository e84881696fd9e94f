//! The login of PRODUCT.md §6: OIDC discovery, then either the browser flow (authorization
//! code with PKCE, RFC 7636, through the loopback server) or the device flow (RFC 8628,
//! `device.rs`), then the API key request. It returns the new record without storing it.

pub mod device;
pub mod loopback;

use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenResponse,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, RedirectUrl, RequestTokenError, Scope, StandardRevocableToken,
    TokenResponse as _, TokenUrl,
};
use serde::Deserialize;
use zeroize::Zeroize as _;

use crate::client::Client;
use crate::config::Settings;
use crate::error::{Error, Result, verbose};
use crate::http;
use crate::secret::Secret;
use crate::token::TokenRecord;

/// The scopes asked for, as the Python package does.
pub const SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];

/// How the user proves who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Authorization code through the loopback server; `open`: start a browser (else only
    /// print the URL).
    Browser {
        /// Start the browser (`$BROWSER`, else the OS opener).
        open: bool,
    },
    /// The device flow (RFC 8628): print a code, poll until it is approved elsewhere.
    Device,
}

/// How long the browser flow waits when no timeout is given.
pub const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);

/// How to run a login.
#[derive(Debug, Clone)]
pub struct Options {
    /// Browser or device flow.
    pub flow: Flow,
    /// How long to wait for the user; `None`: [`BROWSER_TIMEOUT`] for the browser, until the
    /// code expires for the device flow.
    pub timeout: Option<Duration>,
}

/// The parts of the OIDC discovery document that are used.
#[derive(Debug, Deserialize)]
pub struct Discovery {
    /// Where the browser goes.
    pub authorization_endpoint: String,
    /// Where codes become tokens.
    pub token_endpoint: String,
    /// RFC 8628 device authorization, when the provider has it.
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
}

/// Fetches `https://DOMAIN/OPENID_CONFIG_PATH`.
pub fn discover(agent: &ureq::Agent, settings: &Settings) -> Result<Discovery> {
    let url = format!(
        "{}/{}",
        settings.domain.value.base_url(),
        settings.openid_config_path.value.trim_start_matches('/')
    );
    let mut response = agent
        .get(&url)
        .call()
        .map_err(|e| http::network_error(&url, e))?;
    let status = response.status().as_u16();
    let body = http::read_body(&url, &mut response)?;
    if !(200..300).contains(&status) {
        return Err(crate::client::error_for(status, &url, &body, false));
    }
    serde_json::from_slice(&body).map_err(|_| Error::Network {
        url,
        message: "the answer is not an OpenID configuration document".into(),
    })
}

/// Runs the login and returns the record to store.
pub fn login(settings: &Settings, options: &Options) -> Result<TokenRecord> {
    let agent = http::agent(settings, http::USER_AGENT)?;
    let access_token = match options.flow {
        Flow::Browser { open } => browser_login(
            &agent,
            settings,
            open,
            options.timeout.unwrap_or(BROWSER_TIMEOUT),
        )?,
        Flow::Device => device::login(&agent, settings, options.timeout)?,
    };
    let api_key = create_api_key(settings, &access_token)?;
    drop(access_token);
    let username = account_email(settings, &api_key);
    let mut record = TokenRecord::new(settings.domain.value.as_str(), api_key);
    record.username = username;
    Ok(record)
}

/// An oauth2 client for the provider's public client.
type OidcClient<HasTokenUrl = EndpointSet> = oauth2::Client<
    BasicErrorResponse,
    BasicTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    HasTokenUrl,
>;

/// The client for `settings.client_id` with the discovered token endpoint.
fn oidc_client(settings: &Settings, discovery: &Discovery) -> Result<OidcClient> {
    let client_id = ClientId::new(settings.client_id.value.clone());
    Ok(OidcClient::<EndpointNotSet>::new(client_id).set_token_uri(
        TokenUrl::new(discovery.token_endpoint.clone()).map_err(|e| invalid_url("token", e))?,
    ))
}

fn invalid_url(what: &str, e: oauth2::url::ParseError) -> Error {
    Error::Other(format!(
        "the OpenID configuration has an invalid {what} URL: {e}"
    ))
}

/// The browser flow: returns the access token.
fn browser_login(
    agent: &ureq::Agent,
    settings: &Settings,
    open_browser: bool,
    timeout: Duration,
) -> Result<Secret> {
    // Bound before anything else, so a port in use is reported at once, with no network
    // request and no browser.
    let server = loopback::Loopback::bind(&settings.redirect_uri.value)?;
    let discovery = discover(agent, settings)?;
    let client = oidc_client(settings, &discovery)?
        .set_auth_uri(
            AuthUrl::new(discovery.authorization_endpoint.clone())
                .map_err(|e| invalid_url("authorization", e))?,
        )
        .set_redirect_uri(
            RedirectUrl::new(server.redirect_uri().to_string())
                .map_err(|e| invalid_url("redirect", e))?,
        );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(SCOPES.iter().map(|s| Scope::new(s.to_string())))
        .set_pkce_challenge(challenge)
        .url();
    show_login_url(url.as_str(), open_browser);
    let code = server.wait(state.secret(), timeout, &settings.domain.value)?;
    drop(server);
    verbose("the browser came back with a code; exchanging it for tokens");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.expose().to_string()))
        .set_pkce_verifier(verifier)
        .request(&http::oauth_client(agent))
        .map_err(|e| oauth_error("token endpoint", e))?;
    Ok(Secret::new(tokens.access_token().secret().clone()))
}

/// Opens the browser (unless told not to) and always prints the URL, so that a browser that
/// fails to open is no dead end. Where no browser can open, suggests the device flow.
fn show_login_url(url: &str, open_browser: bool) {
    if !open_browser {
        eprintln!("Open this URL in a browser to log in:\n  {url}");
        return;
    }
    if no_browser_here() {
        eprintln!(
            "No browser can be opened here ($BROWSER is not set and there is no display).\n\
             Open this URL in a browser on this machine to log in:\n  {url}\n\
             On a machine without a browser, run `anaconda-auth login --device` instead."
        );
        return;
    }
    // `$BROWSER` (with `%s`, or the URL appended), else xdg-open and friends, `open` on macOS,
    // ShellExecute on Windows (no `cmd /c start`, so the URL is not cut at `&`); GUI browsers
    // are spawned and never waited on.
    let opened = webbrowser::open_browser_with_options(
        webbrowser::Browser::Default,
        url,
        webbrowser::BrowserOptions::new().with_suppress_output(true),
    );
    match opened {
        Ok(()) => eprintln!("Opening your browser to log in. If it does not open, visit:\n  {url}"),
        Err(e) => eprintln!(
            "Cannot open a browser ({e}).\nOpen this URL in a browser on this machine to log in:\n  {url}\n\
             On a machine without a browser, run `anaconda-auth login --device` instead."
        ),
    }
}

/// A Linux or BSD session with no `$BROWSER`, no X11 or Wayland display and not WSL: an SSH
/// session or a container, where an opener would fail or start a browser nobody sees.
fn no_browser_here() -> bool {
    if !cfg!(all(unix, not(target_os = "macos"))) {
        return false;
    }
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let wsl = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .is_ok_and(|r| r.to_ascii_lowercase().contains("microsoft"));
    !set("BROWSER") && !set("DISPLAY") && !set("WAYLAND_DISPLAY") && !wsl
}

/// Maps an OAuth endpoint's failures: an OAuth error is a refused login (RFC 6749 §5.2).
fn oauth_error<T: oauth2::ErrorResponse + std::fmt::Display>(
    endpoint: &str,
    e: RequestTokenError<Error, T>,
) -> Error {
    match e {
        RequestTokenError::ServerResponse(r) => {
            Error::LoginFailed(format!("the {endpoint} answered {r}"))
        }
        RequestTokenError::Request(e) => e,
        RequestTokenError::Parse(e, _) => {
            Error::Other(format!("the {endpoint}'s answer is not valid: {e}"))
        }
        RequestTokenError::Other(e) => {
            Error::Other(format!("the request to the {endpoint} failed: {e}"))
        }
    }
}

/// `POST /api/iam/api-keys` with the access token: the long-lived API key.
fn create_api_key(settings: &Settings, access_token: &Secret) -> Result<Secret> {
    let client = Client::builder(settings)
        .api_key(access_token.clone())
        .build()?;
    let body = serde_json::json!({
        "scopes": ["cloud:read", "cloud:write"],
        "tags": [concat!("anaconda-auth/v", env!("CARGO_PKG_VERSION"))],
    });
    let path = "/api/iam/api-keys";
    let mut response = client.request("POST", path, Some(&body))?;
    #[derive(Deserialize)]
    struct Created {
        api_key: Secret,
    }
    let created = serde_json::from_slice::<Created>(&response.body);
    response.body.zeroize();
    created.map(|c| c.api_key).map_err(|_| {
        Error::LoginFailed(format!(
            "POST {} answered {} without an api_key; nothing was stored",
            client.url(path),
            response.status
        ))
    })
}

/// The account's e-mail from `/api/account`, if it answers.
fn account_email(settings: &Settings, api_key: &Secret) -> Option<String> {
    let client = Client::builder(settings)
        .api_key(api_key.clone())
        .build()
        .ok()?;
    let account = client.get_json("/api/account").ok()?;
    account
        .pointer("/user/email")
        .and_then(|e| e.as_str())
        .map(String::from)
}
