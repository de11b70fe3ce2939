//! aiosmtpd (PyPI) as a real SMTP sink on loopback: installed into `$FERRY_PEERS_HOME`
//! when missing (as `.ci/run` does ahead of the tests), started by the test on a free port
//! with aiosmtpd's own Maildir handler, and read back from the Maildir.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::cognito::peers_home;
use super::{free_port, on_path, peer_absent};

/// The aiosmtpd release the harness installs.
pub const AIOSMTPD_VERSION: &str = "1.4.6";

static INSTALL: Mutex<()> = Mutex::new(());

/// A running SMTP sink; stopped when dropped.
pub struct SmtpSink {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// Its SMTP port on 127.0.0.1.
    pub port: u16,
}

fn python() -> PathBuf {
    peers_home().join("aiosmtpd/venv/bin/python")
}

fn install() -> Result<(), String> {
    let _one = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if python().is_file()
        && Command::new(python())
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success())
    {
        return Ok(());
    }
    if !on_path("python3") {
        return Err("python3 is not on the PATH".into());
    }
    let venv = peers_home().join("aiosmtpd/venv");
    let ok = |c: &mut Command| c.stdin(Stdio::null()).status().is_ok_and(|s| s.success());
    if !ok(Command::new("python3").args(["-m", "venv"]).arg(&venv)) {
        return Err("python3 -m venv failed".into());
    }
    let spec = format!("aiosmtpd=={AIOSMTPD_VERSION}");
    if !ok(Command::new(venv.join("bin/pip")).args(["install", "-q", &spec])) {
        return Err(format!("pip install {spec} failed"));
    }
    Ok(())
}

impl SmtpSink {
    /// Starts a sink, or returns `None` (after [`peer_absent`]) when aiosmtpd cannot be had.
    pub async fn start() -> Option<Self> {
        if let Err(why) = tokio::task::spawn_blocking(install).await.expect("install") {
            peer_absent("aiosmtpd", &why);
            return None;
        }
        // A free port can be taken by another test's sink between our probe and aiosmtpd's
        // bind; that sink would then answer for ours. A sink that exited is started again
        // on another port.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("mail dir");
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("sink.log")).expect("log");
            let child = Command::new(python())
                .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(dir.path().join("mail"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("start aiosmtpd");
            let mut sink = Self {
                child: Some(child),
                dir,
                port,
            };
            let deadline = Instant::now() + Duration::from_secs(20);
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                assert!(Instant::now() < deadline, "aiosmtpd did not start");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            let exited = sink.child.as_mut().map(|c| c.try_wait());
            if matches!(exited, Some(Ok(None))) {
                return Some(sink);
            }
        }
        panic!("aiosmtpd kept exiting at start; see its log");
    }

    /// Every message received so far, raw, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.dir.path().join("mail").join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let modified = entry.metadata().and_then(|m| m.modified()).ok();
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                found.push((modified, text));
            }
        }
        found.sort_by_key(|(m, _)| *m);
        found.into_iter().map(|(_, t)| t).collect()
    }

    /// Waits until `count` messages have arrived; returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "{count} messages expected, {} arrived",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The digits that follow `code is ` in a message's text.
pub fn code_in(message: &str) -> String {
    let (_, after) = message
        .split_once("code is ")
        .unwrap_or_else(|| panic!("no code in the message: {message}"));
    after.chars().take_while(char::is_ascii_digit).collect()
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
