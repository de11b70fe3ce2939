//! A Ferry server for tests: configuration from text, environment from a map, a temporary
//! data folder, a free loopback port.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use ferry::clock::SystemClock;
use ferry::config::Config;
use ferry::runtime::Engine;
use ferry::server::{self, AppState, Signer};
use ferry::syntax::source::SourceFile;
use serde_json::{Value as Json, json};
use tokio::sync::oneshot;

/// The repository's `ferry.yaml`, as shipped.
pub fn shipped_config() -> String {
    std::fs::read_to_string(repo().join("ferry.yaml")).expect("read ferry.yaml")
}

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running Ferry server; stopped when dropped.
pub struct Ferry {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The engine it serves.
    pub engine: Arc<Engine>,
    /// Its data folder (database, signing key).
    pub data: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

impl Ferry {
    /// Starts a server whose configuration is `config_text` (paths relative to the
    /// repository), with `${NAME}` resolved from `env` and data in a temporary folder.
    pub async fn start(config_text: &str, env: &[(String, String)]) -> Self {
        Self::start_on(Self::reserve().await, config_text, env).await
    }

    /// A listener on a free loopback port, for a server whose URL must be known before it
    /// starts (a redirect URI registered with a provider).
    pub async fn reserve() -> tokio::net::TcpListener {
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind")
    }

    /// The base URL a reserved listener will serve.
    pub fn base_of(listener: &tokio::net::TcpListener) -> String {
        format!("http://{}", listener.local_addr().expect("address"))
    }

    /// Starts a server on a reserved listener.
    pub async fn start_on(
        listener: tokio::net::TcpListener,
        config_text: &str,
        env: &[(String, String)],
    ) -> Self {
        let data = tempfile::tempdir().expect("data dir");
        let env: HashMap<String, String> = env.iter().cloned().collect();
        let file = SourceFile::new("ferry.yaml", config_text);
        let mut config = Config::parse(file, repo(), &env).expect("test configuration");
        config.settings.data_dir = data.path().to_path_buf();
        let trusted_proxy_hops = config.settings.trusted_proxy_hops;
        let signer = Signer::load_or_generate(&config.settings.token, None, data.path())
            .expect("signing key");
        let (engine, rejected) = Engine::builder(config)
            .env(Arc::new(env))
            .build()
            .await
            .expect("engine");
        assert!(
            rejected.is_empty(),
            "journeys did not compile: {rejected:?}"
        );
        let engine = Arc::new(engine);
        let base = Self::base_of(&listener);
        let state = Arc::new(AppState {
            engine: engine.clone(),
            signer,
            clock: Arc::new(SystemClock),
            trusted_proxy_hops,
        });
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(server::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Self {
            base,
            engine,
            data,
            stop: Some(stop),
        }
    }

    /// Starts a session of a journey; returns the answer's status and body.
    pub async fn start_session(&self, journey: &str) -> (u16, Json) {
        let url = format!("{}/v1/journeys/{journey}/sessions", self.base);
        call(reqwest::Client::new().post(url)).await
    }

    /// Submits input to a session.
    pub async fn submit(&self, session: &str, input: Json) -> (u16, Json) {
        let url = format!("{}/v1/sessions/{session}", self.base);
        call(
            reqwest::Client::new()
                .post(url)
                .json(&json!({ "input": input })),
        )
        .await
    }

    /// A whole password login: start, submit, and return the final answer.
    pub async fn login(&self, journey: &str, identifier: &str, password: &str) -> (u16, Json) {
        let (status, started) = self.start_session(journey).await;
        assert_eq!(status, 201, "start: {started}");
        let session = started["session"].as_str().expect("session id").to_owned();
        self.submit(
            &session,
            json!({ "identifier": identifier, "password": password }),
        )
        .await
    }

    /// GETs a path and returns status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Json) {
        call(reqwest::Client::new().get(format!("{}{path}", self.base))).await
    }

    /// Rows in the users table.
    pub async fn user_rows(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM users").await
    }

    /// Runs a scalar query on the server's SQLite database.
    pub async fn scalar(&self, sql: &'static str) -> i64 {
        let url = format!("sqlite://{}", self.data.path().join("ferry.db").display());
        let pool = sqlx::SqlitePool::connect(&url)
            .await
            .expect("open ferry.db");
        let value = sqlx::query_scalar(sql)
            .fetch_one(&pool)
            .await
            .expect("query");
        pool.close().await;
        value
    }

    /// Runs a query returning one text value.
    pub async fn text(&self, sql: &'static str) -> Option<String> {
        let url = format!("sqlite://{}", self.data.path().join("ferry.db").display());
        let pool = sqlx::SqlitePool::connect(&url)
            .await
            .expect("open ferry.db");
        let value = sqlx::query_scalar(sql)
            .fetch_optional(&pool)
            .await
            .expect("query");
        pool.close().await;
        value
    }
}

impl Drop for Ferry {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn call(request: reqwest::RequestBuilder) -> (u16, Json) {
    let response = request.send().await.expect("request to ferry");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Json::Null);
    (status, body)
}

/// The body with its `session` member removed, to compare two answers.
pub fn without_session(mut body: Json) -> Json {
    if let Some(map) = body.as_object_mut() {
        map.remove("session");
    }
    body
}
