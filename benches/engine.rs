//! Engine overhead per step, with a connector that answers at once (criterion).
//!
//! `start` creates a session and runs to the first prompt. `chain/50` starts a session and
//! submits one answer that runs 50 branch steps and a fail step (51 steps), so
//! (chain − start) / 51 is the cost of one step. `legacy` runs a legacy password check on
//! an instant connector, a branch and a fail step.

#![allow(clippy::expect_used, reason = "a benchmark fails by panicking")]

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn steps(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let journeys = [
        ("chain.yaml", support::branch_chain(50)),
        ("legacy.yaml", support::legacy_check()),
    ];
    let (_dir, engine) = runtime.block_on(support::engine(&journeys));
    let word = json!({ "word": "go" });
    let login = json!({ "identifier": "alice", "password": "pw" });
    let client = ferry::runtime::Client::default();

    c.bench_function("start", |b| {
        b.to_async(&runtime)
            .iter(|| async { engine.start("chain", &client).await.expect("start") })
    });
    c.bench_function("chain/50", |b| {
        b.to_async(&runtime).iter(|| async {
            let started = engine.start("chain", &client).await.expect("start");
            engine
                .advance(&started.session, &word, &client)
                .await
                .expect("advance")
        })
    });
    c.bench_function("legacy", |b| {
        b.to_async(&runtime).iter(|| async {
            let started = engine.start("legacy-check", &client).await.expect("start");
            engine
                .advance(&started.session, &login, &client)
                .await
                .expect("advance")
        })
    });
}

criterion_group!(benches, steps);
criterion_main!(benches);
