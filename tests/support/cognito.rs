//! The two Cognito emulators, moto (PyPI) and cognito-local (npm), installed into a cache
//! folder when missing, started on a free loopback port, provisioned over the AWS JSON
//! protocol and stopped when dropped. Neither checks signatures, so plain requests with the
//! `X-Amz-Target` header administer them.
//!
//! Install folder: `$FERRY_PEERS_HOME` (default `~/.cache/ferry-peers`), `moto/venv` and
//! `cognito-local/node_modules`. `.ci/run` installs both ahead of the tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use super::{free_port, on_path, peer_absent};

/// The moto release the harness installs.
pub const MOTO_VERSION: &str = "5.2.5";
/// The cognito-local release the harness installs.
pub const COGNITO_LOCAL_VERSION: &str = "5.3.0";

/// One install at a time within a test binary.
static INSTALL: Mutex<()> = Mutex::new(());

/// Where peers are installed.
pub fn peers_home() -> PathBuf {
    if let Some(dir) = std::env::var_os("FERRY_PEERS_HOME") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    home.join(".cache/ferry-peers")
}

/// Which emulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// moto's server mode.
    Moto,
    /// cognito-local.
    CognitoLocal,
}

/// A running emulator; stopped when dropped.
pub struct Emulator {
    kind: Kind,
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

/// A pool with an app client, made by [`Emulator::pool`].
#[derive(Clone, Debug)]
pub struct Pool {
    /// The pool id.
    pub id: String,
    /// The app client id.
    pub client_id: String,
    /// Its secret, when made with one.
    pub client_secret: Option<String>,
}

impl Emulator {
    /// Installs (if needed) and starts an emulator, or returns `None` after [`peer_absent`].
    pub async fn start(kind: Kind) -> Option<Self> {
        if let Err(reason) = install(kind) {
            peer_absent(kind.name(), &reason);
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut emulator = Self {
            kind,
            child: None,
            dir,
            port,
            base: format!("http://127.0.0.1:{port}"),
        };
        emulator.spawn(true);
        emulator.wait_ready().await;
        Some(emulator)
    }

    /// The issuer of the pool's ID tokens: the AWS URL for moto, a loopback one for
    /// cognito-local.
    pub fn issuer(&self, pool: &Pool) -> String {
        match self.kind {
            Kind::Moto => format!("https://cognito-idp.us-east-1.amazonaws.com/{}", pool.id),
            Kind::CognitoLocal => format!("{}/{}", self.base, pool.id),
        }
    }

    /// The pool's JWKS on the emulator.
    pub fn jwks_uri(&self, pool: &Pool) -> String {
        format!("{}/{}/.well-known/jwks.json", self.base, pool.id)
    }

    /// Ferry settings (as JSON) for a connector on this pool.
    pub fn settings(&self, pool: &Pool) -> Json {
        json!({
            "provider": "cognito",
            "endpoint": format!("{}/", self.base),
            "client_id": pool.client_id,
            "client_secret": pool.client_secret,
            "issuer": self.issuer(pool),
            "jwks_uri": self.jwks_uri(pool),
        })
    }

    /// Calls an action; returns status and body.
    pub async fn call(&self, action: &str, body: Json) -> (u16, Json) {
        let answer = reqwest::Client::new()
            .post(format!("{}/", self.base))
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                format!("AWSCognitoIdentityProviderService.{action}"),
            )
            .body(body.to_string())
            .send()
            .await
            .expect("call the emulator");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Json::Null))
    }

    /// Calls an action that must succeed.
    pub async fn ok(&self, action: &str, body: Json) -> Json {
        let (status, answer) = self.call(action, body).await;
        assert_eq!(status, 200, "{action} answered {status}: {answer}");
        answer
    }

    /// A pool (optional TOTP MFA) with one app client.
    pub async fn pool(&self, with_secret: bool) -> Pool {
        let created = self
            .ok(
                "CreateUserPool",
                json!({ "PoolName": "ferry-legacy", "MfaConfiguration": "OPTIONAL" }),
            )
            .await;
        let id = created["UserPool"]["Id"]
            .as_str()
            .expect("pool id")
            .to_owned();
        if self.kind == Kind::Moto {
            self.ok(
                "SetUserPoolMfaConfig",
                json!({
                    "UserPoolId": id, "MfaConfiguration": "OPTIONAL",
                    "SoftwareTokenMfaConfiguration": { "Enabled": true }
                }),
            )
            .await;
        }
        let client = self
            .ok(
                "CreateUserPoolClient",
                json!({
                    "UserPoolId": id, "ClientName": "ferry", "GenerateSecret": with_secret,
                    "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                    "ReadAttributes": ["email", "email_verified", "given_name", "phone_number"]
                }),
            )
            .await;
        let client = &client["UserPoolClient"];
        Pool {
            id,
            client_id: client["ClientId"].as_str().expect("client id").to_owned(),
            client_secret: client["ClientSecret"].as_str().map(str::to_owned),
        }
    }

    /// A user made by an administrator, with a permanent password unless `password` is
    /// `None` (then the user must change the temporary one).
    pub async fn user(&self, pool: &Pool, name: &str, password: Option<&str>) {
        self.ok(
            "AdminCreateUser",
            json!({
                "UserPoolId": pool.id, "Username": name, "MessageAction": "SUPPRESS",
                "TemporaryPassword": TEMPORARY_PASSWORD,
                "UserAttributes": [
                    { "Name": "email", "Value": format!("{name}@example.test") },
                    { "Name": "email_verified", "Value": "true" },
                    { "Name": "phone_number", "Value": "+15555550100" }
                ]
            }),
        )
        .await;
        if let Some(password) = password {
            self.ok(
                "AdminSetUserPassword",
                json!({
                    "UserPoolId": pool.id, "Username": name, "Password": password, "Permanent": true
                }),
            )
            .await;
        }
    }

    /// A user who signed up and never confirmed.
    pub async fn unconfirmed_user(&self, pool: &Pool, name: &str, password: &str) {
        let mut body = json!({
            "ClientId": pool.client_id, "Username": name, "Password": password,
            "UserAttributes": [{ "Name": "email", "Value": format!("{name}@example.test") }]
        });
        if let Some(secret) = &pool.client_secret {
            body["SecretHash"] = json!(secret_hash(name, &pool.client_id, secret));
        }
        self.ok("SignUp", body).await;
    }

    /// Disables a user.
    pub async fn disable(&self, pool: &Pool, name: &str) {
        self.ok(
            "AdminDisableUser",
            json!({ "UserPoolId": pool.id, "Username": name }),
        )
        .await;
    }

    /// Enrols the user in TOTP MFA (signing in with the password first) and makes it the
    /// preferred factor; returns the base32 secret.
    pub async fn enrol_totp(&self, pool: &Pool, name: &str, password: &str) -> String {
        let mut parameters = json!({ "USERNAME": name, "PASSWORD": password });
        if let Some(secret) = &pool.client_secret {
            parameters["SECRET_HASH"] = json!(secret_hash(name, &pool.client_id, secret));
        }
        let signed_in = self
            .ok(
                "InitiateAuth",
                json!({
                    "ClientId": pool.client_id, "AuthFlow": "USER_PASSWORD_AUTH",
                    "AuthParameters": parameters
                }),
            )
            .await;
        let access = signed_in["AuthenticationResult"]["AccessToken"]
            .as_str()
            .expect("access token")
            .to_owned();
        let secret = self
            .ok("AssociateSoftwareToken", json!({ "AccessToken": access }))
            .await["SecretCode"]
            .as_str()
            .expect("secret code")
            .to_owned();
        let code = super::totp::fresh_code(&secret).await;
        self.ok(
            "VerifySoftwareToken",
            json!({
                "AccessToken": access, "UserCode": code, "FriendlyDeviceName": "ferry"
            }),
        )
        .await;
        self.ok(
            "SetUserMFAPreference",
            json!({
                "AccessToken": access,
                "SoftwareTokenMfaSettings": { "Enabled": true, "PreferredMfa": true }
            }),
        )
        .await;
        secret
    }

    /// cognito-local only: turns on SMS MFA for a user. No API does it, so the emulator is
    /// stopped, its database edited and the emulator started again on the same port.
    pub async fn enable_sms_mfa(&mut self, pool: &Pool, name: &str) {
        assert_eq!(
            self.kind,
            Kind::CognitoLocal,
            "only cognito-local keeps SMS codes"
        );
        self.stop();
        let file = self.pool_file(pool);
        let mut db: Json =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("pool db")).expect("JSON");
        db["Users"][name]["MFAOptions"] =
            json!([{ "DeliveryMedium": "SMS", "AttributeName": "phone_number" }]);
        std::fs::write(&file, db.to_string()).expect("write pool db");
        self.spawn(false);
        self.wait_ready().await;
    }

    /// cognito-local only: the SMS MFA code it generated for a user, read from its database.
    pub async fn sms_code(&self, pool: &Pool, name: &str) -> String {
        let file = self.pool_file(pool);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let db: Json = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Json::Null);
            if let Some(code) = db["Users"][name]["MFACode"].as_str() {
                return code.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no MFACode for {name} in {file:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pool_file(&self, pool: &Pool) -> PathBuf {
        self.dir
            .path()
            .join(format!(".cognito/db/{}.json", pool.id))
    }

    /// Stops the emulator.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
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

    fn spawn(&mut self, fresh: bool) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("log file");
        let mut command = match self.kind {
            Kind::Moto => {
                let mut c = Command::new(moto_bin());
                c.args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
                    .env("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true");
                c
            }
            Kind::CognitoLocal => {
                self.write_cognito_local_config(fresh);
                let mut c = Command::new("node");
                c.arg(cognito_local_entry())
                    .current_dir(self.dir.path())
                    .env("HOST", "127.0.0.1")
                    .env("PORT", self.port.to_string());
                c
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start the emulator");
        self.child = Some(child);
    }

    fn write_cognito_local_config(&self, fresh: bool) {
        let dir = self.dir.path().join(".cognito");
        if fresh {
            let _ = std::fs::remove_dir_all(dir.join("db"));
        }
        std::fs::create_dir_all(&dir).expect("config dir");
        let config = json!({
            "ServerConfig": { "hostname": "127.0.0.1", "port": self.port },
            "TokenConfig": { "IssuerDomain": self.base },
            "UserPoolDefaults": { "UsernameAttributes": [] }
        });
        std::fs::write(dir.join("config.json"), config.to_string()).expect("write config");
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "{} exited during start-up ({status}): {}",
                    self.kind.name(),
                    self.log()
                );
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{} did not listen within 60 s: {}",
            self.kind.name(),
            self.log()
        );
    }

    /// The emulator's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Moto => "moto",
            Kind::CognitoLocal => "cognito-local",
        }
    }
}

/// The temporary password of users made by an administrator.
pub const TEMPORARY_PASSWORD: &str = "Temp-Passw0rd!";

/// SECRET_HASH as the emulators' clients compute it (not Ferry's code).
pub fn secret_hash(user: &str, client_id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, format!("{user}{client_id}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

fn moto_bin() -> PathBuf {
    peers_home().join("moto/venv/bin/moto_server")
}

fn cognito_local_entry() -> PathBuf {
    peers_home().join("cognito-local/node_modules/cognito-local/lib/bin/start.js")
}

/// Installs the emulator into the cache folder unless it is there; `Err` says why not.
fn install(kind: Kind) -> Result<(), String> {
    let _one = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match kind {
        Kind::Moto => install_moto(),
        Kind::CognitoLocal => install_cognito_local(),
    }
}

fn install_moto() -> Result<(), String> {
    if moto_bin().is_file() {
        return Ok(());
    }
    if !on_path("python3") {
        return Err("python3 is not on the PATH".into());
    }
    let venv = peers_home().join("moto/venv");
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    let spec = format!("moto[server]=={MOTO_VERSION}");
    run(Command::new(venv.join("bin/pip")).args(["install", "-q", &spec]))?;
    if moto_bin().is_file() {
        Ok(())
    } else {
        Err("pip finished but moto_server is missing".into())
    }
}

fn install_cognito_local() -> Result<(), String> {
    if cognito_local_entry().is_file() {
        return Ok(());
    }
    for program in ["node", "npm"] {
        if !on_path(program) {
            return Err(format!("`{program}` is not on the PATH"));
        }
    }
    let dir = peers_home().join("cognito-local");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let manifest = dir.join("package.json");
    if !manifest.exists() {
        std::fs::write(
            &manifest,
            r#"{"name":"ferry-peer-cognito-local","private":true}"#,
        )
        .map_err(|e| e.to_string())?;
    }
    let spec = format!("cognito-local@{COGNITO_LOCAL_VERSION}");
    run(Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            &spec,
        ])
        .current_dir(&dir))?;
    if cognito_local_entry().is_file() {
        Ok(())
    } else {
        Err("npm finished but cognito-local is missing".into())
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{command:?} could not run: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        let tail: String = String::from_utf8_lossy(&output.stderr)
            .chars()
            .rev()
            .take(400)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Err(format!("{command:?} failed ({}): {tail}", output.status))
    }
}

/// Whether a path exists (re-exported for tests that check the cache).
pub fn installed(path: &Path) -> bool {
    path.exists()
}
