//! The command line of PRODUCT.md §2: argh structs whose doc comments are the `--help` text,
//! one function per command. The only code that reads stdin, writes stdout or prompts.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use argh::FromArgs;

use crate::client::Client;
use crate::config::{Overrides, Settings, StorageKind};
use crate::domain::Domain;
use crate::error::{Error, Result, verbose, warn};
use crate::interactive::{self, LoginLock};
use crate::login;
use crate::protocol::{self, Format, Request, Target};
use crate::resolve;
use crate::secret::Secret;
use crate::storage::Store;
use crate::token::{self, RECORD_VERSION, TokenRecord};

/// Log in to Anaconda Cloud and hand the API key to other tools.
#[derive(FromArgs)]
struct Args {
    /// print the version and exit
    #[argh(switch, short = 'V')]
    version: bool,
    /// explain what happens on stderr (never secrets)
    #[argh(switch, short = 'v')]
    verbose: bool,
    #[argh(subcommand)]
    command: Option<Command>,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Command {
    Login(LoginArgs),
    Logout(LogoutArgs),
    Whoami(WhoamiArgs),
    ApiKey(ApiKeyArgs),
    Status(StatusArgs),
    Config(ConfigArgs),
    Get(GetArgs),
    Store(StoreArgs),
    Erase(EraseArgs),
}

/// Log in with the browser (or --device) and store the API key.
#[derive(FromArgs)]
#[argh(subcommand, name = "login")]
struct LoginArgs {
    /// log in again even if a valid key is stored
    #[argh(switch)]
    force: bool,
    /// print the login URL instead of opening a browser
    #[argh(switch)]
    no_browser: bool,
    /// use the device flow (RFC 8628) for machines without a browser
    #[argh(switch)]
    device: bool,
    /// seconds to wait for the browser (default 300) or for the device code's approval
    /// (default: until the code expires)
    #[argh(option)]
    timeout: Option<u64>,
    /// domain to log in to (default: configured, else anaconda.cloud)
    #[argh(option)]
    domain: Option<String>,
    /// do not verify TLS certificates (unsafe)
    #[argh(switch)]
    no_ssl_verify: bool,
}

/// Forget the stored key (running it twice is fine).
#[derive(FromArgs)]
#[argh(subcommand, name = "logout")]
struct LogoutArgs {
    /// domain to log out of
    #[argh(option)]
    domain: Option<String>,
}

/// Show the account of the stored key (GET /api/account).
#[derive(FromArgs)]
#[argh(subcommand, name = "whoami")]
struct WhoamiArgs {
    /// domain to ask
    #[argh(option)]
    domain: Option<String>,
}

/// Print the API key: the configured api_key, else the stored unexpired one.
#[derive(FromArgs)]
#[argh(subcommand, name = "api-key")]
struct ApiKeyArgs {
    /// domain whose key to print
    #[argh(option)]
    domain: Option<String>,
}

/// Say whether you are logged in, where the key is stored and when it expires.
#[derive(FromArgs)]
#[argh(subcommand, name = "status")]
struct StatusArgs {
    /// domain to check
    #[argh(option)]
    domain: Option<String>,
}

/// Show the effective settings and where each came from (secrets redacted).
#[derive(FromArgs)]
#[argh(subcommand, name = "config")]
struct ConfigArgs {
    /// print JSON for scripts
    #[argh(switch)]
    json: bool,
}

/// Credential helper: answer a JSON request on stdin, or print `Bearer KEY` for a shell.
#[derive(FromArgs)]
#[argh(subcommand, name = "get")]
struct GetArgs {
    /// host[:port] to answer for (skips stdin)
    #[argh(option)]
    domain: Option<String>,
    /// URL to answer for (skips stdin)
    #[argh(option)]
    uri: Option<String>,
    /// json, header (`Bearer KEY`) or token (the bare key)
    #[argh(option)]
    format: Option<Format>,
}

/// Credential helper: store the key of a JSON request on stdin.
#[derive(FromArgs)]
#[argh(subcommand, name = "store")]
struct StoreArgs {}

/// Credential helper: forget the key of a JSON request on stdin ({} = configured domain).
#[derive(FromArgs)]
#[argh(subcommand, name = "erase")]
struct EraseArgs {}

/// A failed command: the error, and the guidance lines `main` prints beneath it.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub error: Error,
    /// What to do about it (empty for the credential-helper commands).
    pub hints: Vec<String>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            hints: Vec::new(),
        }
    }
}

/// Runs the command line `args` (program name first); returns the exit code.
pub fn run(args: &[String]) -> std::result::Result<u8, Failure> {
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (name, rest) = strs
        .split_first()
        .map_or(("anaconda-auth", &[][..]), |(n, r)| (*n, r));
    let parsed = match Args::from_args(&[name], rest) {
        Ok(parsed) => parsed,
        Err(early) if early.status.is_ok() => {
            print_out(&early.output)?;
            return Ok(0);
        }
        Err(early) => {
            // One line, as the credential-helper commands promise.
            let message = early.output.trim_end().replace('\n', "; ");
            return Err(Error::Usage(format!("{message} (see `anaconda-auth --help`)")).into());
        }
    };
    crate::error::set_verbose(parsed.verbose);
    if parsed.version {
        print_out(concat!("anaconda-auth ", env!("CARGO_PKG_VERSION"), "\n"))?;
        return Ok(0);
    }
    let Some(command) = parsed.command else {
        return Err(Error::Usage("no command given; run `anaconda-auth --help`".into()).into());
    };
    let helper = matches!(
        command,
        Command::Get(_) | Command::Store(_) | Command::Erase(_)
    );
    let result = match command {
        Command::Login(a) => cmd_login(a),
        Command::Logout(a) => cmd_logout(a),
        Command::Whoami(a) => with_login_retry("whoami", a.domain, whoami),
        Command::ApiKey(a) => with_login_retry("api-key", a.domain, api_key),
        Command::Status(a) => cmd_status(a),
        Command::Config(a) => cmd_config(a),
        Command::Get(a) => cmd_get(a),
        Command::Store(_) => cmd_store(),
        Command::Erase(_) => cmd_erase(),
    };
    result.map_err(|failure| {
        if helper {
            Failure {
                error: failure.error,
                hints: Vec::new(),
            }
        } else {
            failure
        }
    })
}

fn load(domain: Option<String>, no_ssl_verify: bool) -> Result<Settings> {
    let settings = Settings::load(&Overrides {
        domain,
        no_ssl_verify,
    })?;
    // The arguments of format_args! are evaluated even when the line is not printed.
    if crate::error::is_verbose() {
        verbose(format_args!(
            "domain {} (from {}), storage {}",
            settings.domain.value,
            settings.domain.source,
            Store::new(&settings).describe()
        ));
    }
    Ok(settings)
}

/// Appends one formatted line to a `String` that is printed whole with [`print_out`].
macro_rules! push_line {
    ($out:expr, $($arg:tt)*) => {{
        $out.push_str(&format!($($arg)*));
        $out.push('\n');
    }};
}

/// Writes `text` to stdout. A reader that went away is an error (exit 1), where `println!`
/// would panic.
fn print_out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::Other(format!("cannot write to stdout: {e}")))
}

fn print_secret(out: &Secret) -> Result<()> {
    print_out(out.expose())
}

/// Guidance printed under a login-required error, as the Python package does.
fn login_hints(command: &str, settings: Option<&Settings>) -> Vec<String> {
    let domain_flag = settings
        .filter(|s| s.domain.source != crate::config::Source::Default)
        .map(|s| format!(" --domain {}", s.domain.value))
        .unwrap_or_default();
    let config = settings.map_or_else(
        || "~/.anaconda/config.toml".to_string(),
        |s| s.anaconda_dir().join("config.toml").display().to_string(),
    );
    vec![
        "To configure your credentials you can run".into(),
        format!("  anaconda-auth login{domain_flag}"),
        "or set your API key using the ANACONDA_CLOUD_API_KEY env var".into(),
        "or set".into(),
        "  [plugin.cloud]".into(),
        "  api_key = \"<api-key>\"".into(),
        format!("in {config}"),
        format!(
            "To see a more detailed error message run the command again as\n  anaconda-auth --verbose {command}"
        ),
    ]
}

/// Runs a command; when it needs a login and a prompt is allowed, offers the interactive
/// login and retries once. Otherwise adds the guidance lines.
fn with_login_retry(
    command: &str,
    domain: Option<String>,
    body: fn(&Settings) -> Result<()>,
) -> std::result::Result<u8, Failure> {
    let settings = load(domain, false)?;
    match body(&settings) {
        Ok(()) => Ok(0),
        Err(e @ Error::InvalidAuthentication { .. })
            if settings.api_key_for(&settings.domain.value).is_some() =>
        {
            // The configured key was sent and refused; a login would not replace it.
            let source = settings
                .api_key
                .as_ref()
                .map_or(String::new(), |k| k.source.to_string());
            Err(Failure {
                error: e,
                hints: vec![
                    format!("The key comes from {source}, which is used instead of any login:"),
                    "set a valid API key there, or remove it and run `anaconda-auth login`.".into(),
                ],
            })
        }
        Err(e) if e.needs_login() => {
            if interactive::prompt_allowed(true) && offer_login(&settings, &e)? {
                body(&settings)?;
                return Ok(0);
            }
            Err(Failure {
                hints: login_hints(command, Some(&settings)),
                error: e,
            })
        }
        Err(e @ Error::Http { .. }) => {
            // The body was redacted when the error was made (client::error_for).
            let hints = match &e {
                Error::Http { body, .. } if crate::error::is_verbose() => match body.trim() {
                    "" => vec!["The answer had no body.".to_string()],
                    body => vec![format!("The server said: {body}")],
                },
                _ => vec![format!(
                    "To see a more detailed error message run the command again as\n  anaconda-auth --verbose {command}"
                )],
            };
            Err(Failure { error: e, hints })
        }
        Err(e) => Err(e.into()),
    }
}

/// Asks `Continue with interactive login? [y/n]` and logs in on yes. `false`: declined.
fn offer_login(settings: &Settings, why: &Error) -> Result<bool> {
    eprintln!(
        "{}: Login is required to complete this action.",
        why.class_name()
    );
    if !interactive::confirm("Continue with interactive login?")? {
        return Ok(false);
    }
    run_login(settings, &default_login_options())?;
    Ok(true)
}

fn default_login_options() -> login::Options {
    login::Options {
        flow: login::Flow::Browser { open: true },
        timeout: None,
    }
}

/// Logs in and stores the key.
fn run_login(settings: &Settings, options: &login::Options) -> Result<()> {
    if settings.api_key_for(&settings.domain.value).is_some() {
        warn(format_args!(
            "{} is set and is used instead of the key this login stores",
            settings
                .api_key
                .as_ref()
                .map_or(String::new(), |k| k.source.to_string())
        ));
    }
    let record = login::login(settings, options)?;
    let store = Store::new(settings);
    store.save(&record)?;
    let who = record
        .username
        .as_deref()
        .map(|u| format!(" as {u}"))
        .unwrap_or_default();
    eprintln!(
        "Logged in to {}{who}; the key is stored in {}.",
        settings.domain.value,
        store.describe()
    );
    Ok(())
}

fn cmd_login(a: LoginArgs) -> std::result::Result<u8, Failure> {
    let settings = load(a.domain, a.no_ssl_verify)?;
    let options = login::Options {
        flow: if a.device {
            login::Flow::Device
        } else {
            login::Flow::Browser {
                open: !a.no_browser,
            }
        },
        timeout: a.timeout.map(Duration::from_secs),
    };
    if !a.force {
        let store = Store::new(&settings);
        if let Some(record) = store.load(&settings.domain.value)? {
            let valid = record.api_key.is_some()
                && record.expires_at().is_none_or(|exp| exp > token::now());
            if valid {
                let force = interactive::prompt_allowed(true)
                    && interactive::confirm(&format!(
                        "You are already logged in to {}. Log in again?",
                        settings.domain.value
                    ))?;
                if !force {
                    eprintln!(
                        "Already logged in to {}; use `anaconda-auth login --force` to log in again.",
                        settings.domain.value
                    );
                    return Ok(0);
                }
            }
        }
    }
    run_login(&settings, &options)?;
    Ok(0)
}

fn cmd_logout(a: LogoutArgs) -> std::result::Result<u8, Failure> {
    let settings = load(a.domain, false)?;
    let removed = Store::new(&settings).delete(&settings.domain.value)?;
    if removed {
        eprintln!("Logged out of {}.", settings.domain.value);
    } else {
        eprintln!("Not logged in to {}; nothing to do.", settings.domain.value);
    }
    if let Some(key) = settings.api_key_for(&settings.domain.value) {
        warn(format_args!(
            "{} is still set and still answers for {}",
            key.source, settings.domain.value
        ));
    }
    Ok(0)
}

fn whoami(settings: &Settings) -> Result<()> {
    let client = Client::new(settings)?;
    if !client.has_key() {
        // Say why before the server does: nothing usable is stored.
        resolve::credential(settings, &Store::new(settings), None)?;
    }
    let account = client.get_json("/api/account")?;
    let pretty = serde_json::to_string_pretty(&account).expect("JSON always serialises");
    print_out(&format!("{pretty}\n"))
}

fn api_key(settings: &Settings) -> Result<()> {
    let credential = resolve::credential(settings, &Store::new(settings), None)?;
    print_secret(&credential.render(Format::Token))
}

fn cmd_status(a: StatusArgs) -> std::result::Result<u8, Failure> {
    let settings = load(a.domain, false)?;
    let domain = &settings.domain.value;
    let store = Store::new(&settings);
    let mut out = String::new();
    push_line!(out, "Domain:   {domain} (from {})", settings.domain.source);
    push_line!(out, "Storage:  {}", store.describe());
    let env_key = settings.api_key_for(domain);
    // A configured key answers instead of any stored one; it is usable unless its `exp` passed.
    let env_key_usable = env_key.map(|key| {
        let (validity, usable) = match token::jwt_exp(key.value.expose()) {
            Some(exp) if exp <= token::now() => {
                (format!(", expired on {}", token::rfc3339(exp)), false)
            }
            Some(exp) => (format!(", valid until {}", token::rfc3339(exp)), true),
            None => (String::new(), true),
        };
        push_line!(
            out,
            "API key:  from {}{validity} (overrides any stored key)",
            key.source
        );
        usable
    });
    let record = store.load(domain)?;
    let logged_in = match &record {
        None => {
            push_line!(out, "Stored:   nothing for {domain}");
            false
        }
        Some(record) => {
            if let Some(user) = &record.username {
                push_line!(out, "Account:  {user}");
            }
            match record.expires_at() {
                Some(exp) if exp <= token::now() => {
                    push_line!(
                        out,
                        "Stored:   an API key that expired on {}",
                        token::rfc3339(exp)
                    );
                    false
                }
                Some(exp) => {
                    push_line!(
                        out,
                        "Stored:   an API key, valid until {}",
                        token::rfc3339(exp)
                    );
                    true
                }
                None if record.api_key.is_some() => {
                    push_line!(out, "Stored:   an API key with no expiry date");
                    true
                }
                None => {
                    push_line!(
                        out,
                        "Stored:   {} repo token(s), no API key",
                        record.repo_tokens.len()
                    );
                    !record.repo_tokens.is_empty()
                }
            }
        }
    };
    let logged_in = env_key_usable.unwrap_or(logged_in);
    push_line!(
        out,
        "Status:   {}",
        if logged_in {
            "logged in"
        } else {
            "not logged in"
        }
    );
    print_out(&out)?;
    Ok(if logged_in { 0 } else { 3 })
}

fn cmd_config(a: ConfigArgs) -> std::result::Result<u8, Failure> {
    let settings = load(None, false)?;
    let entries = settings.describe();
    if a.json {
        let map: serde_json::Map<String, serde_json::Value> = entries
            .into_iter()
            .map(|(k, v, source)| {
                (
                    k.to_string(),
                    serde_json::json!({"value": v, "source": source}),
                )
            })
            .collect();
        let json = serde_json::to_string_pretty(&map).expect("JSON always serialises");
        print_out(&format!("{json}\n"))?;
    } else {
        let mut out = String::new();
        for (key, value, source) in entries {
            let value = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => "(not set)".into(),
                other => other.to_string(),
            };
            push_line!(out, "{key:<24} {value:<48} ({source})");
        }
        print_out(&out)?;
    }
    Ok(0)
}

/// Reads the request on stdin, unless stdin is a terminal (never waited on).
fn read_stdin() -> Result<Option<Request>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    protocol::read_request(stdin.lock())
}

fn cmd_get(a: GetArgs) -> std::result::Result<u8, Failure> {
    let flags = a.domain.is_some() || a.uri.is_some();
    let request = if flags {
        Some(Request {
            uri: a.uri,
            domain: a.domain,
            ..Request::default()
        })
    } else {
        read_stdin()?
    };
    let shell = flags || request.is_none();
    let request = request.unwrap_or_default();
    let format = a
        .format
        .unwrap_or(if shell { Format::Header } else { Format::Json });
    let target = request.target()?;
    let settings = load(None, false)?;
    let store = Store::new(&settings);
    let credential = match resolve::credential(&settings, &store, target.as_ref()) {
        Ok(c) => c,
        Err(e)
            if e.needs_login()
                && interactive::prompt_allowed(request.interactive != Some(false)) =>
        {
            login_then_resolve(&settings, target.as_ref(), e)?
        }
        Err(e) => return Err(e.into()),
    };
    verbose(format_args!(
        "answering for {} from local state",
        credential.domain
    ));
    print_secret(&credential.render(format))?;
    Ok(0)
}

/// The login-on-demand path of `get`: one process logs in while parallel callers wait on the
/// lock, then every caller answers from the new key.
fn login_then_resolve(
    settings: &Settings,
    target: Option<&Target>,
    why: Error,
) -> Result<crate::protocol::Credential> {
    let domain = target.map_or(&settings.domain.value, |t| &t.domain);
    let lock = LoginLock::acquire(&settings.anaconda_dir())?;
    let store = Store::new(settings);
    if let Ok(c) = resolve::credential(settings, &store, target) {
        return Ok(c);
    }
    // The user already said no to the process this one waited for: do not ask again.
    if lock.declined_while_waiting(domain.as_str()) {
        return Err(why);
    }
    let settings = if *domain == settings.domain.value {
        settings.clone()
    } else {
        Settings::load(&Overrides {
            domain: Some(domain.to_string()),
            no_ssl_verify: false,
        })?
    };
    if !offer_login(&settings, &why)? {
        lock.record_decline(domain.as_str());
        return Err(why);
    }
    resolve::credential(&settings, &store, target)
}

fn cmd_store() -> std::result::Result<u8, Failure> {
    let request = read_stdin()?.ok_or_else(|| {
        Error::BadRequest(
            "store needs a JSON request on stdin: {\"domain\": ..., \"api_key\": ...}".into(),
        )
    })?;
    let domain = match (&request.domain, &request.uri) {
        (Some(d), _) => Domain::parse(d)?,
        (None, Some(u)) => Domain::from_uri(u)?.0,
        (None, None) => return Err(Error::BadRequest("store needs a \"domain\"".into()).into()),
    };
    let repo_tokens = request.repo_tokens.unwrap_or_default();
    // An empty value would be answered as `Bearer ` with exit 0, as if it were a key.
    if request
        .api_key
        .as_ref()
        .is_some_and(|k| k.expose().is_empty())
    {
        return Err(Error::BadRequest("\"api_key\" is empty".into()).into());
    }
    if repo_tokens.iter().any(|t| t.token.expose().is_empty()) {
        return Err(Error::BadRequest("a repo token is empty".into()).into());
    }
    if request.api_key.is_none() && repo_tokens.is_empty() {
        return Err(
            Error::BadRequest("store needs an \"api_key\" or \"repo_tokens\"".into()).into(),
        );
    }
    let record = TokenRecord {
        domain: domain.to_string(),
        api_key: request.api_key,
        username: request.username,
        repo_tokens,
        version: Some(RECORD_VERSION),
    };
    let settings = load(None, false)?;
    if let Some(key) = settings.api_key_for(&domain) {
        warn(format_args!(
            "{} is set and answers for {domain} instead of the stored key",
            key.source
        ));
    }
    if settings.preferred_token_storage.value == StorageKind::System {
        verbose("storing in the system keyring");
    }
    Store::new(&settings).save(&record)?;
    Ok(0)
}

fn cmd_erase() -> std::result::Result<u8, Failure> {
    let request = read_stdin()?.unwrap_or_default();
    let settings = load(None, false)?;
    let domain = request
        .target()?
        .map_or_else(|| settings.domain.value.clone(), |t| t.domain);
    Store::new(&settings).delete(&domain)?;
    Ok(0)
}
