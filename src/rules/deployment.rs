//! What `ferry.yaml` says about each IDP that rules need: the URLs it talks to and the
//! password API chosen. Read from the raw settings, without resolving `${NAME}` references,
//! so linting never needs the deployment's secrets.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::config::Config;
use crate::syntax::source::SourceFile;
use crate::syntax::yaml::{Node, Value};

/// The IDP settings of one deployment, by IDP name.
#[derive(Clone, Debug, Default)]
pub struct Deployment {
    /// Each configured IDP.
    pub idps: HashMap<String, IdpSettings>,
}

/// What rules need of one IDP's settings.
#[derive(Clone, Debug, Default)]
pub struct IdpSettings {
    /// Every setting whose value is an `http://` or `https://` URL, `issuer` aside (it names
    /// the provider; nothing is sent to it).
    pub urls: Vec<SettingUrl>,
    /// `password_api`, where the connector offers a choice (Okta: `authn` or `token`).
    pub password_api: Option<String>,
}

/// A URL-valued setting.
#[derive(Clone, Debug)]
pub struct SettingUrl {
    /// The setting's path under the IDP, such as `token_endpoint`.
    pub key: String,
    /// The value as written (references unresolved).
    pub value: String,
    /// `file:line:col` of the value.
    pub at: String,
}

impl Deployment {
    /// Reads the IDP settings of a loaded configuration.
    pub fn from_config(config: &Config) -> Self {
        let fallback = SourceFile::new("ferry.yaml", "");
        let file = config.file.as_ref().unwrap_or(&fallback);
        let idps = config
            .idps
            .iter()
            .map(|(name, node)| (name.clone(), IdpSettings::read(file, node)))
            .collect();
        Self { idps }
    }
}

impl IdpSettings {
    fn read(file: &SourceFile, node: &Node) -> Self {
        let mut settings = Self {
            password_api: node
                .get("password_api")
                .and_then(Node::as_str)
                .map(str::to_owned),
            ..Self::default()
        };
        settings.collect_urls(file, node, "");
        settings
    }

    fn collect_urls(&mut self, file: &SourceFile, node: &Node, path: &str) {
        match &node.value {
            Value::String(s) if is_url(s) && path != "issuer" => {
                let at = file.line_col(node.span.start);
                self.urls.push(SettingUrl {
                    key: path.to_owned(),
                    value: s.clone(),
                    at: format!("{}:{}:{}", file.name(), at.line, at.column),
                });
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    let child = if path.is_empty() {
                        k.name.clone()
                    } else {
                        format!("{path}.{}", k.name)
                    };
                    self.collect_urls(file, v, &child);
                }
            }
            Value::Seq(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.collect_urls(file, v, &format!("{path}[{i}]"));
                }
            }
            _ => {}
        }
    }
}

fn is_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

impl SettingUrl {
    /// Whether the URL is plain HTTP to a host that is not provably this machine (a host
    /// given by a `${NAME}` reference counts as not provably local).
    pub fn is_plain_http_off_host(&self) -> bool {
        let Some(rest) = strip_prefix_ignore_case(&self.value, "http://") else {
            return false;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host_port = authority.rsplit('@').next().unwrap_or_default();
        let host = match host_port.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => host_port.split(':').next().unwrap_or_default(),
        };
        !is_loopback(host)
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(value: &str) -> SettingUrl {
        SettingUrl {
            key: "token_endpoint".into(),
            value: value.into(),
            at: String::new(),
        }
    }

    #[test]
    fn plain_http_is_flagged_unless_the_host_is_loopback() {
        assert!(url("http://idp.example.com/token").is_plain_http_off_host());
        assert!(url("HTTP://10.0.0.5:8080/token").is_plain_http_off_host());
        assert!(url("http://${LEGACY_HOST}/token").is_plain_http_off_host());
        assert!(!url("https://idp.example.com/token").is_plain_http_off_host());
        assert!(!url("http://127.0.0.1:${PORT}/token").is_plain_http_off_host());
        assert!(!url("http://localhost/token").is_plain_http_off_host());
        assert!(!url("http://[::1]:9000/token").is_plain_http_off_host());
        assert!(!url("http://user@127.0.0.2/x").is_plain_http_off_host());
    }
}
