//! A binary that keeps running while the test acts on what it printed: its stderr is read
//! line by line as it comes (a login URL, a device code), and it must end within a deadline.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::util::{Home, Run, bin};

/// A running `anaconda-auth`.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    stderr: Vec<String>,
    started: Instant,
}

impl Running {
    /// Starts the binary in `home` with `args`, stdin closed (not a terminal).
    pub fn start(home: &Home, args: &[&str]) -> Running {
        let mut child = home
            .command(bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            stderr: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Waits (at most 30 s) for a stderr line matching `pred` and returns it.
    pub fn line(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("no such line within 30 s; stderr so far: {:?}", self.stderr);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the binary ended first; stderr: {:?}", self.stderr)
                }
            }
        }
    }

    /// The first stderr line that is a URL starting with `prefix` (printed indented).
    pub fn url(&mut self, prefix: &str) -> String {
        self.line(|l| l.trim_start().starts_with(prefix))
            .trim()
            .to_string()
    }

    /// Waits for the end (killing it and failing after `limit`) and returns what it did.
    pub fn finish(mut self, limit: Duration) -> Run {
        let deadline = Instant::now() + limit;
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "still running after {limit:?}; stderr so far: {:?}",
                    self.stderr
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stderr.push(line);
        }
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        Run {
            code,
            stdout,
            stderr: self.stderr.join("\n") + "\n",
        }
    }
}

impl Drop for Running {
    /// A test that fails half-way leaves no login running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
