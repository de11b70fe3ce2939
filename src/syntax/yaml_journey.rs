//! The YAML spelling of a journey: the spanned YAML tree, already checked against the schema,
//! lowered into the AST.

use super::ast::{
    Acknowledgement, Authenticator, CodeChannel, ConflictPolicy, Deferral, Edge, Expr, FailReason,
    Field, FieldKind, IdpDecl, Journey, Normalization, Prompt, Register, RegisterPolicy,
    STEP_KEYWORDS, SaveUser, Step, StepKind,
};
use super::source::{SourceFile, Span, Spanned};
use super::yaml::{Key, Node, Value};
use crate::diag::{Code, Diagnostic};

/// Lowers a schema-valid journey document. Problems the schema cannot see (a step with no
/// kind or two) come back as diagnostics; so does any shape the schema should have refused.
pub fn lower(file: &SourceFile, root: &Node) -> Result<Journey, Vec<Diagnostic>> {
    let mut cx = Lowering {
        file,
        errors: Vec::new(),
    };
    let journey = cx.journey(root);
    match journey {
        Some(j) if cx.errors.is_empty() => Ok(j),
        _ => Err(cx.errors),
    }
}

struct Lowering<'a> {
    file: &'a SourceFile,
    errors: Vec<Diagnostic>,
}

impl Lowering<'_> {
    fn journey(&mut self, root: &Node) -> Option<Journey> {
        let id = self.string(root, "journey")?;
        let description = self.optional_string(root, "description");
        let identifiers = root.get("identifiers").map(|n| self.normalization(n));
        let idps = self.idps(root);
        let start = self.string(root, "start")?;
        let steps = self
            .entries(root, "steps")
            .iter()
            .filter_map(|(k, v)| self.step(k, v))
            .collect();
        let acknowledgements = self.acknowledgements(root);
        Some(Journey {
            id,
            description,
            identifiers,
            idps,
            start,
            steps,
            acknowledgements,
        })
    }

    fn acknowledgements(&mut self, root: &Node) -> Vec<Acknowledgement> {
        let entries = self.entries(root, "acknowledge");
        entries
            .iter()
            .filter_map(|(key, node)| {
                Some(Acknowledgement {
                    rule: name(key),
                    reason: self.string_node(node)?,
                })
            })
            .collect()
    }

    fn normalization(&mut self, node: &Node) -> Spanned<Normalization> {
        let flag = |key: &str| match node.get(key).map(|n| &n.value) {
            Some(Value::Bool(b)) => *b,
            _ => true,
        };
        let value = Normalization {
            trim: flag("trim"),
            nfc: flag("nfc"),
            lowercase: flag("lowercase"),
        };
        Spanned::new(value, node.span)
    }

    fn idps(&mut self, root: &Node) -> Vec<IdpDecl> {
        let entries = self.entries(root, "idps");
        entries
            .iter()
            .filter_map(|(key, node)| {
                let provider = self.string(node, "provider")?;
                Some(IdpDecl {
                    name: name(key),
                    provider,
                })
            })
            .collect()
    }

    fn step(&mut self, key: &Key, node: &Node) -> Option<Step> {
        let kind = self.step_kind(key, node)?;
        let on = self
            .entries(node, "on")
            .iter()
            .filter_map(|(outcome, target)| {
                let target = self.string_node(target)?;
                Some(Edge {
                    outcome: name(outcome),
                    target,
                })
            })
            .collect();
        let description = self.optional_string(node, "description");
        let span = Span::new(key.span.start, node.span.end);
        Some(Step {
            id: name(key),
            description,
            kind,
            on,
            span,
        })
    }

    fn step_kind(&mut self, key: &Key, node: &Node) -> Option<Spanned<StepKind>> {
        let entries = node.as_map().unwrap_or_default();
        let kinds: Vec<&(Key, Node)> = entries
            .iter()
            .filter(|(k, _)| STEP_KEYWORDS.contains(&k.name.as_str()))
            .collect();
        let (kind_key, settings) = match kinds.as_slice() {
            [one] => (&one.0, &one.1),
            [] => {
                self.errors.push(missing_kind(key));
                return None;
            }
            [_, second, ..] => {
                self.errors.push(two_kinds(key, &second.0));
                return None;
            }
        };
        let kind = self.settings(kind_key, settings)?;
        Some(Spanned::new(kind, kind_key.span))
    }

    fn settings(&mut self, kind: &Key, node: &Node) -> Option<StepKind> {
        Some(match kind.name.as_str() {
            "prompt" => StepKind::Prompt(self.prompt(node)),
            "find_user" => StepKind::FindUser {
                identifier: self.expr(node, "identifier")?,
            },
            "check_password" => StepKind::CheckPassword {
                password: self.expr(node, "password")?,
            },
            "legacy_password" => StepKind::LegacyPassword {
                idp: self.string(node, "idp")?,
                username: self.expr(node, "username")?,
                password: self.expr(node, "password")?,
            },
            "legacy_otp" => StepKind::LegacyOtp {
                idp: self.string(node, "idp")?,
                channel: {
                    let n = self.required(node, "channel")?;
                    self.parse_enum(n, n.as_str().unwrap_or_default(), CodeChannel::parse)?
                },
                username: node.get("username").and_then(|n| self.expr_node(n)),
                title: self.optional_string(node, "title"),
            },
            "legacy_totp" => StepKind::LegacyTotp {
                idp: self.string(node, "idp")?,
                username: self.expr(node, "username")?,
                code: self.expr(node, "code")?,
                password: node.get("password").and_then(|n| self.expr_node(n)),
            },
            "legacy_redirect" => StepKind::LegacyRedirect {
                idp: self.string(node, "idp")?,
            },
            "check_totp" => StepKind::CheckTotp {
                code: self.expr(node, "code")?,
            },
            "check_passkey" => StepKind::CheckPasskey {
                title: self.optional_string(node, "title"),
            },
            "register_authenticator" => StepKind::RegisterAuthenticator(self.register(node)?),
            "local_otp" => StepKind::LocalOtp {
                channel: {
                    let n = self.required(node, "channel")?;
                    self.parse_enum(n, n.as_str().unwrap_or_default(), CodeChannel::parse)?
                },
                attribute: self.optional_string(node, "attribute"),
                title: self.optional_string(node, "title"),
            },
            "save_user" => StepKind::SaveUser(self.save_user(node)?),
            "branch" => StepKind::Branch {
                cases: self.expr_map(node),
            },
            "complete" => StepKind::Complete,
            "fail" => self.fail(node)?,
            _ => return None,
        })
    }

    fn prompt(&mut self, node: &Node) -> Prompt {
        let title = self.optional_string(node, "title");
        let fields = self
            .entries(node, "fields")
            .iter()
            .filter_map(|(k, v)| self.field(k, v))
            .collect();
        Prompt { title, fields }
    }

    fn field(&mut self, key: &Key, node: &Node) -> Option<Field> {
        if let Some(text) = node.as_str() {
            let kind = self.parse_enum(node, text, FieldKind::parse)?;
            return Some(Field {
                name: name(key),
                kind,
                label: None,
                optional: false,
            });
        }
        let type_node = self.required(node, "type")?;
        let kind = self.parse_enum(
            type_node,
            type_node.as_str().unwrap_or_default(),
            FieldKind::parse,
        )?;
        let label = self.optional_string(node, "label");
        let optional = matches!(
            node.get("optional").map(|n| &n.value),
            Some(Value::Bool(true))
        );
        Some(Field {
            name: name(key),
            kind,
            label,
            optional,
        })
    }

    fn save_user(&mut self, node: &Node) -> Option<SaveUser> {
        let identifier = self.expr(node, "identifier")?;
        let attributes = node
            .get("attributes")
            .map(|n| self.expr_map(n))
            .unwrap_or_default();
        let password = node.get("password").and_then(|n| self.expr_node(n));
        let on_conflict = match node.get("on_conflict") {
            Some(n) => {
                Some(self.parse_enum(n, n.as_str().unwrap_or_default(), ConflictPolicy::parse)?)
            }
            None => None,
        };
        Some(SaveUser {
            identifier,
            attributes,
            password,
            on_conflict,
        })
    }

    fn register(&mut self, node: &Node) -> Option<Register> {
        let offer_node = self.required(node, "offer")?;
        let items = match &offer_node.value {
            Value::Seq(items) => items.as_slice(),
            _ => std::slice::from_ref(offer_node),
        };
        let offer = items
            .iter()
            .filter_map(|n| {
                self.parse_enum(n, n.as_str().unwrap_or_default(), Authenticator::parse)
            })
            .collect();
        let policy_node = self.required(node, "policy")?;
        let policy = self.policy(policy_node)?;
        Some(Register {
            offer,
            policy,
            prompt: self.optional_string(node, "prompt"),
            title: self.optional_string(node, "title"),
        })
    }

    fn policy(&mut self, node: &Node) -> Option<Spanned<RegisterPolicy>> {
        let policy = match node.as_str() {
            Some("required") => RegisterPolicy::Required,
            Some("optional") => RegisterPolicy::Optional,
            _ => RegisterPolicy::Deferred(self.deferral(node.get("deferred")?)?),
        };
        Some(Spanned::new(policy, node.span))
    }

    fn deferral(&mut self, node: &Node) -> Option<Deferral> {
        let count = |key: &str| match node.get(key).map(|n| &n.value) {
            Some(Value::Int(n)) => u32::try_from(*n).ok(),
            _ => None,
        };
        let until = match node.get("until") {
            Some(n) => {
                let text = n.as_str().unwrap_or_default();
                match crate::syntax::register::date_ms(text) {
                    Some(ms) => Some(ms),
                    None => {
                        self.errors.push(bad_date(n, text));
                        return None;
                    }
                }
            }
            None => None,
        };
        let deferral = Deferral {
            max_skips: count("max_skips"),
            until,
            every_days: count("every_days"),
        };
        if deferral == Deferral::default() {
            self.errors.push(
                Diagnostic::new(Code::RegisterPolicy, node.span, "a deferral without limits")
                    .with_help("set `max_skips`, `until` or `every_days`"),
            );
            return None;
        }
        Some(deferral)
    }

    fn fail(&mut self, node: &Node) -> Option<StepKind> {
        let reason_node = self.required(node, "reason")?;
        let reason = self.parse_enum(
            reason_node,
            reason_node.as_str().unwrap_or_default(),
            FailReason::parse,
        )?;
        let message = self.optional_string(node, "message");
        Some(StepKind::Fail { reason, message })
    }

    fn expr_map(&mut self, node: &Node) -> Vec<(Spanned<String>, Expr)> {
        let entries = node.as_map().unwrap_or_default();
        entries
            .iter()
            .filter_map(|(k, v)| Some((name(k), self.expr_node(v)?)))
            .collect()
    }

    fn expr(&mut self, node: &Node, key: &str) -> Option<Expr> {
        let value = self.required(node, key)?;
        self.expr_node(value)
    }

    fn expr_node(&mut self, node: &Node) -> Option<Expr> {
        let text = self.string_node(node)?;
        let span = inner_span(self.file, node.span, &text.value);
        Some(Expr {
            source: text.value,
            span,
        })
    }

    fn parse_enum<T>(
        &mut self,
        node: &Node,
        text: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Option<Spanned<T>> {
        match parse(text) {
            Some(value) => Some(Spanned::new(value, node.span)),
            None => {
                self.errors.push(Diagnostic::new(
                    Code::Schema,
                    node.span,
                    format!("`{text}` is not allowed here"),
                ));
                None
            }
        }
    }

    fn entries<'n>(&mut self, node: &'n Node, key: &str) -> &'n [(Key, Node)] {
        node.get(key).and_then(Node::as_map).unwrap_or_default()
    }

    fn required<'n>(&mut self, node: &'n Node, key: &str) -> Option<&'n Node> {
        let found = node.get(key);
        if found.is_none() {
            self.errors.push(Diagnostic::new(
                Code::Schema,
                node.span,
                format!("missing `{key}`"),
            ));
        }
        found
    }

    fn string(&mut self, node: &Node, key: &str) -> Option<Spanned<String>> {
        let value = self.required(node, key)?;
        self.string_node(value)
    }

    fn optional_string(&mut self, node: &Node, key: &str) -> Option<Spanned<String>> {
        node.get(key).and_then(|n| self.string_node(n))
    }

    fn string_node(&mut self, node: &Node) -> Option<Spanned<String>> {
        match node.as_str() {
            Some(s) => Some(Spanned::new(s.to_owned(), node.span)),
            None => {
                let message = format!("expected a string, found {}", node.type_name());
                self.errors
                    .push(Diagnostic::new(Code::Schema, node.span, message));
                None
            }
        }
    }
}

fn name(key: &Key) -> Spanned<String> {
    Spanned::new(key.name.clone(), key.span)
}

fn bad_date(node: &Node, text: &str) -> Diagnostic {
    Diagnostic::new(
        Code::RegisterPolicy,
        node.span,
        format!("`{text}` is not a date"),
    )
    .with_help("write the date as `YYYY-MM-DD`; the prompt may be skipped until its midnight UTC")
}

fn missing_kind(step: &Key) -> Diagnostic {
    Diagnostic::new(
        Code::StepKind,
        step.span,
        format!("step `{}` has no kind", step.name),
    )
    .with_help(format!("give it one of: {}", STEP_KEYWORDS.join(", ")))
}

fn two_kinds(step: &Key, second: &Key) -> Diagnostic {
    Diagnostic::new(
        Code::StepKind,
        second.span,
        format!("step `{}` has more than one kind", step.name),
    )
    .with_label("second kind here")
    .with_help("a step does one thing; split it into two steps joined by an outcome")
}

/// The span of a string's content: inside the quotes when the text was quoted, the whole
/// scalar when escapes or folding make the two differ.
fn inner_span(file: &SourceFile, span: Span, value: &str) -> Span {
    let raw = file.slice(span);
    if raw == value {
        return span;
    }
    let quoted = raw.len() >= 2 && (raw.starts_with('"') || raw.starts_with('\''));
    if quoted && raw.get(1..raw.len() - 1) == Some(value) {
        return span.sub(1, raw.len() - 1);
    }
    span
}
