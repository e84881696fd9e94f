//! `Settings`: every value of PRODUCT.md §5 paired with the source it came from.
//!
//! Sources, strongest first: command-line flags, `ANACONDA_CLOUD_*` environment variables
//! (names case-insensitive), `.env` in the working directory, `[plugin.cloud]` of
//! `~/.anaconda/config.toml` (or `$ANACONDA_CONFIG_TOML`), defaults.

use std::collections::BTreeMap;
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

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// The `[plugin.cloud]` table of a config.toml, at a line.
    ConfigToml(PathBuf, usize),
    /// A `.env` file in the working directory.
    DotEnv(PathBuf),
    /// An environment variable, by its name as set.
    Env(String),
    /// A command-line flag.
    Flag(&'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::ConfigToml(path, line) => write!(f, "{} line {line}", path.display()),
            Source::DotEnv(path) => write!(f, "{}", path.display()),
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

/// The sources, read but not yet interpreted.
#[derive(Default)]
pub struct Sources {
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// The `.env` file and its pairs, if there is one.
    pub dotenv: Option<(PathBuf, Vec<(String, String)>)>,
    /// The config.toml path and text, if there is one.
    pub config_toml: Option<(PathBuf, String)>,
}

impl Sources {
    /// Reads the process environment, `./.env` and the config.toml, skipping files that do
    /// not exist.
    pub fn read(home: &Path) -> Result<Sources> {
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let dotenv_path = PathBuf::from(".env");
        let dotenv = if dotenv_path.is_file() {
            let path = std::env::current_dir().map_or(dotenv_path.clone(), |d| d.join(".env"));
            Some((path.clone(), read_dotenv(&path, &env)?))
        } else {
            None
        };
        let toml_path = match env.iter().find(|(k, _)| k == "ANACONDA_CONFIG_TOML") {
            Some((_, p)) if !p.is_empty() => PathBuf::from(p),
            _ => home.join(".anaconda").join("config.toml"),
        };
        let config_toml = match std::fs::read_to_string(&toml_path) {
            Ok(text) => Some((toml_path, text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(Error::Config {
                    origin: toml_path.display().to_string(),
                    message: format!("cannot read: {e}"),
                });
            }
        };
        Ok(Sources {
            env,
            dotenv,
            config_toml,
        })
    }
}

/// The `KEY=value` pairs of a `.env` file, as python-dotenv reads them; lines it cannot parse
/// are skipped with a warning, as python-dotenv does. `env` resolves `${NAME}`.
fn read_dotenv(path: &Path, env: &[(String, String)]) -> Result<Vec<(String, String)>> {
    let bad = |message: String| Error::Config {
        origin: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| bad("is not UTF-8 text".into()))?;
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let parsed = dotenv::parse(&text, lookup);
    for line in parsed.skipped_lines {
        warn(format_args!(
            "{} line {line}: cannot parse this line; it is ignored",
            path.display()
        ));
    }
    Ok(parsed
        .entries
        .into_iter()
        .filter_map(|e| Some((e.key, e.value?)))
        .collect())
}

/// The home folder: `$HOME` when set and not empty, else the account's home from the OS.
pub fn home_dir() -> Result<PathBuf> {
    etcetera::home_dir().map_err(|_| Error::NoHome)
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
        let mut raw: BTreeMap<String, (Raw, Source)> = BTreeMap::new();
        // Weakest first, so that stronger sources overwrite.
        if let Some((path, text)) = &sources.config_toml {
            for (key, (value, line)) in plugin_cloud_table(path, text)? {
                raw.insert(
                    key,
                    (Raw::Toml(value), Source::ConfigToml(path.clone(), line)),
                );
            }
        }
        if let Some((path, pairs)) = &sources.dotenv {
            for (name, value) in pairs {
                if let Some(key) = env_key(name) {
                    raw.insert(
                        key,
                        (Raw::Text(value.clone()), Source::DotEnv(path.clone())),
                    );
                }
            }
        }
        // ANACONDA_AUTH_API_KEY is the newer name; ANACONDA_CLOUD_API_KEY beats it.
        for (name, value) in &sources.env {
            if name == "ANACONDA_AUTH_API_KEY" && !value.is_empty() && !raw.contains_key("api_key")
            {
                raw.insert(
                    "api_key".into(),
                    (Raw::Text(value.clone()), Source::Env(name.clone())),
                );
            }
        }
        for (name, value) in &sources.env {
            if let Some(key) = env_key(name)
                && !value.is_empty()
            {
                raw.insert(key, (Raw::Text(value.clone()), Source::Env(name.clone())));
            }
        }
        if let Some(domain) = &overrides.domain {
            raw.insert(
                "domain".into(),
                (Raw::Text(domain.clone()), Source::Flag("--domain")),
            );
        }
        if overrides.no_ssl_verify {
            raw.insert(
                "ssl_verify".into(),
                (Raw::Text("false".into()), Source::Flag("--no-ssl-verify")),
            );
        }
        let mut take = |key: &str| raw.remove(key);
        Ok(Settings {
            domain: setting(take("domain"), parse_domain, || {
                Domain::parse(DEFAULT_DOMAIN).unwrap()
            })?,
            ssl_verify: setting(take("ssl_verify"), parse_ssl_verify, || SslVerify::Yes)?,
            preferred_token_storage: setting(
                take("preferred_token_storage"),
                parse_storage,
                || StorageKind::File,
            )?,
            api_key: match take("api_key") {
                Some((raw, source)) => {
                    let value = text(&raw, &source, "api_key")?;
                    (!value.is_empty()).then(|| Setting {
                        value: Secret::new(value),
                        source,
                    })
                }
                None => None,
            },
            extra_headers: setting(take("extra_headers"), parse_headers, Vec::new)?,
            client_id: setting(take("client_id"), parse_text("client_id"), || {
                DEFAULT_CLIENT_ID.to_string()
            })?,
            redirect_uri: setting(take("redirect_uri"), parse_redirect_uri, || {
                DEFAULT_REDIRECT_URI.to_string()
            })?,
            openid_config_path: setting(
                take("openid_config_path"),
                parse_text("openid_config_path"),
                || DEFAULT_OPENID_CONFIG_PATH.to_string(),
            )?,
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

    /// The settings for display: name, value (secrets redacted) and source.
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
            match &self.api_key {
                Some(k) => ("api_key", s("<redacted>"), k.source.to_string()),
                None => ("api_key", Value::Null, Source::Default.to_string()),
            },
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

/// Header values that may carry credentials are shown redacted.
fn redact_header(name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let secret_like = ["auth", "token", "key", "secret", "cookie", "password"];
    if secret_like.iter().any(|w| lower.contains(w)) {
        "<redacted>".into()
    } else {
        value.to_string()
    }
}

/// `ANACONDA_CLOUD_SSL_VERIFY` (any case) → `ssl_verify`.
fn env_key(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    upper
        .strip_prefix(ENV_PREFIX)
        .map(|k| k.to_ascii_lowercase())
}

/// The `[plugin.cloud]` table with the line of each key. Other tables are not looked at.
fn plugin_cloud_table(path: &Path, text: &str) -> Result<BTreeMap<String, (toml::Value, usize)>> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    #[derive(serde::Deserialize)]
    struct Doc {
        plugin: Option<Plugin>,
    }
    #[derive(serde::Deserialize)]
    struct Plugin {
        cloud: Option<BTreeMap<String, toml::Spanned<toml::Value>>>,
    }
    let doc: Doc = toml::from_str(text).map_err(|e| Error::Config {
        origin: match e.span() {
            Some(span) => format!("{} line {}", path.display(), line_of(span.start)),
            None => path.display().to_string(),
        },
        message: e.message().to_string(),
    })?;
    Ok(doc
        .plugin
        .and_then(|p| p.cloud)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let line = line_of(v.span().start);
            (k, (v.into_inner(), line))
        })
        .collect())
}

fn setting<T>(
    found: Option<(Raw, Source)>,
    parse: impl Fn(&Raw, &Source) -> Result<T>,
    default: impl Fn() -> T,
) -> Result<Setting<T>> {
    match found {
        Some((raw, source)) => Ok(Setting {
            value: parse(&raw, &source)?,
            source,
        }),
        None => Ok(Setting {
            value: default(),
            source: Source::Default,
        }),
    }
}

fn invalid(source: &Source, message: impl Into<String>) -> Error {
    Error::Config {
        origin: source.to_string(),
        message: message.into(),
    }
}

fn text(raw: &Raw, source: &Source, key: &str) -> Result<String> {
    match raw {
        Raw::Text(s) | Raw::Toml(toml::Value::String(s)) => Ok(s.trim().to_string()),
        Raw::Toml(_) => Err(invalid(source, format!("{key} must be a string"))),
    }
}

fn parse_text(key: &'static str) -> impl Fn(&Raw, &Source) -> Result<String> {
    move |raw, source| {
        let value = text(raw, source, key)?;
        if value.is_empty() {
            return Err(invalid(source, format!("{key} must not be empty")));
        }
        Ok(value)
    }
}

fn parse_domain(raw: &Raw, source: &Source) -> Result<Domain> {
    let value = text(raw, source, "domain")?;
    Domain::parse(&value)
        .map_err(|_| invalid(source, format!("domain {value:?} is not host[:port]")))
}

/// Python's (pydantic's) boolean words.
fn parse_bool_word(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

fn parse_ssl_verify(raw: &Raw, source: &Source) -> Result<SslVerify> {
    let word = match raw {
        Raw::Toml(toml::Value::Boolean(b)) => {
            return Ok(if *b { SslVerify::Yes } else { SslVerify::No });
        }
        Raw::Text(s) | Raw::Toml(toml::Value::String(s)) => s.trim(),
        Raw::Toml(_) => return Err(invalid(source, "ssl_verify must be true, false or a path")),
    };
    match parse_bool_word(word) {
        Some(true) => Ok(SslVerify::Yes),
        Some(false) => Ok(SslVerify::No),
        None if Path::new(word).is_file() => Ok(SslVerify::CaBundle(PathBuf::from(word))),
        None => Err(invalid(
            source,
            format!(
                "ssl_verify must be true, false or a path to a CA bundle, and there is no file {word:?}"
            ),
        )),
    }
}

fn parse_storage(raw: &Raw, source: &Source) -> Result<StorageKind> {
    match text(raw, source, "preferred_token_storage")?.as_str() {
        "anaconda-keyring" => Ok(StorageKind::File),
        "system" => Ok(StorageKind::System),
        other => Err(invalid(
            source,
            format!(
                "preferred_token_storage must be \"anaconda-keyring\" or \"system\", not {other:?}"
            ),
        )),
    }
}

fn parse_headers(raw: &Raw, source: &Source) -> Result<Vec<(String, String)>> {
    let not_object = || invalid(source, "extra_headers must be a JSON object of strings");
    let pairs: Vec<(String, toml::Value)> = match raw {
        Raw::Toml(toml::Value::Table(t)) => t.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Raw::Text(s) | Raw::Toml(toml::Value::String(s)) => {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(s).map_err(|_| not_object())?;
            map.into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => Ok((k, toml::Value::String(s))),
                    _ => Err(not_object()),
                })
                .collect::<Result<_>>()?
        }
        Raw::Toml(_) => return Err(not_object()),
    };
    pairs
        .into_iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) if valid_header(&k, &s) => Ok((k, s)),
            _ => Err(invalid(
                source,
                format!("extra_headers: {k:?} must be a header name with a string value"),
            )),
        })
        .collect()
}

fn valid_header(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        && !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

fn parse_redirect_uri(raw: &Raw, source: &Source) -> Result<String> {
    let value = text(raw, source, "redirect_uri")?;
    let ok = Domain::from_uri(&value).is_ok() && value.starts_with("http://");
    if !ok {
        return Err(invalid(
            source,
            format!(
                "redirect_uri must be a loopback http URL like {DEFAULT_REDIRECT_URI}, not {value:?}"
            ),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)], dotenv: &[(&str, &str)], toml: &str) -> Result<Settings> {
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let sources = Sources {
            env: pairs(env),
            dotenv: (!dotenv.is_empty()).then(|| (PathBuf::from("/w/.env"), pairs(dotenv))),
            config_toml: (!toml.is_empty())
                .then(|| (PathBuf::from("/h/config.toml"), toml.to_string())),
        };
        Settings::from_sources(PathBuf::from("/h"), &sources, &Overrides::default())
    }

    // No sources: every default, each marked as such.
    #[test]
    fn defaults() {
        let s = load(&[], &[], "").unwrap();
        assert_eq!(s.domain.value.as_str(), "anaconda.cloud");
        assert_eq!(s.ssl_verify.value, SslVerify::Yes);
        assert_eq!(s.preferred_token_storage.value, StorageKind::File);
        assert!(s.api_key.is_none());
        assert_eq!(s.client_id.value, DEFAULT_CLIENT_ID);
        assert_eq!(s.domain.source, Source::Default);
    }

    // env beats .env beats config.toml, per key.
    #[test]
    fn precedence() {
        let toml = "[plugin.cloud]\ndomain = \"toml.example\"\nclient_id = \"from-toml\"\n";
        let s = load(&[], &[], toml).unwrap();
        assert_eq!(s.domain.value.as_str(), "toml.example");
        assert_eq!(
            s.domain.source,
            Source::ConfigToml("/h/config.toml".into(), 2)
        );
        let s = load(&[], &[("ANACONDA_CLOUD_DOMAIN", "dotenv.example")], toml).unwrap();
        assert_eq!(s.domain.value.as_str(), "dotenv.example");
        assert_eq!(s.client_id.value, "from-toml");
        let s = load(
            &[("anaconda_cloud_domain", "env.example")],
            &[("ANACONDA_CLOUD_DOMAIN", "dotenv.example")],
            toml,
        )
        .unwrap();
        assert_eq!(s.domain.value.as_str(), "env.example");
        assert_eq!(s.domain.source, Source::Env("anaconda_cloud_domain".into()));
    }

    // The older variable wins over the newer one.
    #[test]
    fn api_key_names() {
        let s = load(
            &[
                ("ANACONDA_AUTH_API_KEY", "new"),
                ("ANACONDA_CLOUD_API_KEY", "old"),
            ],
            &[],
            "",
        )
        .unwrap();
        assert_eq!(s.api_key.unwrap().value.expose(), "old");
        let s = load(&[("ANACONDA_AUTH_API_KEY", "new")], &[], "").unwrap();
        assert_eq!(s.api_key.unwrap().value.expose(), "new");
    }

    // Boolean words from env strings; a missing CA path is an error naming the variable.
    #[test]
    fn ssl_verify_values() {
        for (word, want) in [
            ("false", SslVerify::No),
            ("0", SslVerify::No),
            ("No", SslVerify::No),
            ("TRUE", SslVerify::Yes),
        ] {
            assert_eq!(
                load(&[("ANACONDA_CLOUD_SSL_VERIFY", word)], &[], "")
                    .unwrap()
                    .ssl_verify
                    .value,
                want
            );
        }
        let err = load(&[("ANACONDA_CLOUD_SSL_VERIFY", "/no/such.pem")], &[], "").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string()
                .starts_with("ANACONDA_CLOUD_SSL_VERIFY: ssl_verify must be"),
            "{err}"
        );
        let err = load(&[], &[], "[plugin.cloud]\n\nssl_verify = 3\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/h/config.toml line 3: ssl_verify must be true, false or a path"
        );
    }

    // extra_headers as a TOML table or as a JSON string; anything else names its source.
    #[test]
    fn extra_headers() {
        let s = load(
            &[],
            &[],
            "[plugin.cloud]\nextra_headers = { X-A = \"1\" }\n",
        )
        .unwrap();
        assert_eq!(
            s.extra_headers.value,
            vec![("X-A".to_string(), "1".to_string())]
        );
        let s = load(
            &[("ANACONDA_CLOUD_EXTRA_HEADERS", r#"{"X-B": "2"}"#)],
            &[],
            "",
        )
        .unwrap();
        assert_eq!(
            s.extra_headers.value,
            vec![("X-B".to_string(), "2".to_string())]
        );
        let err = load(&[("ANACONDA_CLOUD_EXTRA_HEADERS", "[1]")], &[], "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "ANACONDA_CLOUD_EXTRA_HEADERS: extra_headers must be a JSON object of strings"
        );
    }

    // Other tables and unknown keys are left alone; a syntax error names the line.
    #[test]
    fn config_toml_shapes() {
        let s = load(
            &[],
            &[],
            "[plugin.other]\nx = 1\n[plugin.cloud]\nfuture_key = 1\n",
        )
        .unwrap();
        assert_eq!(s.domain.source, Source::Default);
        let err = load(&[], &[], "[plugin.cloud]\ndomain = \n").unwrap_err();
        assert!(
            err.to_string().starts_with("/h/config.toml line 2"),
            "{err}"
        );
        assert_eq!(err.exit_code(), 2);
    }

    // A bad storage name is refused with the allowed values.
    #[test]
    fn storage_values() {
        let err = load(
            &[("ANACONDA_CLOUD_PREFERRED_TOKEN_STORAGE", "vault")],
            &[],
            "",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("\"anaconda-keyring\" or \"system\"")
        );
    }

    // The configured key answers only for the configured domain.
    #[test]
    fn api_key_only_for_its_domain() {
        let s = load(
            &[
                ("ANACONDA_CLOUD_API_KEY", "k"),
                ("ANACONDA_CLOUD_DOMAIN", "a.example"),
            ],
            &[],
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
        let env = [("HOST".to_string(), "example.com".to_string())];
        let pairs = read_dotenv(&path, &env).unwrap();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            get("ANACONDA_CLOUD_EXTRA_HEADERS"),
            Some("{\"X-A\": \"a b\"}")
        );
        assert_eq!(get("ANACONDA_CLOUD_CLIENT_ID"), Some("two words"));
        assert_eq!(get("ANACONDA_CLOUD_SSL_VERIFY"), Some("C:\\certs\\ca.pem"));
        assert_eq!(get("ANACONDA_CLOUD_DOMAIN"), Some("example.com:8443"));
        assert_eq!(pairs.len(), 4);
    }
}
