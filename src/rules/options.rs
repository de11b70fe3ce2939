//! What configuration changes about the rules: a severity per rule, and acknowledgements per
//! journey with a stated reason. Applied after the checks, so the rules never see it.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{Deployment, acknowledgement, rule};
use crate::diag::{AckSource, Acknowledged, Code, Diagnostic, Severity};
use crate::syntax::ast::Journey;

/// A rule's configured level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Report as an error: the journey is refused.
    Error,
    /// Report as a warning.
    Warning,
    /// Do not report.
    Off,
}

/// The `lint` section of `ferry.yaml`, as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LintSettings {
    /// A level per rule, by code (`J504`) or name (`password-grant`).
    pub rules: BTreeMap<String, Level>,
    /// Per journey id: the rules whose findings are accepted, each with the reason.
    pub acknowledge: BTreeMap<String, BTreeMap<String, String>>,
}

/// Why the `lint` settings cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// No rule has that code or name.
    #[error("`lint.{section}`: no rule is called `{rule}`")]
    UnknownRule {
        /// `rules` or `acknowledge.<journey>`.
        section: String,
        /// The name as written.
        rule: String,
    },
    /// The rule's findings are needed by the compiler.
    #[error("`lint.{section}`: rule `{rule}` cannot be configured, the compiler depends on it")]
    Fixed {
        /// `rules` or `acknowledge.<journey>`.
        section: String,
        /// The name as written.
        rule: String,
    },
    /// An acknowledgement without a reason.
    #[error("`lint.acknowledge.{journey}.{rule}`: say why the finding is accepted")]
    EmptyReason {
        /// The journey.
        journey: String,
        /// The rule as written.
        rule: String,
    },
}

/// Severities, acknowledgements and deployment facts for one lint run.
#[derive(Debug, Default)]
pub struct Options {
    levels: HashMap<Code, Level>,
    acknowledge: HashMap<String, Vec<(Code, String)>>,
    /// What `ferry.yaml` says about the IDPs, for the rules that need it.
    pub deployment: Option<Deployment>,
}

impl Options {
    /// Checks the settings against the rule registry.
    pub fn new(
        settings: &LintSettings,
        deployment: Option<Deployment>,
    ) -> Result<Self, OptionsError> {
        let mut levels = HashMap::new();
        for (name, level) in &settings.rules {
            levels.insert(configurable(name, "rules")?, *level);
        }
        let mut acknowledge = HashMap::new();
        for (journey, rules) in &settings.acknowledge {
            let section = format!("acknowledge.{journey}");
            let mut list = Vec::new();
            for (name, reason) in rules {
                if reason.trim().is_empty() {
                    return Err(OptionsError::EmptyReason {
                        journey: journey.clone(),
                        rule: name.clone(),
                    });
                }
                list.push((configurable(name, &section)?, reason.clone()));
            }
            acknowledge.insert(journey.clone(), list);
        }
        Ok(Self {
            levels,
            acknowledge,
            deployment,
        })
    }

    /// Applies levels and acknowledgements to one journey's findings, adding findings about
    /// the journey's own acknowledgements.
    pub fn apply(&self, journey: &Journey, found: Vec<Diagnostic>) -> Vec<Diagnostic> {
        let (inline, mut extra) = acknowledgement::resolve(journey);
        let configured = self.acknowledge.get(&journey.id.value);
        let mut used = vec![false; inline.len()];
        let mut out = Vec::with_capacity(found.len());
        for mut d in found {
            if let Some(i) = inline.iter().position(|a| a.0 == d.code) {
                used[i] = true;
                d.acknowledged = Some(Box::new(Acknowledged {
                    reason: inline[i].1.reason.value.clone(),
                    source: AckSource::Journey,
                }));
            } else if let Some((_, reason)) =
                configured.and_then(|list| list.iter().find(|(c, _)| *c == d.code))
            {
                d.acknowledged = Some(Box::new(Acknowledged {
                    reason: reason.clone(),
                    source: AckSource::Config,
                }));
            }
            out.push(d);
        }
        let unused = inline.iter().zip(&used).filter(|(_, u)| !**u);
        extra.extend(unused.map(|((code, ack), _)| acknowledgement::unused(*code, ack)));
        out.extend(extra);
        out.into_iter().filter_map(|d| self.level(d)).collect()
    }

    fn level(&self, mut d: Diagnostic) -> Option<Diagnostic> {
        match self.levels.get(&d.code) {
            Some(Level::Off) => return None,
            Some(Level::Error) => d.severity = Severity::Error,
            Some(Level::Warning) => d.severity = Severity::Warning,
            None => {}
        }
        Some(d)
    }
}

fn configurable(name: &str, section: &str) -> Result<Code, OptionsError> {
    let unknown = || OptionsError::UnknownRule {
        section: section.to_owned(),
        rule: name.to_owned(),
    };
    let code = Code::parse(name).ok_or_else(unknown)?;
    match rule(code) {
        Some(r) if r.configurable => Ok(code),
        Some(_) => Err(OptionsError::Fixed {
            section: section.to_owned(),
            rule: name.to_owned(),
        }),
        None => Err(unknown()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::source::SourceFile;

    const JOURNEY: &str = r#"journey: j
idps:
  legacy: { provider: keycloak }
ACKstart: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: check }
  check:
    legacy_password: { idp: legacy, username: input.identifier, password: input.password }
    on: { success: save, else: no }
  save:
    save_user: { identifier: input.identifier }
    on: { created: done, updated: done, conflict: no }
  done:
    complete: {}
  no:
    fail: { reason: denied }
"#;

    fn run(ack: &str, settings: &str) -> Vec<Diagnostic> {
        let text = JOURNEY.replace("ACK", ack);
        let journey = crate::syntax::parse_yaml(&SourceFile::new("j.yaml", text)).unwrap();
        let settings: LintSettings = serde_json::from_str(settings).unwrap();
        let options = Options::new(&settings, None).unwrap();
        crate::rules::check_with(&journey, &options)
    }

    #[test]
    fn the_journeys_own_acknowledgement_comes_before_configuration() {
        let inline = "acknowledge: { J504: inline reason }\n";
        let config = r#"{ "acknowledge": { "j": { "password-grant": "config reason" } } }"#;
        let found = run(inline, config);
        let ack = found[0].acknowledged.as_deref().unwrap();
        assert_eq!(
            (ack.reason.as_str(), ack.source),
            ("inline reason", AckSource::Journey)
        );

        let found = run("", config);
        let ack = found[0].acknowledged.as_deref().unwrap();
        assert_eq!(
            (ack.reason.as_str(), ack.source),
            ("config reason", AckSource::Config)
        );
    }

    #[test]
    fn levels_apply_to_findings_about_acknowledgements_too() {
        let stale = "acknowledge: { J505: stale }\n";
        let codes = |found: Vec<Diagnostic>| -> Vec<(Code, Severity)> {
            found
                .iter()
                .filter(|d| d.is_open())
                .map(|d| (d.code, d.severity))
                .collect()
        };
        let default = codes(run(stale, "{}"));
        assert_eq!(
            default,
            [
                (Code::UnusedAcknowledgement, Severity::Warning),
                (Code::PasswordGrant, Severity::Warning)
            ]
        );
        let raised = r#"{ "rules": { "J110": "error", "password-grant": "off" } }"#;
        assert_eq!(
            codes(run(stale, raised)),
            [(Code::UnusedAcknowledgement, Severity::Error)]
        );
    }

    #[test]
    fn settings_naming_no_rule_or_a_fixed_rule_are_refused() {
        let settings = |json: &str| serde_json::from_str::<LintSettings>(json).unwrap();
        let unknown = Options::new(&settings(r#"{ "rules": { "J999": "off" } }"#), None);
        assert!(matches!(unknown, Err(OptionsError::UnknownRule { .. })));
        let fixed = Options::new(&settings(r#"{ "rules": { "J101": "warning" } }"#), None);
        assert!(matches!(fixed, Err(OptionsError::Fixed { .. })));
        let empty = settings(r#"{ "acknowledge": { "j": { "J504": " " } } }"#);
        assert!(matches!(
            Options::new(&empty, None),
            Err(OptionsError::EmptyReason { .. })
        ));
    }
}
