//! The signed-in person's own data: every value held and why, corrections to it, what they did
//! on the platform, and who looked at it.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use uuid::Uuid;
use vintrova_core::learning::Offering;
use vintrova_core::letters::{AccessWords, notice_title};
use vintrova_core::transparency::Access;
use vintrova_core::{CoreError, HeldValue};
use vintrova_policy::{FieldKind, Policy};

use super::{Chrome, Entered, Flagged, TextInput, Visit, basis, expired, failed};
use crate::AppState;
use crate::i18n::Tr;
use crate::words::Named;

pub(super) struct DataRow {
    pub(super) field: String,
    pub(super) value: String,
    pub(super) purposes: String,
    pub(super) basis: String,
    pub(super) source: String,
    pub(super) deleted: String,
}

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    c: Chrome,
    rows: Vec<DataRow>,
}

/// "My data": every value held, with its purposes, basis, source and deletion date.
pub async fn my_data(State(state): State<AppState>, visit: Visit) -> Response {
    let (Some(actor), Some(session)) = (visit.actor(), visit.session_token()) else {
        return visit.redirect("/sign-in");
    };
    let export = match state.app.own_copy(&actor, session).await {
        Ok(export) => export,
        Err(e) => return failed(&state, visit, e),
    };
    let courses = match state.app.catalog().await {
        Ok(courses) => courses,
        Err(e) => return failed(&state, visit, e),
    };
    let rows = data_rows(&visit.t, state.app.policy(), &export.values, &courses);
    let c = visit.chrome(&state);
    visit.page(StatusCode::OK, MePage { c, rows })
}

/// Every value held, with its purposes, basis, source and deletion date, as the person reads
/// it: on "my data" and in the copy. `courses` names the courses a value may be.
pub(super) fn data_rows(
    t: &Tr,
    p: &Policy,
    values: &[HeldValue],
    courses: &[Offering],
) -> Vec<DataRow> {
    let lang = t.code();
    // An amount is money in the currency recorded with it, in the same payment.
    let currencies: BTreeMap<Uuid, &str> = values
        .iter()
        .filter(|v| kind_of(p, &v.field) == Some(FieldKind::CurrencyCode))
        .filter_map(|v| Some((v.event?, v.value.as_str()?)))
        .collect();
    values
        .iter()
        .map(|v| DataRow {
            field: p.field(&v.field).map_or(v.field.clone(), |(c, f)| {
                format!("{} — {}", c.name.get(lang), f.name.get(lang))
            }),
            value: shown(t, p, v, courses, &currencies),
            purposes: v
                .purposes
                .iter()
                .map(|u| Named::Purpose.of(t, p, &u.purpose))
                .collect::<Vec<_>>()
                .join("; "),
            basis: basis(t, v.legal_basis),
            source: p
                .sources
                .iter()
                .find(|s| s.key == v.source)
                .map_or(v.source.clone(), |s| s.name.get(lang).to_string()),
            deleted: v
                .retention
                .delete_after
                .map_or_else(|| t.get("me-while-used"), |at| t.day_of(at)),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    c: Chrome,
    fields: Vec<TextInput>,
}

/// What the profile form offers: the person's own contact, professional and education fields;
/// the officer's rectification form offers the same.
pub(crate) const PROFILE: &[&str] = &[
    "contact.first_name",
    "contact.last_name",
    "contact.email",
    "contact.phone",
    "professional.employer",
    "professional.position",
    "professional.it_experience_years",
    "education.level",
    "education.specialization",
];

async fn render_profile(
    state: &AppState,
    visit: Visit,
    message: Option<String>,
    (f, problems): (Entered, Vec<Flagged>),
) -> Response {
    let (Some(actor), Some(session)) = (visit.actor(), visit.session_token()) else {
        return visit.redirect("/sign-in");
    };
    let export = match state.app.own_copy(&actor, session).await {
        Ok(export) => export,
        Err(e) => return failed(state, visit, e),
    };
    let policy = state.app.policy();
    let lang = visit.t.code();
    let fields = PROFILE
        .iter()
        .filter_map(|key| policy.field(key).map(|(c, f)| (key, c, f)))
        .map(|(key, c, field)| {
            let stored = export
                .values
                .iter()
                .find(|v| v.field == *key)
                .map(|v| match &v.value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            let kind = if key.ends_with("email") {
                "email"
            } else if key.ends_with("phone") {
                "tel"
            } else if key.ends_with("years") {
                "number"
            } else {
                "text"
            };
            let label = format!("{} — {}", c.name.get(lang), field.name.get(lang));
            f.input(key, label, kind, &stored)
                .max(field.max_len.unwrap_or(200))
        })
        .collect();
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut c = visit.chrome(state);
    c.message = message;
    c.problems = problems;
    visit.page(status, ProfilePage { c, fields })
}

pub async fn profile_page(State(state): State<AppState>, visit: Visit) -> Response {
    render_profile(&state, visit, None, Default::default()).await
}

/// Correcting one's own data is rectification (R6.1): the changed fields are replaced, with
/// their blind indexes, and the audit log says so.
pub async fn update_profile(
    State(state): State<AppState>,
    visit: Visit,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if !visit.csrf_ok(csrf.unwrap_or_default()) {
        return expired(&state, visit);
    }
    let (Some(actor), Some(subject)) = (visit.actor(), visit.subject()) else {
        return visit.redirect("/sign-in");
    };
    let updated = match state.app.parse_json(&profile_document(&fields)) {
        Ok(values) => {
            state
                .app
                .update_subject(&actor, subject, values, "cabinet")
                .await
        }
        Err(invalid) => Err(CoreError::Invalid(invalid)),
    };
    match updated {
        Ok(()) => {
            let saved = visit.t.get("profile-saved");
            render_profile(&state, visit, Some(saved), Default::default()).await
        }
        Err(CoreError::Invalid(invalid)) => {
            let refused = Entered::typed(&fields).refused(&visit.t, state.app.policy(), &invalid);
            render_profile(&state, visit, None, refused).await
        }
        Err(e) => failed(&state, visit, e),
    }
}

/// A profile form's fields (`category.field` → text) as the document the core reads: the
/// fields left empty or not on the profile are not part of it.
pub(crate) fn profile_document(fields: &[(String, String)]) -> Value {
    let mut doc = json!({});
    for (key, value) in fields {
        let value = value.trim();
        if value.is_empty() || !PROFILE.contains(&key.as_str()) {
            continue;
        }
        let (category, field) = key
            .split_once('.')
            .expect("profile keys are category.field");
        doc[category][field] = match (key.ends_with("years"), value.parse::<i64>()) {
            (true, Ok(n)) => json!(n),
            _ => json!(value),
        };
    }
    doc
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    c: Chrome,
    sections: Vec<(String, Vec<String>)>,
}

/// Learning, support tickets, payments and notices: what happened and when, in the person's
/// language (the amounts and courses themselves are in "my data").
pub async fn activity(State(state): State<AppState>, visit: Visit) -> Response {
    use vintrova_core::learning::Enrollment;
    use vintrova_core::payments::Order;
    use vintrova_core::support::Ticket;
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    let t = visit.t;
    let app = &state.app;
    let (enrollments, tickets, orders, notices) = match (
        app.records::<Enrollment>(subject).await,
        app.records::<Ticket>(subject).await,
        app.records::<Order>(subject).await,
        app.notices_of(subject).await,
    ) {
        (Ok(e), Ok(ti), Ok(o), Ok(n)) => (e, ti, o, n),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            return failed(&state, visit, e);
        }
    };
    let line = |state: &str, at: jiff::Timestamp| format!("{} — {}", t.day_of(at), state);
    let sections = vec![
        (
            t.get("activity-learning"),
            enrollments
                .iter()
                .map(|e| {
                    line(
                        &t.get(&format!("enrollment-{}", e.state.as_str())),
                        e.created_at,
                    )
                })
                .collect(),
        ),
        (
            t.get("activity-tickets"),
            tickets
                .iter()
                .map(|k| {
                    line(
                        &t.get(&format!("ticket-{}", k.state.as_str())),
                        k.created_at,
                    )
                })
                .collect(),
        ),
        (
            t.get("activity-payments"),
            orders
                .iter()
                .map(|o| line(&t.get(&format!("order-{}", o.state.as_str())), o.created_at))
                .collect(),
        ),
        (
            t.get("activity-notices"),
            notices
                .iter()
                .map(|n| line(&notice_title(&t, n.kind), n.queued_at))
                .collect(),
        ),
    ];
    let c = visit.chrome(&state);
    visit.page(StatusCode::OK, ActivityPage { c, sections })
}

#[derive(Template)]
#[template(path = "access.html")]
struct AccessPage {
    c: Chrome,
    accesses: Vec<AccessRow>,
    /// "Receiving since …" when the person asked for the monthly digest.
    digest: Option<String>,
}

#[derive(Deserialize)]
pub struct DigestForm {
    csrf: String,
    on: String,
}

/// Start or stop the monthly email digest of who looked.
pub async fn change_digest(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<DigestForm>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, None) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    match state.app.set_access_digest(subject, form.on == "yes").await {
        Ok(()) => visit.redirect("/me/access#digest"),
        Err(e) => failed(&state, visit, e),
    }
}

/// "Who looked at my data": every access, by role, categories and purpose, from the audit log.
pub async fn who_looked(State(state): State<AppState>, visit: Visit) -> Response {
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    let (accesses, digest) = match (
        state.app.who_looked(subject).await,
        state.app.access_digest(subject).await,
    ) {
        (Ok(a), Ok(d)) => (a, d),
        (Err(e), _) | (_, Err(e)) => return failed(&state, visit, e),
    };
    let t = visit.t;
    let accesses = access_rows(&t, state.app.policy(), &accesses);
    let digest = digest.map(|since| t.with("digest-since", &[("date", t.day_of(since))]));
    let c = visit.chrome(&state);
    visit.page(
        StatusCode::OK,
        AccessPage {
            c,
            accesses,
            digest,
        },
    )
}

fn kind_of(p: &Policy, field: &str) -> Option<FieldKind> {
    p.field(field).map(|(_, f)| f.kind)
}

/// A value as a person reads it: a moment as a date and time, an amount as money, a choice and
/// a course by their names, a phone number grouped; the rest as it was written.
fn shown(
    t: &Tr,
    p: &Policy,
    v: &HeldValue,
    courses: &[Offering],
    currencies: &BTreeMap<Uuid, &str>,
) -> String {
    let text = v.value.as_str();
    match (kind_of(p, &v.field), &v.value) {
        (Some(FieldKind::Timestamp), _) => match text.and_then(|s| s.parse().ok()) {
            Some(at) => t.moment(at),
            None => plain(&v.value),
        },
        (Some(FieldKind::Amount), Value::Number(n)) => match n.as_i64() {
            Some(minor) => {
                let currency = v.event.and_then(|e| currencies.get(&e)).unwrap_or(&"KZT");
                t.money(minor, currency)
            }
            None => plain(&v.value),
        },
        (Some(FieldKind::Choice), Value::String(choice)) => t
            .find(&format!("choice-{}-{choice}", v.field.replace('.', "-")))
            .unwrap_or_else(|| choice.clone()),
        (Some(FieldKind::Phone), Value::String(number)) => t.phone(number),
        (Some(FieldKind::CurrencyCode), Value::String(code)) => t
            .find(&format!("currency-{code}"))
            .unwrap_or_else(|| code.clone()),
        (_, Value::String(course)) if v.field == COURSE => courses
            .iter()
            .find(|o| &o.id == course)
            .map_or_else(|| course.clone(), |o| o.title(t.code()).to_string()),
        (Some(FieldKind::TextList), Value::Array(items)) => {
            items.iter().map(plain).collect::<Vec<_>>().join(", ")
        }
        _ => plain(&v.value),
    }
}

/// The field whose value is a course's id.
const COURSE: &str = "education.course";

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One line of "who looked": when, who, what, which categories, why, how often.
pub(super) type AccessRow = (String, String, String, String, String, String);

/// Who looked, as the person reads it: on its own page and in the copy.
pub(super) fn access_rows(t: &Tr, p: &Policy, accesses: &[Access]) -> Vec<AccessRow> {
    accesses
        .iter()
        .map(|a| {
            let when = if a.times == 1 {
                t.day_of(a.first)
            } else {
                format!("{} – {}", t.day_of(a.first), t.day_of(a.last))
            };
            let AccessWords {
                who,
                what,
                categories,
                why,
            } = AccessWords::of(t, p, a);
            (when, who, what, categories, why, t.number(a.times))
        })
        .collect()
}
