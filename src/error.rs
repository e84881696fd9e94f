//! The one error type of the crate and its exit codes (PRODUCT.md §3 "Errors").

use std::path::PathBuf;

/// Everything that can go wrong, named for what failed from the user's side.
///
/// No variant holds a secret: keys travel as [`crate::Secret`], which cannot be formatted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line was wrong.
    #[error("{0}")]
    Usage(String),
    /// A credential-helper request could not be understood.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A configuration value is invalid. The message starts with where the value came from:
    /// `ANACONDA_CLOUD_EXTRA_HEADERS is not a JSON object`,
    /// `/home/me/.anaconda/config.toml line 4: ssl_verify must be true, false or a path`.
    #[error("{0}")]
    Config(String),
    /// Nothing is stored for this domain.
    #[error(
        "not logged in to {domain}: run `anaconda-auth login --domain {domain}`, or set ANACONDA_CLOUD_API_KEY"
    )]
    LoginRequired {
        /// The domain that has no credentials.
        domain: String,
    },
    /// A request named a plain `http://` URL: a key sent there would travel in cleartext.
    #[error("{url} is not https: credentials are only given for https URLs")]
    PlainHttp {
        /// The URL, without any `user:password@` part.
        url: String,
    },
    /// The stored key has expired.
    #[error(
        "the API key for {domain} expired on {expired}: run `anaconda-auth login --domain {domain}`"
    )]
    TokenExpired {
        /// The domain the key belongs to.
        domain: String,
        /// When it expired (RFC 3339).
        expired: String,
    },
    /// The server wants credentials and none were sent.
    #[error("{url} requires authentication and no API key was sent")]
    AuthenticationMissing {
        /// The URL that answered 401/403.
        url: String,
    },
    /// The server rejected the credentials that were sent.
    #[error("your API key or login token is invalid ({url} answered {status})")]
    InvalidAuthentication {
        /// The URL that answered 401/403.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The login did not complete: declined at the prompt, denied by the provider, a state
    /// mismatch, or the server refused to issue a key.
    #[error("login failed: {0}")]
    LoginFailed(String),
    /// An HTTP request got a non-success status.
    #[error("HTTP {status} {reason} for url: {url}")]
    Http {
        /// The status code.
        status: u16,
        /// Its canonical reason phrase.
        reason: String,
        /// The URL that was requested (without query secrets).
        url: String,
        /// The start of the response body, for `--verbose`.
        body: String,
    },
    /// The server answered, but not with what was asked for (HTML from a proxy, say).
    #[error("{url} gave an unexpected answer: {message}")]
    UnexpectedAnswer {
        /// The URL that answered.
        url: String,
        /// What was wrong with the answer.
        message: String,
    },
    /// A connection, TLS or protocol failure.
    #[error("cannot reach {url}: {message}")]
    Network {
        /// The URL that was requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The keyring could not be read or written.
    #[error("{}: {message}", path.display())]
    Storage {
        /// The file (or store) involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// There is no home folder to keep the keyring in.
    #[error("no home folder: set HOME to a writable folder")]
    NoHome,
    /// Anything else, e.g. the redirect port is taken.
    #[error("{0}")]
    Other(String),
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The process exit code for this error, the same for every command.
    ///
    /// | code | meaning |
    /// |---|---|
    /// | 2 | bad request, usage or configuration value |
    /// | 3 | login required or refused |
    /// | 4 | network, TLS or HTTP error |
    /// | 5 | storage |
    /// | 1 | anything else |
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::BadRequest(_) | Error::Config(_) => 2,
            Error::LoginRequired { .. }
            | Error::PlainHttp { .. }
            | Error::TokenExpired { .. }
            | Error::AuthenticationMissing { .. }
            | Error::InvalidAuthentication { .. }
            | Error::LoginFailed(_) => 3,
            Error::Http { .. } | Error::UnexpectedAnswer { .. } | Error::Network { .. } => 4,
            Error::Storage { .. } | Error::NoHome => 5,
            Error::Other(_) => 1,
        }
    }

    /// Whether logging in (again) would fix this error.
    pub fn needs_login(&self) -> bool {
        matches!(
            self,
            Error::LoginRequired { .. }
                | Error::TokenExpired { .. }
                | Error::AuthenticationMissing { .. }
                | Error::InvalidAuthentication { .. }
        )
    }

    /// The name the Python package gives this error, shown before "Login is required".
    pub fn class_name(&self) -> &'static str {
        match self {
            Error::LoginRequired { .. } => "TokenNotFoundError",
            Error::TokenExpired { .. } => "TokenExpiredError",
            Error::AuthenticationMissing { .. } => "AuthenticationMissingError",
            Error::InvalidAuthentication { .. } => "InvalidAuthentication",
            Error::Http { .. } => "HTTPError",
            _ => "Error",
        }
    }

    pub(crate) fn storage(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Error::Storage {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns `--verbose` lines on.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `--verbose` was given.
pub fn is_verbose() -> bool {
    VERBOSE.load(std::sync::atomic::Ordering::Relaxed)
}

/// Writes a `--verbose` line to stderr. Callers pass only non-secret values.
pub fn verbose(message: impl std::fmt::Display) {
    if is_verbose() {
        write_stderr(&format!("anaconda-auth: {message}\n"));
    }
}

/// Writes a warning line to stderr.
///
/// The contract asks for a few warnings from deep inside the library (TLS verification off,
/// the system keyring falling back to the file, a newer `Min-Api-Version`); they all go here.
pub fn warn(message: impl std::fmt::Display) {
    write_stderr(&format!("anaconda-auth: warning: {message}\n"));
}

/// Writes whole lines to stderr in one `write`.
///
/// Tools run many helpers at once on one stderr; `eprintln!` writes a formatted line in
/// pieces, which another process's pieces can cut into. A single write of up to 4 KiB to a
/// pipe is never interleaved (POSIX `PIPE_BUF`).
pub fn write_stderr(lines: &str) {
    use std::io::Write as _;
    // Nothing useful can be done when stderr itself is gone.
    let _ = std::io::stderr().lock().write_all(lines.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every family of errors maps to its documented code.
    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(Error::LoginRequired { domain: "a".into() }.exit_code(), 3);
        assert_eq!(
            Error::Network {
                url: "u".into(),
                message: "m".into()
            }
            .exit_code(),
            4
        );
        assert_eq!(Error::NoHome.exit_code(), 5);
        assert_eq!(Error::Other("port".into()).exit_code(), 1);
    }
}
