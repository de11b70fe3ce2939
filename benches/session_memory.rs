//! Memory per idle in-memory session, counted from real allocations: 100,000 sessions of the
//! reference journey, each waiting at its first prompt. Prints the figure.

#![allow(clippy::expect_used, reason = "a benchmark fails by panicking")]

mod support;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SESSIONS: usize = 100_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/journeys/jit-password.yaml"
    ))
    .expect("journey")
    .replace("users_file", "legacy");
    let (_dir, engine) = runtime.block_on(support::engine(&[("jit.yaml", text)]));
    runtime.block_on(async {
        engine
            .start("jit-password", &Default::default())
            .await
            .expect("warm-up");
        let region = Region::new(GLOBAL);
        let mut ids = Vec::with_capacity(SESSIONS);
        let ids_bytes = SESSIONS * std::mem::size_of::<ferry::runtime::SessionId>();
        for _ in 0..SESSIONS {
            ids.push(
                engine
                    .start("jit-password", &Default::default())
                    .await
                    .expect("start")
                    .session,
            );
        }
        let change = region.change();
        let live = change.bytes_allocated as isize - change.bytes_deallocated as isize
            + change.bytes_reallocated;
        let ids_heap = SESSIONS * 32; // each id's own 32-byte string, held here, not by Ferry
        let held_by_ferry = live - (ids_bytes + ids_heap) as isize;
        println!("{SESSIONS} idle sessions hold {held_by_ferry} bytes in the engine");
        println!(
            "per idle session: {} bytes (goal: under 2048)",
            held_by_ferry / SESSIONS as isize
        );
        drop(ids);
    });
}
