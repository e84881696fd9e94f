//! The device flow of PRODUCT.md §6 (RFC 8628), for machines without a browser: ask the
//! discovery document's `device_authorization_endpoint` for a code, show it with the
//! verification URL, and poll the token endpoint at the server's interval until the code is
//! approved, refused or expired (RFC 8628 §3.5).

use std::time::{Duration, Instant};

use oauth2::{
    DeviceAuthorizationResponse, DeviceAuthorizationUrl, DeviceCodeErrorResponseType,
    EmptyExtraDeviceAuthorizationFields, RequestTokenError, Scope, TokenResponse as _,
};

use super::{Discovery, SCOPES, discover, invalid_url, oauth_error, oidc_client};
use crate::config::Settings;
use crate::domain::Domain;
use crate::error::{Error, Result, warn};
use crate::http;
use crate::secret::Secret;

/// Runs the device flow and returns the access token.
///
/// Waits until the code expires, or at most `timeout` when given.
pub fn login(
    agent: &ureq::Agent,
    settings: &Settings,
    timeout: Option<Duration>,
) -> Result<Secret> {
    let domain = &settings.domain.value;
    let discovery = discover(agent, settings)?;
    let client = oidc_client(settings, &discovery)?
        .set_device_authorization_url(device_url(&discovery, domain)?);
    let send = http::oauth_client(agent);
    let details: DeviceAuthorizationResponse<EmptyExtraDeviceAuthorizationFields> = client
        .exchange_device_code()
        .add_scopes(SCOPES.iter().map(|s| Scope::new(s.to_string())))
        .request(&send)
        .map_err(|e| oauth_error("device authorization endpoint", e))?;
    show_code(&details);

    // oauth2 polls at `interval`, adds 5 s on each `slow_down` and keeps waiting on
    // `authorization_pending`; a failed request is retried with a growing pause (at most
    // 10 s), so say what failed instead of waiting silently.
    let poll = |request: oauth2::HttpRequest| {
        send(request).inspect_err(|e| warn(format_args!("{e}; still waiting")))
    };
    let started = Instant::now();
    let wait = timeout.map_or(details.expires_in(), |t| t.min(details.expires_in()));
    let answer = client.exchange_device_access_token(&details).request(
        &poll,
        std::thread::sleep,
        Some(wait),
    );
    match answer {
        Ok(tokens) => Ok(Secret::new(tokens.access_token().secret().clone())),
        Err(RequestTokenError::ServerResponse(r)) => Err(match r.error() {
            DeviceCodeErrorResponseType::AccessDenied => Error::LoginFailed(format!(
                "{domain} refused the login: {r}; run `anaconda-auth login --device` to try again"
            )),
            DeviceCodeErrorResponseType::ExpiredToken
                if wait < details.expires_in() && started.elapsed() >= wait =>
            {
                Error::LoginFailed(format!(
                    "the code {} was not approved within {} s; run `anaconda-auth login --device` \
                     again (--timeout to wait longer)",
                    details.user_code().secret(),
                    wait.as_secs()
                ))
            }
            DeviceCodeErrorResponseType::ExpiredToken => Error::LoginFailed(format!(
                "the code {} expired before it was approved; run `anaconda-auth login --device` again",
                details.user_code().secret()
            )),
            _ => oauth_error("token endpoint", RequestTokenError::ServerResponse(r)),
        }),
        Err(e) => Err(oauth_error("token endpoint", e)),
    }
}

/// The discovery document's `device_authorization_endpoint`.
fn device_url(discovery: &Discovery, domain: &Domain) -> Result<DeviceAuthorizationUrl> {
    let url = discovery
        .device_authorization_endpoint
        .clone()
        .ok_or_else(|| {
            Error::LoginFailed(format!(
                "{domain} does not offer the device flow (its OpenID configuration has no \
             device_authorization_endpoint); run `anaconda-auth login --no-browser` and open \
             the URL in a browser on this machine"
            ))
        })?;
    DeviceAuthorizationUrl::new(url).map_err(|e| invalid_url("device authorization", e))
}

/// Prints the code and where to enter it: the complete URL (code included) when the server
/// gives one (RFC 8628 §3.3.1), so the user only checks the code.
fn show_code(details: &DeviceAuthorizationResponse<EmptyExtraDeviceAuthorizationFields>) {
    let code = details.user_code().secret();
    match details.verification_uri_complete() {
        Some(complete) => eprintln!(
            "To log in, open this URL in a browser on any device:\n  {}\nand check that it shows the code {code}.",
            complete.secret()
        ),
        None => eprintln!(
            "To log in, open this URL in a browser on any device:\n  {}\nand enter the code {code}.",
            details.verification_uri().as_str()
        ),
    }
    eprintln!(
        "Waiting for approval (the code expires in {} s)...",
        details.expires_in().as_secs()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    // A provider without a device endpoint: a login error that says what to do instead.
    #[test]
    fn no_device_endpoint() {
        let discovery = Discovery {
            authorization_endpoint: "https://a.example/auth".into(),
            token_endpoint: "https://a.example/token".into(),
            device_authorization_endpoint: None,
        };
        let err = device_url(&discovery, &Domain::parse("a.example").unwrap())
            .err()
            .unwrap();
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.to_string()
                .contains("a.example does not offer the device flow")
        );
        assert!(err.to_string().contains("--no-browser"));
    }
}
