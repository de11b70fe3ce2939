//! panva's `oidc-provider` (npm, OpenID Certified) as a real OpenID provider on loopback:
//! installed into `$FERRY_PEERS_HOME/oidc-provider` when missing, started with the clients a
//! test registers, and stopped when dropped. [`Browser`] signs a user in the way a browser
//! would, without one: cookies, the provider's login form, and the redirect back.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use super::cognito::peers_home;
use super::{free_port, on_path, peer_absent};

/// The release the harness installs.
pub const VERSION: &str = "9.13.3";

static INSTALL: Mutex<()> = Mutex::new(());

/// A test account: login, password, `sub`, and whether its email is verified.
#[derive(Clone, Copy, Debug)]
pub struct Account {
    /// Login name.
    pub login: &'static str,
    /// Password.
    pub password: &'static str,
    /// The provider's subject.
    pub sub: &'static str,
    /// Email.
    pub email: &'static str,
    /// Whether the email is verified.
    pub email_verified: bool,
}

/// Alice: verified email.
pub const ALICE: Account = Account {
    login: "alice",
    password: "Alice-Passw0rd!",
    sub: "6f1c2a0e-0000-4000-8000-00000000a11c",
    email: "alice@example.test",
    email_verified: true,
};
/// Bob: unverified email.
pub const BOB: Account = Account {
    login: "bob",
    password: "Bob-Passw0rd!",
    sub: "6f1c2a0e-0000-4000-8000-000000000b0b",
    email: "bob@example.test",
    email_verified: false,
};

/// A running provider; stopped when dropped.
pub struct OidcProvider {
    child: Child,
    /// `http://127.0.0.1:PORT`, also the issuer.
    pub issuer: String,
}

impl OidcProvider {
    /// Starts a provider with these clients (each a client metadata object), or returns
    /// `None` after [`peer_absent`] when Node.js or the package cannot be had.
    pub async fn start(clients: Json) -> Option<Self> {
        let dir = match install() {
            Ok(dir) => dir,
            Err(reason) => {
                peer_absent("oidc-provider", &reason);
                return None;
            }
        };
        // A port found free can be taken by another test before node binds it; a provider
        // that exits at start-up (EADDRINUSE) is started again on another port.
        for _ in 0..5 {
            let port = free_port();
            let script = super::ferry::repo().join("tests/support/peers/oidc-provider.mjs");
            let child = Command::new("node")
                .arg(script)
                .env("OIDC_PROVIDER_DIR", &dir)
                .env("OIDC_PORT", port.to_string())
                .env("OIDC_CLIENTS", clients.to_string())
                .env("OIDC_ACCOUNTS", accounts().to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start node");
            let mut provider = Self {
                child,
                issuer: format!("http://127.0.0.1:{port}"),
            };
            if provider.wait_ready().await {
                return Some(provider);
            }
        }
        panic!("oidc-provider did not start in five tries");
    }

    /// Whether the provider answers discovery and is still running (not another test's
    /// provider answering on a port ours could not bind). One that has not answered in 30 s
    /// is given up (and stopped when dropped), and the caller starts another.
    async fn wait_ready(&mut self) -> bool {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("HTTP client");
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let answer = client.get(&url).send().await;
            if answer.is_ok_and(|r| r.status() == 200) {
                tokio::time::sleep(Duration::from_millis(300)).await;
                return matches!(self.child.try_wait(), Ok(None));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("oidc-provider did not answer within 30 s; starting another");
        false
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn accounts() -> Json {
    let mut all = serde_json::Map::new();
    for a in [ALICE, BOB] {
        let (given, family) = match a.login {
            "alice" => ("Alice", "Liddell"),
            _ => ("Bob", "Builder"),
        };
        all.insert(
            a.login.into(),
            json!({
                "sub": a.sub, "password": a.password,
                "claims": {
                    "email": a.email, "email_verified": a.email_verified,
                    "given_name": given, "family_name": family,
                    "name": format!("{given} {family}"), "groups": ["staff"]
                }
            }),
        );
    }
    Json::Object(all)
}

/// Installs the package into the peers folder if missing; returns the folder.
fn install() -> Result<PathBuf, String> {
    let _guard = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = peers_home().join("oidc-provider");
    let marker = dir.join("node_modules/oidc-provider/package.json");
    if marker.exists() {
        return Ok(dir);
    }
    for program in ["node", "npm"] {
        if !on_path(program) {
            return Err(format!(
                "`{program}` is not on the PATH (.ci/run installs it)"
            ));
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let package = dir.join("package.json");
    if !package.exists() {
        std::fs::write(
            &package,
            r#"{"name":"ferry-peer-oidc-provider","private":true}"#,
        )
        .map_err(|e| e.to_string())?;
    }
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
        .arg(format!("oidc-provider@{VERSION}"))
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("npm did not run: {e}"))?;
    if status.success() && marker.exists() {
        Ok(dir)
    } else {
        Err(format!(
            "`npm install oidc-provider@{VERSION}` failed ({status})"
        ))
    }
}

/// A user agent with a cookie jar that follows the provider's redirects by hand.
#[derive(Default)]
pub struct Browser {
    cookies: Vec<(String, String)>,
}

/// Where a sign-in at the provider ended.
#[derive(Debug)]
pub enum Landing {
    /// Redirected to this URL (the callback, with its query).
    Redirect(String),
    /// An auto-submitting form to `action` with these fields (`form_post`).
    Form {
        /// Where the form posts.
        action: String,
        /// Its fields.
        fields: Vec<(String, String)>,
    },
    /// The provider refused the login form with this status.
    Refused(u16),
}

impl Browser {
    /// Opens `url` (the authorization request), signs in as `login`, and returns where
    /// the provider sends the browser back. `cancel` aborts at the login form instead.
    pub async fn sign_in(
        &mut self,
        url: &str,
        login: &str,
        password: &str,
        cancel: bool,
    ) -> Landing {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let origin = origin(url);
        let mut next = url.to_owned();
        let mut signed_in = false;
        for _ in 0..10 {
            let response = self.get(&client, &next).await;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(|l| absolute(&origin, l));
            let body = response.text().await.unwrap_or_default();
            let Some(location) = location else {
                return form_landing(&body)
                    .unwrap_or_else(|| panic!("no redirect ({status}): {body}"));
            };
            if !location.starts_with(&origin) {
                return Landing::Redirect(location);
            }
            if location.contains("/interaction/") && !signed_in {
                if cancel {
                    next = format!("{location}/abort");
                    continue;
                }
                let (status, after) = self.login(&client, &location, login, password).await;
                match after {
                    Some(after) => next = absolute(&origin, &after),
                    None => return Landing::Refused(status),
                }
                signed_in = true;
                continue;
            }
            next = location;
        }
        panic!("too many redirects at the provider");
    }

    async fn get(&mut self, client: &reqwest::Client, url: &str) -> reqwest::Response {
        let response = client
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("provider request");
        self.keep(&response);
        response
    }

    async fn login(
        &mut self,
        client: &reqwest::Client,
        interaction: &str,
        login: &str,
        password: &str,
    ) -> (u16, Option<String>) {
        let response = client
            .post(format!("{interaction}/login"))
            .header("cookie", self.cookie_header())
            .form(&[("login", login), ("password", password)])
            .send()
            .await
            .expect("login form");
        self.keep(&response);
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, location)
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let Some(pair) = value.to_str().ok().and_then(|v| v.split(';').next()) else {
                continue;
            };
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(n, _)| n != name);
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn origin(url: &str) -> String {
    let parsed = reqwest::Url::parse(url).expect("url");
    parsed.origin().ascii_serialization()
}

fn absolute(origin: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else {
        format!("{origin}{location}")
    }
}

/// Reads an auto-submitting `form_post` page: its action and hidden fields.
fn form_landing(html: &str) -> Option<Landing> {
    let action = attribute(html.split("<form").nth(1)?, "action")?;
    let fields = html
        .split("<input")
        .skip(1)
        .filter_map(|input| Some((attribute(input, "name")?, attribute(input, "value")?)))
        .collect();
    Some(Landing::Form { action, fields })
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[start..].find('"')? + start;
    Some(
        tag[start..end]
            .replace("&amp;", "&")
            .replace("&quot;", "\"")
            .replace("&#x2F;", "/")
            .replace("&#x3D;", "="),
    )
}
