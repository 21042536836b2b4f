//! How a refusal is said to a person, in the page's language: each field problem by its code
//! (the core's English stays for the API and the log), each error by its kind, a server error
//! with the operation id to quote. A page never shows a field path, a rule name or raw JSON.

use axum::http::StatusCode;
use vintrova_core::CoreError;
use vintrova_core::gate::Refusal;
use vintrova_core::requests::VerificationError;
use vintrova_core::staff::AccessDenied;
use vintrova_core::values::FieldProblem;
use vintrova_policy::Policy;

use crate::i18n::Tr;
use crate::problem::Problem;

/// The form input a problem belongs to: the last part of its path (`contact.email` is the
/// `email` input), so a form names its inputs as the data map names its fields.
pub fn input_of(problem: &FieldProblem) -> &str {
    let field = problem.field.rsplit('.').next().unwrap_or(&problem.field);
    match field {
        "consents" => "consent",
        "request_description" => "description",
        other => other,
    }
}

/// What is wrong, in the person's words; the general "check this" for a code without words.
pub fn problem_text(t: &Tr, problem: &FieldProblem) -> String {
    let args: Vec<(&str, String)> = problem
        .args
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let key = format!("problem-{}", problem.code);
    // A code without words (or words missing an argument) reads as the key itself.
    match t.with(&key, &args) {
        text if text == key => t.get("problem-invalid"),
        text => text,
    }
}

/// The field's name as the person knows it: the data map's own name, or the form's.
pub fn field_label(t: &Tr, policy: &Policy, problem: &FieldProblem) -> Option<String> {
    if let Some((category, field)) = problem.field.split_once('.')
        && let Some(field) = policy
            .category(category)
            .and_then(|c| c.fields.iter().find(|f| f.key == field))
    {
        return Some(field.name.get(t.code()).to_string());
    }
    t.find(&format!("field-{}", input_of(problem)))
}

/// One problem for the list at the top of a form: the field's name, then what is wrong.
pub fn problem_line(t: &Tr, policy: &Policy, problem: &FieldProblem) -> String {
    let text = problem_text(t, problem);
    match field_label(t, policy, problem) {
        Some(label) => format!("{label}: {text}"),
        None => text,
    }
}

/// An error as a page says it: its status, a title and a sentence that says what to do.
pub struct Said {
    pub status: StatusCode,
    pub title: String,
    pub text: String,
}

/// Say `e`. The status and the kind come from the one mapping the API uses ([`Problem`]), so
/// a page and the API never disagree about what happened.
pub fn say(t: &Tr, policy: &Policy, e: CoreError) -> Said {
    let text_of_code = match &e {
        CoreError::Invalid(invalid) => Some(
            invalid
                .problems
                .iter()
                .map(|p| problem_line(t, policy, p))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        CoreError::Verification(VerificationError::WrongCode(left)) => {
            Some(t.with("error-code-wrong", &[("left", left.to_string())]))
        }
        CoreError::Verification(VerificationError::Spent) => Some(t.get("error-code-spent")),
        CoreError::Refused(refusal) => refused(t, policy, refusal),
        CoreError::Denied(denied) => Some(denied_text(t, denied)),
        _ => None,
    };
    let problem = Problem::from(e);
    let kind = problem
        .kind
        .rsplit('/')
        .next()
        .unwrap_or("internal")
        .to_string();
    said(
        t,
        problem.status_code(),
        &kind,
        problem.operation.as_deref(),
    )
    .with_text(text_of_code)
}

/// Why a staff member may not, in their words: which role, which paperwork, until when.
pub fn denied_text(t: &Tr, denied: &AccessDenied) -> String {
    match denied {
        AccessDenied::NotPermitted { role, .. } => t.with(
            "denied-not_permitted",
            &[("role", t.get(&format!("role-{role}")))],
        ),
        AccessDenied::TrainingLapsed {
            trained_on,
            lapsed_on,
        } => t.with(
            "denied-training_lapsed",
            &[
                ("trained", t.date(*trained_on)),
                ("lapsed", t.date(*lapsed_on)),
            ],
        ),
        other => t.get(&format!("denied-{}", other.rule())),
    }
}

/// A refusal of the purpose gate that the person can act on, naming the purpose or consent in
/// their words; the general words for the rest.
fn refused(t: &Tr, policy: &Policy, refusal: &Refusal) -> Option<String> {
    let (key, purpose) = match refusal {
        Refusal::NoConsent { purpose } => ("refusal-no_consent", purpose),
        Refusal::ConsentWithdrawn { purpose } => ("refusal-consent_withdrawn", purpose),
        Refusal::ConsentToRenew { purpose, .. } => ("refusal-no_consent", purpose),
        Refusal::Objected { purpose } => ("refusal-objected", purpose),
        Refusal::NoConsentForCategory { consent, .. }
        | Refusal::NoConsentForField { consent, .. } => ("refusal-no_consent", consent),
        Refusal::Restricted => return Some(t.get("refusal-restricted")),
        _ => return None,
    };
    Some(t.with(
        key,
        &[(
            "purpose",
            crate::words::Named::Consent.of(t, policy, purpose),
        )],
    ))
}

/// A page's words for an error of `kind` (`not-found`, `access-denied`, `internal`, …): the
/// general words of its status when the kind has none of its own.
pub fn said(t: &Tr, status: StatusCode, kind: &str, operation: Option<&str>) -> Said {
    let kind = if t.find(&format!("error-{kind}-title")).is_some() {
        kind.to_string()
    } else if status.is_server_error() {
        "internal".into()
    } else {
        "refused".into()
    };
    let operation = operation.unwrap_or("—").to_string();
    Said {
        status,
        title: t.get(&format!("error-{kind}-title")),
        text: t.with(&format!("error-{kind}-text"), &[("operation", operation)]),
    }
}

impl Said {
    fn with_text(self, text: Option<String>) -> Said {
        match text {
            Some(text) => Said { text, ..self },
            None => self,
        }
    }
}
