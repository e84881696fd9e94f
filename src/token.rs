//! The stored record of PRODUCT.md §4, byte for byte as the Python package writes it, and the
//! JWT `exp` read that decides expiry.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// The keyring service name shared with the Python package.
pub const SERVICE: &str = "Anaconda Cloud";

/// The `version` written into new records (`TOKEN_INFO_VERSION` in the Python package).
pub const RECORD_VERSION: u32 = 1;

/// A conda repository token for one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoToken {
    /// The token, sent as `Authorization: token TOKEN`.
    pub token: Secret,
    /// The organisation whose channels it opens (`/repo/ORG/...`), when known.
    ///
    /// Python's `RepoToken.org_name` is optional, and left out of the record when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
}

/// What is stored for one domain: Python's `TokenInfo`.
///
/// Field order is the serialisation order and must stay `domain`, `api_key`, `username`,
/// `repo_tokens`, `version` so that the encoded secret matches Python's byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The domain the record belongs to (the keyring account name).
    pub domain: String,
    /// The API key, a JWT in practice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// The account's user name or e-mail, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Conda repository tokens (always written, `[]` when none).
    #[serde(default)]
    pub repo_tokens: Vec<RepoToken>,
    /// The record format version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

/// Why a stored secret could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(String);

impl TokenRecord {
    /// A new record holding an API key.
    pub fn new(domain: &str, api_key: Secret) -> Self {
        TokenRecord {
            domain: domain.to_string(),
            api_key: Some(api_key),
            username: None,
            repo_tokens: Vec::new(),
            version: Some(RECORD_VERSION),
        }
    }

    /// The keyring secret: base64 (standard alphabet) of compact JSON, `null`s omitted.
    pub fn encode(&self) -> Secret {
        let json = serde_json::to_string(self).expect("a record always serialises");
        let secret = Secret::new(STANDARD.encode(json.as_bytes()));
        zeroize::Zeroize::zeroize(&mut json.into_bytes());
        secret
    }

    /// Reads a keyring secret written by this binary or the Python package.
    pub fn decode(secret: &str) -> Result<TokenRecord, DecodeError> {
        let mut bytes = STANDARD
            .decode(secret.trim())
            .map_err(|_| DecodeError("the stored secret is not base64".into()))?;
        let record = serde_json::from_slice::<TokenRecord>(&bytes)
            .map_err(|_| DecodeError("the stored secret is not a token record".into()));
        zeroize::Zeroize::zeroize(&mut bytes);
        record
    }

    /// The `exp` of the API key, when it is a JWT that has one.
    pub fn expires_at(&self) -> Option<i64> {
        self.api_key.as_ref().and_then(|k| jwt_exp(k.expose()))
    }
}

/// Reads the `exp` claim (RFC 7519 §4.1.4) of a JWT without verifying its signature.
///
/// Anything that is not a JWT with a numeric `exp` gives `None`: such a key never expires.
pub fn jwt_exp(token: &str) -> Option<i64> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_f64().map(|exp| exp as i64)
}

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Formats a Unix time as RFC 3339 UTC (`2027-01-31T12:00:00Z`).
pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix.to_string())
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "eyJhbGciOiJIUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    // The exact bytes the Python package writes for a key with no username.
    #[test]
    fn encodes_like_python() {
        let record = TokenRecord::new("anaconda.cloud", Secret::new("k"));
        let json = String::from_utf8(STANDARD.decode(record.encode().expose()).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"domain":"anaconda.cloud","api_key":"k","repo_tokens":[],"version":1}"#
        );
    }

    // Repo tokens keep their field order and round-trip; a missing org name is left out.
    #[test]
    fn round_trip_with_repo_tokens() {
        let mut record = TokenRecord::new("repo.example", Secret::new("k"));
        record.username = Some("me@example.com".into());
        record.repo_tokens.push(RepoToken {
            token: Secret::new("t"),
            org_name: Some("org".into()),
        });
        record.repo_tokens.push(RepoToken {
            token: Secret::new("u"),
            org_name: None,
        });
        let encoded = record.encode();
        let json = String::from_utf8(STANDARD.decode(encoded.expose()).unwrap()).unwrap();
        assert!(json.contains(r#""username":"me@example.com","repo_tokens":[{"token":"t","org_name":"org"},{"token":"u"}],"version":1}"#));
        assert_eq!(TokenRecord::decode(encoded.expose()).unwrap(), record);
    }

    // A record from an older Python version without `version` or `repo_tokens` still loads.
    #[test]
    fn decodes_old_records() {
        let old = STANDARD.encode(r#"{"domain":"id.anaconda.cloud","api_key":"k"}"#);
        let record = TokenRecord::decode(&old).unwrap();
        assert_eq!(record.version, None);
        assert!(record.repo_tokens.is_empty());
    }

    // Valid base64 of the wrong JSON shape is refused.
    #[test]
    fn refuses_wrong_shape() {
        assert!(TokenRecord::decode(&STANDARD.encode("[1,2]")).is_err());
        assert!(TokenRecord::decode(&STANDARD.encode(r#"{"api_key":"k"}"#)).is_err());
        assert!(TokenRecord::decode("not base64!").is_err());
    }

    // exp is read from JWTs only; other keys never expire.
    #[test]
    fn reads_exp() {
        assert_eq!(jwt_exp(&jwt(r#"{"exp":1700000000}"#)), Some(1_700_000_000));
        assert_eq!(
            jwt_exp(&jwt(r#"{"exp":1700000000.5}"#)),
            Some(1_700_000_000)
        );
        assert_eq!(jwt_exp(&jwt(r#"{"sub":"x"}"#)), None);
        assert_eq!(jwt_exp("opaque-key"), None);
        assert_eq!(jwt_exp("a.b.c.d"), None);
    }

    // RFC 3339 in UTC.
    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
