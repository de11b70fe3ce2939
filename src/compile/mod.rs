//! The compiler: AST to IR. Runs every rule, refuses a journey with errors, resolves names
//! to indices and compiles expressions once. Never reaches the network, a store or the runtime.

pub mod ir;

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::diag::{Code, Diagnostic};
use crate::expr::ExprSet;
use crate::providers::Provider;
use crate::rules;
use crate::syntax;
use crate::syntax::ast::{self, ELSE};
use crate::syntax::source::{SourceFile, Span};
use ir::{ExprId, IdpId, JourneyDef, StepId};

/// A journey that compiled, with the warnings found on the way.
#[derive(Debug)]
pub struct Compiled {
    /// The runnable journey.
    pub journey: Arc<ir::Journey>,
    /// Findings below error level.
    pub warnings: Vec<Diagnostic>,
}

/// Reads, checks and compiles a journey file in either spelling.
pub fn compile_source(file: &Arc<SourceFile>) -> Result<Compiled, Vec<Diagnostic>> {
    compile_source_with(file, &rules::Options::default())
}

/// Reads, checks with the given rule options, and compiles a journey file.
pub fn compile_source_with(
    file: &Arc<SourceFile>,
    options: &rules::Options,
) -> Result<Compiled, Vec<Diagnostic>> {
    let journey = syntax::parse(file)?;
    compile_with(&journey, file.text(), options)
}

/// Checks a journey's AST with every rule and, if no error is found, builds its IR.
pub fn compile(journey: &ast::Journey, source_text: &str) -> Result<Compiled, Vec<Diagnostic>> {
    compile_with(journey, source_text, &rules::Options::default())
}

/// Everything the compiler would report about a journey, without building what it would
/// run: every rule, then the name resolution of lowering. What `ferry lint` needs.
pub fn check_with(journey: &ast::Journey, options: &rules::Options) -> Vec<Diagnostic> {
    let mut diagnostics = rules::check_with(journey, options);
    if !diagnostics.iter().any(Diagnostic::is_error)
        && let Err(d) = lower(journey)
    {
        diagnostics.push(d);
    }
    diagnostics
}

/// [`compile`] with rule levels, acknowledgements and deployment facts.
pub fn compile_with(
    journey: &ast::Journey,
    source_text: &str,
    options: &rules::Options,
) -> Result<Compiled, Vec<Diagnostic>> {
    let diagnostics = rules::check_with(journey, options);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    let def = lower(journey).map_err(|d| vec![d])?;
    let exprs = ExprSet::compile(&def.expressions).map_err(|e| {
        vec![Diagnostic::new(
            Code::ExpressionSyntax,
            Span::default(),
            e.to_string(),
        )]
    })?;
    let version = version_of(source_text);
    Ok(Compiled {
        journey: Arc::new(ir::Journey {
            def,
            exprs,
            version,
        }),
        warnings: diagnostics,
    })
}

/// Builds the IR of an AST that passed the rules.
pub fn lower(journey: &ast::Journey) -> Result<JourneyDef, Diagnostic> {
    Lowering::new(journey).run()
}

fn version_of(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

struct Lowering<'a> {
    journey: &'a ast::Journey,
    steps: HashMap<&'a str, StepId>,
    idps: HashMap<&'a str, IdpId>,
    expressions: Vec<String>,
}

impl<'a> Lowering<'a> {
    fn new(journey: &'a ast::Journey) -> Self {
        let steps = journey
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.value.as_str(), StepId(i as u32)));
        let idps = journey
            .idps
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.value.as_str(), IdpId(i as u32)));
        Self {
            journey,
            steps: steps.collect(),
            idps: idps.collect(),
            expressions: Vec::new(),
        }
    }

    fn run(mut self) -> Result<JourneyDef, Diagnostic> {
        let j = self.journey;
        let idps = j.idps.iter().map(idp).collect::<Result<_, _>>()?;
        let start = self.step_id(&j.start.value, j.start.span)?;
        let steps = j
            .steps
            .iter()
            .map(|s| self.step(s))
            .collect::<Result<_, _>>()?;
        Ok(JourneyDef {
            id: j.id.value.clone(),
            description: j.description.as_ref().map(|d| d.value.clone()),
            normalization: j.identifiers.as_ref().map(|n| n.value).unwrap_or_default(),
            idps,
            start,
            steps,
            expressions: self.expressions,
        })
    }

    fn step(&mut self, step: &ast::Step) -> Result<ir::Step, Diagnostic> {
        let kind = self.kind(&step.kind.value, step.kind.span)?;
        let kind = match kind {
            ir::StepKind::RegisterAuthenticator {
                offer,
                policy,
                prompt,
                title,
            } if prompt.is_empty() => ir::StepKind::RegisterAuthenticator {
                offer,
                policy,
                prompt: step.id.value.clone(),
                title,
            },
            kind => kind,
        };
        let mut edges = Vec::new();
        let mut otherwise = None;
        for edge in &step.on {
            let target = self.step_id(&edge.target.value, edge.target.span)?;
            match edge.outcome.value.as_str() {
                ELSE => otherwise = Some(target),
                outcome => edges.push((outcome.to_owned(), target)),
            }
        }
        Ok(ir::Step {
            name: step.id.value.clone(),
            description: step.description.as_ref().map(|d| d.value.clone()),
            kind,
            edges,
            otherwise,
        })
    }

    fn kind(&mut self, kind: &ast::StepKind, span: Span) -> Result<ir::StepKind, Diagnostic> {
        use ast::StepKind as A;
        use ir::StepKind as I;
        Ok(match kind {
            A::Prompt(p) => I::Prompt {
                title: p.title.as_ref().map(|t| t.value.clone()),
                fields: p.fields.iter().map(field).collect(),
            },
            A::FindUser { identifier } => I::FindUser {
                identifier: self.expr(identifier),
            },
            A::CheckPassword { password } => I::CheckPassword {
                password: self.expr(password),
            },
            A::LegacyPassword {
                idp,
                username,
                password,
            } => I::LegacyPassword {
                idp: *self
                    .idps
                    .get(idp.value.as_str())
                    .ok_or_else(|| internal(span, "IDP"))?,
                username: self.expr(username),
                password: self.expr(password),
            },
            A::LegacyOtp {
                idp,
                channel,
                username,
                title,
            } => I::LegacyOtp {
                idp: self.idp_id(idp, span)?,
                channel: channel.value,
                username: username.as_ref().map(|e| self.expr(e)),
                title: title.as_ref().map(|t| t.value.clone()),
            },
            A::LegacyTotp {
                idp,
                username,
                code,
                password,
            } => I::LegacyTotp {
                idp: self.idp_id(idp, span)?,
                username: self.expr(username),
                code: self.expr(code),
                password: password.as_ref().map(|e| self.expr(e)),
            },
            A::LegacyRedirect { idp } => I::LegacyRedirect {
                idp: self.idp_id(idp, span)?,
            },
            A::CheckTotp { code } => I::CheckTotp {
                code: self.expr(code),
            },
            A::CheckPasskey { title } => I::CheckPasskey {
                title: title.as_ref().map(|t| t.value.clone()),
            },
            A::RegisterAuthenticator(r) => I::RegisterAuthenticator {
                offer: r.offer.iter().map(|o| o.value).collect(),
                policy: r.policy.value,
                prompt: r
                    .prompt
                    .as_ref()
                    .map(|p| p.value.clone())
                    .unwrap_or_default(),
                title: r.title.as_ref().map(|t| t.value.clone()),
            },
            A::LocalOtp {
                channel,
                attribute,
                title,
            } => I::LocalOtp {
                channel: channel.value,
                attribute: attribute.as_ref().map_or_else(
                    || default_attribute(channel.value).to_owned(),
                    |a| a.value.clone(),
                ),
                title: title.as_ref().map(|t| t.value.clone()),
            },
            A::SaveUser(s) => I::SaveUser {
                identifier: self.expr(&s.identifier),
                attributes: s
                    .attributes
                    .iter()
                    .map(|(n, e)| (n.value.clone(), self.expr(e)))
                    .collect(),
                password: s.password.as_ref().map(|e| self.expr(e)),
                on_conflict: s.on_conflict.as_ref().map(|c| c.value).unwrap_or_default(),
            },
            A::Branch { cases } => I::Branch {
                cases: cases
                    .iter()
                    .map(|(n, e)| (n.value.clone(), self.expr(e)))
                    .collect(),
            },
            A::Complete => I::Complete,
            A::Fail { reason, message } => I::Fail {
                reason: reason.value,
                message: message.as_ref().map(|m| m.value.clone()),
            },
        })
    }

    fn idp_id(
        &self,
        idp: &crate::syntax::source::Spanned<String>,
        span: Span,
    ) -> Result<IdpId, Diagnostic> {
        self.idps
            .get(idp.value.as_str())
            .copied()
            .ok_or_else(|| internal(span, "IDP"))
    }

    fn expr(&mut self, expr: &ast::Expr) -> ExprId {
        self.expressions.push(expr.source.clone());
        ExprId(self.expressions.len() as u32 - 1)
    }

    fn step_id(&self, name: &str, span: Span) -> Result<StepId, Diagnostic> {
        self.steps
            .get(name)
            .copied()
            .ok_or_else(|| internal(span, "step"))
    }
}

fn idp(decl: &ast::IdpDecl) -> Result<ir::Idp, Diagnostic> {
    let provider = Provider::parse(&decl.provider.value)
        .ok_or_else(|| internal(decl.provider.span, "provider"))?;
    Ok(ir::Idp {
        name: decl.name.value.clone(),
        provider,
    })
}

/// The user attribute a `local_otp` step sends to when the journey does not say.
pub fn default_attribute(channel: ast::CodeChannel) -> &'static str {
    match channel {
        ast::CodeChannel::Email => "email",
        ast::CodeChannel::Sms => "phone_number",
    }
}

fn field(f: &ast::Field) -> ir::Field {
    ir::Field {
        name: f.name.value.clone(),
        kind: f.kind.value,
        label: f.label.as_ref().map(|l| l.value.clone()),
        optional: f.optional,
    }
}

/// A name the rules should have refused; reported rather than trusted.
fn internal(span: Span, what: &str) -> Diagnostic {
    let code = match what {
        "step" => Code::UnknownStep,
        "IDP" => Code::UnknownIdp,
        _ => Code::UnsupportedMethod,
    };
    Diagnostic::new(code, span, format!("unresolved {what} name"))
}
