//! The person's rights requests from the cabinet, and the copy an access request made.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use vintrova_core::CoreError;
use vintrova_core::ErasurePreview;
use vintrova_core::requests::{AnswerChannel, Information, Request, RequestState};
use vintrova_policy::Policy;

use crate::i18n::Tr;
use vintrova_core::rights::RightKind;

use super::{Chrome, Entered, Flagged, MessagePage, Visit, failed, right_name};
use crate::AppState;
use crate::security::Door;
use crate::words::Named;
use vintrova_core::values::Refused;

pub(super) struct RequestRow {
    /// The request's number as the person quotes it: the first part of its id.
    pub(super) number: String,
    pub(super) link: String,
    pub(super) right: String,
    pub(super) received: String,
    pub(super) state: String,
    pub(super) due: String,
}

/// How a person quotes a request: the last eight hex digits of its id — the random part (the
/// first ones are its time, and requests filed within a minute would share them), enough to
/// tell theirs apart and to find it in the officer's queue.
pub fn number(id: uuid::Uuid) -> String {
    let hex = id.simple().to_string();
    hex[hex.len() - 8..].to_string()
}

#[derive(Template)]
#[template(path = "requests.html")]
struct RequestsPage {
    c: Chrome,
    /// Answers given lately: (link, what was answered).
    answered: Vec<(String, String)>,
    /// A copy is waiting: only then the links to it.
    has_copy: bool,
    requests: Vec<RequestRow>,
    /// Each right: its key, its name and what it does, in one sentence.
    rights: Vec<(String, String, String)>,
    f: Entered,
}

pub async fn requests_page(State(state): State<AppState>, visit: Visit) -> Response {
    render_requests(&state, visit, None, Default::default()).await
}

async fn render_requests(
    state: &AppState,
    visit: Visit,
    message: Option<String>,
    (f, problems): (Entered, Vec<Flagged>),
) -> Response {
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    let requests = match state.app.requests_of(subject).await {
        Ok(r) => r,
        Err(e) => return failed(state, visit, e),
    };
    let has_copy = match state.app.has_copy(subject).await {
        Ok(has) => has,
        Err(e) => return failed(state, visit, e),
    };
    let t = visit.t;
    let rows = request_rows(&t, &requests);
    let rights = RightKind::ALL
        .iter()
        .map(|r| {
            (
                r.as_str().to_string(),
                right_name(&t, *r),
                t.get(&format!("right-{}-explain", r.as_str())),
            )
        })
        .collect();
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    // An answer given in the last 30 days is told at the top, with the way to it.
    let now = state.app.now();
    let answered: Vec<(String, String)> = requests
        .iter()
        .filter(|r| {
            matches!(r.state, RequestState::Completed | RequestState::Rejected)
                && r.closed_at.is_some_and(|at| {
                    now.duration_since(at) < jiff::SignedDuration::from_hours(24 * 30)
                })
        })
        .map(|r| {
            (
                page_of(r.id),
                t.with("requests-answered", &[("right", right_name(&t, r.right))]),
            )
        })
        .collect();
    let mut c = visit.chrome(state);
    c.message = message;
    c.problems = problems;
    visit.page(
        status,
        RequestsPage {
            answered,
            c,
            has_copy,
            requests: rows,
            rights,
            f,
        },
    )
}

#[derive(Deserialize)]
pub struct RequestForm {
    csrf: String,
    right: String,
    #[serde(default)]
    description: String,
    /// `yes` once the person confirmed an erasure after reading what it does.
    confirm: Option<String>,
}

/// File a rights request from the cabinet: the session is the identity check.
pub async fn file_request(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<RequestForm>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, None) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    let (Some(actor), Some((token, _))) = (visit.actor(), visit.session.clone()) else {
        return visit.redirect("/sign-in");
    };
    let typed = Entered::typed(&[
        ("right".to_string(), form.right.clone()),
        ("description".to_string(), form.description.clone()),
    ]);
    let Some(right) = RightKind::parse(&form.right) else {
        let mut refused = vintrova_core::values::InvalidInput::default();
        refused
            .problems
            .push(Refused::new("not_a_choice", "not a right", "one of the rights").at("right"));
        let refused = typed.refused(&visit.t, state.app.policy(), &refused);
        return render_requests(&state, visit, None, refused).await;
    };
    // Erasure cannot be undone: it is filed only once the person has read what goes, what the
    // law keeps and until when, and confirmed.
    if right == RightKind::Erasure && form.confirm.as_deref() != Some("yes") {
        return confirm_erasure(&state, visit, &form.description).await;
    }
    if let Err(throttled) = state
        .limits
        .account(Door::RequestIntake, &token, state.app.now())
    {
        return visit.throttled(throttled);
    }
    match state
        .app
        .request_in_cabinet(
            &actor,
            &token,
            right,
            &form.description,
            AnswerChannel::Cabinet,
        )
        .await
    {
        Ok(request) if right == RightKind::Erasure => farewell(&state, visit, &request),
        Ok(request) => {
            let filed = visit
                .t
                .with("requests-filed", &[("date", visit.t.date(request.due_on))]);
            render_requests(&state, visit, Some(filed), Default::default()).await
        }
        Err(CoreError::Invalid(invalid)) => {
            let refused = typed.refused(&visit.t, state.app.policy(), &invalid);
            render_requests(&state, visit, None, refused).await
        }
        Err(e) => failed(&state, visit, e),
    }
}

/// Where a person's request has its page in the cabinet.
fn page_of(id: uuid::Uuid) -> String {
    format!("/me/requests/{id}")
}

/// A person's requests as their table shows them, in the cabinet and in the copy.
pub(super) fn request_rows(t: &Tr, requests: &[Request]) -> Vec<RequestRow> {
    requests
        .iter()
        .map(|r| RequestRow {
            number: number(r.id),
            link: page_of(r.id),
            right: right_name(t, r.right),
            received: t.day_of(r.received_at),
            state: t.get(&format!("state-{}", r.state.as_str())),
            due: t.date(r.due_on),
        })
        .collect()
}

#[derive(Deserialize)]
pub struct CopyFormat {
    format: Option<String>,
}

/// The copy an access request made, from the cabinet: a readable page in the visitor's
/// language, or JSON.
pub async fn my_copy(
    State(state): State<AppState>,
    visit: Visit,
    Query(format): Query<CopyFormat>,
) -> Response {
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    match state.app.latest_copy(subject).await {
        Ok(Some(copy)) if format.format.as_deref() == Some("json") => {
            visit.respond(super::copy::json(&copy))
        }
        Ok(Some(copy)) => super::copy::page(&state, visit, &copy, "/me/copy?format=json").await,
        Ok(None) => {
            let c = visit.chrome(&state);
            let t = visit.t;
            visit.page(
                StatusCode::NOT_FOUND,
                MessagePage {
                    c,
                    title: t.get("copy-title"),
                    text: t.get("copy-none"),
                },
            )
        }
        Err(e) => failed(&state, visit, e),
    }
}

#[derive(Template)]
#[template(path = "erasure_confirm.html")]
struct ConfirmErasurePage {
    c: Chrome,
    description: String,
    /// The categories that go, in the person's words.
    erased: Vec<String>,
    /// What the law keeps: (categories, why, until when).
    kept: Vec<(String, String, String)>,
}

/// An erasure's preview in the reader's words: category names, why each kept part stays and
/// until when. The person's confirmation and the officer's both say it so.
pub(crate) struct ErasureWords {
    pub erased: Vec<String>,
    pub kept: Vec<KeptWords>,
}

pub(crate) struct KeptWords {
    pub categories: String,
    /// The retention rule's name, or the words for a legal hold.
    pub rule: String,
    /// Why the rule keeps it.
    pub ground: String,
    pub until: String,
}

impl ErasureWords {
    pub(crate) fn of(t: &Tr, policy: &Policy, preview: &ErasurePreview) -> ErasureWords {
        let names = |keys: &[String]| {
            keys.iter()
                .map(|k| Named::Category.of(t, policy, k))
                .collect::<Vec<_>>()
        };
        let kept = preview
            .kept
            .iter()
            .map(|k| {
                let rule = policy.retention_rules.iter().find(|r| r.key == k.rule);
                let hold = || t.get("erasure-kept-hold");
                KeptWords {
                    categories: names(&k.categories).join(", "),
                    rule: rule.map_or_else(hold, |r| r.name.get(t.code()).to_string()),
                    ground: rule.map_or_else(hold, |r| r.ground.get(t.code()).to_string()),
                    until: k
                        .until
                        .map_or_else(|| t.get("me-while-used"), |at| t.day_of(at)),
                }
            })
            .collect();
        ErasureWords {
            erased: names(&preview.erased),
            kept,
        }
    }
}

/// Before an erasure is filed: what goes, what a law keeps and until when, and the choice.
async fn confirm_erasure(state: &AppState, visit: Visit, description: &str) -> Response {
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    let preview = match state.app.erasure_preview(subject).await {
        Ok(preview) => preview,
        Err(e) => return failed(state, visit, e),
    };
    let said = ErasureWords::of(&visit.t, state.app.policy(), &preview);
    let kept = said
        .kept
        .into_iter()
        .map(|k| (k.categories, k.ground, k.until))
        .collect();
    let c = visit.chrome(state);
    visit.page(
        StatusCode::OK,
        ConfirmErasurePage {
            c,
            description: description.to_string(),
            erased: said.erased,
            kept,
        },
    )
}

/// After an erasure is asked for: what happens next, and where the receipt will be.
fn farewell(state: &AppState, visit: Visit, request: &Request) -> Response {
    let c = visit.chrome(state);
    let t = visit.t;
    visit.page(
        StatusCode::OK,
        MessagePage {
            c,
            title: t.get("erasure-farewell-title"),
            text: t.with(
                "erasure-farewell-text",
                &[
                    ("number", number(request.id)),
                    ("date", t.date(request.due_on)),
                ],
            ),
        },
    )
}

#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    c: Chrome,
    number: String,
    right: String,
    explain: String,
    /// (what, when) lines of the request's history.
    history: Vec<(String, String)>,
    state: String,
    /// The form to take it back, while it is not answered yet.
    withdraw: Option<String>,
    /// The copy, when the request was for one and it is ready.
    has_copy: bool,
    /// The answer to an information request, as of today.
    information: Option<InformationView>,
}

/// What processing applies to the person, in their words (R6.1 information).
struct InformationView {
    /// (category, basis, purposes, recipients, countries abroad, kept for).
    categories: Vec<[String; 6]>,
    /// (when, recipient, country, categories, why).
    disclosures: Vec<[String; 5]>,
}

fn information_view(t: &Tr, p: &Policy, info: &Information) -> InformationView {
    let one = |named: Named, key: &str| named.of(t, p, key);
    InformationView {
        categories: info
            .categories
            .iter()
            .map(|c| {
                [
                    one(Named::Category, &c.category),
                    super::basis(t, c.legal_basis),
                    Named::Purpose.all(t, p, &c.purposes),
                    Named::Recipient.all(t, p, &c.recipients),
                    match c.transfers.is_empty() {
                        true => t.get("information-no-transfer"),
                        false => Named::Country.all(t, p, &c.transfers),
                    },
                    p.retention_rules
                        .iter()
                        .find(|r| r.key == c.retention_rule)
                        .map_or_else(|| c.retention_rule.clone(), |r| super::kept_for(t, r)),
                ]
            })
            .collect(),
        disclosures: info
            .disclosures
            .iter()
            .map(|d| {
                [
                    t.day_of(d.at),
                    one(Named::Recipient, &d.recipient),
                    one(Named::Country, &d.country),
                    Named::Category.all(t, p, &d.categories),
                    one(Named::Purpose, &d.purpose),
                ]
            })
            .collect(),
    }
}

/// One of the person's requests: what it asks, its history, and what can still be done.
pub async fn request_page(
    State(state): State<AppState>,
    visit: Visit,
    Path(id): Path<String>,
) -> Response {
    let Some(session) = visit.session_token().map(str::to_string) else {
        return visit.redirect("/sign-in");
    };
    let request = match id.parse() {
        Ok(id) => state.app.own_request(&session, id).await,
        Err(_) => return super::public::not_found(State(state), visit).await,
    };
    let request = match request {
        Ok(request) => request,
        Err(CoreError::Invalid(_)) => return super::public::not_found(State(state), visit).await,
        Err(e) => return failed(&state, visit, e),
    };
    let has_copy = request.right == RightKind::Access
        && request.state == RequestState::Completed
        && state.app.has_copy(request.subject).await.unwrap_or(false);
    let t = visit.t;
    let mut history = vec![
        (t.get("request-received"), t.day_of(request.received_at)),
        (t.get("col-due"), t.date(request.due_on)),
    ];
    if let Some(closed) = request.closed_at {
        history.push((
            t.get(&format!("state-{}", request.state.as_str())),
            t.day_of(closed),
        ));
    }
    let information = match (request.right, request.state) {
        (RightKind::Information, RequestState::Completed) => {
            let Some(actor) = visit.actor() else {
                return visit.redirect("/sign-in");
            };
            match state.app.own_information(&actor, &session).await {
                Ok(info) => Some(information_view(&t, state.app.policy(), &info)),
                Err(e) => return failed(&state, visit, e),
            }
        }
        _ => None,
    };
    let open = request.closed_at.is_none();
    let c = visit.chrome(&state);
    visit.page(
        StatusCode::OK,
        RequestPage {
            c,
            number: number(request.id),
            right: right_name(&t, request.right),
            explain: t.get(&format!("right-{}-explain", request.right.as_str())),
            history,
            state: t.get(&format!("state-{}", request.state.as_str())),
            withdraw: open.then(|| format!("{}/withdraw", page_of(request.id))),
            has_copy,
            information,
        },
    )
}

/// The person takes back a request not yet answered.
pub async fn withdraw_request(
    State(state): State<AppState>,
    visit: Visit,
    Path(id): Path<String>,
    Form(form): Form<super::CsrfOnly>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, None) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    let (Some(actor), Some(session)) = (visit.actor(), visit.session_token().map(str::to_string))
    else {
        return visit.redirect("/sign-in");
    };
    let Ok(id) = id.parse() else {
        return super::public::not_found(State(state), visit).await;
    };
    match state.app.withdraw_request(&actor, &session, id).await {
        Ok(request) => {
            let done = visit.t.with(
                "request-withdrawn",
                &[("right", right_name(&visit.t, request.right))],
            );
            render_requests(&state, visit, Some(done), Default::default()).await
        }
        Err(CoreError::Invalid(invalid)) => {
            let refused = Entered::default().refused(&visit.t, state.app.policy(), &invalid);
            render_requests(&state, visit, None, refused).await
        }
        Err(e) => failed(&state, visit, e),
    }
}
