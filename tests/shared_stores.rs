//! Two `ferry serve` nodes sharing PostgreSQL (users) and Redis (sessions), over HTTP: a login
//! started on one node finishes on the other, racing first logins of one user on both create
//! one user, and a provider's callback may land on either node.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod support;

use serde_json::{Value as Json, json};
use support::bad_op::{BadOp, Token};
use support::ferry::{Ferry, shipped_config};
use support::stores::{PgSchema, RedisPrefix};

const JOURNEY: &str = "jit-password";

/// The settings that point a node at the shared stores; `${…}` come from [`env`].
const SHARED: &str = "
database: ${FERRY_PG}
sessions:
  store: ${FERRY_REDIS}
  key_prefix: ${FERRY_PREFIX}
";

fn env(schema: &PgSchema, redis: &RedisPrefix) -> Vec<(String, String)> {
    vec![
        ("FERRY_PG".into(), schema.url.clone()),
        ("FERRY_REDIS".into(), redis.url.clone()),
        ("FERRY_PREFIX".into(), redis.prefix.clone()),
    ]
}

/// The test's own schema and prefix, or `None` when the servers are not configured.
async fn shared() -> Option<(PgSchema, RedisPrefix)> {
    let schema = PgSchema::create().await?;
    let redis = RedisPrefix::create()?;
    Some((schema, redis))
}

/// Two nodes of the shipped configuration on the shared stores.
async fn two_nodes(schema: &PgSchema, redis: &RedisPrefix) -> (Ferry, Ferry) {
    let config = format!("{}{SHARED}", shipped_config());
    let env = env(schema, redis);
    (
        Ferry::start(&config, &env).await,
        Ferry::start(&config, &env).await,
    )
}

fn session_of(answer: &Json) -> String {
    answer["session"].as_str().expect("a session id").to_owned()
}

#[tokio::test]
async fn a_login_started_on_one_node_finishes_on_the_other() {
    let Some((schema, redis)) = shared().await else {
        return;
    };
    let (a, b) = two_nodes(&schema, &redis).await;

    let (status, started) = a.start_session(JOURNEY).await;
    assert_eq!(status, 201, "{started}");
    let session = session_of(&started);
    assert_eq!(redis.keys().len(), 1, "the waiting session is in Redis");
    let (status, waiting) = b.get(&format!("/v1/sessions/{session}")).await;
    assert_eq!(
        (status, &waiting["status"]),
        (200, &json!("waiting")),
        "{waiting}"
    );

    let input = json!({ "identifier": "Alice", "password": "wonderland-42" });
    let (status, done) = b.submit(&session, input).await;
    assert_eq!(
        (status, &done["status"]),
        (200, &json!("completed")),
        "{done}"
    );
    let (status, _) = a.get(&format!("/v1/sessions/{session}")).await;
    assert_eq!(status, 404, "an ended session is gone for every node");
    assert!(redis.keys().is_empty(), "{:?}", redis.keys());

    let (status, again) = a.login(JOURNEY, "alice", "wonderland-42").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["user"], done["user"]);
    assert_eq!(schema.scalar("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(
        schema.scalar("SELECT COUNT(*) FROM migration_log").await,
        1,
        "the second login, on the other node, was local"
    );
}

#[tokio::test]
async fn racing_first_logins_on_two_nodes_create_one_user() {
    let Some((schema, redis)) = shared().await else {
        return;
    };
    let (a, b) = two_nodes(&schema, &redis).await;
    let (on_a, on_b) = tokio::join!(
        a.login(JOURNEY, "alice", "wonderland-42"),
        b.login(JOURNEY, "Alice", "wonderland-42"),
    );
    assert_eq!((on_a.0, on_b.0), (200, 200), "{} / {}", on_a.1, on_b.1);
    assert_eq!(on_a.1["user"]["id"], on_b.1["user"]["id"]);
    assert_eq!(schema.scalar("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(
        schema
            .scalar("SELECT COUNT(*) FROM migration_log WHERE event = 'created'")
            .await,
        1
    );
}

fn oidc_config(op: &BadOp, redirect_uri: &str, shared: &str) -> String {
    format!(
        "journeys: [journeys/jit-oidc.yaml]\nidps:\n  legacy_oidc:\n    provider: oidc\n    redirect:\n      issuer: {}\n      client_id: ferry\n      client_secret: ${{SECRET}}\n      redirect_uri: {redirect_uri}\n{shared}",
        op.issuer
    )
}

/// Node `a` sends the user to the provider; the provider calls back node `b`. Returns the
/// callback's status and answer.
async fn callback_on_the_other_node(shared: &str, env: &[(String, String)]) -> (u16, Json) {
    let op = BadOp::start().await;
    let (first, second) = (Ferry::reserve().await, Ferry::reserve().await);
    let redirect_uri = format!("{}/v1/callback", Ferry::base_of(&second));
    let config = oidc_config(&op, &redirect_uri, shared);
    let mut env = env.to_vec();
    env.push(("SECRET".into(), "s3cret".into()));
    let a = Ferry::start_on(first, &config, &env).await;
    let b = Ferry::start_on(second, &config, &env).await;

    let (_, started) = a.start_session("jit-oidc").await;
    let input = json!({ "identifier": "carol@example.test" });
    let (_, waiting) = a.submit(&session_of(&started), input).await;
    let url = reqwest::Url::parse(waiting["step"]["redirect_url"].as_str().unwrap()).unwrap();
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    op.next_token(Token {
        claims: op.claims("ferry", &param("nonce")),
        alg: "ES256",
        kid: Some("k1".into()),
        signer: 0,
    });
    let state = param("state");
    let query = [
        ("code", "c0de"),
        ("state", state.as_str()),
        ("iss", op.issuer.as_str()),
    ];
    let response = reqwest::Client::new()
        .get(format!("{}/v1/callback", b.base))
        .query(&query)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Json = response.json().await.unwrap_or(Json::Null);
    if status == 200 {
        let (status, done) = a
            .submit(
                &session_of(&body),
                json!({ "new_password": "a new one, 42" }),
            )
            .await;
        assert_eq!(
            (status, &done["status"]),
            (200, &json!("completed")),
            "{done}"
        );
    }
    (status, body)
}

#[tokio::test]
async fn a_callback_may_land_on_another_node() {
    let Some((schema, redis)) = shared().await else {
        return;
    };
    let (status, body) = callback_on_the_other_node(SHARED, &env(&schema, &redis)).await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("waiting")),
        "{body}"
    );
    assert_eq!(schema.scalar("SELECT COUNT(*) FROM users").await, 1);
}

/// The control: with sessions in each node's memory, the other node knows no such `state`.
#[tokio::test]
async fn without_shared_sessions_a_callback_on_another_node_is_refused() {
    let (status, body) = callback_on_the_other_node("", &[]).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid_state")),
        "{body}"
    );
}
