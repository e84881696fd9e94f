//! Configuration end to end (PRODUCT.md §5): `anaconda-auth config` and `--json`, precedence
//! through the binary, `.env` as python-dotenv reads it, error messages, HOME, and where
//! `extra_headers` go (to the API, never to the identity provider).

use std::process::Command;

use serde_json::{Value, json};

use crate::util::{Home, StandIn, bin};

fn write(home: &Home, path: &str, text: &str) {
    let path = home.path().join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn config_json(home: &Home) -> Value {
    let run = home.ok(&["config", "--json"], "");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

// Every setting with its value and source, from all four file/env sources at once; secrets
// redacted in both outputs.
#[test]
fn config_shows_values_and_sources() {
    let mut home = Home::bare();
    write(
        &home,
        ".anaconda/config.toml",
        "[plugin.other]\nx = 1\n\n[plugin.cloud]\ndomain = \"toml.example\"\npreferred_token_storage = \"system\"\n\n[plugin.cloud.extra_headers]\nX-Team = \"blue\"\nAuthorization = \"Bearer toml-secret\"\n",
    );
    write(
        &home,
        ".env",
        "# local overrides\nexport ANACONDA_CLOUD_CLIENT_ID='my client'\nANACONDA_CLOUD_API_KEY=dotenv-secret # a comment\n",
    );
    home.set("anaconda_cloud_ssl_verify", "no");
    home.set("ANACONDA_CLOUD_OPENID_CONFIG_PATH", "custom/openid");
    let config = config_json(&home);
    let toml = home.path().join(".anaconda/config.toml");
    let dotenv = home.path().join(".env");
    let src = |path: &std::path::Path, line: u32| format!("{} line {line}", path.display());
    assert_eq!(
        config,
        json!({
            "domain": {"value": "toml.example", "source": src(&toml, 5)},
            "ssl_verify": {"value": false, "source": "anaconda_cloud_ssl_verify"},
            "preferred_token_storage": {"value": "system", "source": src(&toml, 6)},
            "api_key": {"value": "<redacted>", "source": src(&dotenv, 3)},
            "extra_headers": {"value": {"X-Team": "blue", "Authorization": "<redacted>"}, "source": src(&toml, 8)},
            "client_id": {"value": "my client", "source": src(&dotenv, 2)},
            "redirect_uri": {"value": "http://127.0.0.1:8000/auth/oidc", "source": "default"},
            "openid_config_path": {"value": "custom/openid", "source": "ANACONDA_CLOUD_OPENID_CONFIG_PATH"},
        })
    );
    let text = home.ok(&["config"], "");
    for secret in ["dotenv-secret", "toml-secret"] {
        assert!(!text.stdout.contains(secret) && !text.stderr.contains(secret));
    }
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{}", text.stdout);
    assert!(
        lines[0].starts_with("domain ") && lines[0].contains(" toml.example "),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].ends_with(&format!("({})", src(&toml, 5))),
        "{}",
        lines[0]
    );
    assert!(lines[3].contains("<redacted>"), "{}", lines[3]);
}

// Nothing configured: every default, `api_key` not set.
#[test]
fn config_defaults() {
    let home = Home::bare();
    let config = config_json(&home);
    assert_eq!(
        config["domain"],
        json!({"value": "anaconda.cloud", "source": "default"})
    );
    assert_eq!(
        config["ssl_verify"],
        json!({"value": true, "source": "default"})
    );
    assert_eq!(
        config["api_key"],
        json!({"value": null, "source": "default"})
    );
    assert_eq!(
        config["extra_headers"],
        json!({"value": {}, "source": "default"})
    );
    let text = home.ok(&["config"], "").stdout;
    assert!(
        text.lines()
            .any(|l| l.starts_with("api_key") && l.contains("(not set)")),
        "{text}"
    );
}

// The domain through the binary, source by source: config.toml < .env < env < --domain.
#[test]
fn precedence_through_the_binary() {
    let mut home = Home::bare();
    let domain = |home: &Home| config_json(home)["domain"]["value"].clone();
    assert_eq!(domain(&home), "anaconda.cloud");
    write(
        &home,
        ".anaconda/config.toml",
        "[plugin.cloud]\ndomain = \"toml.example\"\n",
    );
    assert_eq!(domain(&home), "toml.example");
    write(&home, ".env", "ANACONDA_CLOUD_DOMAIN=dotenv.example\n");
    assert_eq!(domain(&home), "dotenv.example");
    home.set("Anaconda_Cloud_Domain", "env.example");
    assert_eq!(domain(&home), "env.example");
    let status = home.run(&["status", "--domain", "flag.example"], "");
    assert!(
        status
            .stdout
            .starts_with("Domain:   flag.example (from flag --domain)"),
        "{status:?}"
    );
    // ANACONDA_CONFIG_TOML names another file, `~` expanded as Python does.
    home.env.retain(|(k, _)| k != "Anaconda_Cloud_Domain");
    std::fs::remove_file(home.path().join(".env")).unwrap();
    write(
        &home,
        "elsewhere/cfg.toml",
        "[plugin.cloud]\ndomain = \"elsewhere.example\"\n",
    );
    home.set("ANACONDA_CONFIG_TOML", "~/elsewhere/cfg.toml");
    assert_eq!(domain(&home), "elsewhere.example");
    // A config file that does not exist is not an error.
    home.set("ANACONDA_CONFIG_TOML", "/no/such/config.toml");
    assert_eq!(domain(&home), "anaconda.cloud");
}

// The CI passthrough key from .env and from config.toml, and the env variables over both.
#[test]
fn api_key_sources() {
    let mut home = Home::bare();
    let token = |home: &Home| {
        home.ok(&["get", "--format", "token"], "")
            .stdout
            .trim()
            .to_string()
    };
    write(
        &home,
        ".anaconda/config.toml",
        "[plugin.cloud]\napi_key = \"from-toml\"\n",
    );
    assert_eq!(token(&home), "from-toml");
    write(
        &home,
        ".env",
        "export ANACONDA_CLOUD_API_KEY=\"from-dotenv\"\n",
    );
    assert_eq!(token(&home), "from-dotenv");
    home.set("ANACONDA_AUTH_API_KEY", "from-auth-env");
    assert_eq!(token(&home), "from-auth-env");
    home.set("ANACONDA_CLOUD_API_KEY", "from-cloud-env");
    assert_eq!(token(&home), "from-cloud-env");
}

// A .env line python-dotenv cannot parse is skipped with a warning naming the line; the rest
// of the file still counts.
#[test]
fn dotenv_bad_line_is_skipped_with_a_warning() {
    let home = Home::bare();
    write(
        &home,
        ".env",
        "ANACONDA_CLOUD_DOMAIN=first.example\nthis line is not a statement\nANACONDA_CLOUD_EXTRA_HEADERS={\"X-Team\": \"blue team\"}\n",
    );
    let run = home.ok(&["config", "--json"], "");
    let config: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(config["domain"]["value"], "first.example");
    assert_eq!(
        config["extra_headers"]["value"],
        json!({"X-Team": "blue team"})
    );
    assert_eq!(
        run.stderr,
        format!(
            "anaconda-auth: warning: {} line 2: cannot parse this line; it is ignored\n",
            home.path().join(".env").display()
        )
    );
}

// Bad values: exit 2, nothing on stdout, one line naming the source, for every command.
#[test]
fn bad_values_are_exit_2_naming_the_source() {
    let mut home = Home::bare();
    home.set("ANACONDA_CLOUD_EXTRA_HEADERS", "[1]");
    for (args, stdin) in [(&["get"][..], "{}"), (&["config"], ""), (&["status"], "")] {
        let run = home.run(args, stdin);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stdout.is_empty());
        assert_eq!(
            run.stderr.lines().next().unwrap(),
            "anaconda-auth: ANACONDA_CLOUD_EXTRA_HEADERS is not a JSON object"
        );
    }
    let run = home.run(&["get"], "{}");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);

    let home = Home::bare();
    write(
        &home,
        ".anaconda/config.toml",
        "[plugin.cloud]\ndomain = \"x.example\"\n\nssl_verify = \"maybe\"\n",
    );
    let run = home.run(&["config"], "");
    assert_eq!(run.code, 2, "{run:?}");
    let toml = home.path().join(".anaconda/config.toml");
    assert_eq!(
        run.stderr.lines().next().unwrap(),
        format!(
            "anaconda-auth: {} line 4: ssl_verify must be true, false or a path to a CA bundle, and \"maybe\" does not exist",
            toml.display()
        )
    );
    write(
        &home,
        ".anaconda/config.toml",
        "[plugin.cloud]\ndomain = \n",
    );
    let run = home.run(&["config"], "");
    assert_eq!(run.code, 2, "{run:?}");
    let first = run.stderr.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "anaconda-auth: {} line 2: not valid TOML",
            toml.display()
        )),
        "{first}"
    );
}

/// The home folder of the account running the tests, from the passwd database.
fn passwd_home() -> String {
    let out = Command::new("sh")
        .args(["-c", "getent passwd \"$(id -u)\" | cut -d: -f6"])
        .output()
        .expect("sh runs");
    let home = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(
        !home.is_empty(),
        "the account running the tests has no passwd home"
    );
    home
}

// HOME="" counts as unset: the account's home from the OS is used (status only reads).
#[test]
fn empty_home_uses_the_account_home() {
    let mut home = Home::bare();
    home.set("HOME", "");
    let run = home.run(&["status"], "");
    let want = format!(
        "Storage:  {}/.anaconda/keyring",
        passwd_home().trim_end_matches('/')
    );
    assert!(run.stdout.lines().any(|l| l == want), "{want:?} in {run:?}");
    home.env.retain(|(k, _)| k != "HOME");
    let run = home.run(&["status"], "");
    assert!(run.stdout.lines().any(|l| l == want), "{want:?} in {run:?}");
}

// No HOME and no passwd entry (a uid unknown to the system, in a user namespace): exit 5
// with a message that says what to do.
#[test]
fn no_home_at_all_is_exit_5() {
    let home = Home::bare();
    let out = home
        .command("unshare")
        .args([
            "--user",
            "--map-user=54321",
            "--map-group=54321",
            "env",
            "-u",
            "HOME",
        ])
        .arg(bin())
        .args(["get", "--domain", "example.com"])
        .output()
        .expect("unshare runs (util-linux; apt-get install util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.starts_with("unshare:"),
        "this test needs user namespaces (unshare --user): {stderr}"
    );
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert_eq!(
        stderr,
        "anaconda-auth: no home folder: set HOME to a writable folder\n"
    );
}

// A HOME where nothing can be written (a file): reading config works, storing is exit 5
// naming the folder.
#[test]
fn unusable_home_is_exit_5() {
    let mut home = Home::bare();
    home.set("HOME", "/dev/null");
    home.ok(&["config"], "");
    let run = home.run(
        &["store"],
        "{\"domain\": \"example.com\", \"api_key\": \"k\"}",
    );
    assert_eq!(run.code, 5, "{run:?}");
    assert!(
        run.stderr.starts_with("anaconda-auth: /dev/null/.anaconda"),
        "{}",
        run.stderr
    );
}

// extra_headers go to the API (the api-keys request of a login, then whoami), never override
// Authorization or User-Agent, and never reach the identity provider's discovery or token
// endpoints.
#[test]
fn extra_headers_reach_the_api_only() {
    let standin = StandIn::start();
    let mut home = Home::new(&standin);
    home.set(
        "ANACONDA_CLOUD_EXTRA_HEADERS",
        r#"{"X-Team": "blue", "Authorization": "Bearer not-ours", "User-Agent": "evil/1"}"#,
    );
    home.ok(&["login"], "");
    home.ok(&["whoami"], "");
    let requests = standin.requests();
    let by_path = |prefix: &str| -> Vec<&Value> {
        requests
            .iter()
            .filter(|r| r["path"].as_str().unwrap().starts_with(prefix))
            .collect()
    };
    let provider = by_path("/api/auth/oauth2/");
    let paths: Vec<&str> = provider
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.contains(".well-known/openid-configuration"))
            && paths
                .iter()
                .any(|p| p.starts_with("/api/auth/oauth2/token")),
        "discovery and token requests: {paths:?}"
    );
    for r in &provider {
        assert!(r["headers"].get("x-team").is_none(), "{r}");
    }
    let api: Vec<&Value> = [by_path("/api/iam/api-keys"), by_path("/api/account")].concat();
    // api-keys, then /api/account by the login (for the username) and by whoami.
    assert_eq!(api.len(), 3, "{requests:?}");
    let not_ours = sha256_hex("Bearer not-ours");
    for r in api {
        assert_eq!(r["headers"]["x-team"], "blue", "{r}");
        assert_eq!(r["auth_scheme"], "Bearer");
        assert_ne!(r["headers"]["authorization"], not_ours.as_str(), "{r}");
        assert!(
            r["headers"]["user-agent"]
                .as_str()
                .unwrap()
                .starts_with("anaconda-auth/"),
            "{r}"
        );
    }
}

/// sha256 hex, as the stand-in logs Authorization values.
fn sha256_hex(text: &str) -> String {
    let out = Command::new("sh")
        .args([
            "-c",
            "printf %s \"$1\" | sha256sum | cut -d' ' -f1",
            "sh",
            text,
        ])
        .output()
        .expect("sha256sum runs");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
