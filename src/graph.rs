//! Pictures of a compiled journey: its state machine as Mermaid or Graphviz DOT text. Steps
//! are nodes labelled with their id and kind; edges carry the outcome. Steps where the session
//! waits for the user and steps that end the journey have shapes of their own. Uses only the
//! IR; never reaches the network, a store or the runtime.

use std::fmt::Write as _;

use crate::compile::ir::{JourneyDef, Step, StepKind};

/// How a step is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Runs and moves on.
    Plain,
    /// The session waits for the user.
    Waits,
    /// Ends with success.
    Completes,
    /// Ends with a failure.
    Fails,
}

fn shape(step: &Step) -> Shape {
    match step.kind {
        StepKind::Complete => Shape::Completes,
        StepKind::Fail { .. } => Shape::Fails,
        ref kind if kind.waits() => Shape::Waits,
        _ => Shape::Plain,
    }
}

/// Every edge of a step: its named outcomes, then `else`.
fn edges(step: &Step) -> impl Iterator<Item = (&str, usize)> {
    let named = step.edges.iter().map(|(o, s)| (o.as_str(), s.0 as usize));
    named.chain(step.otherwise.map(|s| ("else", s.0 as usize)))
}

/// The journey as a Mermaid flowchart.
pub fn mermaid(journey: &JourneyDef) -> String {
    let mut out = String::from("flowchart TD\n");
    let _ = writeln!(out, "  start((start)) --> s{}", journey.start.0);
    for (i, step) in journey.steps.iter().enumerate() {
        let label = format!(
            "{}<br/><i>{}</i>",
            escape_mermaid(&step.name),
            step.kind.keyword()
        );
        let node = match shape(step) {
            Shape::Plain => format!("s{i}[\"{label}\"]"),
            Shape::Waits => format!("s{i}[/\"{label}\"/]"),
            Shape::Completes => format!("s{i}([\"{label}\"]):::complete"),
            Shape::Fails => format!("s{i}([\"{label}\"]):::fail"),
        };
        let _ = writeln!(out, "  {node}");
    }
    for (i, step) in journey.steps.iter().enumerate() {
        for (outcome, to) in edges(step) {
            let _ = writeln!(out, "  s{i} -->|{}| s{to}", escape_mermaid(outcome));
        }
    }
    out.push_str("  classDef complete fill:#d4f4dd,stroke:#2f855a\n");
    out.push_str("  classDef fail fill:#fde2e1,stroke:#c53030\n");
    out
}

/// The journey as a Graphviz digraph.
pub fn dot(journey: &JourneyDef) -> String {
    let mut out = format!("digraph {} {{\n", quote_dot(&journey.id));
    out.push_str("  node [shape=box, fontname=\"Helvetica\"];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
    out.push_str("  start [shape=circle, label=\"start\"];\n");
    let _ = writeln!(out, "  start -> s{};", journey.start.0);
    for (i, step) in journey.steps.iter().enumerate() {
        let label = quote_dot(&format!("{}\n{}", step.name, step.kind.keyword()));
        let style = match shape(step) {
            Shape::Plain => "",
            Shape::Waits => ", shape=parallelogram",
            Shape::Completes => ", shape=doubleoctagon, color=darkgreen",
            Shape::Fails => ", shape=octagon, color=firebrick",
        };
        let _ = writeln!(out, "  s{i} [label={label}{style}];");
    }
    for (i, step) in journey.steps.iter().enumerate() {
        for (outcome, to) in edges(step) {
            let _ = writeln!(out, "  s{i} -> s{to} [label={}];", quote_dot(outcome));
        }
    }
    out.push_str("}\n");
    out
}

fn escape_mermaid(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => "#quot;".to_owned(),
            '<' => "#lt;".to_owned(),
            '>' => "#gt;".to_owned(),
            '|' => "#124;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn quote_dot(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::lower;
    use crate::syntax::source::SourceFile;

    const JOURNEY: &str = "journey pic\nstart: ask\n\
        step ask = prompt(fields: { code: otp })\n  submitted -> check\n\
        step check = branch(ok: {{ input.code == \"1\" }})\n  ok -> done\n  else -> no\n\
        step done = complete\n\
        step no = fail(reason: denied)\n";

    /// The journey lowered without the rules: it is a picture, not a login (`complete`
    /// after a branch would be refused as `J508`).
    fn def() -> JourneyDef {
        let file = SourceFile::new("pic.journey", JOURNEY);
        let journey = crate::syntax::parse(&file).unwrap_or_else(|d| panic!("{d:?}"));
        lower(&journey).unwrap_or_else(|d| panic!("{d:?}"))
    }

    #[test]
    fn mermaid_draws_waiting_and_ending_steps_apart() {
        let text = mermaid(&def());
        assert!(text.contains("s0[/\"ask<br/><i>prompt</i>\"/]"), "{text}");
        assert!(text.contains("s1[\"check<br/><i>branch</i>\"]"), "{text}");
        assert!(
            text.contains("s2([\"done<br/><i>complete</i>\"]):::complete"),
            "{text}"
        );
        assert!(
            text.contains("s3([\"no<br/><i>fail</i>\"]):::fail"),
            "{text}"
        );
        assert!(text.contains("s1 -->|else| s3"), "{text}");
        assert!(text.contains("start((start)) --> s0"), "{text}");
    }

    #[test]
    fn dot_labels_edges_with_outcomes() {
        let text = dot(&def());
        assert!(text.starts_with("digraph \"pic\" {"), "{text}");
        assert!(
            text.contains("s0 [label=\"ask\\nprompt\", shape=parallelogram];"),
            "{text}"
        );
        assert!(text.contains("s1 -> s2 [label=\"ok\"];"), "{text}");
        assert!(
            text.contains("s3 [label=\"no\\nfail\", shape=octagon"),
            "{text}"
        );
    }
}
