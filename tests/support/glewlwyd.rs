//! Glewlwyd 2.7 (Debian's package) as a real legacy OAuth 2.0 / OpenID provider on loopback,
//! started, provisioned over its admin API and stopped by the tests themselves.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use super::{free_port, on_path, peer_absent};

const INIT_SQL: &str = "/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz";

/// The confidential client the harness registers.
pub const CLIENT_ID: &str = "ferry-test";
/// Its secret.
pub const CLIENT_SECRET: &str = "ferry-test-secret";

/// A legacy user the harness creates.
#[derive(Clone, Debug)]
pub struct LegacyUser {
    /// Login name.
    pub username: &'static str,
    /// Password.
    pub password: &'static str,
    /// Email, as stored at the legacy IDP.
    pub email: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Whether the account is enabled.
    pub enabled: bool,
}

/// Alice: enabled; her email has capitals.
pub const ALICE: LegacyUser = LegacyUser {
    username: "alice",
    password: "alice-Passw0rd",
    email: "Alice.Liddell@Ferry.TEST",
    name: "Alice Liddell",
    enabled: true,
};
/// Bob: disabled.
pub const BOB: LegacyUser = LegacyUser {
    username: "bob",
    password: "bob-Passw0rd",
    email: "bob@ferry.test",
    name: "Bob Disabled",
    enabled: false,
};
/// Carol: enabled.
pub const CAROL: LegacyUser = LegacyUser {
    username: "carol",
    password: "carol-Passw0rd",
    email: "carol@ferry.test",
    name: "Carol Jones",
    enabled: true,
};

/// A running Glewlwyd; stopped when dropped.
pub struct Glewlwyd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Glewlwyd {
    /// Starts and provisions a fresh instance, or returns `None` (after [`peer_absent`]) when
    /// the package is not installed.
    pub async fn start() -> Option<Self> {
        for program in ["glewlwyd", "openssl"] {
            if !on_path(program) {
                peer_absent(
                    "Glewlwyd",
                    &format!("`{program}` is not on the PATH (.ci/run installs it)"),
                );
                return None;
            }
        }
        if !Path::new(INIT_SQL).exists() {
            peer_absent("Glewlwyd", &format!("{INIT_SQL} is missing"));
            return None;
        }
        let peer = Self::launch().await;
        peer.provision().await;
        Some(peer)
    }

    /// The OAuth token endpoint.
    pub fn token_endpoint(&self) -> String {
        format!("{}/api/oidc/token", self.base)
    }

    /// The issuer of its ID tokens.
    pub fn issuer(&self) -> String {
        format!("{}/api/oidc", self.base)
    }

    /// Its JWKS.
    pub fn jwks_uri(&self) -> String {
        format!("{}/api/oidc/jwks", self.base)
    }

    /// The environment a `ferry.yaml` pointing at this peer needs.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("LEGACY_OAUTH_TOKEN_ENDPOINT".into(), self.token_endpoint()),
            ("LEGACY_OAUTH_CLIENT_ID".into(), CLIENT_ID.into()),
            ("LEGACY_OAUTH_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            ("LEGACY_OAUTH_ISSUER".into(), self.issuer()),
            ("LEGACY_OAUTH_JWKS_URI".into(), self.jwks_uri()),
        ]
    }

    /// Stops the server (the tests use this to show Ferry no longer needs it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Registers one more redirect URI for the confidential client (a Ferry callback).
    pub async fn allow_redirect_uri(&self, uri: &str) {
        let admin = Admin::login(&self.base).await;
        let mut client = client_body();
        client["redirect_uri"]
            .as_array_mut()
            .expect("redirect URIs")
            .push(Json::String(uri.to_owned()));
        admin
            .call("PUT", &format!("/client/{CLIENT_ID}"), client)
            .await;
    }

    /// Signs `user` in through the login API and follows an authorization request with the
    /// session cookie; returns where Glewlwyd redirects (the callback, with the code).
    pub async fn authorize(&self, url: &str, user: &LegacyUser) -> String {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let answer = client
            .post(format!("{}/api/auth/", self.base))
            .json(&json!({ "username": user.username, "password": user.password }))
            .send()
            .await
            .expect("login");
        assert!(
            answer.status().is_success(),
            "login answered {}",
            answer.status()
        );
        let cookie = answer
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("GLEWLWYD2_SESSION_ID="))
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_owned();
        let answer = client
            .get(format!("{url}&g_continue"))
            .header("cookie", cookie)
            .send()
            .await
            .expect("authorize");
        answer
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("a redirect")
            .to_owned()
    }

    async fn launch() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        init_database(dir.path()).await;
        make_keys(dir.path());
        std::fs::create_dir_all(dir.path().join("user_middleware")).expect("middleware dir");
        std::fs::write(
            dir.path().join("glewlwyd.conf"),
            config(dir.path(), port, &base),
        )
        .expect("write config");
        let log = std::fs::File::create(dir.path().join("glewlwyd.log")).expect("log file");
        let child = Command::new("glewlwyd")
            .arg("-c")
            .arg(dir.path().join("glewlwyd.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start glewlwyd");
        let mut peer = Self {
            child: Some(child),
            dir,
            base,
        };
        peer.wait_ready().await;
        peer
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("glewlwyd exited during start-up ({status}): {}", self.log());
            }
            let answer = client.get(format!("{}/config", self.base)).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("glewlwyd did not answer within 20 s: {}", self.log());
    }

    /// Glewlwyd's own log, for failure messages.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.path().join("glewlwyd.log")) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    async fn provision(&self) {
        let admin = Admin::login(&self.base).await;
        admin
            .call(
                "PUT",
                "/scope/openid",
                json!({
                    "display_name": "Open ID", "description": "Open ID Connect scope",
                    "password_required": true, "password_max_age": 0, "scheme": {}
                }),
            )
            .await;
        admin.call("POST", "/mod/plugin/", self.oidc_plugin()).await;
        admin.call("POST", "/client/", client_body()).await;
        for user in [ALICE, BOB, CAROL] {
            admin.call("POST", "/user/", json!({
                "username": user.username, "password": user.password, "name": user.name,
                "email": user.email, "enabled": user.enabled, "scope": ["openid", "g_profile"]
            })).await;
            let grant = format!("/delegate/{}/auth/grant/{CLIENT_ID}", user.username);
            admin
                .call("PUT", &grant, json!({ "scope": "openid" }))
                .await;
        }
    }

    fn oidc_plugin(&self) -> Json {
        let key = std::fs::read_to_string(self.dir.path().join("key.pem")).expect("key");
        let cert = std::fs::read_to_string(self.dir.path().join("pub.pem")).expect("public key");
        json!({
            "module": "oidc", "name": "oidc", "display_name": "OpenID Connect",
            "parameters": {
                "iss": self.issuer(), "jwt-type": "rsa", "jwt-key-size": "256", "key": key, "cert": cert,
                "jwks-show": true, "access-token-duration": 3600, "refresh-token-duration": 1209600,
                "code-duration": 600, "refresh-token-rolling": true, "allow-non-oidc": true,
                "auth-type-code-enabled": true, "auth-type-token-enabled": true,
                "auth-type-none-enabled": true, "auth-type-password-enabled": true,
                "auth-type-client-enabled": true, "auth-type-refresh-enabled": true,
                "auth-type-device-enabled": false, "pkce-allowed": true,
                "pkce-method-plain-allowed": false, "pkce-required": false,
                "pkce-required-public-client": true, "subject-type": "public", "scope": [],
                "name-claim": "mandatory", "email-claim": "mandatory", "scope-claim": "no",
                "claims": [{ "name": "preferred_username", "user-property": "username",
                             "type": "string", "mandatory": true, "on-demand": false, "scope": [] }],
                "introspection-revocation-allowed": false
            }
        })
    }
}

fn client_body() -> Json {
    json!({
        "client_id": CLIENT_ID, "name": "Ferry integration tests", "enabled": true,
        "confidential": true, "client_secret": CLIENT_SECRET,
        "redirect_uri": ["http://127.0.0.1:8976/callback"],
        "authorization_type": ["code", "password", "refresh_token"],
        "token_endpoint_auth_method": ["client_secret_basic", "client_secret_post"],
        "scope": []
    })
}

impl Drop for Glewlwyd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An admin session on Glewlwyd's API (cookie-authenticated).
struct Admin {
    client: reqwest::Client,
    api: String,
    cookie: String,
}

impl Admin {
    async fn login(base: &str) -> Self {
        let client = reqwest::Client::new();
        let api = format!("{base}/api");
        let answer = client
            .post(format!("{api}/auth/"))
            .json(&json!({ "username": "admin", "password": "password" }))
            .send()
            .await
            .expect("admin login");
        assert!(
            answer.status().is_success(),
            "admin login answered {}",
            answer.status()
        );
        let cookie = answer
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("GLEWLWYD2_SESSION_ID="))
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_owned();
        Self {
            client,
            api,
            cookie,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Json) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let answer = self
            .client
            .request(method.clone(), format!("{}{path}", self.api))
            .header("cookie", &self.cookie)
            .json(&body)
            .send()
            .await
            .expect("admin call");
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "glewlwyd {method} {path} answered {status}: {text}"
        );
    }
}

async fn init_database(dir: &Path) {
    let mut script = String::new();
    let file = std::fs::File::open(INIT_SQL).expect("init script");
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut script)
        .expect("decompress init script");
    let url = format!("sqlite://{}?mode=rwc", dir.join("glewlwyd.db").display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("create glewlwyd.db");
    sqlx::raw_sql(sqlx::AssertSqlSafe(script))
        .execute(&pool)
        .await
        .expect("run init script");
    pool.close().await;
}

fn make_keys(dir: &Path) {
    let key: PathBuf = dir.join("key.pem");
    let ok = Command::new("openssl")
        .args(["genrsa", "-out"])
        .arg(&key)
        .arg("2048")
        .stderr(Stdio::null())
        .status();
    assert!(ok.is_ok_and(|s| s.success()), "openssl genrsa failed");
    let ok = Command::new("openssl")
        .args(["rsa", "-pubout", "-in"])
        .arg(&key)
        .arg("-out")
        .arg(dir.join("pub.pem"))
        .stderr(Stdio::null())
        .status();
    assert!(ok.is_ok_and(|s| s.success()), "openssl rsa -pubout failed");
}

fn config(dir: &Path, port: u16, base: &str) -> String {
    format!(
        r#"port={port}
bind_address="127.0.0.1"
external_url="{base}"
login_url="login.html"
api_prefix="api"
static_files_path="/usr/share/glewlwyd/webapp/"
allow_origin="*"
log_mode="console"
log_level="WARNING"
cookie_secure=0
cookie_same_site="empty"
session_expiration=2419200
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie,api_key"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
plugin_api_run_enabled=""
add_x_frame_option_header_deny=true
max_post_size=16778240
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
user_middleware_module_path="{middleware}"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
hash_algorithm="SHA512"
response_allowed_compression="deflate,gzip"
database =
{{
  type = "sqlite3"
  path = "{db}"
}};
"#,
        middleware = dir.join("user_middleware").display(),
        db = dir.join("glewlwyd.db").display(),
    )
}
