//! Test support shared by the integration tests: peers started by the project's own harness,
//! and a Ferry server on a free loopback port.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the support code"
)]

pub mod bad_op;
pub mod cognito;
pub mod ferry;
pub mod fixture;
pub mod glewlwyd;
pub mod import;
pub mod oidc_provider;
pub mod smtp;
pub mod stores;
pub mod totp;

/// Decides what to do when a peer a test needs is absent: skip with a printed reason, or
/// fail when `CI` is set (CI provides every peer).
pub fn peer_absent(peer: &str, reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{peer} is required when CI is set, but {reason}");
    }
    eprintln!("SKIPPED: {peer} is not available here ({reason}); CI runs this test");
}

/// A free TCP port on 127.0.0.1 (free when asked; bind it soon).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Whether a program is on the PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}
