//! The one check every text passes where it enters — a JSON body, a form, a path or query value,
//! a command-line argument, stdin — before anything else sees it. Databases refuse some of
//! what UTF-8 allows (PostgreSQL refuses NUL in `text`), people cannot see some of it
//! (zero-width characters), and some of it makes a name read backwards on a staff screen
//! (bidi overrides). Refusing it once, here, means nothing downstream must remember to.
//!
//! Problems name the field and the rule, never the value: the value may be personal data.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::values::{FieldProblem, InvalidInput};

/// How a text may look: one line (names, logins, ids, path and query values, arguments) or
/// several (descriptions, messages, reasons), and how long it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    multiline: bool,
    max_chars: usize,
}

/// A path segment, a query value, a JSON key or a command-line argument.
pub const SHORT: Rule = Rule::line(512);
/// Any string in a JSON body or a form before its field's own rule: generous (the body limit
/// bounds it first), because the field's rule (the data map, a ledger's) comes next, is
/// stricter about length, and names the field as the data map does.
pub const ANY_TEXT: Rule = Rule::lines(1 << 20);

impl Rule {
    /// One line: no control character at all, no bidi mark, no invisible character.
    pub const fn line(max_chars: usize) -> Rule {
        Rule {
            multiline: false,
            max_chars,
        }
    }

    /// Several lines: new lines, carriage returns (forms send `\r\n`) and tabs are fine;
    /// zero-width joiners too (emoji and some scripts need them). Bidi overrides are not.
    pub const fn lines(max_chars: usize) -> Rule {
        Rule {
            multiline: true,
            max_chars,
        }
    }

    /// What a text of this rule looks like, for the `expected` of a problem.
    fn expected(self) -> String {
        if self.multiline {
            format!(
                "printable text of at most {} characters (new lines and tabs are fine)",
                self.max_chars
            )
        } else {
            format!(
                "printable text on one line of at most {} characters, without invisible or direction-changing characters",
                self.max_chars
            )
        }
    }
}

/// What is wrong with a value, without the value: a code the pages say in the person's
/// language (`too_long` with `max`), and the same in English for the API and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: &'static str,
    pub args: Vec<(&'static str, String)>,
    pub problem: String,
    pub expected: String,
}

impl Refused {
    pub fn new(
        code: &'static str,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Refused {
            code,
            args: vec![],
            problem: problem.into(),
            expected: expected.into(),
        }
    }

    /// One more argument of the code's words (`max` of `too_long`).
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    /// The problem as a field problem of `field`.
    pub fn at(self, field: impl Into<String>) -> FieldProblem {
        FieldProblem {
            field: field.into(),
            code: self.code.to_string(),
            args: self
                .args
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            problem: self.problem,
            expected: self.expected,
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (expected {})", self.problem, self.expected)
    }
}

/// Embedding, override and isolate controls: they reorder what follows on screen
/// ("Trojan Source"), so no text may carry them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Direction marks and characters that take no space: harmless in prose, but in a name or a
/// login they make two different strings look the same.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{2060}'..='\u{2064}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
    )
}

/// Check one text against `rule`.
pub fn check(rule: Rule, text: &str) -> Result<(), Refused> {
    let refuse = |code, problem: String| Refused::new(code, problem, rule.expected());
    let chars = text.chars().count();
    if chars > rule.max_chars {
        return Err(
            refuse("too_long", format!("{chars} characters long")).with("max", rule.max_chars)
        );
    }
    let allowed = |c: char| rule.multiline && matches!(c, '\n' | '\r' | '\t');
    if text.contains('\0') {
        return Err(refuse(
            "control_character",
            "contains a NUL character".into(),
        ));
    }
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(refuse(
            "control_character",
            if rule.multiline {
                "contains a control character other than a new line or a tab".into()
            } else {
                "contains a control character (a new line, a tab or another)".into()
            },
        ));
    }
    if text.chars().any(is_bidi_control) {
        return Err(refuse(
            "invisible_character",
            "contains a bidirectional override or isolate character".into(),
        ));
    }
    if !rule.multiline && text.chars().any(is_invisible) {
        return Err(refuse(
            "invisible_character",
            "contains an invisible character (zero-width, direction mark or line separator)".into(),
        ));
    }
    Ok(())
}

/// Check raw bytes: UTF-8 first, then `rule`.
pub fn check_bytes(rule: Rule, bytes: &[u8]) -> Result<&str, Refused> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Refused::new("not_utf8", "is not valid UTF-8", rule.expected()))?;
    check(rule, text)?;
    Ok(text)
}

/// Check a field against `rule`, as a one-problem refusal naming it.
pub fn field(name: &str, rule: Rule, text: &str) -> Result<(), InvalidInput> {
    check(rule, text).map_err(|r| InvalidInput {
        problems: vec![r.at(name)],
    })
}

/// Parse a JSON document strictly and check every text in it: UTF-8, no key twice in one
/// object (last-wins would let a proxy and this server read different documents), every key
/// [`SHORT`] and every string [`ANY_TEXT`]. Problems name the place (`data.contact.email`,
/// `bases[0].purpose`), never a value.
pub fn json(bytes: &[u8]) -> Result<Value, InvalidInput> {
    let doc = "(document)";
    let text = std::str::from_utf8(bytes).map_err(|e| {
        InvalidInput::one(
            doc,
            format!(
                "the input is not valid UTF-8 (first bad byte at offset {})",
                e.valid_up_to()
            ),
            "text encoded as UTF-8",
        )
    })?;
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Strict {
        path: String::new(),
        found: &found,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(value) => {
            let mut problems = Vec::new();
            walk(&value, "", &mut problems);
            if problems.is_empty() {
                Ok(value)
            } else {
                Err(InvalidInput { problems })
            }
        }
        Err(e) => Err(match found.into_inner() {
            Some(problem) => InvalidInput {
                problems: vec![problem],
            },
            None => InvalidInput::one(
                doc,
                format!(
                    "the input is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
                "a JSON object, each key once, nested at most 128 deep",
            ),
        }),
    }
}

/// The place of a key: `parent.key`, or the key alone at the top. A key that is not short
/// printable text is not repeated, even as a place.
fn place(parent: &str, key: &str) -> String {
    let key = if check(SHORT, key).is_ok() && key.len() <= 64 {
        key
    } else {
        "(a key)"
    };
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn walk(value: &Value, at: &str, problems: &mut Vec<FieldProblem>) {
    match value {
        Value::String(s) => {
            if let Err(r) = check(ANY_TEXT, s) {
                problems.push(r.at(if at.is_empty() { "(document)" } else { at }));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{at}[{i}]"), problems);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let here = place(at, key);
                if let Err(r) = check(SHORT, key) {
                    problems.push(FieldProblem::new(
                        here.clone(),
                        format!("the key {}", r.problem),
                        r.expected,
                    ));
                }
                walk(item, &here, problems);
            }
        }
        _ => {}
    }
}

/// Builds a [`Value`] like serde_json does, but notes the first key seen twice in one object.
struct Strict<'a> {
    path: String,
    found: &'a RefCell<Option<FieldProblem>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict {
            path: format!("{}[{}]", self.path, items.len()),
            found: self.found,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let here = place(&self.path, &key);
            if object.contains_key(&key) {
                *self.found.borrow_mut() = Some(FieldProblem::new(
                    here,
                    "appears twice in one object",
                    "each key once",
                ));
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(Strict {
                path: here,
                found: self.found,
            })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: Rule = Rule::line(200);
    const PROSE: Rule = Rule::lines(2_000);

    #[test]
    fn one_line_refuses_controls_bidi_and_invisible_characters() {
        assert!(check(NAME, "Айгерім Сәтбаева").is_ok());
        for bad in [
            "a\0b",
            "a\nb",
            "a\tb",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{202E}b",
            "a\u{2067}b",
            "a\u{200B}b",
            "a\u{200D}b",
            "a\u{200F}b",
            "a\u{FEFF}b",
            "a\u{2028}b",
        ] {
            assert!(check(NAME, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn several_lines_allow_new_lines_tabs_and_joiners_but_not_nul_or_overrides() {
        assert!(check(PROSE, "line one\r\n\tline two 👩\u{200D}💻").is_ok());
        assert!(check(PROSE, "a\0b").is_err());
        assert!(check(PROSE, "a\u{1b}[31mb").is_err());
        assert!(check(PROSE, "a\u{202E}b").is_err());
    }

    #[test]
    fn a_problem_never_carries_the_text() {
        let refused = check(NAME, "secret\u{202E}value").unwrap_err();
        assert!(!refused.to_string().contains("secret"));
        let long = "x".repeat(201);
        assert!(check(NAME, &long).unwrap_err().problem.contains("201"));
    }

    #[test]
    fn json_refuses_duplicate_keys_by_place_and_bad_strings_by_place() {
        let dup = json(br#"{"data": {"contact": {"email": "a", "email": "b"}}}"#).unwrap_err();
        assert_eq!(dup.problems[0].field, "data.contact.email");
        assert!(!dup.to_string().contains("\"a\""));
        let nul = json(b"{\"login\": \"a\\u0000b\"}").unwrap_err();
        assert_eq!(nul.problems[0].field, "login");
        let listed = json(b"{\"bases\": [{\"purpose\": \"x\\u202ey\"}]}").unwrap_err();
        assert_eq!(listed.problems[0].field, "bases[0].purpose");
        assert!(json(b"{\"ok\": \"fine\\nlines\"}").is_ok());
        assert!(json(b"\xff").is_err());
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(json(deep.as_bytes()).is_err());
    }
}
