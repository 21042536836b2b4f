//! Input of personal data: parsed, checked against the data map and normalized before anything
//! is stored. Errors name the field and what is expected, and never repeat the value.

use std::net::IpAddr;

use serde_json::Value;
use vintrova_policy::{Field, FieldKind, Policy};

pub use crate::text::Refused;

/// Largest input document accepted, well above any honest profile.
pub const MAX_INPUT_BYTES: usize = 2 * 1024 * 1024;
const DEFAULT_MAX_LEN: usize = 200;
const MAX_LIST_ITEMS: usize = 200;

/// One problem with one field of an input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldProblem {
    /// `contact.email`, or the part of the input that is wrong.
    pub field: String,
    /// What is wrong, as a stable code (`too_long`, `not_an_email`, `taken`; `invalid` when
    /// only the English text below says): pages say it in the person's language.
    pub code: String,
    /// The code's arguments, such as `max` for `too_long`.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub args: std::collections::BTreeMap<String, String>,
    pub problem: String,
    pub expected: String,
}

impl FieldProblem {
    /// A problem known only in English words: pages show their general "check this field".
    pub fn new(
        field: impl Into<String>,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Refused::new("invalid", problem, expected).at(field)
    }
}

/// Why an input was refused: every problem found, each naming its field.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("the input was refused and nothing was stored: {}", describe(.problems))]
pub struct InvalidInput {
    pub problems: Vec<FieldProblem>,
}

fn describe(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {} (expected {})", p.field, p.problem, p.expected))
        .collect::<Vec<_>>()
        .join("; ")
}

impl InvalidInput {
    /// Note one more problem, for checks that report everything wrong at once.
    pub fn push(
        &mut self,
        field: impl Into<String>,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) {
        self.problems
            .push(FieldProblem::new(field, problem, expected));
    }

    /// `Ok` when no problem was found.
    pub fn into_result(self) -> Result<(), InvalidInput> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    pub fn one(
        field: impl Into<String>,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        InvalidInput {
            problems: vec![FieldProblem::new(field, problem, expected)],
        }
    }

    /// One problem with a code the pages can say in the person's language.
    pub fn coded(field: impl Into<String>, refused: Refused) -> Self {
        InvalidInput {
            problems: vec![refused.at(field)],
        }
    }
}

/// A checked, normalized value of one declared field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldValue {
    /// `category.field`
    pub field: String,
    pub category: String,
    pub value: Value,
    /// The normalized form a blind index is computed over, for indexed fields.
    pub index_form: Option<String>,
}

/// Parse a document `{"contact": {"first_name": …}, …}` of raw bytes into checked values.
pub fn parse_document(policy: &Policy, bytes: &[u8]) -> Result<Vec<FieldValue>, InvalidInput> {
    parse_value(policy, &json_bytes(bytes)?)
}

/// Raw bytes to JSON, refusing what is too large, not UTF-8 or not JSON — without echoing it.
pub fn json_bytes(bytes: &[u8]) -> Result<Value, InvalidInput> {
    let doc = "(document)";
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(InvalidInput::one(
            doc,
            format!("the input is {} bytes", bytes.len()),
            format!("at most {MAX_INPUT_BYTES} bytes"),
        ));
    }
    // One parser for every JSON that enters: strict about keys, and every text checked.
    crate::text::json(bytes)
}

/// Check a parsed document against the data map. Every problem is collected, none is stored.
pub fn parse_value(policy: &Policy, json: &Value) -> Result<Vec<FieldValue>, InvalidInput> {
    let categories = || {
        policy
            .categories
            .iter()
            .map(|c| c.key.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(doc) = json.as_object() else {
        return Err(InvalidInput::one(
            "(document)",
            "the input is not a JSON object",
            format!("an object keyed by category ({})", categories()),
        ));
    };
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for (cat_key, fields) in doc {
        let Some(category) = policy.category(cat_key) else {
            problems.push(FieldProblem::new(
                cat_key.clone(),
                "not a category of the data map (R2.2)",
                format!("one of {}", categories()),
            ));
            continue;
        };
        let Some(fields) = fields.as_object() else {
            problems.push(FieldProblem::new(
                cat_key.clone(),
                "not an object",
                "an object keyed by field",
            ));
            continue;
        };
        for (field_key, raw) in fields {
            let path = format!("{cat_key}.{field_key}");
            let Some(field) = category.fields.iter().find(|f| &f.key == field_key) else {
                let known: Vec<&str> = category.fields.iter().map(|f| f.key.as_str()).collect();
                problems.push(FieldProblem::new(
                    path,
                    "not a field of the data map; data the policy does not list is never stored (R2.2)",
                    format!("one of {}", known.join(", ")),
                ));
                continue;
            };
            match check_field(field, raw) {
                Ok((value, index_form)) => values.push(FieldValue {
                    field: path,
                    category: category.key.clone(),
                    value,
                    index_form: field.blind_index.then_some(index_form).flatten(),
                }),
                Err(refused) => problems.push(refused.at(path)),
            }
        }
    }
    if values.is_empty() && problems.is_empty() {
        problems.push(FieldProblem::new(
            "(document)",
            "no fields were given",
            format!("at least one field of {}", categories()),
        ));
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(InvalidInput { problems })
    }
}

type Checked = Result<(Value, Option<String>), Refused>;

fn check_field(field: &Field, raw: &Value) -> Checked {
    let max_len = field.max_len.unwrap_or(DEFAULT_MAX_LEN);
    match field.kind {
        FieldKind::Text => text(raw, max_len, false).map(|s| (Value::String(s), None)),
        FieldKind::Paragraph => text(raw, max_len, true).map(|s| (Value::String(s), None)),
        FieldKind::Email => email(raw).map(|s| (Value::String(s.clone()), Some(s))),
        FieldKind::Phone => phone(raw).map(|s| (Value::String(s.clone()), Some(s))),
        FieldKind::Integer => {
            let [lo, hi] = field.range.unwrap_or([0, i64::from(i32::MAX)]);
            integer(raw, lo, hi).map(|n| (Value::from(n), None))
        }
        FieldKind::Amount => integer(raw, 0, 10_i64.pow(15)).map(|n| (Value::from(n), None)),
        FieldKind::IpAddress => {
            let s = string(raw)?;
            let ip: IpAddr = s
                .trim()
                .parse()
                .map_err(|_| bad("invalid", "not an IP address", "an IPv4 or IPv6 address"))?;
            Ok((Value::String(ip.to_string()), None))
        }
        FieldKind::Timestamp => {
            let s = string(raw)?;
            let at: jiff::Timestamp = s.trim().parse().map_err(|_| {
                bad(
                    "invalid",
                    "not a timestamp",
                    "an RFC 3339 time such as 2025-01-15T09:30:00+05:00",
                )
            })?;
            Ok((Value::String(at.to_string()), None))
        }
        FieldKind::TextList => {
            let items = raw
                .as_array()
                .ok_or_else(|| bad("invalid", "not a list", "a JSON array of strings"))?;
            if items.len() > MAX_LIST_ITEMS {
                return Err(bad(
                    "too_many",
                    format!("{} items", items.len()),
                    format!("at most {MAX_LIST_ITEMS} items"),
                )
                .with("max", MAX_LIST_ITEMS));
            }
            let items = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    text(item, max_len, false).map_err(|r| Refused {
                        problem: format!("item {i}: {}", r.problem),
                        ..r
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((Value::from(items), None))
        }
        FieldKind::Choice => {
            let s = string(raw)?;
            if field.choices.iter().any(|c| c == s) {
                Ok((Value::String(s.to_string()), None))
            } else {
                Err(bad(
                    "not_a_choice",
                    "not one of the choices",
                    format!("one of {}", field.choices.join(", ")),
                ))
            }
        }
        FieldKind::CardLast4 => {
            let s = string(raw)?;
            if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
                Ok((Value::String(s.to_string()), None))
            } else {
                Err(bad(
                    "invalid",
                    "not the last four digits of a card; a full card number is never stored",
                    "exactly 4 digits",
                ))
            }
        }
        FieldKind::CurrencyCode => {
            let s = string(raw)?.trim().to_ascii_uppercase();
            if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
                Ok((Value::String(s), None))
            } else {
                Err(bad(
                    "invalid",
                    "not a currency code",
                    "an ISO 4217 code such as KZT",
                ))
            }
        }
    }
}

fn bad(code: &'static str, problem: impl Into<String>, expected: impl Into<String>) -> Refused {
    Refused::new(code, problem, expected)
}

fn string(raw: &Value) -> Result<&str, Refused> {
    match raw {
        Value::String(s) => Ok(s),
        Value::Null => Err(bad("empty", "null", "a value; leave the field out instead")),
        _ => Err(bad("invalid", "not a string", "a JSON string")),
    }
}

fn text(raw: &Value, max_len: usize, multiline: bool) -> Result<String, Refused> {
    let s = string(raw)?.trim();
    if s.is_empty() {
        return Err(bad(
            "empty",
            "empty",
            "some text; leave the field out instead",
        ));
    }
    let chars = s.chars().count();
    if chars > max_len {
        return Err(bad(
            "too_long",
            format!("{chars} characters long"),
            format!("at most {max_len} characters"),
        )
        .with("max", max_len));
    }
    // The edge's one rule, with this field's length and lines.
    let rule = if multiline {
        crate::text::Rule::lines(max_len)
    } else {
        crate::text::Rule::line(max_len)
    };
    crate::text::check(rule, s)?;
    if holds_card_number(s) {
        return Err(bad(
            "card_number",
            "looks like a full card number, which is never stored",
            "no card number; only `payment.card_last4`",
        ));
    }
    Ok(s.to_string())
}

/// A run of 13–19 digits (spaces and dashes between them allowed) that passes the Luhn check.
fn holds_card_number(s: &str) -> bool {
    let mut digits: Vec<u8> = Vec::new();
    let flush = |digits: &mut Vec<u8>| {
        let found = (13..=19).contains(&digits.len()) && luhn(digits);
        digits.clear();
        found
    };
    for c in s.chars() {
        match c {
            '0'..='9' => digits.push(c as u8 - b'0'),
            ' ' | '-' if !digits.is_empty() => {}
            _ => {
                if flush(&mut digits) {
                    return true;
                }
            }
        }
    }
    flush(&mut digits)
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn integer(raw: &Value, lo: i64, hi: i64) -> Result<i64, Refused> {
    let n = raw.as_i64().ok_or_else(|| {
        bad(
            "out_of_range",
            "not a whole number",
            format!("a whole number from {lo} to {hi}"),
        )
        .with("min", lo)
        .with("max", hi)
    })?;
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(bad(
            "out_of_range",
            "out of range",
            format!("a whole number from {lo} to {hi}"),
        )
        .with("min", lo)
        .with("max", hi))
    }
}

/// An email address in its one canonical form, so one mailbox is one person however it is
/// written: trimmed, Unicode NFC, lower-cased, and the domain in Unicode whether it came in
/// Unicode or punycode (`x@xn--e1afmkfd.kz` is `x@пример.kz`). Registration, rectification and
/// look-ups all compare this form. Refuses what cannot be an address.
pub fn email(raw: &Value) -> Result<String, Refused> {
    use unicode_normalization::UnicodeNormalization;
    let expected = "an email address such as name@example.kz";
    let s: String = string(raw)?.trim().nfc().collect::<String>().to_lowercase();
    let Some((local, domain)) = s.split_once('@') else {
        return Err(bad("not_an_email", "not an email address (no @)", expected));
    };
    // UTS 46 maps the domain (case, width, normalization) and decodes punycode labels.
    let (domain, decoded) = idna::domain_to_unicode(domain);
    if decoded.is_err() {
        return Err(bad(
            "not_an_email",
            "not an email address (the domain does not read)",
            expected,
        ));
    }
    let s = format!("{local}@{domain}");
    let domain = domain.as_str();
    let domain_ok = domain.contains('.')
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    if s.len() > 254 || !domain_ok || !local_ok {
        return Err(bad("not_an_email", "not an email address", expected));
    }
    Ok(s)
}

/// Normalize a phone number to E.164; numbers without a country code are Kazakh (+7), and the
/// domestic trunk prefix 8 is read as +7.
pub fn phone(raw: &Value) -> Result<String, Refused> {
    let expected =
        "a phone number in E.164 such as +77753103924 (+7 is assumed without a country code)";
    let s = string(raw)?.trim();
    let plus = s.starts_with('+');
    let body = if plus { &s[1..] } else { s };
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || " -()".contains(c))
    {
        return Err(bad("not_a_phone", "not a phone number", expected));
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    let e164 = match (plus, digits.len()) {
        (true, _) => digits,
        (false, 11) if digits.starts_with('8') || digits.starts_with('7') => {
            format!("7{}", &digits[1..])
        }
        (false, 10) => format!("7{digits}"),
        (false, _) => {
            return Err(bad(
                "not_a_phone",
                "not a phone number we can place without a country code",
                expected,
            ));
        }
    };
    if !(8..=15).contains(&e164.len()) || e164.starts_with('0') {
        return Err(bad("not_a_phone", "not a valid E.164 number", expected));
    }
    Ok(format!("+{e164}"))
}

/// Whether free text written by staff into a record kept in clear (a hold's reference, an
/// incident's description) looks like it carries an email address or a personal number (an
/// IIN, a phone, a card): such text is refused, since the record outlives every erasure.
pub fn looks_personal(text: &str) -> bool {
    text.contains('@')
        || text
            .split(|c: char| !c.is_ascii_digit())
            .any(|run| run.len() >= 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phones_normalize_to_e164_with_kazakhstan_by_default() {
        assert_eq!(phone(&json!("+7 775 310 39 24")).unwrap(), "+77753103924");
        assert_eq!(phone(&json!("8 (775) 310-39-24")).unwrap(), "+77753103924");
        assert_eq!(phone(&json!("7753103924")).unwrap(), "+77753103924");
        assert_eq!(phone(&json!("+49 30 1234567")).unwrap(), "+49301234567");
        assert!(phone(&json!("call me")).is_err());
        assert!(phone(&json!("12345")).is_err());
    }

    #[test]
    fn one_mailbox_has_one_canonical_form_however_it_is_written() {
        let canonical = "x@пример.kz";
        for spelling in [
            "x@пример.kz",
            "X@ПРИМЕР.KZ",
            "x@xn--e1afmkfd.kz",
            "x@XN--E1AFMKFD.KZ",
            " x@пример.kz ",
        ] {
            assert_eq!(email(&json!(spelling)).unwrap(), canonical, "{spelling}");
        }
        // Й written as И and a combining breve is the same letter.
        assert_eq!(
            email(&json!("\u{0418}\u{0306}@mail.kz")).unwrap(),
            email(&json!("\u{0419}@mail.kz")).unwrap()
        );
        assert!(
            email(&json!("x@xn--zz.kz")).is_err(),
            "punycode that does not decode"
        );
    }

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(
            email(&json!(" Aigerim.N@Mail.KZ ")).unwrap(),
            "aigerim.n@mail.kz"
        );
        assert_eq!(
            email(&json!("айгерим@почта.kz")).unwrap(),
            "айгерим@почта.kz"
        );
        for bad in [
            "no-at.kz", "a@b", "a@@b.kz", "a b@c.kz", ".a@b.kz", "a@-b.kz", "",
        ] {
            assert!(email(&json!(bad)).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn card_numbers_are_recognised_anywhere_in_text() {
        assert!(holds_card_number("4111 1111 1111 1111"));
        assert!(holds_card_number("ref 4111-1111-1111-1111 paid"));
        assert!(!holds_card_number("4111 1111 1111 1112"));
        assert!(!holds_card_number("+77753103924"));
    }
}
