//! Turning a policy text into a [`Policy`] that every other crate may trust.

use std::collections::HashSet;

use crate::{FieldKind, Policy, PolicyError, RetentionAnchor, Texts};

/// One thing wrong with a policy, and where it sits (`purpose[2].categories[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub(crate) fn list(problems: &[Problem]) -> String {
        problems
            .iter()
            .map(|p| format!("  {}: {}", p.path, p.message))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Parse and validate a policy. A policy that loads is complete and self-consistent.
pub fn load(text: &str) -> Result<Policy, PolicyError> {
    let de = toml::Deserializer::parse(text).map_err(|e| PolicyError::Shape {
        path: "(document)".into(),
        message: e.to_string().trim().to_string(),
    })?;
    let policy: Policy = serde_path_to_error::deserialize(de).map_err(|e| PolicyError::Shape {
        path: e.path().to_string(),
        message: e.inner().message().to_string(),
    })?;
    let problems = check(&policy);
    if problems.is_empty() {
        Ok(policy)
    } else {
        Err(PolicyError::Invalid(problems))
    }
}

/// Whether a field's name says it would hold a full card number or a card secret, which
/// PCI DSS forbids a merchant to keep.
fn holds_card_secrets(key: &str) -> bool {
    let words: Vec<&str> = key.split('_').collect();
    ["pan", "cvv", "cvc", "cvv2"]
        .iter()
        .any(|w| words.contains(w))
        || ["card_number", "card_expiry", "cardnumber"]
            .iter()
            .any(|w| key.contains(w))
}

const KEY_CLASSES: &[&str] = &["profile", "learning", "financial", "support", "logs"];

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    fn key(&mut self, path: &str, key: &str) {
        let ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && key.starts_with(|c: char| c.is_ascii_lowercase());
        if !ok {
            self.fail(
                format!("{path}.key"),
                format!("`{key}` is not a key: use lowercase latin letters, digits and `_`, starting with a letter"),
            );
        }
    }

    fn texts(&mut self, path: &str, texts: &Texts) {
        for (locale, text) in [("ru", &texts.ru), ("kk", &texts.kk), ("en", &texts.en)] {
            if text.trim().is_empty() {
                self.fail(
                    format!("{path}.{locale}"),
                    "the text is empty; every text needs ru, kk and en",
                );
            }
        }
    }

    fn unique<'a>(&mut self, path: &str, keys: impl Iterator<Item = &'a str>) {
        let mut seen = HashSet::new();
        for (i, key) in keys.enumerate() {
            if !seen.insert(key) {
                self.fail(
                    format!("{path}[{i}].key"),
                    format!("`{key}` is declared twice"),
                );
            }
        }
    }

    fn refs(&mut self, path: &str, names: &[String], known: &HashSet<&str>, what: &str) {
        if names.is_empty() {
            self.fail(path, format!("name at least one {what}"));
        }
        for (i, name) in names.iter().enumerate() {
            if !known.contains(name.as_str()) {
                self.fail(
                    format!("{path}[{i}]"),
                    format!("`{name}` is not a declared {what}"),
                );
            }
        }
    }
}

/// Consents to data (R2.3, R3.2): a category on consent names the consent it needs, a
/// confidential field the consent that covers it, and each names one a person can give.
fn check_consents(c: &mut Checker, p: &Policy) {
    c.unique("consent", p.consents.iter().map(|x| x.key.as_str()));
    for (i, term) in p.consents.iter().enumerate() {
        let path = format!("consent[{i}]");
        c.key(&path, &term.key);
        c.texts(&format!("{path}.name"), &term.name);
        c.texts(&format!("{path}.text"), &term.text);
        if p.purpose(&term.key).is_some() {
            c.fail(
                format!("{path}.key"),
                format!(
                    "`{}` is also a purpose; a consent to data needs a name of its own",
                    term.key
                ),
            );
        }
        if p.categories_of_consent(&term.key).is_empty() {
            c.fail(
                &path,
                format!(
                    "no category or confidential field names consent `{}`",
                    term.key
                ),
            );
        }
    }
    let known = |key: &str| p.is_consent_key(key);
    for (i, cat) in p.categories.iter().enumerate() {
        let path = format!("category[{i}].consent");
        match (cat.legal_basis == crate::LegalBasis::Consent, &cat.consent) {
            (true, None) => c.fail(
                path,
                "a category on consent names the consent it needs (a `[[consent]]` or a purpose on consent)",
            ),
            (false, Some(_)) => c.fail(
                path,
                format!(
                    "only a category on consent names a consent; this one rests on `{}`",
                    cat.legal_basis.as_str()
                ),
            ),
            (true, Some(key)) if !known(key) => c.fail(
                path,
                format!("`{key}` is neither a declared `[[consent]]` nor a purpose on consent"),
            ),
            _ => {}
        }
        for (j, field) in cat.fields.iter().enumerate() {
            let path = format!("category[{i}].field[{j}].consent");
            match (field.confidential, &field.consent) {
                (true, None) => c.fail(
                    path,
                    "a confidential field names the consent that covers it (R2.3)",
                ),
                (false, Some(_)) => {
                    c.fail(path, "only a confidential field names a consent of its own")
                }
                (true, Some(key)) if !known(key) => c.fail(
                    path,
                    format!("`{key}` is neither a declared `[[consent]]` nor a purpose on consent"),
                ),
                _ => {}
            }
        }
    }
}

fn check(p: &Policy) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    if p.version.trim().is_empty() {
        c.fail("version", "the policy needs a version label");
    }
    if crate::zone(&p.time_zone).is_none() {
        c.fail(
            "time_zone",
            format!("`{}` is not a known IANA time zone", p.time_zone),
        );
    }
    for needed in ["ru", "kk", "en"] {
        if !p.locales.iter().any(|l| l == needed) {
            c.fail(
                "locales",
                format!("`{needed}` is missing; the site speaks ru, kk and en"),
            );
        }
    }
    if !p.locales.contains(&p.default_locale) {
        c.fail(
            "default_locale",
            format!("`{}` is not one of `locales`", p.default_locale),
        );
    }
    check_contact(&mut c, p);

    let categories: HashSet<&str> = p.categories.iter().map(|x| x.key.as_str()).collect();
    let purposes: HashSet<&str> = p.purposes.iter().map(|x| x.key.as_str()).collect();
    let rules: HashSet<&str> = p.retention_rules.iter().map(|x| x.key.as_str()).collect();
    let countries: HashSet<&str> = p.countries.iter().map(|x| x.code.as_str()).collect();

    c.unique("category", p.categories.iter().map(|x| x.key.as_str()));
    c.unique("purpose", p.purposes.iter().map(|x| x.key.as_str()));
    c.unique(
        "retention",
        p.retention_rules.iter().map(|x| x.key.as_str()),
    );
    c.unique("recipient", p.recipients.iter().map(|x| x.key.as_str()));
    c.unique("source", p.sources.iter().map(|x| x.key.as_str()));
    if p.categories.is_empty() {
        c.fail("category", "the policy declares no categories of data");
    }
    if p.sources.is_empty() {
        c.fail("source", "declare at least one way data arrives");
    }

    for (i, cat) in p.categories.iter().enumerate() {
        let path = format!("category[{i}]");
        c.key(&path, &cat.key);
        c.texts(&format!("{path}.name"), &cat.name);
        if !rules.contains(cat.retention.as_str()) {
            c.fail(
                format!("{path}.retention"),
                format!("`{}` is not a declared retention rule", cat.retention),
            );
        }
        if cat.fields.is_empty() {
            c.fail(
                format!("{path}.field"),
                "a category needs at least one field",
            );
        }
        if !p.purposes.iter().any(|pu| pu.categories.contains(&cat.key)) {
            c.fail(
                &path,
                format!(
                    "no purpose uses category `{}`; data without a purpose may not be collected",
                    cat.key
                ),
            );
        }
        c.unique(
            &format!("{path}.field"),
            cat.fields.iter().map(|f| f.key.as_str()),
        );
        for (j, field) in cat.fields.iter().enumerate() {
            let fpath = format!("{path}.field[{j}]");
            c.key(&fpath, &field.key);
            c.texts(&format!("{fpath}.name"), &field.name);
            if holds_card_secrets(&field.key) {
                c.fail(format!("{fpath}.key"), format!("`{}` would hold card data a payment may never keep; store `card_last4` and the provider's reference instead", field.key));
            }
            if let Some(rule) = &field.retention
                && !rules.contains(rule.as_str())
            {
                c.fail(
                    format!("{fpath}.retention"),
                    format!("`{rule}` is not a declared retention rule"),
                );
            }
            if field.max_len == Some(0) || field.max_len.is_some_and(|m| m > 10_000) {
                c.fail(
                    format!("{fpath}.max_len"),
                    "must be between 1 and 10000 characters",
                );
            }
            if let Some([lo, hi]) = field.range
                && (field.kind != FieldKind::Integer || lo > hi)
            {
                c.fail(
                    format!("{fpath}.range"),
                    "a range belongs to an `integer` field and reads [smallest, largest]",
                );
            }
            match (field.kind, field.choices.is_empty()) {
                (FieldKind::Choice, true) => c.fail(
                    format!("{fpath}.choices"),
                    "a `choice` field needs its list of choices",
                ),
                (kind, false) if kind != FieldKind::Choice => c.fail(
                    format!("{fpath}.choices"),
                    "only a `choice` field takes choices",
                ),
                _ => {}
            }
        }
    }

    check_consents(&mut c, p);

    for (i, pu) in p.purposes.iter().enumerate() {
        let path = format!("purpose[{i}]");
        c.key(&path, &pu.key);
        c.texts(&format!("{path}.name"), &pu.name);
        c.refs(
            &format!("{path}.categories"),
            &pu.categories,
            &categories,
            "category",
        );
    }

    for (i, r) in p.retention_rules.iter().enumerate() {
        let path = format!("retention[{i}]");
        c.key(&path, &r.key);
        c.texts(&format!("{path}.name"), &r.name);
        c.texts(&format!("{path}.ground"), &r.ground);
        match r.term.parse::<jiff::Span>() {
            Err(_) => c.fail(
                format!("{path}.term"),
                format!("`{}` is not an ISO 8601 duration such as `P3Y`", r.term),
            ),
            Ok(span) if span.is_negative() => c.fail(
                format!("{path}.term"),
                "a retention term cannot be negative",
            ),
            Ok(span) if span.is_zero() && r.anchor != RetentionAnchor::ServiceEnded => c.fail(
                format!("{path}.term"),
                "only data kept while the service is used may have a zero term",
            ),
            Ok(_) => {}
        }
        if let Some(idle) = &r.idle {
            if r.anchor != RetentionAnchor::ServiceEnded {
                c.fail(
                    format!("{path}.idle"),
                    "only the rule of data kept while the service is used can end on idleness",
                );
            }
            for (name, value) in [("after", &idle.after), ("notice", &idle.notice)] {
                match value.parse::<jiff::Span>() {
                    Ok(span) if span.is_positive() => {}
                    _ => c.fail(
                        format!("{path}.idle.{name}"),
                        format!("`{value}` is not a positive ISO 8601 duration such as `P30D`"),
                    ),
                }
            }
        }
        if !KEY_CLASSES.contains(&r.key_class.as_str()) {
            c.fail(
                format!("{path}.key_class"),
                format!(
                    "`{}` is not a key class; use one of {}",
                    r.key_class,
                    KEY_CLASSES.join(", ")
                ),
            );
        }
    }
    let mut classes = HashSet::new();
    for (i, r) in p.retention_rules.iter().enumerate() {
        if !classes.insert(r.key_class.as_str()) {
            c.fail(
                format!("retention[{i}].key_class"),
                format!(
                    "`{}` already serves another rule; one key class per rule keeps erasure exact",
                    r.key_class
                ),
            );
        }
    }

    for (i, r) in p.recipients.iter().enumerate() {
        let path = format!("recipient[{i}]");
        c.key(&path, &r.key);
        c.texts(&format!("{path}.name"), &r.name);
        c.texts(&format!("{path}.role"), &r.role);
        c.refs(
            &format!("{path}.countries"),
            &r.countries,
            &countries,
            "country",
        );
        c.refs(
            &format!("{path}.categories"),
            &r.categories,
            &categories,
            "category",
        );
        c.refs(
            &format!("{path}.purposes"),
            &r.purposes,
            &purposes,
            "purpose",
        );
    }

    for (i, co) in p.countries.iter().enumerate() {
        let path = format!("country[{i}]");
        if co.code.len() != 2 || !co.code.chars().all(|ch| ch.is_ascii_uppercase()) {
            c.fail(
                format!("{path}.code"),
                format!(
                    "`{}` is not an ISO 3166-1 alpha-2 code such as `KZ`",
                    co.code
                ),
            );
        }
        c.texts(&format!("{path}.name"), &co.name);
    }
    if !countries.contains(p.operator.country.as_str()) {
        c.fail(
            "operator.country",
            format!("`{}` is not a declared country", p.operator.country),
        );
    }

    for (i, s) in p.sources.iter().enumerate() {
        let path = format!("source[{i}]");
        c.key(&path, &s.key);
        c.texts(&format!("{path}.name"), &s.name);
    }
    c.problems
}

fn check_contact(c: &mut Checker, p: &Policy) {
    c.texts("contact.name", &p.contact.name);
    let email = &p.contact.email;
    if email.split('@').count() != 2 || !email.split('@').nth(1).is_some_and(|d| d.contains('.')) {
        c.fail(
            "contact.email",
            format!("`{email}` is not an email address"),
        );
    }
    let phone = &p.contact.phone;
    let digits = phone.trim_start_matches('+');
    if !phone.starts_with('+')
        || !(8..=15).contains(&digits.len())
        || !digits.chars().all(|ch| ch.is_ascii_digit())
    {
        c.fail(
            "contact.phone",
            format!("`{phone}` is not an E.164 number such as +77753103924"),
        );
    }
    if p.contact.address.trim().is_empty() {
        c.fail(
            "contact.address",
            "the data protection service needs a postal address",
        );
    }
    if p.contact.hours.days.is_empty() {
        c.fail("contact.hours.days", "name the days the service answers");
    }
    if p.contact.hours.opens >= p.contact.hours.closes {
        c.fail("contact.hours", "the service must open before it closes");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../policy/vintrova.toml");

    #[test]
    fn the_shipped_policy_is_valid_and_complete() {
        let p = load(SHIPPED).unwrap_or_else(|e| panic!("{e}"));
        let keys = |v: Vec<&str>| v.join(",");
        assert_eq!(
            keys(p.categories.iter().map(|c| c.key.as_str()).collect()),
            "contact,professional,education,technical,usage,payment"
        );
        assert_eq!(p.purposes.len(), 7, "R3.1: seven purposes");
        assert_eq!(p.retention_rules.len(), 5, "R8.1: five retention rules");
        assert_eq!(p.recipients.len(), 5, "R5.1: five kinds of recipients");
        for field in [
            "contact.first_name",
            "contact.last_name",
            "contact.email",
            "contact.phone",
            "professional.employer",
            "professional.position",
            "professional.it_experience_years",
            "education.level",
            "education.specialization",
            "education.completed_courses",
            "technical.ip",
            "technical.browser",
            "technical.os",
            "usage.visited_at",
            "usage.page",
            "usage.interaction",
            "payment.amount",
            "payment.card_last4",
        ] {
            assert!(p.field(field).is_some(), "R2.1: {field} is declared");
        }
        // R3.2: the policy's table of bases.
        let basis = |c: &str| p.category(c).unwrap().legal_basis;
        assert_eq!(basis("contact"), crate::LegalBasis::Consent);
        assert_eq!(basis("education"), crate::LegalBasis::Contract);
        assert_eq!(basis("technical"), crate::LegalBasis::LegitimateInterest);
        assert_eq!(basis("payment"), crate::LegalBasis::Contract);
        assert_eq!(p.contact.phone, "+77753103924");
        assert_eq!(p.contact.email, "info@vintrova.com");
        assert_eq!(p.time_zone, "Asia/Almaty");
    }

    #[test]
    fn a_misspelt_key_is_refused_with_its_path() {
        let typo = SHIPPED.replacen(
            "legal_basis = \"contract\"\nretention = \"graduate\"",
            "legal_bsis = \"contract\"\nretention = \"graduate\"",
            1,
        );
        let err = load(&typo).unwrap_err();
        let problems = err.problems();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "category[2].legal_bsis");
        assert!(
            problems[0].message.contains("legal_bsis"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn every_semantic_problem_is_reported_at_once_with_its_path() {
        let bad = SHIPPED
            .replacen(
                "categories = [\"contact\", \"education\"]",
                "categories = [\"contact\", \"educaton\"]",
                1,
            )
            .replacen("term = \"P3Y\"", "term = \"three years\"", 1)
            .replacen(
                "time_zone = \"Asia/Almaty\"",
                "time_zone = \"Asia/Almata\"",
                1,
            )
            .replacen("key = \"card_last4\"", "key = \"card_number\"", 1);
        let problems = load(&bad).unwrap_err().problems();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"purpose[0].categories[1]"), "{paths:?}");
        assert!(paths.contains(&"retention[1].term"), "{paths:?}");
        assert!(paths.contains(&"time_zone"), "{paths:?}");
        assert!(paths.contains(&"category[5].field[3].key"), "{paths:?}");
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn broken_toml_is_refused_with_a_location() {
        let err = load("version = \"x\"\n[operator\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn consents_to_data_are_named_where_the_policy_needs_them() {
        let p = load(SHIPPED).unwrap();
        assert_eq!(
            p.category("contact").unwrap().consent.as_deref(),
            Some("contact_data"),
            "R3.2: contact data rests on consent"
        );
        let required: Vec<&str> = p.required_consents().map(|c| c.key.as_str()).collect();
        assert_eq!(required, ["contact_data"]);
        for field in [
            "contact.phone",
            "professional.employer",
            "professional.position",
        ] {
            let (_, f) = p.field(field).unwrap();
            assert!(f.confidential && f.consent.is_some(), "R2.3: {field}");
        }
        let broken = SHIPPED
            .replacen("consent = \"contact_data\"\n", "", 1)
            .replacen("consent = \"phone_number\"\n", "", 1)
            .replacen(
                "kind = \"ip_address\"\n",
                "kind = \"ip_address\"\nconsent = \"phone_number\"\n",
                1,
            );
        let problems = load(&broken).unwrap_err().problems();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "consent[0]",
                "category[0].consent",
                "category[0].field[3].consent",
                "category[3].field[0].consent"
            ],
            "{problems:?}"
        );
    }
}
