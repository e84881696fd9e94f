//! `Settings`: every value of PRODUCT.md §5 paired with the source it came from.
//!
//! Sources, strongest first: command-line flags, `ANACONDA_CLOUD_*` environment variables
//! (names case-insensitive), `.env` in the working directory, `[plugin.cloud]` of
//! `~/.anaconda/config.toml` (or `$ANACONDA_CONFIG_TOML`), defaults. The names, the order and
//! the value syntax are those of the Python package (pydantic-settings with python-dotenv).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::domain::{DEFAULT_DOMAIN, Domain};
use crate::dotenv;
use crate::error::{Error, Result, warn};
use crate::secret::Secret;

/// The OAuth client of the Anaconda Cloud CLI tools.
pub const DEFAULT_CLIENT_ID: &str = "b4ad7f1d-c784-46b5-a9fe-106e50441f5a";
/// Where the browser is sent back to after login.
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:8000/auth/oidc";
/// The OIDC discovery document, relative to `https://DOMAIN/`.
pub const DEFAULT_OPENID_CONFIG_PATH: &str = "api/auth/oauth2/.well-known/openid-configuration";

const ENV_PREFIX: &str = "ANACONDA_CLOUD_";
/// The newer package's name for the key; `ANACONDA_CLOUD_API_KEY` beats it.
const AUTH_API_KEY: &str = "ANACONDA_AUTH_API_KEY";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// The `[plugin.cloud]` table of a config.toml, at a line.
    ConfigToml(PathBuf, usize),
    /// A `.env` file in the working directory, at a line.
    DotEnv(PathBuf, usize),
    /// An environment variable, by its name as set.
    Env(String),
    /// A command-line flag.
    Flag(&'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::ConfigToml(path, line) | Source::DotEnv(path, line) => {
                write!(f, "{} line {line}", path.display())
            }
            Source::Env(name) => f.write_str(name),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone)]
pub struct Setting<T> {
    /// The effective value.
    pub value: T,
    /// Its source.
    pub source: Source,
}

/// How TLS certificates are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SslVerify {
    /// Against the platform's roots (and `SSL_CERT_FILE`).
    Yes,
    /// Not at all (warned about on use).
    No,
    /// Against the CA certificates of a PEM bundle only, like Python requests' `verify=PATH`.
    CaBundle(PathBuf),
}

/// Where login keys are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// `~/.anaconda/keyring`, shared with the Python package.
    File,
    /// The OS keyring, falling back to the file.
    System,
}

/// Values given on the command line, which beat every other source.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--domain`.
    pub domain: Option<String>,
    /// `--no-ssl-verify`.
    pub no_ssl_verify: bool,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// API and login domain.
    pub domain: Setting<Domain>,
    /// TLS verification.
    pub ssl_verify: Setting<SslVerify>,
    /// Where keys are stored.
    pub preferred_token_storage: Setting<StorageKind>,
    /// A key that answers for `domain` instead of any stored key.
    pub api_key: Option<Setting<Secret>>,
    /// Headers added to every API request.
    pub extra_headers: Setting<Vec<(String, String)>>,
    /// The OAuth client id.
    pub client_id: Setting<String>,
    /// The loopback redirect URI.
    pub redirect_uri: Setting<String>,
    /// The OIDC discovery path on the domain.
    pub openid_config_path: Setting<String>,
    /// The home folder, where `.anaconda/` lives.
    pub home: PathBuf,
}

/// A raw value before it is checked: env and `.env` give strings, config.toml gives TOML.
enum Raw {
    Text(String),
    Toml(toml::Value),
}

/// A raw value, where it came from, and the words that name it in an error message
/// (`ANACONDA_CLOUD_SSL_VERIFY`, `/h/.anaconda/config.toml line 4: ssl_verify`).
struct Found {
    raw: Raw,
    source: Source,
    label: String,
}

/// The sources, read but not yet interpreted.
#[derive(Default)]
pub struct Sources {
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// The `.env` file and its entries, if there is one.
    pub dotenv: Option<(PathBuf, Vec<dotenv::Entry>)>,
    /// The config.toml path and text, if there is one.
    pub config_toml: Option<(PathBuf, String)>,
}

impl Sources {
    /// Reads the process environment, `./.env` and the config.toml, skipping files that do
    /// not exist. Lines of `.env` that cannot be parsed are skipped with a warning, as
    /// python-dotenv does.
    pub fn read(home: &Path) -> Result<Sources> {
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let dotenv = if Path::new(".env").is_file() {
            let path =
                std::env::current_dir().map_or_else(|_| PathBuf::from(".env"), |d| d.join(".env"));
            let entries = read_dotenv(&path, lookup)?;
            Some((path, entries))
        } else {
            None
        };
        let toml_path = match lookup("ANACONDA_CONFIG_TOML") {
            Some(p) if !p.is_empty() => PathBuf::from(expand_path(&p, home, lookup)),
            _ => home.join(".anaconda").join("config.toml"),
        };
        let config_toml = read_text(&toml_path)?.map(|text| (toml_path, text));
        Ok(Sources {
            env,
            dotenv,
            config_toml,
        })
    }
}

/// The entries of a `.env` file, as python-dotenv reads them; lines it cannot parse are
/// skipped with a warning, as python-dotenv does. `env` resolves `${NAME}`.
fn read_dotenv(path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Vec<dotenv::Entry>> {
    let text = read_text(path)?.unwrap_or_default();
    let parsed = dotenv::parse(&text, env);
    for line in parsed.skipped_lines {
        warn(format_args!(
            "{} line {line}: cannot parse this line; it is ignored",
            path.display()
        ));
    }
    Ok(parsed.entries)
}

/// A file's text; `None` when it does not exist (a missing config file is not an error).
fn read_text(path: &Path) -> Result<Option<String>> {
    let bad = |message: String| Error::Config(format!("{}: {message}", path.display()));
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| bad("is not UTF-8 text".into())),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(bad(format!("cannot read: {e}"))),
    }
}

/// `~` and `$NAME`/`${NAME}` in `ANACONDA_CONFIG_TOML`, as the Python package expands it
/// (`os.path.expandvars(os.path.expanduser(...))`): unknown variables stay as written.
fn expand_path(raw: &str, home: &Path, env: impl Fn(&str) -> Option<String>) -> String {
    let home_expanded = match raw.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{rest}", home.display())
        }
        _ => raw.to_string(),
    };
    let mut out = String::new();
    let mut rest = home_expanded.as_str();
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(close) => (&braced[..close], close + 2),
                None => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match env(name).filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[dollar..dollar + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// The home folder: `$HOME` when set and not empty, else the account's home from the OS.
pub fn home_dir() -> Result<PathBuf> {
    // std::env::home_dir reads the passwd entry when HOME is unset or empty.
    home_from(std::env::var_os("HOME"), std::env::home_dir)
}

fn home_from(
    env_home: Option<OsString>,
    account_home: impl FnOnce() -> Option<PathBuf>,
) -> Result<PathBuf> {
    match env_home.filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home)),
        None => account_home()
            .filter(|h| !h.as_os_str().is_empty())
            .ok_or(Error::NoHome),
    }
}

impl Settings {
    /// Reads every source and builds the settings.
    pub fn load(overrides: &Overrides) -> Result<Settings> {
        let home = home_dir()?;
        let sources = Sources::read(&home)?;
        Settings::from_sources(home, &sources, overrides)
    }

    /// Builds the settings from sources already read (no I/O but checking a CA bundle path).
    pub fn from_sources(
        home: PathBuf,
        sources: &Sources,
        overrides: &Overrides,
    ) -> Result<Settings> {
        let mut found: BTreeMap<String, Found> = BTreeMap::new();
        // Weakest first, so that stronger sources overwrite.
        if let Some((path, text)) = &sources.config_toml {
            for (key, (value, line)) in plugin_cloud_table(path, text)? {
                let label = format!("{} line {line}: {key}", path.display());
                let source = Source::ConfigToml(path.clone(), line);
                found.insert(
                    key,
                    Found {
                        raw: Raw::Toml(value),
                        source,
                        label,
                    },
                );
            }
        }
        // Empty values count as unset, in .env as in the environment.
        if let Some((path, entries)) = &sources.dotenv {
            for entry in entries {
                if let (Some(key), Some(value)) = (env_key(&entry.key), &entry.value)
                    && !value.is_empty()
                {
                    let label = format!("{} line {}: {}", path.display(), entry.line, entry.key);
                    let source = Source::DotEnv(path.clone(), entry.line);
                    found.insert(key, text_found(value, source, label));
                }
            }
        }
        let env = sources.env.iter().filter(|(_, v)| !v.is_empty());
        for (name, value) in env.clone() {
            if name.eq_ignore_ascii_case(AUTH_API_KEY) {
                found.insert(
                    "api_key".into(),
                    text_found(value, Source::Env(name.clone()), name.clone()),
                );
            }
        }
        for (name, value) in env {
            if let Some(key) = env_key(name) {
                found.insert(
                    key,
                    text_found(value, Source::Env(name.clone()), name.clone()),
                );
            }
        }
        // The configured key belongs to the domain the configuration names: a --domain flag
        // naming another host must not receive it (PRODUCT.md §3).
        let configured_domain = found.get("domain").map(|f| parse_domain(f).ok());
        if let Some(domain) = &overrides.domain {
            found.insert(
                "domain".into(),
                text_found(domain, Source::Flag("--domain"), "--domain".into()),
            );
        }
        if overrides.no_ssl_verify {
            found.insert(
                "ssl_verify".into(),
                text_found(
                    "false",
                    Source::Flag("--no-ssl-verify"),
                    "--no-ssl-verify".into(),
                ),
            );
        }
        let mut take = |key: &str| found.remove(key);
        let ssl_verify = setting(
            take("ssl_verify"),
            |f| parse_ssl_verify(f, &home),
            || SslVerify::Yes,
        )?;
        let domain = setting(take("domain"), parse_domain, || {
            Domain::parse(DEFAULT_DOMAIN).expect("the default domain parses")
        })?;
        let key_domain = configured_domain.unwrap_or_else(|| Domain::parse(DEFAULT_DOMAIN).ok());
        let key_applies = key_domain.as_ref() == Some(&domain.value);
        Ok(Settings {
            domain,
            ssl_verify,
            preferred_token_storage: setting(
                take("preferred_token_storage"),
                parse_storage,
                || StorageKind::File,
            )?,
            api_key: match take("api_key") {
                Some(_) if !key_applies => None,
                Some(f) => {
                    let value = text(&f)?;
                    (!value.is_empty()).then(|| Setting {
                        value: Secret::new(value),
                        source: f.source,
                    })
                }
                None => None,
            },
            extra_headers: setting(take("extra_headers"), parse_headers, Vec::new)?,
            client_id: setting(take("client_id"), parse_text, || {
                DEFAULT_CLIENT_ID.to_string()
            })?,
            redirect_uri: setting(take("redirect_uri"), parse_redirect_uri, || {
                DEFAULT_REDIRECT_URI.to_string()
            })?,
            openid_config_path: setting(take("openid_config_path"), parse_text, || {
                DEFAULT_OPENID_CONFIG_PATH.to_string()
            })?,
            home,
        })
    }

    /// The folder of the file keyring and config.toml: `~/.anaconda`.
    pub fn anaconda_dir(&self) -> PathBuf {
        self.home.join(".anaconda")
    }

    /// The configured key, if it belongs to `domain` (it never goes to another host).
    pub fn api_key_for(&self, domain: &Domain) -> Option<&Setting<Secret>> {
        self.api_key
            .as_ref()
            .filter(|_| *domain == self.domain.value)
    }

    /// The settings for display: name, value (secrets redacted) and source, in the order of
    /// PRODUCT.md §5.
    pub fn describe(&self) -> Vec<(&'static str, serde_json::Value, String)> {
        use serde_json::Value;
        let ssl = match &self.ssl_verify.value {
            SslVerify::Yes => Value::Bool(true),
            SslVerify::No => Value::Bool(false),
            SslVerify::CaBundle(p) => Value::String(p.display().to_string()),
        };
        let storage = match self.preferred_token_storage.value {
            StorageKind::File => "anaconda-keyring",
            StorageKind::System => "system",
        };
        let headers: serde_json::Map<String, Value> = self
            .extra_headers
            .value
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(redact_header(k, v))))
            .collect();
        let s = |v: &str| Value::String(v.to_string());
        let (api_key, api_key_source) = match &self.api_key {
            Some(k) => (s(REDACTED), k.source.to_string()),
            None => (Value::Null, Source::Default.to_string()),
        };
        vec![
            (
                "domain",
                s(self.domain.value.as_str()),
                self.domain.source.to_string(),
            ),
            ("ssl_verify", ssl, self.ssl_verify.source.to_string()),
            (
                "preferred_token_storage",
                s(storage),
                self.preferred_token_storage.source.to_string(),
            ),
            ("api_key", api_key, api_key_source),
            (
                "extra_headers",
                Value::Object(headers),
                self.extra_headers.source.to_string(),
            ),
            (
                "client_id",
                s(&self.client_id.value),
                self.client_id.source.to_string(),
            ),
            (
                "redirect_uri",
                s(&self.redirect_uri.value),
                self.redirect_uri.source.to_string(),
            ),
            (
                "openid_config_path",
                s(&self.openid_config_path.value),
                self.openid_config_path.source.to_string(),
            ),
        ]
    }
}

/// What `config` shows instead of a secret.
const REDACTED: &str = "<redacted>";

/// Header values that may carry credentials are shown redacted: by the header's name, or by
/// a value that starts with an auth scheme.
fn redact_header(name: &str, value: &str) -> String {
    let name = name.to_ascii_lowercase();
    let secret_name = [
        "auth", "token", "key", "secret", "cookie", "password", "session",
    ]
    .iter()
    .any(|w| name.contains(w));
    let first_word = value.split_whitespace().next().unwrap_or("");
    let secret_value = ["bearer", "basic", "token", "digest"]
        .iter()
        .any(|scheme| first_word.eq_ignore_ascii_case(scheme));
    if secret_name || secret_value {
        REDACTED.into()
    } else {
        value.to_string()
    }
}

fn text_found(value: &str, source: Source, label: String) -> Found {
    Found {
        raw: Raw::Text(value.to_string()),
        source,
        label,
    }
}

/// `ANACONDA_CLOUD_SSL_VERIFY` (any case) → `ssl_verify`.
fn env_key(name: &str) -> Option<String> {
    let prefix = name.get(..ENV_PREFIX.len())?;
    prefix
        .eq_ignore_ascii_case(ENV_PREFIX)
        .then(|| name[ENV_PREFIX.len()..].to_ascii_lowercase())
}

/// The `[plugin.cloud]` table with the line of each key. Other tables are not looked at.
fn plugin_cloud_table(path: &Path, text: &str) -> Result<BTreeMap<String, (toml::Value, usize)>> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    #[derive(serde::Deserialize)]
    struct Doc {
        plugin: Option<toml::Spanned<toml::Value>>,
    }
    let doc: Doc = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|span| format!(" line {}", line_of(span.start)))
            .unwrap_or_default();
        Error::Config(format!(
            "{}{at}: not valid TOML: {}",
            path.display(),
            e.message()
        ))
    })?;
    let not_table = |what: &str, line: usize| {
        Error::Config(format!(
            "{} line {line}: {what} must be a table",
            path.display()
        ))
    };
    let Some(plugin) = doc.plugin else {
        return Ok(BTreeMap::new());
    };
    let plugin_line = line_of(plugin.span().start);
    let toml::Value::Table(plugin) = plugin.into_inner() else {
        return Err(not_table("plugin", plugin_line));
    };
    let Some(cloud) = plugin.get("cloud") else {
        return Ok(BTreeMap::new());
    };
    let toml::Value::Table(_) = cloud else {
        return Err(not_table("plugin.cloud", plugin_line));
    };
    // Parsed once more with spans, now that the shape is known, for the line of each key.
    #[derive(serde::Deserialize)]
    struct SpannedDoc {
        plugin: SpannedPlugin,
    }
    #[derive(serde::Deserialize)]
    struct SpannedPlugin {
        cloud: BTreeMap<String, toml::Spanned<toml::Value>>,
    }
    let spanned: SpannedDoc = toml::from_str(text).map_err(|e| {
        Error::Config(format!(
            "{}: not valid TOML: {}",
            path.display(),
            e.message()
        ))
    })?;
    Ok(spanned
        .plugin
        .cloud
        .into_iter()
        .map(|(k, v)| {
            let line = line_of(v.span().start);
            (k, (v.into_inner(), line))
        })
        .collect())
}

fn setting<T>(
    found: Option<Found>,
    parse: impl Fn(&Found) -> Result<T>,
    default: impl Fn() -> T,
) -> Result<Setting<T>> {
    match found {
        Some(f) => Ok(Setting {
            value: parse(&f)?,
            source: f.source,
        }),
        None => Ok(Setting {
            value: default(),
            source: Source::Default,
        }),
    }
}

/// `LABEL MESSAGE`, e.g. `ANACONDA_CLOUD_SSL_VERIFY must be true, false or a path`.
fn invalid(found: &Found, message: impl std::fmt::Display) -> Error {
    Error::Config(format!("{} {message}", found.label))
}

fn text(found: &Found) -> Result<String> {
    match &found.raw {
        Raw::Text(s) | Raw::Toml(toml::Value::String(s)) => Ok(s.trim().to_string()),
        Raw::Toml(_) => Err(invalid(found, "must be a string")),
    }
}

fn parse_text(found: &Found) -> Result<String> {
    let value = text(found)?;
    if value.is_empty() {
        return Err(invalid(found, "must not be empty"));
    }
    Ok(value)
}

fn parse_domain(found: &Found) -> Result<Domain> {
    let value = text(found)?;
    Domain::parse(&value).map_err(|_| invalid(found, format!("must be host[:port], not {value:?}")))
}

/// pydantic's boolean words, any case.
fn parse_bool_word(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

fn parse_ssl_verify(found: &Found, home: &Path) -> Result<SslVerify> {
    let bool_value = |b: bool| if b { SslVerify::Yes } else { SslVerify::No };
    let word = match &found.raw {
        Raw::Toml(toml::Value::Boolean(b)) => return Ok(bool_value(*b)),
        // pydantic also takes the integers 0 and 1 as booleans.
        Raw::Toml(toml::Value::Integer(i @ (0 | 1))) => return Ok(bool_value(*i == 1)),
        Raw::Text(s) | Raw::Toml(toml::Value::String(s)) => s.trim(),
        Raw::Toml(_) => return Err(invalid(found, "must be true, false or a path")),
    };
    if let Some(b) = parse_bool_word(word) {
        return Ok(bool_value(b));
    }
    let path = match word.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(word),
    };
    if path.is_file() {
        return Ok(SslVerify::CaBundle(path));
    }
    // Never a silent "verify off": a path that is not there is an error.
    let problem = if path.exists() {
        "is not a file"
    } else {
        "does not exist"
    };
    Err(invalid(
        found,
        format!("must be true, false or a path to a CA bundle, and {word:?} {problem}"),
    ))
}

fn parse_storage(found: &Found) -> Result<StorageKind> {
    match text(found)?.as_str() {
        "anaconda-keyring" => Ok(StorageKind::File),
        "system" => Ok(StorageKind::System),
        other => Err(invalid(
            found,
            format!("must be \"anaconda-keyring\" or \"system\", not {other:?}"),
        )),
    }
}

fn parse_headers(found: &Found) -> Result<Vec<(String, String)>> {
    let pairs: Vec<(String, toml::Value)> = match &found.raw {
        Raw::Toml(toml::Value::Table(t)) => t.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Raw::Text(s) | Raw::Toml(toml::Value::String(s)) => {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(s).map_err(|_| invalid(found, "is not a JSON object"))?;
            map.into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => (k, toml::Value::String(s)),
                    // Not a string: refused below, by name.
                    _ => (k, toml::Value::Boolean(false)),
                })
                .collect()
        }
        Raw::Toml(_) => {
            return Err(invalid(
                found,
                "must be a table or a JSON object in a string",
            ));
        }
    };
    pairs
        .into_iter()
        .map(|(name, value)| match value {
            _ if CLIENT_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(&name)) => Err(invalid(
                found,
                format!("has {name:?}, which the HTTP client sets itself; remove it"),
            )),
            toml::Value::String(value) if valid_header(&name, &value) => Ok((name, value)),
            toml::Value::String(_) => Err(invalid(
                found,
                format!("has {name:?}, which is not a valid header name and value"),
            )),
            _ => Err(invalid(
                found,
                format!("has {name:?}, whose value is not a string"),
            )),
        })
        .collect()
}

/// Headers that frame or route a request (RFC 9110 §7.6.1, §8.6, §7.2): the HTTP client
/// sets them. A `Content-Length` that did not match the body made requests spin forever.
const CLIENT_HEADERS: [&str; 10] = [
    "Host",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Keep-Alive",
    "Upgrade",
    "TE",
    "Trailer",
    "Expect",
    "Proxy-Connection",
];

/// RFC 9110 token characters for the name; no line breaks or NUL in the value.
fn valid_header(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        && !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

fn parse_redirect_uri(found: &Found) -> Result<String> {
    let value = text(found)?;
    let ok = Domain::from_uri(&value).is_ok() && value.starts_with("http://");
    if !ok {
        return Err(invalid(
            found,
            format!("must be a loopback http URL like {DEFAULT_REDIRECT_URI}, not {value:?}"),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = "/h/.anaconda/config.toml";

    /// The sources of one test: environment pairs, `.env` text, config.toml text.
    fn sources(env: &[(&str, &str)], dotenv: &str, toml: &str) -> Sources {
        Sources {
            env: env
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            dotenv: (!dotenv.is_empty()).then(|| {
                (
                    PathBuf::from("/w/.env"),
                    dotenv::parse(dotenv, |_| None).entries,
                )
            }),
            config_toml: (!toml.is_empty()).then(|| (PathBuf::from(TOML), toml.to_string())),
        }
    }

    fn load(env: &[(&str, &str)], dotenv: &str, toml: &str) -> Result<Settings> {
        let sources = sources(env, dotenv, toml);
        Settings::from_sources(PathBuf::from("/h"), &sources, &Overrides::default())
    }

    fn error(env: &[(&str, &str)], dotenv: &str, toml: &str) -> String {
        let err = load(env, dotenv, toml).expect_err("an error");
        assert_eq!(err.exit_code(), 2, "{err}");
        err.to_string()
    }

    /// `describe()` as a map: key → (value, source).
    fn shown(s: &Settings) -> BTreeMap<&'static str, (serde_json::Value, String)> {
        s.describe()
            .into_iter()
            .map(|(k, v, source)| (k, (v, source)))
            .collect()
    }

    #[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
    enum Kind {
        Toml,
        DotEnv,
        Env,
        Flag,
    }

    /// One key as each source writes it (TOML as a TOML literal), and as `config` shows it.
    struct Row {
        key: &'static str,
        by: Vec<(Kind, String, serde_json::Value)>,
    }

    fn rows() -> Vec<Row> {
        use serde_json::json;
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let row = |key, by: &[(Kind, &str, serde_json::Value)]| Row {
            key,
            by: by
                .iter()
                .map(|(kind, raw, shown)| (*kind, raw.to_string(), shown.clone()))
                .collect(),
        };
        vec![
            row(
                "domain",
                &[
                    (Kind::Toml, "\"toml.example\"", json!("toml.example")),
                    (Kind::DotEnv, "dotenv.example", json!("dotenv.example")),
                    (Kind::Env, "Env.Example", json!("env.example")),
                    (Kind::Flag, "flag.example:8443", json!("flag.example:8443")),
                ],
            ),
            row(
                "ssl_verify",
                &[
                    (Kind::Toml, &format!("{ca:?}"), json!(ca)),
                    (Kind::DotEnv, "off", json!(false)),
                    (Kind::Env, "YES", json!(true)),
                    (Kind::Flag, "", json!(false)),
                ],
            ),
            row(
                "preferred_token_storage",
                &[
                    (Kind::Toml, "\"system\"", json!("system")),
                    (Kind::DotEnv, "anaconda-keyring", json!("anaconda-keyring")),
                    (Kind::Env, "system", json!("system")),
                ],
            ),
            row(
                "api_key",
                &[
                    (Kind::Toml, "\"k-toml\"", json!(REDACTED)),
                    (Kind::DotEnv, "k-dotenv", json!(REDACTED)),
                    (Kind::Env, "k-env", json!(REDACTED)),
                ],
            ),
            row(
                "extra_headers",
                &[
                    (Kind::Toml, "{ X-Toml = \"1\" }", json!({"X-Toml": "1"})),
                    (
                        Kind::DotEnv,
                        "'{\"X-Dotenv\": \"2\"}'",
                        json!({"X-Dotenv": "2"}),
                    ),
                    (Kind::Env, "{\"X-Env\": \"3\"}", json!({"X-Env": "3"})),
                ],
            ),
            row(
                "client_id",
                &[
                    (Kind::Toml, "\"c-toml\"", json!("c-toml")),
                    (Kind::DotEnv, "c-dotenv", json!("c-dotenv")),
                    (Kind::Env, "c-env", json!("c-env")),
                ],
            ),
            row(
                "redirect_uri",
                &[
                    (
                        Kind::Toml,
                        "\"http://127.0.0.1:1/t\"",
                        json!("http://127.0.0.1:1/t"),
                    ),
                    (
                        Kind::DotEnv,
                        "http://127.0.0.1:2/d",
                        json!("http://127.0.0.1:2/d"),
                    ),
                    (
                        Kind::Env,
                        "http://127.0.0.1:3/e",
                        json!("http://127.0.0.1:3/e"),
                    ),
                ],
            ),
            row(
                "openid_config_path",
                &[
                    (Kind::Toml, "\"p/toml\"", json!("p/toml")),
                    (Kind::DotEnv, "p/dotenv", json!("p/dotenv")),
                    (Kind::Env, "p/env", json!("p/env")),
                ],
            ),
        ]
    }

    /// Loads `key` from the given sources; returns how `config` shows it.
    fn load_from(
        key: &str,
        by: &[&(Kind, String, serde_json::Value)],
    ) -> (serde_json::Value, String) {
        let mut env = Vec::new();
        let mut dotenv = String::new();
        let mut toml = String::new();
        let mut overrides = Overrides::default();
        for (kind, raw, _) in by {
            match kind {
                // Other tables and keys around it, so that the line is worth checking.
                Kind::Toml => {
                    toml = format!("[plugin.other]\nx = 1\n\n[plugin.cloud]\n{key} = {raw}\n")
                }
                Kind::DotEnv => {
                    dotenv = format!(
                        "# comment\nexport ANACONDA_CLOUD_{}={raw}\n",
                        key.to_uppercase()
                    )
                }
                // Names are case-insensitive: odd-length keys use lower case.
                Kind::Env if key.len() % 2 == 1 => {
                    env.push((format!("anaconda_cloud_{key}"), raw.clone()))
                }
                Kind::Env => env.push((
                    format!("ANACONDA_CLOUD_{}", key.to_uppercase()),
                    raw.clone(),
                )),
                Kind::Flag if key == "domain" => overrides.domain = Some(raw.clone()),
                Kind::Flag => overrides.no_ssl_verify = true,
            }
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let sources = sources(&env, &dotenv, &toml);
        let settings = Settings::from_sources(PathBuf::from("/h"), &sources, &overrides)
            .unwrap_or_else(|e| panic!("{key} from {by:?}: {e}"));
        shown(&settings).remove(key).unwrap()
    }

    fn expected_source(key: &str, kind: Kind) -> String {
        match kind {
            Kind::Toml => format!("{TOML} line 5"),
            Kind::DotEnv => "/w/.env line 2".into(),
            Kind::Env if key.len() % 2 == 1 => format!("anaconda_cloud_{key}"),
            Kind::Env => format!("ANACONDA_CLOUD_{}", key.to_uppercase()),
            Kind::Flag if key == "domain" => "flag --domain".into(),
            Kind::Flag => "flag --no-ssl-verify".into(),
        }
    }

    // Each key from each source alone, then from every pair of sources: the stronger one
    // (flag > env > .env > config.toml) gives the value, and is named as the source.
    #[test]
    fn precedence_table() {
        for row in rows() {
            for one in &row.by {
                let (value, source) = load_from(row.key, &[one]);
                assert_eq!(value, one.2, "{} from {:?}", row.key, one.0);
                assert_eq!(source, expected_source(row.key, one.0));
            }
            for (i, weak) in row.by.iter().enumerate() {
                for strong in &row.by[i + 1..] {
                    assert!(strong.0 > weak.0);
                    for order in [[weak, strong], [strong, weak]] {
                        let (value, source) = load_from(row.key, &order);
                        assert_eq!(
                            value, strong.2,
                            "{} from {:?} over {:?}",
                            row.key, strong.0, weak.0
                        );
                        assert_eq!(source, expected_source(row.key, strong.0));
                    }
                }
            }
            let all: Vec<_> = row.by.iter().collect();
            let strongest = row.by.last().unwrap();
            assert_eq!(
                load_from(row.key, &all).1,
                expected_source(row.key, strongest.0)
            );
        }
    }

    // No sources: every default, each marked as such.
    #[test]
    fn defaults() {
        let s = load(&[], "", "").unwrap();
        assert_eq!(s.domain.value.as_str(), "anaconda.cloud");
        assert_eq!(s.ssl_verify.value, SslVerify::Yes);
        assert_eq!(s.preferred_token_storage.value, StorageKind::File);
        assert!(s.api_key.is_none());
        assert!(s.extra_headers.value.is_empty());
        assert_eq!(s.client_id.value, DEFAULT_CLIENT_ID);
        assert_eq!(s.redirect_uri.value, DEFAULT_REDIRECT_URI);
        assert_eq!(s.openid_config_path.value, DEFAULT_OPENID_CONFIG_PATH);
        assert!(shown(&s).values().all(|(_, source)| source == "default"));
    }

    // The newer ANACONDA_AUTH_API_KEY beats .env and config.toml; ANACONDA_CLOUD_API_KEY beats it.
    #[test]
    fn api_key_names() {
        let key = |s: Settings| {
            let k = s.api_key.unwrap();
            (k.value.expose().to_string(), k.source.to_string())
        };
        let both = [
            ("ANACONDA_AUTH_API_KEY", "new"),
            ("ANACONDA_CLOUD_API_KEY", "old"),
        ];
        assert_eq!(key(load(&both, "", "").unwrap()).0, "old");
        let reversed = [both[1], both[0]];
        assert_eq!(key(load(&reversed, "", "").unwrap()).0, "old");
        let toml = "[plugin.cloud]\napi_key = \"t\"\n";
        let dotenv = "ANACONDA_CLOUD_API_KEY=d\n";
        assert_eq!(
            key(load(&[("anaconda_auth_api_key", "new")], dotenv, toml).unwrap()),
            ("new".into(), "anaconda_auth_api_key".into())
        );
        assert_eq!(key(load(&[], dotenv, toml).unwrap()).0, "d");
    }

    // Empty values count as unset, in the environment and in .env alike.
    #[test]
    fn empty_values_are_unset() {
        let toml = "[plugin.cloud]\ndomain = \"toml.example\"\napi_key = \"t\"\n";
        let s = load(
            &[
                ("ANACONDA_CLOUD_DOMAIN", ""),
                ("ANACONDA_CLOUD_API_KEY", ""),
            ],
            "ANACONDA_CLOUD_DOMAIN=\nANACONDA_CLOUD_API_KEY=''\nANACONDA_CLOUD_CLIENT_ID\n",
            toml,
        )
        .unwrap();
        assert_eq!(s.domain.value.as_str(), "toml.example");
        assert_eq!(s.api_key.unwrap().value.expose(), "t");
        assert_eq!(s.client_id.source, Source::Default);
    }

    // Every boolean word pydantic takes, in any case; TOML booleans and 0/1; a CA path.
    #[test]
    fn ssl_verify_syntax() {
        let ssl = |v: &str| {
            load(&[("ANACONDA_CLOUD_SSL_VERIFY", v)], "", "")
                .unwrap()
                .ssl_verify
                .value
        };
        for word in ["true", "1", "yes", "on", "t", "y", "TRUE", "Yes", " on "] {
            assert_eq!(ssl(word), SslVerify::Yes, "{word}");
        }
        for word in ["false", "0", "no", "off", "f", "n", "FALSE", "No", "oFF"] {
            assert_eq!(ssl(word), SslVerify::No, "{word}");
        }
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        assert_eq!(ssl(ca), SslVerify::CaBundle(ca.into()));
        let toml_ssl = |v: &str| {
            load(&[], "", &format!("[plugin.cloud]\nssl_verify = {v}\n"))
                .unwrap()
                .ssl_verify
                .value
        };
        assert_eq!(toml_ssl("false"), SslVerify::No);
        assert_eq!(toml_ssl("true"), SslVerify::Yes);
        assert_eq!(toml_ssl("0"), SslVerify::No);
        assert_eq!(toml_ssl("1"), SslVerify::Yes);
        assert_eq!(toml_ssl("\"no\""), SslVerify::No);
        assert_eq!(toml_ssl(&format!("{ca:?}")), SslVerify::CaBundle(ca.into()));
    }

    // `~/` in a CA path is the home folder.
    #[test]
    fn ssl_verify_home_path() {
        let home = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let sources = sources(&[("ANACONDA_CLOUD_SSL_VERIFY", "~/Cargo.toml")], "", "");
        let s = Settings::from_sources(home.clone(), &sources, &Overrides::default()).unwrap();
        assert_eq!(
            s.ssl_verify.value,
            SslVerify::CaBundle(home.join("Cargo.toml"))
        );
    }

    // Headers that frame or route a request are the HTTP client's: a Content-Length in
    // extra_headers made whoami spin at 100% CPU, and Host sent requests elsewhere.
    #[test]
    fn framing_headers_are_refused() {
        for name in ["Content-Length", "host", "Transfer-Encoding", "Connection"] {
            let json = format!("{{\"{name}\": \"5\"}}");
            let err = load(&[("ANACONDA_CLOUD_EXTRA_HEADERS", json.as_str())], "", "").unwrap_err();
            assert_eq!(err.exit_code(), 2);
            let message = err.to_string();
            assert!(
                message.starts_with("ANACONDA_CLOUD_EXTRA_HEADERS"),
                "{message}"
            );
            assert!(message.contains("the HTTP client sets"), "{message}");
        }
        assert!(
            load(
                &[("ANACONDA_CLOUD_EXTRA_HEADERS", r#"{"X-Host": "5"}"#)],
                "",
                ""
            )
            .is_ok()
        );
    }

    // extra_headers as a TOML table, a JSON object in a TOML string, or a JSON object in env.
    #[test]
    fn extra_headers_syntax() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let s = load(
            &[],
            "",
            "[plugin.cloud]\nextra_headers = { X-A = \"1\", X-B = \"2\" }\n",
        )
        .unwrap();
        assert_eq!(s.extra_headers.value, pairs(&[("X-A", "1"), ("X-B", "2")]));
        let s = load(&[], "", "[plugin.cloud.extra_headers]\nX-A = \"1\"\n").unwrap();
        assert_eq!(s.extra_headers.value, pairs(&[("X-A", "1")]));
        let s = load(
            &[],
            "",
            "[plugin.cloud]\nextra_headers = '{\"X-A\": \"1\"}'\n",
        )
        .unwrap();
        assert_eq!(s.extra_headers.value, pairs(&[("X-A", "1")]));
        let s = load(
            &[("ANACONDA_CLOUD_EXTRA_HEADERS", r#"{"X-B": "2"}"#)],
            "",
            "",
        )
        .unwrap();
        assert_eq!(s.extra_headers.value, pairs(&[("X-B", "2")]));
        // Unquoted JSON in .env, as python-dotenv reads it.
        let s = load(&[], "ANACONDA_CLOUD_EXTRA_HEADERS={\"X-C\": \"a b\"}\n", "").unwrap();
        assert_eq!(s.extra_headers.value, pairs(&[("X-C", "a b")]));
    }

    // Each error message names its source, says what is wrong, and exits 2.
    #[test]
    fn error_messages() {
        let toml4 = "[plugin.cloud]\ndomain = \"x.example\"\n\nssl_verify = [1]\n";
        let table: Vec<(String, &str)> = vec![
            (
                error(&[], "", toml4),
                "/h/.anaconda/config.toml line 4: ssl_verify must be true, false or a path",
            ),
            (
                error(&[], "", "[plugin.cloud]\nssl_verify = 2\n"),
                "/h/.anaconda/config.toml line 2: ssl_verify must be true, false or a path",
            ),
            (
                error(&[("ANACONDA_CLOUD_SSL_VERIFY", "/no/such.pem")], "", ""),
                "ANACONDA_CLOUD_SSL_VERIFY must be true, false or a path to a CA bundle, and \"/no/such.pem\" does not exist",
            ),
            (
                error(&[("ANACONDA_CLOUD_SSL_VERIFY", "/")], "", ""),
                "ANACONDA_CLOUD_SSL_VERIFY must be true, false or a path to a CA bundle, and \"/\" is not a file",
            ),
            (
                error(&[("ANACONDA_CLOUD_EXTRA_HEADERS", "[1]")], "", ""),
                "ANACONDA_CLOUD_EXTRA_HEADERS is not a JSON object",
            ),
            (
                error(&[], "A=1\nANACONDA_CLOUD_EXTRA_HEADERS=nope\n", ""),
                "/w/.env line 2: ANACONDA_CLOUD_EXTRA_HEADERS is not a JSON object",
            ),
            (
                error(&[("ANACONDA_CLOUD_EXTRA_HEADERS", r#"{"X-A": 1}"#)], "", ""),
                "ANACONDA_CLOUD_EXTRA_HEADERS has \"X-A\", whose value is not a string",
            ),
            (
                error(
                    &[("ANACONDA_CLOUD_EXTRA_HEADERS", r#"{"X A": "1"}"#)],
                    "",
                    "",
                ),
                "ANACONDA_CLOUD_EXTRA_HEADERS has \"X A\", which is not a valid header name and value",
            ),
            (
                error(&[], "", "[plugin.cloud]\nextra_headers = 3\n"),
                "/h/.anaconda/config.toml line 2: extra_headers must be a table or a JSON object in a string",
            ),
            (
                error(
                    &[("ANACONDA_CLOUD_PREFERRED_TOKEN_STORAGE", "vault")],
                    "",
                    "",
                ),
                "ANACONDA_CLOUD_PREFERRED_TOKEN_STORAGE must be \"anaconda-keyring\" or \"system\", not \"vault\"",
            ),
            (
                error(&[("ANACONDA_CLOUD_DOMAIN", "a b")], "", ""),
                "ANACONDA_CLOUD_DOMAIN must be host[:port], not \"a b\"",
            ),
            (
                error(&[], "", "[plugin.cloud]\nclient_id = 7\n"),
                "/h/.anaconda/config.toml line 2: client_id must be a string",
            ),
            (
                error(&[("ANACONDA_CLOUD_CLIENT_ID", "  ")], "", ""),
                "ANACONDA_CLOUD_CLIENT_ID must not be empty",
            ),
            (
                error(&[("ANACONDA_CLOUD_REDIRECT_URI", "ftp://x")], "", ""),
                "ANACONDA_CLOUD_REDIRECT_URI must be a loopback http URL like http://127.0.0.1:8000/auth/oidc, not \"ftp://x\"",
            ),
            (
                error(&[], "", "[plugin]\ncloud = 1\n"),
                "/h/.anaconda/config.toml line 1: plugin.cloud must be a table",
            ),
            (
                error(&[], "", "plugin = \"x\"\n"),
                "/h/.anaconda/config.toml line 1: plugin must be a table",
            ),
        ];
        for (got, want) in table {
            assert_eq!(got, want);
        }
        let overrides = Overrides {
            domain: Some("a b".into()),
            no_ssl_verify: false,
        };
        let err = Settings::from_sources("/h".into(), &Sources::default(), &overrides).unwrap_err();
        assert_eq!(err.to_string(), "--domain must be host[:port], not \"a b\"");
        let syntax = error(&[], "", "[plugin.cloud]\ndomain = \n");
        assert!(
            syntax.starts_with("/h/.anaconda/config.toml line 2: not valid TOML: "),
            "{syntax}"
        );
    }

    // Other tables and unknown keys are left alone.
    #[test]
    fn config_toml_shapes() {
        let s = load(
            &[],
            "",
            "[plugin.other]\nx = 1\n[plugin.cloud]\nfuture_key = 1\n[other]\ny = [1]\n",
        )
        .unwrap();
        assert_eq!(s.domain.source, Source::Default);
        let s = load(&[], "", "[plugin]\nfoo = 1\n").unwrap();
        assert_eq!(s.domain.source, Source::Default);
        let s = load(&[], "", "plugin.cloud.domain = \"dotted.example\"\n").unwrap();
        assert_eq!(s.domain.value.as_str(), "dotted.example");
        assert_eq!(s.domain.source, Source::ConfigToml(TOML.into(), 1));
    }

    // HOME when set and not empty; else the account's home; else a storage error (exit 5).
    #[test]
    fn home_folder() {
        let account = || Some(PathBuf::from("/home/account"));
        assert_eq!(
            home_from(Some("/h".into()), account).unwrap(),
            PathBuf::from("/h")
        );
        assert_eq!(
            home_from(Some("".into()), account).unwrap(),
            PathBuf::from("/home/account")
        );
        assert_eq!(
            home_from(None, account).unwrap(),
            PathBuf::from("/home/account")
        );
        let err = home_from(None, || None).unwrap_err();
        assert_eq!(err.exit_code(), 5);
        assert!(home_from(Some("".into()), || Some(PathBuf::new())).is_err());
    }

    // ANACONDA_CONFIG_TOML gets `~` and `$NAME` expanded, as Python's expanduser/expandvars do.
    #[test]
    fn config_toml_path_expansion() {
        let env = |name: &str| (name == "CFG").then(|| "/etc/cfg".to_string());
        let home = Path::new("/home/me");
        for (raw, want) in [
            ("~/a.toml", "/home/me/a.toml"),
            ("~", "/home/me"),
            ("$CFG/a.toml", "/etc/cfg/a.toml"),
            ("${CFG}/a.toml", "/etc/cfg/a.toml"),
            ("$NOPE/a.toml", "$NOPE/a.toml"),
            ("${NOPE}/a", "${NOPE}/a"),
            ("~other/a.toml", "~other/a.toml"),
            ("/a$", "/a$"),
            ("/plain.toml", "/plain.toml"),
        ] {
            assert_eq!(expand_path(raw, home, env), want, "{raw}");
        }
    }

    // Header values are redacted by a secret-looking name or an auth-scheme value.
    #[test]
    fn header_redaction() {
        assert_eq!(redact_header("Authorization", "x"), REDACTED);
        assert_eq!(redact_header("X-Api-Key", "x"), REDACTED);
        assert_eq!(redact_header("Cookie", "a=b"), REDACTED);
        assert_eq!(redact_header("X-Forwarded", "Bearer abc"), REDACTED);
        assert_eq!(redact_header("X-Team", "blue"), "blue");
    }

    // A --domain flag naming another host drops the configured key; naming the same keeps it.
    #[test]
    fn domain_flag_does_not_take_the_key() {
        let sources = Sources {
            env: vec![
                ("ANACONDA_CLOUD_API_KEY".into(), "k".into()),
                ("ANACONDA_CLOUD_DOMAIN".into(), "a.example".into()),
            ],
            ..Sources::default()
        };
        let flag = |d: &str| Overrides {
            domain: Some(d.into()),
            no_ssl_verify: false,
        };
        let s = Settings::from_sources(PathBuf::from("/h"), &sources, &flag("b.example")).unwrap();
        assert!(s.api_key.is_none());
        let s = Settings::from_sources(PathBuf::from("/h"), &sources, &flag("A.example")).unwrap();
        assert!(s.api_key.is_some());
        let bare = Sources {
            env: vec![("ANACONDA_CLOUD_API_KEY".into(), "k".into())],
            ..Sources::default()
        };
        let s = Settings::from_sources(PathBuf::from("/h"), &bare, &flag("b.example")).unwrap();
        assert!(s.api_key.is_none(), "the default domain owns the key");
    }

    // The configured key answers only for the configured domain.
    #[test]
    fn api_key_only_for_its_domain() {
        let s = load(
            &[
                ("ANACONDA_CLOUD_API_KEY", "k"),
                ("ANACONDA_CLOUD_DOMAIN", "a.example"),
            ],
            "",
            "",
        )
        .unwrap();
        assert!(
            s.api_key_for(&Domain::parse("a.example").unwrap())
                .is_some()
        );
        assert!(
            s.api_key_for(&Domain::parse("b.example").unwrap())
                .is_none()
        );
    }

    // A .env that dotenvy refused whole: unquoted JSON and spaces, a Windows path, a line
    // python-dotenv skips with a warning. Each value as python-dotenv 1.2.4 reads it.
    #[test]
    fn dotenv_as_python_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "ANACONDA_CLOUD_EXTRA_HEADERS={\"X-A\": \"a b\"}\nnot a statement\nexport ANACONDA_CLOUD_CLIENT_ID=two words # comment\nANACONDA_CLOUD_SSL_VERIFY=C:\\certs\\ca.pem\nANACONDA_CLOUD_DOMAIN=${HOST}:8443\n",
        )
        .unwrap();
        let env = |name: &str| (name == "HOST").then(|| "example.com".to_string());
        let entries = read_dotenv(&path, env).unwrap();
        let get = |k: &str| {
            entries
                .iter()
                .find(|e| e.key == k)
                .and_then(|e| e.value.as_deref())
        };
        assert_eq!(
            get("ANACONDA_CLOUD_EXTRA_HEADERS"),
            Some("{\"X-A\": \"a b\"}")
        );
        assert_eq!(get("ANACONDA_CLOUD_CLIENT_ID"), Some("two words"));
        assert_eq!(get("ANACONDA_CLOUD_SSL_VERIFY"), Some("C:\\certs\\ca.pem"));
        assert_eq!(get("ANACONDA_CLOUD_DOMAIN"), Some("example.com:8443"));
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[1].line, 3);
    }

    // A config file that cannot exist (HOME is a file) is absent, not an error; an
    // unreadable one is an error naming it.
    #[test]
    fn missing_config_files() {
        assert!(
            read_text(Path::new("/dev/null/.anaconda/config.toml"))
                .unwrap()
                .is_none()
        );
        assert!(
            read_text(Path::new("/no/such/config.toml"))
                .unwrap()
                .is_none()
        );
        let err = read_text(Path::new("/")).unwrap_err();
        assert!(err.to_string().starts_with("/: cannot read: "), "{err}");
    }
}
