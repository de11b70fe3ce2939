//! Local credentials: password hashing and verification, TOTP, one-time codes and their
//! delivery, and the encryption of stored credentials. Uses the store only through the runtime; knows nothing of journeys.

pub mod choice;
pub mod codes;
pub mod delivery;
pub mod hashes;
pub mod password;
pub mod sealed;
pub mod settings;
pub mod totp;

pub use password::{Passwords, Verification};
pub use sealed::Sealer;
