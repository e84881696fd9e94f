//! The shared harness: the stand-in server, and a fresh HOME with a cleared environment for
//! each test.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_anaconda-auth")
}

/// A running stand-in server; it exits when this is dropped (or the test process ends),
/// because its stdin closes.
pub struct StandIn {
    pub domain: String,
    pub ca: PathBuf,
    _dir: tempfile::TempDir,
    _stdin: ChildStdin,
    _child: Child,
}

fn standin_dir() -> PathBuf {
    root().join("integration/standin")
}

/// Fails with instructions when node or the stand-in's packages are missing: never skips.
fn require_node() {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is not installed: install Node.js 20+ (apt-get install nodejs npm), then run `npm ci` in integration/standin (scripts/test does both)"
    );
    assert!(
        standin_dir().join("node_modules/oidc-provider").is_dir(),
        "the stand-in is not installed: run `npm ci` in integration/standin (scripts/test does it)"
    );
}

impl StandIn {
    /// Starts a new stand-in on a free port.
    pub fn start() -> StandIn {
        StandIn::start_with(&[], &[])
    }

    /// Starts a new stand-in with extra arguments and environment.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> StandIn {
        require_node();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("node")
            .arg(standin_dir().join("server.mjs"))
            .arg("--dir")
            .arg(dir.path())
            .arg("--exit-on-stdin-eof")
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the stand-in did not start ({e}): {line:?}"));
        StandIn {
            domain: ready["domain"].as_str().unwrap().to_string(),
            ca: PathBuf::from(ready["ca"].as_str().unwrap()),
            _dir: dir,
            _stdin: child.stdin.take().unwrap(),
            _child: child,
        }
    }

    /// One stand-in shared by the tests of this process (each test has its own HOME).
    pub fn shared() -> &'static StandIn {
        static SHARED: OnceLock<StandIn> = OnceLock::new();
        SHARED.get_or_init(StandIn::start)
    }

    /// `https://DOMAIN/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}/{}", self.domain, path.trim_start_matches('/'))
    }

    /// A request to the stand-in with curl (for test routes).
    pub fn curl(&self, args: &[&str]) -> Value {
        let out = Command::new("curl")
            .env_remove("CURL_CA_BUNDLE")
            .args(["-sS", "--cacert"])
            .arg(&self.ca)
            .args(args)
            .output()
            .expect("curl runs");
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// A fresh API key minted by the stand-in, valid for `ttl` seconds (negative: expired).
    pub fn mint_key(&self, ttl: i64) -> String {
        let body = format!("{{\"ttl\": {ttl}}}");
        let v = self.curl(&[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            &body,
            &self.url("/test/mint-key"),
        ]);
        v["api_key"].as_str().unwrap().to_string()
    }

    /// Every request the stand-in received so far (but test routes).
    pub fn requests(&self) -> Vec<Value> {
        self.curl(&[&self.url("/test/requests")])
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// What a command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A fresh HOME and working folder, and commands that run with a cleared environment
/// pointed at a stand-in.
pub struct Home {
    pub home: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl Home {
    /// A HOME configured for `standin`: its domain, its CA, the scripted browser, a loopback
    /// redirect on a free port.
    pub fn new(standin: &StandIn) -> Home {
        let mut home = Home::bare();
        let browser = root().join("integration/standin/browser");
        home.set("ANACONDA_CLOUD_DOMAIN", &standin.domain);
        home.set("ANACONDA_CLOUD_SSL_VERIFY", standin.ca.to_str().unwrap());
        home.set(
            "ANACONDA_CLOUD_REDIRECT_URI",
            "http://127.0.0.1:0/auth/oidc",
        );
        home.set("BROWSER", browser.to_str().unwrap());
        home.set("STANDIN_CA", standin.ca.to_str().unwrap());
        home
    }

    /// A HOME with nothing configured.
    pub fn bare() -> Home {
        let home = tempfile::tempdir().unwrap();
        let env = vec![
            (
                "PATH".to_string(),
                std::env::var("PATH").unwrap_or_default(),
            ),
            (
                "HOME".to_string(),
                home.path().to_str().unwrap().to_string(),
            ),
            ("LANG".to_string(), "C.UTF-8".to_string()),
        ];
        Home { home, env }
    }

    pub fn path(&self) -> &Path {
        self.home.path()
    }

    pub fn keyring(&self) -> PathBuf {
        self.path().join(".anaconda/keyring")
    }

    /// Sets (or replaces) an environment variable for every command.
    pub fn set(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_string(), value.to_string()));
    }

    /// A command with exactly this environment, in this HOME.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.path());
        cmd
    }

    /// Starts the binary with `args`, `stdin` written and closed, stdout and stderr piped.
    pub fn spawn(&self, args: &[&str], stdin: &str) -> Child {
        spawn(self.command(bin()).args(args), stdin)
    }

    /// Runs the binary with `args` and `stdin` (empty: nothing).
    pub fn run(&self, args: &[&str], stdin: &str) -> Run {
        self.spawn(args, stdin).wait_with_output().unwrap().into()
    }

    /// Runs the binary and asserts it succeeded.
    pub fn ok(&self, args: &[&str], stdin: &str) -> Run {
        let run = self.run(args, stdin);
        assert_eq!(run.code, 0, "{args:?} failed: {run:?}");
        run
    }
}

/// Starts `cmd` with all three streams piped, writes `stdin` and closes it.
pub fn spawn(cmd: &mut Command, stdin: &str) -> Child {
    let started = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = started.unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
    let mut pipe = child.stdin.take().unwrap();
    // A child that is killed or exits early may have closed its end already.
    let _ = pipe.write_all(stdin.as_bytes());
    child
}
