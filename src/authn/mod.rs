//! Local credentials: password hashing and verification. Uses the store only through the
//! runtime; knows nothing of journeys.

pub mod hashes;
pub mod password;

pub use password::{Passwords, Verification};
