//! The one HTTP stack: a ureq `Agent` with the configured TLS, proxies and User-Agent, and the
//! adapter that lets oauth2 send its requests through it (PRODUCT.md §5, FACTS.md on oauth2).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ureq::tls::{PemItem, RootCerts, TlsConfig};

use crate::config::{Settings, SslVerify};
use crate::error::{Error, Result, warn};

/// The default `User-Agent`: `anaconda-auth/VERSION`.
pub const USER_AGENT: &str = concat!("anaconda-auth/", env!("CARGO_PKG_VERSION"));

static WARNED_NO_VERIFY: AtomicBool = AtomicBool::new(false);

/// Builds the agent every request of the process goes through.
///
/// HTTP error statuses are returned as responses, not errors, so that callers can read
/// `{"error": ...}` bodies. Proxies come from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, and the
/// CA bundle applies to connections made through them too.
pub fn agent(settings: &Settings, user_agent: &str) -> Result<ureq::Agent> {
    let roots = match &settings.ssl_verify.value {
        SslVerify::Yes => TlsConfig::builder().root_certs(RootCerts::PlatformVerifier),
        SslVerify::No => {
            if !WARNED_NO_VERIFY.swap(true, Ordering::Relaxed) {
                warn(format_args!(
                    "TLS certificate verification is off ({}): anyone on the network can read your key",
                    settings.ssl_verify.source
                ));
            }
            TlsConfig::builder().disable_verification(true)
        }
        SslVerify::CaBundle(path) => {
            let invalid = |message: String| {
                Error::Config(format!("{}: {message}", settings.ssl_verify.source))
            };
            let pem = std::fs::read(path)
                .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(cert)) => Some(cert),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(invalid(format!(
                    "{} holds no PEM certificate",
                    path.display()
                )));
            }
            TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(certs)))
        }
    };
    Ok(ureq::Agent::config_builder()
        .tls_config(roots.build())
        .http_status_as_error(false)
        .user_agent(user_agent)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into())
}

/// Turns a transport failure into a [`Error::Network`] naming the URL.
pub fn network_error(url: &str, e: ureq::Error) -> Error {
    Error::Network {
        url: url.to_string(),
        message: e.to_string(),
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
        let mut response = agent.run(request).map_err(|e| network_error(&url, e))?;
        let body = read_body(&url, &mut response)?;
        let (parts, _) = response.into_parts();
        Ok(oauth2::HttpResponse::from_parts(parts, body))
    }
}
