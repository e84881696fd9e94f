//! The credential-helper protocol of `spec/protocol.md` (PRODUCT.md §3): request types, the
//! bounded stdin read and the rendering of answers. No storage, no network.

use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::domain::Domain;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::token::{RepoToken, rfc3339};

/// The largest request read from stdin.
pub const MAX_REQUEST: usize = 64 * 1024;

/// A request for `get`, `store` or `erase`. Unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct Request {
    /// `https://host[:port]/path`: the host and port decide, the path picks a repo token.
    #[serde(default)]
    pub uri: Option<String>,
    /// `host[:port]`.
    #[serde(default)]
    pub domain: Option<String>,
    /// `false` forbids an interactive login.
    #[serde(default)]
    pub interactive: Option<bool>,
    /// `store`: the API key.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// `store`: the account's user name.
    #[serde(default)]
    pub username: Option<String>,
    /// `store`: conda repository tokens.
    #[serde(default)]
    pub repo_tokens: Option<Vec<RepoToken>>,
}

/// The host (and path) a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The domain.
    pub domain: Domain,
    /// The URI's path, when a `uri` was given.
    pub path: Option<String>,
}

impl Request {
    /// Parses one JSON object.
    ///
    /// Errors name the field that is wrong, never its value, which may be a key: serde's own
    /// messages quote it (`invalid type: string "...", expected ...`).
    pub fn parse(bytes: &[u8]) -> Result<Request> {
        let expected = |why: String| {
            Error::BadRequest(format!(
                "expected one JSON object like {{\"uri\": \"https://host/path\"}} ({why})"
            ))
        };
        // serde would also read an array as the fields in order: `[]` erased the default.
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(expected("this is not an object".into()));
        }
        let describe = |e: serde_json::Error, field: Option<String>| {
            let place = format!("line {}, column {}", e.line(), e.column());
            match (e.classify(), field) {
                (serde_json::error::Category::Data, Some(field)) => {
                    Error::BadRequest(format!("{field} has the wrong type or value ({place})"))
                }
                _ => expected(format!("not valid JSON at {place}")),
            }
        };
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let request = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            describe(e.into_inner(), Some(field))
        })?;
        de.end().map_err(|e| describe(e, None))?;
        Ok(request)
    }

    /// The host the request names (`uri` before `domain`), or `None` for the configured one.
    pub fn target(&self) -> Result<Option<Target>> {
        if let Some(uri) = &self.uri {
            let (domain, path) = Domain::from_uri(uri)?;
            // PRODUCT.md §5: the domain is always https; a key sent to an http:// URL would
            // travel in cleartext. Nothing is stored for http, so this is a refusal (exit 3).
            if !Domain::is_https(uri) {
                return Err(Error::PlainHttp {
                    url: crate::domain::without_userinfo(uri),
                });
            }
            return Ok(Some(Target {
                domain,
                path: Some(path),
            }));
        }
        match &self.domain {
            Some(d) => Ok(Some(Target {
                domain: Domain::parse(d)?,
                path: None,
            })),
            None => Ok(None),
        }
    }
}

/// Reads a request from `input`: `None` when there is nothing (empty input).
///
/// At most [`MAX_REQUEST`] bytes are read; a caller that closes its end early is fine.
pub fn read_request(input: impl Read) -> Result<Option<Request>> {
    let mut bytes = Vec::new();
    input
        .take(MAX_REQUEST as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::BadRequest(format!("cannot read the request from stdin: {e}")))?;
    if bytes.len() > MAX_REQUEST {
        return Err(Error::BadRequest(format!(
            "the request is larger than {} KiB",
            MAX_REQUEST / 1024
        )));
    }
    let result = if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(None)
    } else {
        Request::parse(&bytes).map(Some)
    };
    zeroize::Zeroize::zeroize(&mut bytes);
    result
}

/// The `Authorization` scheme of a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Bearer KEY`: an API key.
    Bearer,
    /// `token REPO_TOKEN`: a conda repository token.
    Token,
}

/// The credential that answers a `get`.
#[derive(Debug, Clone)]
pub struct Credential {
    /// How it goes into the `Authorization` header.
    pub scheme: Scheme,
    /// The key or token.
    pub token: Secret,
    /// The domain it belongs to.
    pub domain: Domain,
    /// When it expires (Unix time), if known.
    pub expires: Option<i64>,
}

/// How `get` prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The JSON answer of the credential-helper spec.
    Json,
    /// The `Authorization` header value: `Bearer KEY` or `token KEY`.
    Header,
    /// The bare key.
    Token,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "json" => Ok(Format::Json),
            "header" => Ok(Format::Header),
            "token" => Ok(Format::Token),
            _ => Err(format!("--format must be json, header or token, not {s:?}")),
        }
    }
}

#[derive(Serialize)]
struct Answer<'a> {
    headers: Headers,
    token: &'a Secret,
    domain: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
}

#[derive(Serialize)]
struct Headers {
    #[serde(rename = "Authorization")]
    authorization: [Secret; 1],
}

impl Credential {
    /// The `Authorization` header value.
    pub fn header(&self) -> Secret {
        let scheme = match self.scheme {
            Scheme::Bearer => "Bearer",
            Scheme::Token => "token",
        };
        Secret::new(format!("{scheme} {}", self.token.expose()))
    }

    /// The answer as printed on stdout, newline included.
    pub fn render(&self, format: Format) -> Secret {
        match format {
            Format::Header => Secret::new(format!("{}\n", self.header().expose())),
            Format::Token => Secret::new(format!("{}\n", self.token.expose())),
            Format::Json => {
                let answer = Answer {
                    headers: Headers {
                        authorization: [self.header()],
                    },
                    token: &self.token,
                    domain: self.domain.as_str(),
                    expires: self.expires.map(rfc3339),
                };
                let json = serde_json::to_string(&answer).expect("an answer always serialises");
                Secret::new(json + "\n")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(scheme: Scheme, expires: Option<i64>) -> Credential {
        Credential {
            scheme,
            token: Secret::new("K"),
            domain: Domain::parse("a.example:8443").unwrap(),
            expires,
        }
    }

    // Unknown fields are ignored in every request.
    #[test]
    fn ignores_unknown_fields() {
        let r = Request::parse(br#"{"uri": "https://h/x", "future": [1], "interactive": false}"#)
            .unwrap();
        assert_eq!(r.interactive, Some(false));
        let r = Request::parse(br#"{"domain": "h", "api_key": "k", "extra": {}}"#).unwrap();
        assert_eq!(r.target().unwrap().unwrap().domain.as_str(), "h");
    }

    // A uri beats a domain; neither means the configured domain.
    #[test]
    fn targets() {
        let r = Request::parse(br#"{"uri": "https://u@H:1/repo/o/x", "domain": "other"}"#).unwrap();
        let t = r.target().unwrap().unwrap();
        assert_eq!(
            (t.domain.as_str(), t.path.as_deref()),
            ("h:1", Some("/repo/o/x"))
        );
        assert!(Request::parse(b"{}").unwrap().target().unwrap().is_none());
        assert!(
            Request::parse(br#"{"uri": "not a url"}"#)
                .unwrap()
                .target()
                .is_err()
        );
    }

    // Empty input is no request; garbage and oversize input are bad requests.
    #[test]
    fn reads_stdin() {
        assert!(read_request(&b"  \n"[..]).unwrap().is_none());
        assert_eq!(read_request(&b"[1]"[..]).unwrap_err().exit_code(), 2);
        let big = vec![b' '; MAX_REQUEST + 1];
        assert!(
            read_request(&big[..])
                .unwrap_err()
                .to_string()
                .contains("64 KiB")
        );
    }

    // The three output formats.
    #[test]
    fn renders() {
        let c = cred(Scheme::Bearer, Some(0));
        assert_eq!(c.render(Format::Header).expose(), "Bearer K\n");
        assert_eq!(c.render(Format::Token).expose(), "K\n");
        assert_eq!(
            c.render(Format::Json).expose(),
            "{\"headers\":{\"Authorization\":[\"Bearer K\"]},\"token\":\"K\",\"domain\":\"a.example:8443\",\"expires\":\"1970-01-01T00:00:00Z\"}\n"
        );
        let c = cred(Scheme::Token, None);
        assert_eq!(c.render(Format::Header).expose(), "token K\n");
        assert!(!c.render(Format::Json).expose().contains("expires"));
    }
}
