use super::*;
use crate::diag::Code;
use crate::syntax::yaml::Value;

fn read(
    text: &str,
) -> (
    std::sync::Arc<SourceFile>,
    Result<Document, Vec<Diagnostic>>,
) {
    let file = SourceFile::new("t.journey", text);
    let parsed = parse(&file);
    (file, parsed)
}

fn first_error(text: &str) -> (std::sync::Arc<SourceFile>, Diagnostic) {
    let (file, parsed) = read(text);
    let errors = parsed.err().unwrap_or_else(|| panic!("accepted: {text}"));
    (file, errors[0].clone())
}

const SMALL: &str = "journey demo # the id\nstart: ask\nidp legacy = okta\n\
step ask = prompt(fields: { identifier: text })\n  submitted -> done\n\
step done = complete\n";

#[test]
fn steps_become_the_yaml_shape_with_spans() {
    let (file, parsed) = read(SMALL);
    let document = parsed.unwrap_or_else(|d| panic!("{d:?}"));
    let root = &document.root;
    let ask = root.get("steps").and_then(|s| s.get("ask"));
    let target = ask
        .and_then(|a| a.get("on"))
        .and_then(|o| o.get("submitted"));
    let target = target.unwrap_or_else(|| panic!("no transition"));
    assert_eq!(target.as_str(), Some("done"));
    assert_eq!(file.slice(target.span), "done");
    let provider = root.get("idps").and_then(|i| i.get("legacy"));
    let provider = provider
        .and_then(|l| l.get("provider"))
        .and_then(|p| p.as_str());
    assert_eq!(provider, Some("okta"));
    let done = root.get("steps").and_then(|s| s.get("done"));
    let complete = done.and_then(|d| d.get("complete")).map(|c| &c.value);
    assert_eq!(complete, Some(&Value::Map(Vec::new())));
    assert_eq!(document.comments.len(), 1);
    assert_eq!(document.comments[0].text, " the id");
    assert!(document.comments[0].trailing);
}

#[test]
fn a_template_spans_exactly_its_expression() {
    let text = "journey d\nstart: a\nstep a = find_user(identifier: {{ input.x | lower }})\n";
    let (file, parsed) = read(text);
    let document = parsed.unwrap_or_else(|d| panic!("{d:?}"));
    let steps = document.root.get("steps");
    let a = steps
        .and_then(|s| s.get("a"))
        .and_then(|a| a.get("find_user"));
    let identifier = a.and_then(|f| f.get("identifier"));
    let identifier = identifier.unwrap_or_else(|| panic!("no identifier"));
    assert_eq!(identifier.as_str(), Some("input.x | lower"));
    assert_eq!(file.slice(identifier.span), "input.x | lower");
}

#[test]
fn strings_read_their_escapes() {
    let text = "journey d\ndescription: \"a \\\"b\\\"\\n\\u{e9}\"\nstart: a\n";
    let (_, parsed) = read(text);
    let document = parsed.unwrap_or_else(|d| panic!("{d:?}"));
    let description = document.root.get("description").and_then(|d| d.as_str());
    assert_eq!(description, Some("a \"b\"\né"));
}

#[test]
fn a_missing_arrow_names_the_outcome_and_its_position() {
    let (file, error) = first_error("journey d\nstart: a\nstep a = complete\n  found done\n");
    assert_eq!(error.code, Code::DslSyntax);
    assert!(error.message.contains("`found`"), "{}", error.message);
    let at = file.line_col(error.span.start);
    assert_eq!((at.line, at.column), (4, 3));
}

#[test]
fn an_unterminated_string_points_at_its_quote() {
    let (file, error) = first_error("journey d\ndescription: \"open\nstart: a\n");
    assert_eq!(error.code, Code::Unterminated);
    let at = file.line_col(error.span.start);
    assert_eq!((at.line, at.column), (2, 14));
}

#[test]
fn an_unknown_kind_suggests_the_closest() {
    let (file, error) = first_error("journey d\nstart: a\nstep a = promt(fields: {})\n");
    assert_eq!(error.code, Code::StepKind);
    assert_eq!(file.slice(error.span), "promt");
    assert_eq!(error.help.as_deref(), Some("did you mean `prompt`?"));
}

#[test]
fn a_key_written_twice_is_refused() {
    let (file, error) = first_error("journey d\nstart: a\nstep a = fail(reason: x, reason: y)\n");
    assert_eq!(error.code, Code::DuplicateKey);
    assert_eq!(file.line_col(error.span.start).column, 26);
}

#[test]
fn deep_nesting_is_refused_without_overflow() {
    let text = format!("journey d\nstart: {}{}", "[".repeat(5000), "]".repeat(5000));
    let (_, error) = first_error(&text);
    assert_eq!(error.code, Code::DslSyntax);
}

#[test]
fn a_file_must_start_with_its_journey_line() {
    let (_, error) = first_error("start: a\n");
    assert_eq!(error.code, Code::DslSyntax);
    assert!(
        error.message.contains("`journey NAME`"),
        "{}",
        error.message
    );
}

#[test]
fn one_value_is_the_one_setting_a_kind_requires() {
    let text = "journey d\nstart: a\nstep a = find_user(input.identifier)\n";
    let (file, parsed) = read(text);
    let document = parsed.unwrap_or_else(|d| panic!("{d:?}"));
    let steps = document.root.get("steps");
    let find = steps
        .and_then(|s| s.get("a"))
        .and_then(|a| a.get("find_user"));
    let identifier = find.and_then(|f| f.get("identifier"));
    let identifier = identifier.unwrap_or_else(|| panic!("no identifier"));
    assert_eq!(file.slice(identifier.span), "input.identifier");
}

#[test]
fn a_journey_setting_after_the_steps_is_placed_for_the_author() {
    let (file, error) = first_error("journey d\nstep a = complete\nstart: a\n");
    assert_eq!(error.code, Code::DslSyntax);
    assert_eq!(file.slice(error.span), "start");
    assert!(
        error.message.contains("setting of the journey"),
        "{}",
        error.message
    );
}
