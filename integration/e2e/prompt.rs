//! The interactive login prompt (PRODUCT.md §3 "When no usable key exists", §7) tested in a
//! real pseudo-terminal: each command runs in a window of a private tmux server, keys are
//! typed with `send-keys` and the screen read with `capture-pane`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{Home, StandIn, bin};

const PROMPT: &str = "Continue with interactive login? [y/n]:";
/// Printed on the terminal after the command under test has exited.
const END: &str = "[command finished]";

/// A private tmux server (its own socket), killed when dropped.
struct Tmux {
    dir: tempfile::TempDir,
}

/// A command running in one tmux window.
struct Window<'a> {
    tmux: &'a Tmux,
    name: String,
}

/// Fails with how to install tmux when it is missing: never skips.
fn require_tmux() {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "tmux is not installed: apt-get install tmux (scripts/setup test does it)"
    );
}

/// `'text'` for sh.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl Tmux {
    fn start() -> Tmux {
        require_tmux();
        let tmux = Tmux {
            dir: tempfile::tempdir().unwrap(),
        };
        // A placeholder window keeps the server up.
        tmux.ctl(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "220",
            "-y",
            "50",
            "sleep 600",
        ]);
        tmux
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("socket")
    }

    fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .arg("-S")
            .arg(self.socket())
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs the binary with `args` in a new window, with exactly `home`'s environment and
    /// the terminal as stdin, stdout and stderr (`stdin`: a file instead of the terminal).
    fn run(&self, name: &str, home: &Home, args: &[&str], stdin: Option<&str>) -> Window<'_> {
        let command: Vec<&str> = std::iter::once(bin()).chain(args.iter().copied()).collect();
        self.run_command(name, home, &command, stdin)
    }

    /// Runs `command` (program first) as [`Tmux::run`] runs the binary.
    fn run_command(
        &self,
        name: &str,
        home: &Home,
        command: &[&str],
        stdin: Option<&str>,
    ) -> Window<'_> {
        let dir = self.dir.path();
        let mut line = format!("cd {} && env -i", quote(home.path().to_str().unwrap()));
        for (k, v) in &home.env {
            line += &format!(" {}", quote(&format!("{k}={v}")));
        }
        for a in command {
            line += &format!(" {}", quote(a));
        }
        if let Some(text) = stdin {
            let file = dir.join(format!("{name}.stdin"));
            std::fs::write(&file, text).unwrap();
            line += &format!(" < {}", quote(file.to_str().unwrap()));
        }
        // The marker reaches the terminal after all the command's output: once it shows, the
        // screen is complete (tmux reads the terminal asynchronously). The shell then stays,
        // since tmux may drop what it has not read yet when a pane's process exits.
        line += &format!(
            "\ncode=$?\nprintf '\\n%s\\n' {}\necho $code > {}\nexec sleep 600\n",
            quote(END),
            quote(&self.exit_file(name))
        );
        let script = dir.join(format!("{name}.sh"));
        std::fs::write(&script, line).unwrap();
        self.ctl(&[
            "new-window",
            "-d",
            "-t",
            "t:",
            "-n",
            name,
            &format!("sh {}", quote(script.to_str().unwrap())),
        ]);
        Window {
            tmux: self,
            name: name.to_string(),
        }
    }

    fn exit_file(&self, name: &str) -> String {
        self.dir
            .path()
            .join(format!("{name}.exit"))
            .to_str()
            .unwrap()
            .to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(self.socket())
            .arg("kill-server")
            .output();
    }
}

impl Window<'_> {
    /// What the terminal shows, wrapped lines joined.
    fn screen(&self) -> String {
        let target = format!("t:{}", self.name);
        self.tmux
            .ctl(&["capture-pane", "-p", "-J", "-S", "-", "-t", &target])
    }

    /// Waits until the screen shows `text`; returns the screen.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {text:?} did not appear; the screen shows:\n{screen}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `keys` and Enter.
    fn answer(&self, keys: &str) {
        let target = format!("t:{}", self.name);
        self.tmux.ctl(&["send-keys", "-t", &target, "-l", keys]);
        self.tmux.ctl(&["send-keys", "-t", &target, "Enter"]);
    }

    /// The exit code, once the command has finished.
    fn exit_code(&self) -> Option<i32> {
        std::fs::read_to_string(self.tmux.exit_file(&self.name))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// Waits for the command to end; returns its exit code and the screen.
    fn finish(&self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(code) = self.exit_code() {
                let screen = self.wait_for(END);
                return (code, screen);
            }
            assert!(
                Instant::now() < deadline,
                "{} did not finish; the screen shows:\n{}",
                self.name,
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The API key stored in `home`'s keyring (through the binary, not on a terminal).
fn stored_key(home: &Home) -> String {
    home.ok(&["api-key"], "").stdout.trim().to_string()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// `n` at the prompt: how to log in, how to set the key, the config snippet; exit 3, no login.
#[test]
fn declining_prints_the_ways_to_log_in() {
    let standin = StandIn::shared();
    let mut home = Home::new(standin);
    let log = home.path().join("browser.log");
    home.set("STANDIN_BROWSER_LOG", log.to_str().unwrap());
    let tmux = Tmux::start();
    for command in ["whoami", "api-key"] {
        let window = tmux.run(command, &home, &[command], None);
        let screen = window.wait_for(PROMPT);
        assert!(
            screen.contains("TokenNotFoundError: Login is required to complete this action."),
            "{screen}"
        );
        window.answer("n");
        let (code, screen) = window.finish();
        assert_eq!(code, 3, "{screen}");
        let config = home.path().join(".anaconda/config.toml");
        for line in [
            "To configure your credentials you can run",
            &format!("  anaconda-auth login --domain {}", standin.domain),
            "or set your API key using the ANACONDA_CLOUD_API_KEY env var",
            "  [plugin.cloud]",
            "  api_key = \"<api-key>\"",
            &format!("in {}", config.display()),
            &format!("  anaconda-auth --verbose {command}"),
        ] {
            assert!(screen.contains(line), "{line:?} missing from:\n{screen}");
        }
    }
    assert!(!log.exists(), "no browser was opened");
}

// `y` at the prompt: the browser login runs, then the command prints its answer.
#[test]
fn accepting_logs_in_then_answers() {
    let standin = StandIn::shared();
    let tmux = Tmux::start();
    for (command, expect) in [
        ("api-key", "eyJ"),
        ("whoami", "\"email\": \"test-user@example.com\""),
        ("get", "Bearer eyJ"),
    ] {
        let home = Home::new(standin);
        let window = tmux.run(command, &home, &[command], None);
        window.wait_for(PROMPT);
        window.answer("y");
        let (code, screen) = window.finish();
        assert_eq!(code, 0, "{command}:\n{screen}");
        assert!(screen.contains("Logged in to"), "{screen}");
        let after_login = screen.split("Logged in to").nth(1).unwrap();
        assert!(after_login.contains(expect), "{command}:\n{screen}");
        if command != "whoami" {
            assert!(after_login.contains(&stored_key(&home)), "{screen}");
        }
        assert!(!screen.contains("warning"), "{command}:\n{screen}");
        assert_eq!(mode(&home.path().join(".anaconda")), 0o700);
    }
}

// Without a terminal nothing is asked and nothing is waited for: exit 3 at once.
#[test]
fn no_terminal_no_prompt() {
    let standin = StandIn::shared();
    let home = Home::new(standin);
    for (args, stdin) in [
        (&["get"][..], ""),
        (&["get"], "{}"),
        (&["get", "--domain", standin.domain.as_str()], ""),
        (&["api-key"], ""),
        (&["whoami"], ""),
    ] {
        let started = Instant::now();
        let run = home.run(args, stdin);
        let took = started.elapsed();
        assert_eq!(run.code, 3, "{args:?}: {run:?}");
        assert!(!run.stderr.contains("Continue with"), "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
        // A hang guard, not a benchmark: an answer takes milliseconds.
        assert!(took < Duration::from_secs(2), "{args:?} took {took:?}");
    }
}

// On a terminal, `CI` set (not empty, `false` or `0`) means no prompt; `CI=false` prompts.
#[test]
fn ci_means_no_prompt() {
    let standin = StandIn::shared();
    let tmux = Tmux::start();
    for (ci, prompts) in [("true", false), ("1", false), ("false", true), ("0", true)] {
        let mut home = Home::new(standin);
        home.set("CI", ci);
        for command in ["get", "whoami"] {
            let window = tmux.run(&format!("{command}-ci-{ci}"), &home, &[command], None);
            if prompts {
                window.wait_for(PROMPT);
                window.answer("n");
            }
            let (code, screen) = window.finish();
            assert_eq!(code, 3, "CI={ci} {command}:\n{screen}");
            assert_eq!(
                screen.contains(PROMPT),
                prompts,
                "CI={ci} {command}:\n{screen}"
            );
        }
    }
}

// `"interactive": false` in a request forbids the prompt even on a terminal; `{}` allows it.
#[test]
fn request_can_forbid_the_prompt() {
    let standin = StandIn::shared();
    let home = Home::new(standin);
    let tmux = Tmux::start();
    let request = format!(
        "{{\"domain\": \"{}\", \"interactive\": false}}",
        standin.domain
    );
    let window = tmux.run("forbidden", &home, &["get"], Some(&request));
    let (code, screen) = window.finish();
    assert_eq!(code, 3, "{screen}");
    assert!(!screen.contains(PROMPT), "{screen}");
    assert!(
        screen.contains(&format!("not logged in to {}", standin.domain)),
        "{screen}"
    );

    let window = tmux.run("allowed", &home, &["get"], Some("{}"));
    window.wait_for(PROMPT);
    window.answer("n");
    assert_eq!(window.finish().0, 3);
}

// stderr on a terminal but no controlling terminal (`setsid`): /dev/tty cannot be opened,
// so nothing is asked.
#[test]
fn no_controlling_terminal_no_prompt() {
    let standin = StandIn::shared();
    let home = Home::new(standin);
    let tmux = Tmux::start();
    let window = tmux.run_command("setsid", &home, &["setsid", "-w", bin(), "get"], None);
    let (code, screen) = window.finish();
    assert_eq!(code, 3, "{screen}");
    assert!(!screen.contains(PROMPT), "{screen}");
}

/// Stores `key` for the stand-in's domain through the binary.
fn store(home: &Home, standin: &StandIn, key: &str) {
    home.ok(
        &["store"],
        &format!(
            "{{\"domain\": \"{}\", \"api_key\": \"{key}\"}}",
            standin.domain
        ),
    );
}

// An expired stored key and a key the server rejects both offer the login, then retry.
#[test]
fn expired_or_rejected_key_offers_login() {
    let standin = StandIn::shared();
    let tmux = Tmux::start();
    let valid = standin.mint_key(3600);
    let forged = format!("{}AAAA", valid.rsplit_once('.').unwrap().0);
    for (name, key, class) in [
        ("expired", standin.mint_key(-60), "TokenExpiredError"),
        (
            "rejected",
            format!("{forged}.AAAA"),
            "InvalidAuthentication",
        ),
    ] {
        let home = Home::new(standin);
        store(&home, standin, &key);
        let window = tmux.run(name, &home, &["whoami"], None);
        let screen = window.wait_for(PROMPT);
        assert!(
            screen.contains(&format!(
                "{class}: Login is required to complete this action."
            )),
            "{screen}"
        );
        window.answer("y");
        let (code, screen) = window.finish();
        assert_eq!(code, 0, "{screen}");
        assert!(
            screen.contains("\"email\": \"test-user@example.com\""),
            "{screen}"
        );
        assert!(!screen.contains(&key), "{screen}");
        assert_ne!(stored_key(&home), key);
    }
}

// A configured key the server rejects: logging in would not help (the key wins), so there is
// no prompt; the message names the variable to fix and never shows the key.
#[test]
fn rejected_env_key_names_the_variable() {
    let standin = StandIn::shared();
    let mut home = Home::new(standin);
    let key = "not-a-valid-key-5e1f";
    home.set("ANACONDA_CLOUD_API_KEY", key);
    let tmux = Tmux::start();
    let window = tmux.run("env-key", &home, &["whoami"], None);
    let (code, screen) = window.finish();
    assert_eq!(code, 3, "{screen}");
    assert!(!screen.contains(PROMPT), "{screen}");
    assert!(
        screen.contains("your API key or login token is invalid"),
        "{screen}"
    );
    assert!(
        screen.contains("The key comes from ANACONDA_CLOUD_API_KEY"),
        "{screen}"
    );
    assert!(!screen.contains(key), "{screen}");
}

/// Starts `count` `get`s in one HOME and waits until one prompts and the others wait for it.
fn parallel_gets<'a>(tmux: &'a Tmux, home: &Home, count: usize) -> (Window<'a>, Vec<Window<'a>>) {
    let windows: Vec<Window> = (0..count)
        .map(|i| tmux.run(&format!("get{i}"), home, &["--verbose", "get"], None))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let asking = loop {
        let asking: Vec<usize> = (0..count)
            .filter(|&i| windows[i].screen().contains(PROMPT))
            .collect();
        if !asking.is_empty() {
            assert_eq!(asking.len(), 1, "only one asks");
            break asking[0];
        }
        assert!(Instant::now() < deadline, "no get asked to log in");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut windows = windows;
    let prompter = windows.remove(asking);
    for w in &windows {
        w.wait_for("waiting for it");
        assert!(w.exit_code().is_none() && !w.screen().contains(PROMPT));
    }
    (prompter, windows)
}

// Parallel `get`s that all need a login: one asks and logs in, the others wait on the lock
// and then answer with the same key; the server sees one api-key request.
#[test]
fn parallel_gets_share_one_login() {
    let standin = StandIn::start();
    let home = Home::new(&standin);
    let tmux = Tmux::start();
    let (prompter, waiting) = parallel_gets(&tmux, &home, 3);
    prompter.answer("y");
    let key = {
        let (code, screen) = prompter.finish();
        assert_eq!(code, 0, "{screen}");
        stored_key(&home)
    };
    for w in std::iter::once(&prompter).chain(&waiting) {
        let (code, screen) = w.finish();
        assert_eq!(code, 0, "{screen}");
        assert!(screen.contains(&format!("Bearer {key}")), "{screen}");
    }
    let creates = standin
        .requests()
        .iter()
        .filter(|r| r["path"] == "/api/iam/api-keys")
        .count();
    assert_eq!(creates, 1);
}

// Parallel `get`s: `n` once is the answer for all of them; none asks again.
#[test]
fn parallel_gets_share_one_refusal() {
    let standin = StandIn::shared();
    let home = Home::new(standin);
    let tmux = Tmux::start();
    let (prompter, waiting) = parallel_gets(&tmux, &home, 3);
    prompter.answer("n");
    for w in std::iter::once(&prompter).chain(&waiting) {
        let (code, screen) = w.finish();
        assert_eq!(code, 3, "{screen}");
        assert_eq!(
            screen.matches(PROMPT).count(),
            usize::from(w.name == prompter.name)
        );
    }
    // A later get, not waiting on that decision, asks again.
    let again = tmux.run("later", &home, &["get"], None);
    again.wait_for(PROMPT);
    again.answer("n");
    assert_eq!(again.finish().0, 3);
}
