//! `Domain`: the host a key belongs to, as the keyring's account name (PRODUCT.md §4).

use crate::error::{Error, Result};

/// The default Anaconda Cloud domain.
pub const DEFAULT_DOMAIN: &str = "anaconda.cloud";

/// The name older versions of the Python package stored keys under.
pub const LEGACY_DOMAIN: &str = "id.anaconda.cloud";

/// A lowercase `host[:port]`, with no scheme, user or path.
///
/// The default port of the scheme is dropped, so `https://Anaconda.Cloud:443/x` and
/// `anaconda.cloud` are the same domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Domain(String);

impl Domain {
    /// Parses a domain as written in config or a request: `host[:port]`.
    ///
    /// A leading `https://` and a trailing slash are tolerated, since people paste URLs.
    pub fn parse(input: &str) -> Result<Domain> {
        let trimmed = input.trim();
        if trimmed.contains("://") {
            return Ok(Domain::from_uri(trimmed)?.0);
        }
        let authority = trimmed.trim_end_matches('/');
        Domain::from_authority(authority, "https").ok_or_else(|| {
            Error::BadRequest(format!(
                "{:?} is not a domain (host[:port])",
                without_userinfo(input)
            ))
        })
    }

    /// Parses a URL into its domain and path (`/` when it has none).
    ///
    /// A user part (`__token__@host`) is ignored: the host and port decide.
    pub fn from_uri(uri: &str) -> Result<(Domain, String)> {
        let bad = || {
            let shown = without_userinfo(uri);
            Error::BadRequest(format!("{shown:?} is not an http(s) URL"))
        };
        let (scheme, rest) = uri.trim().split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(bad());
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let domain = Domain::from_authority(authority, &scheme).ok_or_else(bad)?;
        let path = match path.split(['?', '#']).next() {
            Some(p) if p.starts_with('/') => p.to_string(),
            _ => "/".to_string(),
        };
        Ok((domain, path))
    }

    /// Whether `uri` is an `https://` URL: the only kind credentials are given for.
    pub fn is_https(uri: &str) -> bool {
        uri.trim_start()
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
    }

    fn from_authority(authority: &str, scheme: &str) -> Option<Domain> {
        let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
            let (v6, after) = rest.split_once(']')?;
            if v6.is_empty()
                || !v6
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            {
                return None;
            }
            (format!("[{v6}]"), after.strip_prefix(':'))
        } else {
            let (host, port) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
            if host.is_empty() || !host.chars().all(valid) {
                return None;
            }
            (host.to_string(), port)
        };
        let port = match port {
            None => None,
            Some(p) => Some(p.parse::<u16>().ok()?),
        };
        let default_port = if scheme == "http" { 80 } else { 443 };
        let host = host.to_ascii_lowercase();
        Some(Domain(match port {
            Some(p) if p != default_port => format!("{host}:{p}"),
            _ => host,
        }))
    }

    /// The domain as the keyring's account name and the host part of URLs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `https://DOMAIN`, with no trailing slash.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.0)
    }

    /// The name the Python package used for this domain before it moved, if any.
    pub fn legacy(&self) -> Option<Domain> {
        (self.0 == DEFAULT_DOMAIN).then(|| Domain(LEGACY_DOMAIN.to_string()))
    }
}

impl std::fmt::Display for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `uri` as it may be shown in a message: a `user:password@` part becomes `***@`.
pub fn without_userinfo(uri: &str) -> String {
    let (scheme, rest) = uri.split_once("://").map_or(("", uri), |(s, r)| (s, r));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) if scheme.is_empty() => format!("***@{}", &rest[at + 1..]),
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> String {
        Domain::parse(s).unwrap().0
    }

    // Case, default ports, schemes and slashes are normalised away.
    #[test]
    fn normalises() {
        assert_eq!(d("Anaconda.Cloud"), "anaconda.cloud");
        assert_eq!(d("anaconda.cloud:443"), "anaconda.cloud");
        assert_eq!(d("https://anaconda.cloud/"), "anaconda.cloud");
        assert_eq!(d("127.0.0.1:8443"), "127.0.0.1:8443");
        assert_eq!(d("[::1]:8443"), "[::1]:8443");
    }

    // Users, paths and queries of a URI do not change the domain; the path is kept.
    #[test]
    fn from_uri() {
        let (dom, path) =
            Domain::from_uri("https://__token__@Repo.Anaconda.Cloud/repo/org/x?q=1").unwrap();
        assert_eq!(dom.as_str(), "repo.anaconda.cloud");
        assert_eq!(path, "/repo/org/x");
        let (dom, path) = Domain::from_uri("http://localhost:80").unwrap();
        assert_eq!((dom.as_str(), path.as_str()), ("localhost", "/"));
    }

    // Garbage is refused rather than stored under a strange name.
    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "a b",
            "host:notaport",
            "host:99999",
            "ftp://x",
            "http://",
            "[zz]",
        ] {
            assert!(Domain::parse(bad).is_err(), "{bad}");
        }
    }

    // Only the default domain has a legacy name.
    #[test]
    fn legacy() {
        assert_eq!(d("anaconda.cloud"), DEFAULT_DOMAIN);
        assert_eq!(
            Domain::parse("anaconda.cloud")
                .unwrap()
                .legacy()
                .unwrap()
                .as_str(),
            LEGACY_DOMAIN
        );
        assert!(Domain::parse("example.com").unwrap().legacy().is_none());
    }
}
