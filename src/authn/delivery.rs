//! Sending one-time codes: email through SMTP (lettre), SMS through an HTTP gateway whose
//! request is shaped by the configuration. Plain SMTP and plain HTTP are refused except to
//! loopback addresses. Codes never reach a log line or an error message.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value as Json;

use super::settings::{EmailSettings, SmsSettings, SmtpSecurity};
use crate::secret::Secret;

/// Why a code could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The settings cannot work.
    #[error("{0}")]
    Setup(&'static str),
    /// The recipient's address cannot be used.
    #[error("the recipient address is not usable")]
    Address,
    /// The SMTP server refused or could not be reached.
    #[error("the SMTP server did not take the message")]
    Smtp(#[source] lettre::transport::smtp::Error),
    /// The message could not be built.
    #[error("the email could not be built")]
    Message(#[source] lettre::error::Error),
    /// The SMS gateway could not be reached.
    #[error("the SMS gateway could not be reached")]
    Http(#[source] reqwest::Error),
    /// The SMS gateway answered with an error status.
    #[error("the SMS gateway answered {status}")]
    Refused {
        /// The HTTP status.
        status: u16,
    },
}

/// Email codes by SMTP.
pub struct EmailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    settings: EmailSettings,
}

impl std::fmt::Debug for EmailSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSender")
            .field("host", &self.settings.host)
            .finish_non_exhaustive()
    }
}

impl EmailSender {
    /// Sets up the SMTP transport (no connection is made yet).
    pub fn new(settings: &EmailSettings) -> Result<Self, DeliveryError> {
        let host = settings.host.as_str();
        let builder = match settings.security {
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
            SmtpSecurity::None if is_loopback(host) => {
                Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(25))
            }
            SmtpSecurity::None => {
                return Err(DeliveryError::Setup(
                    "`authenticators.email.security: none` is allowed only to a loopback host",
                ));
            }
        }
        .map_err(DeliveryError::Smtp)?;
        let mut builder = builder.timeout(Some(Duration::from_secs(settings.timeout_seconds)));
        if let Some(port) = settings.port {
            builder = builder.port(port);
        }
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            let credentials = Credentials::new(user.clone(), password.expose().to_owned());
            builder = builder.credentials(credentials);
        }
        settings
            .from
            .parse::<lettre::message::Mailbox>()
            .map_err(|_| DeliveryError::Setup("`authenticators.email.from` is not an address"))?;
        Ok(Self {
            transport: builder.build(),
            settings: settings.clone(),
        })
    }

    /// Sends a code to an address.
    pub async fn send(&self, to: &str, code: &Secret, minutes: u64) -> Result<(), DeliveryError> {
        let from =
            self.settings.from.parse().map_err(|_| {
                DeliveryError::Setup("`authenticators.email.from` is not an address")
            })?;
        let to = to.parse().map_err(|_| DeliveryError::Address)?;
        let body = fill(&self.settings.body, code, minutes, "");
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(self.settings.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(DeliveryError::Message)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(DeliveryError::Smtp)
    }
}

/// SMS codes through an HTTP gateway.
#[derive(Debug)]
pub struct SmsSender {
    client: reqwest::Client,
    settings: SmsSettings,
}

impl SmsSender {
    /// Checks the settings and sets up the HTTP client.
    pub fn new(settings: &SmsSettings) -> Result<Self, DeliveryError> {
        let url = reqwest::Url::parse(&settings.url)
            .map_err(|_| DeliveryError::Setup("`authenticators.sms.url` is not a URL"))?;
        let secure = url.scheme() == "https"
            || (url.scheme() == "http" && url.host_str().is_some_and(is_loopback));
        if !secure {
            return Err(DeliveryError::Setup(
                "`authenticators.sms.url` must use https (http only to loopback addresses)",
            ));
        }
        if settings.json.is_some() == settings.form.is_some() {
            return Err(DeliveryError::Setup(
                "`authenticators.sms` needs exactly one of `json` and `form`",
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_seconds))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(DeliveryError::Http)?;
        Ok(Self {
            client,
            settings: settings.clone(),
        })
    }

    /// Sends a code to a phone number.
    pub async fn send(&self, to: &str, code: &Secret, minutes: u64) -> Result<(), DeliveryError> {
        if to.is_empty() || to.chars().any(char::is_control) {
            return Err(DeliveryError::Address);
        }
        let message = fill(&self.settings.message, code, minutes, to);
        let encoded: String = url::form_urlencoded::byte_serialize(to.as_bytes()).collect();
        let url = self.settings.url.replace("{{ to }}", &encoded);
        let mut request = self.client.post(url);
        for (name, value) in &self.settings.headers {
            request = request.header(name, value);
        }
        let minutes = minutes.to_string();
        let values = [
            ("code", code.expose()),
            ("minutes", minutes.as_str()),
            ("to", to),
            ("message", message.as_str()),
        ];
        let fill_all = |text: &str| substitute(text, &values);
        request = match (&self.settings.json, &self.settings.form) {
            (Some(json), _) => request.json(&map_strings(json, &fill_all)),
            (None, Some(form)) => {
                let pairs: Vec<(String, String)> =
                    form.iter().map(|(k, v)| (k.clone(), fill_all(v))).collect();
                request.form(&pairs)
            }
            (None, None) => request,
        };
        let answer = request.send().await.map_err(DeliveryError::Http)?;
        let status = answer.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(DeliveryError::Refused { status })
        }
    }
}

/// Replaces `{{ code }}`, `{{ minutes }}` and `{{ to }}` in a configured text.
fn fill(text: &str, code: &Secret, minutes: u64, to: &str) -> String {
    let minutes = minutes.to_string();
    substitute(
        text,
        &[
            ("code", code.expose()),
            ("minutes", minutes.as_str()),
            ("to", to),
        ],
    )
}

/// Replaces each `{{ name }}` of `values` in one pass over the configured text: what is
/// put in is never read again, so an address holding `{{ message }}` stays as it is.
fn substitute(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{ ") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let found = values.iter().find_map(|(name, value)| {
            let placeholder = format!("{{{{ {name} }}}}");
            after
                .starts_with(&placeholder)
                .then_some((placeholder.len(), *value))
        });
        match found {
            Some((len, value)) => {
                out.push_str(value);
                rest = &after[len..];
            }
            None => {
                out.push_str("{{ ");
                rest = &after[3..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A JSON value with every string passed through `f`.
fn map_strings(value: &Json, f: &dyn Fn(&str) -> String) -> Json {
    match value {
        Json::String(s) => Json::String(f(s)),
        Json::Array(items) => Json::Array(items.iter().map(|v| map_strings(v, f)).collect()),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), map_strings(v, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_put_in_are_never_substituted_again() {
        let values = [("to", "{{ message }}"), ("message", "code 123456")];
        assert_eq!(
            substitute("{{ to }}|{{ message }}|{{ other }}|{{", &values),
            "{{ message }}|code 123456|{{ other }}|{{"
        );
        let code = Secret::new("042042");
        assert_eq!(
            fill(
                "{{ code }} for {{ to }}, {{ minutes }} min",
                &code,
                5,
                "{{ code }}"
            ),
            "042042 for {{ code }}, 5 min"
        );
    }

    fn email(host: &str, security: SmtpSecurity) -> EmailSettings {
        EmailSettings {
            host: host.into(),
            port: Some(2525),
            security,
            username: None,
            password: None,
            from: "Ferry <noreply@ferry.test>".into(),
            subject: "Code".into(),
            body: "{{ code }}".into(),
            timeout_seconds: 5,
        }
    }

    #[test]
    fn plain_smtp_and_http_are_refused_off_loopback() {
        assert!(EmailSender::new(&email("127.0.0.1", SmtpSecurity::None)).is_ok());
        assert!(EmailSender::new(&email("mail.example.com", SmtpSecurity::None)).is_err());
        assert!(EmailSender::new(&email("mail.example.com", SmtpSecurity::Starttls)).is_ok());
        let sms = |url: &str| SmsSettings {
            url: url.into(),
            headers: Default::default(),
            json: Some(serde_json::json!({"to": "{{ to }}"})),
            form: None,
            message: "{{ code }}".into(),
            timeout_seconds: 5,
        };
        assert!(SmsSender::new(&sms("http://127.0.0.1:9/send")).is_ok());
        assert!(SmsSender::new(&sms("http://sms.example.com/send")).is_err());
        assert!(SmsSender::new(&sms("https://sms.example.com/send")).is_ok());
    }

    #[test]
    fn templates_fill_every_string_of_the_body() {
        let body = serde_json::json!({"to": "{{ to }}", "text": "{{ message }}", "n": 1,
            "list": ["{{ code }}"]});
        let code = Secret::new("123456");
        let message = fill("code {{ code }} for {{ minutes }} min", &code, 5, "");
        let filled = map_strings(&body, &|t| {
            fill(t, &code, 5, "+15550100").replace("{{ message }}", &message)
        });
        assert_eq!(
            filled,
            serde_json::json!({"to": "+15550100", "text": "code 123456 for 5 min", "n": 1,
                "list": ["123456"]})
        );
    }
}
