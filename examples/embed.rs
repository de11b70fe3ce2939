//! Embedding the engine in your own server: the README's example, compiled by `cargo test`.
//! Run it from the repository root with `cargo run --example embed`.

use std::sync::Arc;

use ferry::config::{Config, ProcessEnv};
use ferry::runtime::{Client, Engine, State};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load("ferry.yaml".as_ref(), &ProcessEnv)?;
    let (engine, _rejected) = Engine::builder(config)
        .env(Arc::new(ProcessEnv))
        .build()
        .await?;
    let started = engine.start("jit-password", &Client::default()).await?;
    let input = serde_json::json!({ "identifier": "alice", "password": "wonderland-42" });
    let answer = engine
        .advance(&started.session, &input, &Client::default())
        .await?;
    if let State::Completed { user, amr } = answer.state {
        println!("signed in {} ({}) by {amr:?}", user.identifier, user.id);
    }
    Ok(())
}
