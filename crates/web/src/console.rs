//! The staff console, server-rendered in three languages and usable without JavaScript: sign-in
//! with the second factor, enrollment from the one-time link, and the data protection officer's
//! practice — the request queue by days left (with its chart), subject look-up that asks for a
//! purpose, incidents and their clocks, the audit log with its verification, staff and their
//! paperwork, the recipients register.
//!
//! Every page asks the access matrix (`Vintrova::permit`) for its permission; every form carries
//! the session's CSRF token (before sign-in, the double-submit cookie of the site's forms).

use askama::Template;
use axum::Form;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;
use vintrova_core::duties::{DutyView, StaffDuty};
use vintrova_core::incidents::{ClockState, Incident};
use vintrova_core::requests::{Answer, AnswerChannel, Fulfilment};
use vintrova_core::rights::RightKind;
use vintrova_core::staff::{
    Paper, PaperKind, Permission, Role, STAFF_DUTIES, StaffMember, csrf_token,
};
use vintrova_core::{Actor, CoreError};

use crate::AppState;
use crate::access::{STAFF_COOKIE, cookie, same_token};
use crate::i18n::Tr;
use crate::problem::Problem;
use crate::site::{Chrome, CsrfOnly, TokenQuery, Visit};
use crate::staff::{cleared_cookie, session_cookie, staff_sign_in};

/// A bar of a chart, laid out on the server: the page needs no script to draw it.
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub label_x: u32,
    pub label: String,
    pub value: u64,
    pub class: &'static str,
}

pub struct Chart {
    pub id: &'static str,
    pub caption: String,
    pub width: u32,
    pub height: u32,
    pub bars: Vec<Bar>,
}

impl Chart {
    /// Bars of `values` with their labels, the tallest filling the chart.
    fn bars(id: &'static str, caption: String, values: Vec<(String, u64, &'static str)>) -> Chart {
        let (width, height, bar, gap, top, bottom) = (600u32, 220u32, 70u32, 30u32, 24u32, 24u32);
        let max = values.iter().map(|v| v.1).max().unwrap_or(0).max(1);
        let room = height - top - bottom;
        let bars = values
            .into_iter()
            .enumerate()
            .map(|(i, (label, value, class))| {
                let h = ((value * u64::from(room)) / max) as u32;
                let x = gap + i as u32 * (bar + gap);
                Bar {
                    x,
                    y: top + room - h,
                    w: bar,
                    h,
                    label_x: x + bar / 2,
                    label,
                    value,
                    class,
                }
            })
            .collect();
        Chart {
            id,
            caption,
            width,
            height,
            bars,
        }
    }
}

pub enum Cell {
    Text(String),
    Strong(String),
    Link(String, String),
    Action(FormSpec),
}

pub struct Table {
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub empty: String,
}

pub struct Field {
    pub name: &'static str,
    pub label: String,
    pub kind: &'static str,
    pub required: bool,
    pub options: Vec<(String, String)>,
}

impl Field {
    fn input(name: &'static str, label: String, kind: &'static str) -> Field {
        Field {
            name,
            label,
            kind,
            required: true,
            options: vec![],
        }
    }

    fn choice(name: &'static str, label: String, options: Vec<(String, String)>) -> Field {
        Field {
            name,
            label,
            kind: "select",
            required: true,
            options,
        }
    }
}

pub struct FormSpec {
    pub id: String,
    pub method: &'static str,
    pub action: String,
    pub hidden: Vec<(String, String)>,
    pub fields: Vec<Field>,
    pub submit: String,
}

pub enum Block {
    Text(String),
    Heading(String),
    /// Something to copy exactly (a key, a link).
    Code(String),
    Chart(Chart),
    Table(Table),
    Form(FormSpec),
}

/// The purpose staff state for work on the request queue.
const REQUEST_WORK: &str = "rights_request";
#[derive(Template)]
#[template(path = "console.html")]
struct ConsolePage {
    c: Chrome,
    title: String,
    blocks: Vec<Block>,
}

/// A signed-in staff member's visit.
pub struct StaffVisit {
    visit: Visit,
    member: StaffMember,
    token: String,
}

impl FromRequestParts<AppState> for StaffVisit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let visit = Visit::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        let Some(token) = cookie(&parts.headers, STAFF_COOKIE).map(str::to_string) else {
            return Err(visit.redirect("/staff/sign-in"));
        };
        match state.app.staff_session(&token).await {
            Ok(member) => Ok(StaffVisit {
                visit,
                member,
                token,
            }),
            Err(_) => Err(visit.redirect("/staff/sign-in")),
        }
    }
}

impl StaffVisit {
    fn t(&self) -> Tr {
        self.visit.t
    }

    fn csrf_ok(&self, presented: &str) -> bool {
        same_token(presented, &csrf_token(&self.token))
    }

    /// The actor for `permission`, or the page that says why not.
    fn permit(
        &self,
        state: &AppState,
        permission: Permission,
        purpose: Option<&str>,
    ) -> Result<Actor, String> {
        match state.app.permit(Some(&self.member), permission, purpose) {
            Ok(actor) => Ok(actor.unwrap_or_else(|| self.member.actor())),
            Err(e) => Err(e.to_string()),
        }
    }

    fn chrome(&self, state: &AppState) -> Chrome {
        let t = self.t();
        let mut c = self.visit.chrome(state);
        c.home = "/staff".into();
        c.brand = t.get("console-name");
        c.csrf = csrf_token(&self.token);
        c.sign_out = Some("/staff/sign-out".into());
        c.cookie_banner = false;
        c.signed_in = true;
        let may = |p: Permission| p.allows(self.member.principal());
        c.nav = [
            (
                Permission::HandleRequests,
                "/staff/requests",
                "console-requests",
            ),
            (Permission::ReadSubject, "/staff/lookup", "console-lookup"),
            (
                Permission::ViewIncidents,
                "/staff/incidents",
                "console-incidents",
            ),
            (Permission::VerifyAudit, "/staff/audit", "console-audit"),
            (Permission::ViewStaff, "/staff/team", "console-team"),
            (
                Permission::Console,
                "/staff/recipients",
                "console-recipients",
            ),
        ]
        .into_iter()
        .filter(|(p, _, _)| may(*p))
        .map(|(_, href, key)| (href.to_string(), t.get(key)))
        .collect();
        c
    }

    fn page(
        self,
        state: &AppState,
        status: StatusCode,
        title: String,
        blocks: Vec<Block>,
    ) -> Response {
        let c = self.chrome(state);
        self.visit.page(status, ConsolePage { c, title, blocks })
    }

    /// Let a form in: its CSRF token must be the session's and the matrix must allow
    /// `permission` (with `purpose`). The actor to act as, or the answer to send.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the page to answer with, made once per request"
    )]
    fn admit(
        self,
        state: &AppState,
        csrf: &str,
        permission: Permission,
        purpose: Option<&str>,
    ) -> Result<(StaffVisit, Actor), Response> {
        if !self.csrf_ok(csrf) {
            return Err(self.expired(state));
        }
        match self.permit(state, permission, purpose) {
            Ok(actor) => Ok((self, actor)),
            Err(reason) => Err(self.denied(state, reason)),
        }
    }

    /// A form on the request queue: handling requests, for the purpose of answering them.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the page to answer with, made once per request"
    )]
    fn admit_request_work(
        self,
        state: &AppState,
        csrf: &str,
    ) -> Result<(StaffVisit, Actor), Response> {
        self.admit(state, csrf, Permission::HandleRequests, Some(REQUEST_WORK))
    }

    fn expired(self, state: &AppState) -> Response {
        let reason = self.t().get("form-expired");
        self.denied(state, reason)
    }

    fn denied(self, state: &AppState, reason: String) -> Response {
        let title = self.t().get("console-denied");
        self.page(
            state,
            StatusCode::FORBIDDEN,
            title,
            vec![Block::Text(reason)],
        )
    }

    fn failed(self, state: &AppState, e: CoreError) -> Response {
        let problem = Problem::from(e);
        let title = self.t().get("console-failed");
        self.page(
            state,
            problem.status_code(),
            title,
            vec![Block::Text(problem.page_text())],
        )
    }
}

fn form(id: &str, action: String, fields: Vec<Field>, submit: String) -> FormSpec {
    FormSpec {
        id: id.to_string(),
        method: "post",
        action,
        hidden: vec![],
        fields,
        submit,
    }
}

// ---- signing in and enrolling -------------------------------------------------------------

fn sign_in_form(t: &Tr) -> FormSpec {
    form(
        "sign-in",
        "/staff/sign-in".into(),
        vec![
            Field::input("login", t.get("console-login"), "text"),
            Field::input("password", t.get("sign-in-password"), "password"),
            Field::input("code", t.get("console-code"), "text"),
        ],
        t.get("sign-in-submit"),
    )
}

fn public_page(
    state: &AppState,
    visit: Visit,
    status: StatusCode,
    title: String,
    blocks: Vec<Block>,
) -> Response {
    let mut c = visit.chrome(state);
    c.home = "/staff".into();
    c.brand = visit.t.get("console-name");
    c.nav = vec![];
    c.cookie_banner = false;
    visit.page(status, ConsolePage { c, title, blocks })
}

pub async fn sign_in_page(State(state): State<AppState>, visit: Visit) -> Response {
    let t = visit.t;
    public_page(
        &state,
        visit,
        StatusCode::OK,
        t.get("console-sign-in"),
        vec![Block::Form(sign_in_form(&t))],
    )
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    login: String,
    password: String,
    code: String,
    csrf: String,
}

fn form_csrf_ok(visit: &Visit, presented: &str) -> bool {
    same_token(presented, &visit.form_token)
}

fn expired(state: &AppState, visit: Visit) -> Response {
    let t = visit.t;
    public_page(
        state,
        visit,
        StatusCode::FORBIDDEN,
        t.get("form-expired"),
        vec![Block::Text(t.get("form-expired"))],
    )
}

pub async fn sign_in(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<SignInForm>,
) -> Response {
    if !form_csrf_ok(&visit, &form.csrf) {
        return expired(&state, visit);
    }
    let t = visit.t;
    match staff_sign_in(&state, &form.login, &form.password, &form.code).await {
        Ok(session) => {
            let mut visit = visit;
            visit.cookies.push(session_cookie(&session.token));
            visit.redirect("/staff")
        }
        Err(refusal) if refusal.status() == StatusCode::TOO_MANY_REQUESTS => refusal,
        Err(_) => public_page(
            &state,
            visit,
            StatusCode::UNAUTHORIZED,
            t.get("console-sign-in"),
            vec![
                Block::Text(t.get("console-sign-in-failed")),
                Block::Form(sign_in_form(&t)),
            ],
        ),
    }
}

pub async fn enroll_page(
    State(state): State<AppState>,
    visit: Visit,
    Query(query): Query<TokenQuery>,
) -> Response {
    let t = visit.t;
    let Ok(setup) = state.app.enrollment(&query.token).await else {
        return public_page(
            &state,
            visit,
            StatusCode::GONE,
            t.get("console-link-gone"),
            vec![Block::Text(t.get("console-link-gone-text"))],
        );
    };
    let mut enroll = form(
        "enroll",
        "/staff/enroll".into(),
        vec![
            Field::input("password", t.get("reset-new-password"), "password"),
            Field::input("code", t.get("console-code"), "text"),
        ],
        t.get("console-enroll-submit"),
    );
    enroll.hidden.push(("token".into(), query.token.clone()));
    let blocks = vec![
        Block::Text(t.with("console-enroll-login", &[("login", setup.login.clone())])),
        Block::Text(t.get("console-enroll-secret")),
        Block::Code(setup.secret.clone()),
        Block::Code(setup.uri.clone()),
        Block::Form(enroll),
    ];
    public_page(
        &state,
        visit,
        StatusCode::OK,
        t.get("console-enroll"),
        blocks,
    )
}

#[derive(Debug, Deserialize)]
pub struct EnrollForm {
    token: String,
    password: String,
    code: String,
    csrf: String,
}

pub async fn enroll(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<EnrollForm>,
) -> Response {
    if !form_csrf_ok(&visit, &form.csrf) {
        return expired(&state, visit);
    }
    let t = visit.t;
    match state
        .app
        .finish_enrollment(&form.token, &form.password, &form.code)
        .await
    {
        Ok(_) => visit.redirect("/staff/sign-in"),
        Err(e) => public_page(
            &state,
            visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            t.get("console-enroll"),
            vec![
                Block::Text(e.to_string()),
                Block::Text(t.get("console-enroll-again")),
            ],
        ),
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    staff: StaffVisit,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !staff.csrf_ok(&form.csrf) {
        return staff.expired(&state);
    }
    let _ = state.app.staff_sign_out(&staff.token).await;
    let mut visit = staff.visit;
    visit.cookies.push(cleared_cookie());
    visit.redirect("/staff/sign-in")
}

// ---- the practice -------------------------------------------------------------------------

/// Home: who is signed in, whether their paperwork opens personal data, the incident clocks.
pub async fn home(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::Console, None) {
        return staff.denied(&state, reason);
    }
    let today = state
        .app
        .now()
        .to_zoned_datetime(state.app.policy().zone())
        .date();
    let mut blocks = vec![Block::Text(t.with(
        "console-who",
        &[
            ("login", staff.member.login.clone()),
            (
                "role",
                t.get(&format!("role-{}", staff.member.role.as_str())),
            ),
        ],
    ))];
    blocks.push(Block::Text(match staff.member.paperwork.standing(today) {
        Ok(()) => t.with(
            "console-pd-open",
            &[(
                "date",
                staff
                    .member
                    .paperwork
                    .training_lapses_on
                    .map(|d| t.date(d))
                    .unwrap_or_default(),
            )],
        ),
        Err(reason) => t.with("console-pd-closed", &[("reason", reason.to_string())]),
    }));
    if staff
        .permit(&state, Permission::ViewIncidents, None)
        .is_ok()
    {
        match state.app.incidents().await {
            Ok(incidents) => blocks.extend(incident_blocks(&t, &incidents)),
            Err(e) => return staff.failed(&state, e),
        }
    }
    staff.page(&state, StatusCode::OK, t.get("console-home"), blocks)
}

fn clock_cell(t: &Tr, incident: &Incident) -> Cell {
    let minutes = incident.authority.minutes_left.unwrap_or(0);
    match incident.authority.state {
        ClockState::Running => Cell::Text(t.with(
            "clock-running",
            &[
                ("hours", (minutes / 60).to_string()),
                ("minutes", (minutes % 60).to_string()),
            ],
        )),
        ClockState::Overdue => Cell::Strong(t.get("clock-overdue")),
        ClockState::Met => Cell::Text(t.get("clock-met")),
        ClockState::MetLate => Cell::Strong(t.get("clock-met-late")),
    }
}

fn incident_blocks(t: &Tr, incidents: &[Incident]) -> Vec<Block> {
    vec![
        Block::Heading(t.get("console-incidents")),
        Block::Table(Table {
            caption: t.get("incidents-caption"),
            headers: [
                "incidents-detected",
                "incidents-description",
                "incidents-due",
                "incidents-clock",
                "col-state",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows: incidents
                .iter()
                .map(|i| {
                    vec![
                        Cell::Text(t.day_of(i.detected_at)),
                        Cell::Text(i.description.clone()),
                        Cell::Text(format!(
                            "{} {}",
                            t.day_of(i.authority.due_at),
                            almaty_time(i.authority.due_at)
                        )),
                        clock_cell(t, i),
                        Cell::Text(t.get(if i.is_open() {
                            "incidents-open"
                        } else {
                            "incidents-closed"
                        })),
                    ]
                })
                .collect(),
            empty: t.get("incidents-none"),
        }),
    ]
}

fn almaty_time(at: jiff::Timestamp) -> String {
    let zone = vintrova_policy::zone("Asia/Almaty").expect("the bundled zone database");
    at.to_zoned_datetime(zone).strftime("%H:%M").to_string()
}

pub async fn incidents(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::ViewIncidents, None) {
        return staff.denied(&state, reason);
    }
    match state.app.incidents().await {
        Ok(list) => {
            let blocks = incident_blocks(&t, &list);
            staff.page(&state, StatusCode::OK, t.get("console-incidents"), blocks)
        }
        Err(e) => staff.failed(&state, e),
    }
}

/// The request queue by days left, with the picture at a glance.
pub async fn requests(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::HandleRequests, Some(REQUEST_WORK)) {
        return staff.denied(&state, reason);
    }
    let mut queue = match state.app.request_queue().await {
        Ok(q) => q,
        Err(e) => return staff.failed(&state, e),
    };
    queue.sort_by_key(|q| q.days_left);
    let bucket = |lo: i64, hi: i64| {
        queue
            .iter()
            .filter(|q| (lo..=hi).contains(&q.days_left))
            .count() as u64
    };
    let chart = Chart::bars(
        "due",
        t.get("requests-chart"),
        vec![
            (t.get("requests-overdue"), bucket(i64::MIN, -1), "bad"),
            ("0–3".into(), bucket(0, 3), "warn"),
            ("4–7".into(), bucket(4, 7), "warn"),
            ("8–14".into(), bucket(8, 14), "ok"),
            ("15–30".into(), bucket(15, 30), "ok"),
        ],
    );
    let rows = queue
        .iter()
        .map(|q| {
            let r = &q.request;
            let days = if q.overdue {
                Cell::Strong(t.with("requests-days-left", &[("days", q.days_left.to_string())]))
            } else {
                Cell::Text(t.with("requests-days-left", &[("days", q.days_left.to_string())]))
            };
            let action = match r.state {
                vintrova_core::requests::RequestState::AwaitingVerification => form(
                    &format!("verify-{}", r.id),
                    format!("/staff/requests/{}/verify", r.id),
                    vec![Field::input("code", t.get("console-code"), "text")],
                    t.get("requests-verify"),
                ),
                _ => form(
                    &format!("fulfil-{}", r.id),
                    format!("/staff/requests/{}/fulfil", r.id),
                    vec![],
                    t.get("requests-fulfil"),
                ),
            };
            vec![
                Cell::Text(t.get(&format!("right-{}", r.right.as_str()))),
                Cell::Text(t.day_of(r.received_at)),
                Cell::Text(t.get(&format!("state-{}", r.state.as_str()))),
                Cell::Text(t.date(r.due_on)),
                days,
                Cell::Action(action),
            ]
        })
        .collect();
    let blocks = vec![
        Block::Chart(chart),
        Block::Table(Table {
            caption: t.get("requests-caption"),
            headers: [
                "col-right",
                "col-received",
                "col-state",
                "col-due",
                "requests-left",
                "requests-action",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows,
            empty: t.get("requests-none"),
        }),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-requests"), blocks)
}

#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    csrf: String,
    code: String,
}

pub async fn verify_request(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
    Form(form): Form<VerifyForm>,
) -> Response {
    let (staff, actor) = match staff.admit_request_work(&state, &form.csrf) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    match state.app.verify_request(&actor, id, &form.code).await {
        Ok(_) => staff.visit.redirect("/staff/requests"),
        Err(e) => staff.failed(&state, e),
    }
}

/// Answer a verified request. Rectification needs the corrected data and goes through the API.
pub async fn fulfil_request(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let (staff, actor) = match staff.admit_request_work(&state, &form.csrf) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    let queue = match state.app.request_queue().await {
        Ok(q) => q,
        Err(e) => return staff.failed(&state, e),
    };
    let Some(found) = queue.iter().find(|q| q.request.id == id) else {
        return staff.redirect_requests();
    };
    let fulfilment = match found.request.right {
        RightKind::Information => Fulfilment::Information,
        RightKind::Access => Fulfilment::Access,
        RightKind::Erasure => Fulfilment::Erasure,
        RightKind::Restriction => Fulfilment::Restriction,
        RightKind::ConsentWithdrawal => Fulfilment::ConsentWithdrawal(None),
        RightKind::MarketingObjection => Fulfilment::MarketingObjection,
        RightKind::Rectification => {
            let text = staff.t().get("requests-rectify-api");
            return staff.denied(&state, text);
        }
    };
    let by_post = found.request.channel == AnswerChannel::Post;
    match state.app.fulfil(&actor, id, fulfilment).await {
        // By post, the person's receipt goes on paper: this is the one moment it exists here.
        Ok(Answer::Erasure(erased)) if by_post => (
            [
                (
                    header::CONTENT_TYPE,
                    "text/plain; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", erased.signed.file_name()),
                ),
            ],
            erased.signed.text,
        )
            .into_response(),
        Ok(_) => staff.redirect_requests(),
        Err(e) => staff.failed(&state, e),
    }
}

impl StaffVisit {
    fn redirect_requests(self) -> Response {
        self.visit.redirect("/staff/requests")
    }
}

fn purposes(state: &AppState, t: &Tr) -> Vec<(String, String)> {
    let lang = t.code();
    state
        .app
        .policy()
        .purposes
        .iter()
        .map(|p| (p.key.clone(), p.name.get(lang).to_string()))
        .chain(
            STAFF_DUTIES
                .iter()
                .map(|d| (d.to_string(), t.get(&format!("duty-{d}")))),
        )
        .collect()
}

fn lookup_form(state: &AppState, t: &Tr) -> FormSpec {
    form(
        "lookup",
        "/staff/lookup".into(),
        vec![
            Field::choice(
                "field",
                t.get("lookup-field"),
                vec![
                    ("contact.email".into(), t.get("register-email")),
                    ("contact.phone".into(), t.get("lookup-phone")),
                ],
            ),
            Field::input("value", t.get("col-value"), "text"),
            Field::choice("purpose", t.get("lookup-purpose"), purposes(state, t)),
            Field {
                required: false,
                ..Field::input("reference", t.get("lookup-reference"), "text")
            },
        ],
        t.get("lookup-submit"),
    )
}

/// Look a person up: the form asks why, and the audit log keeps the answer.
pub async fn lookup_page(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if !Permission::ReadSubject.allows(staff.member.principal()) {
        let reason = staff
            .permit(&state, Permission::ReadSubject, Some("support"))
            .err()
            .unwrap_or_default();
        return staff.denied(&state, reason);
    }
    let blocks = vec![
        Block::Text(t.get("lookup-intro")),
        Block::Form(lookup_form(&state, &t)),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-lookup"), blocks)
}

#[derive(Debug, Deserialize)]
pub struct LookupForm {
    csrf: String,
    field: String,
    value: String,
    purpose: String,
    /// The request, incident or hold a duty serves; empty for a policy purpose.
    #[serde(default)]
    reference: String,
}

pub async fn lookup(
    State(state): State<AppState>,
    staff: StaffVisit,
    Form(form): Form<LookupForm>,
) -> Response {
    let (staff, actor) = match staff.admit(
        &state,
        &form.csrf,
        Permission::ReadSubject,
        Some(&form.purpose),
    ) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    let t = staff.t();
    let found = match state.app.find(&actor, &form.field, &form.value).await {
        Ok(found) => found,
        Err(e) => return staff.failed(&state, e),
    };
    let rows = found
        .iter()
        .map(|id| {
            let reference = form.reference.trim();
            let reference = Uuid::parse_str(reference)
                .map(|r| format!("&reference={r}"))
                .unwrap_or_default();
            vec![Cell::Link(
                format!("/staff/subjects/{id}?purpose={}{reference}", form.purpose),
                id.to_string(),
            )]
        })
        .collect();
    let blocks = vec![
        Block::Table(Table {
            caption: t.get("lookup-results"),
            headers: vec![t.get("lookup-subject")],
            rows,
            empty: t.get("lookup-none"),
        }),
        Block::Form(lookup_form(&state, &t)),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-lookup"), blocks)
}

#[derive(Debug, Deserialize)]
pub struct PurposeQuery {
    purpose: String,
    /// The record a duty serves: the request, incident or hold id.
    reference: Option<String>,
}

/// One person's data for the stated purpose: what that purpose may see. A duty opens data only
/// for the record it names — a verified request's full copy, an incident's affected categories,
/// a hold's kept categories.
pub async fn subject(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
    Query(query): Query<PurposeQuery>,
) -> Response {
    let t = staff.t();
    let actor = match staff.permit(&state, Permission::ReadSubject, Some(&query.purpose)) {
        Ok(a) => a,
        Err(reason) => return staff.denied(&state, reason),
    };
    let policy = state.app.policy();
    let lang = t.code();
    let name = |field: &str| {
        policy.field(field).map_or(field.to_string(), |(c, f)| {
            format!("{} — {}", c.name.get(lang), f.name.get(lang))
        })
    };
    let shown = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let rows: Vec<Vec<Cell>> = if policy.purpose(&query.purpose).is_some() {
        match state.app.read(&actor, id, &query.purpose).await {
            Ok(view) => view
                .values
                .iter()
                .map(|(field, value)| vec![Cell::Text(name(field)), Cell::Text(shown(value))])
                .collect(),
            Err(e) => return staff.failed(&state, e),
        }
    } else {
        let duty = match StaffDuty::parse(&query.purpose, query.reference.as_deref()) {
            Ok(duty) => duty,
            Err(e) => return staff.failed(&state, e.into()),
        };
        match state.app.read_for_duty(&actor, id, duty).await {
            Ok(DutyView::Copy(export)) => export
                .values
                .iter()
                .map(|v| vec![Cell::Text(name(&v.field)), Cell::Text(shown(&v.value))])
                .collect(),
            Ok(DutyView::View(view)) => view
                .values
                .iter()
                .map(|(field, value)| vec![Cell::Text(name(field)), Cell::Text(shown(value))])
                .collect(),
            Err(e) => return staff.failed(&state, e),
        }
    };
    let blocks = vec![
        Block::Text(t.with("subject-purpose", &[("purpose", query.purpose.clone())])),
        Block::Table(Table {
            caption: id.to_string(),
            headers: vec![t.get("col-fields"), t.get("col-value")],
            rows,
            empty: t.get("me-empty"),
        }),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-subject"), blocks)
}

/// The audit log: its verification and its newest entries (never a value).
pub async fn audit(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::VerifyAudit, None) {
        return staff.denied(&state, reason);
    }
    let verified = state.app.verify_audit().await;
    crate::metrics::audit_verified(
        verified.is_ok(),
        verified.as_ref().map(|r| r.entries).unwrap_or(0),
        state.app.now(),
    );
    let status = match &verified {
        Ok(report) => Block::Text(t.with(
            "audit-ok",
            &[(
                "entries",
                t.number(u64::try_from(report.entries).unwrap_or(0)),
            )],
        )),
        Err(e) => Block::Heading(t.with("audit-broken", &[("reason", e.to_string())])),
    };
    let entries = match state.app.recent_audit(50).await {
        Ok(page) => page,
        Err(e) => return staff.failed(&state, e),
    };
    let rows = entries
        .iter()
        .rev()
        .map(|r| {
            vec![
                Cell::Text(r.seq.to_string()),
                Cell::Text(format!(
                    "{} {}",
                    t.day_of(r.entry.at),
                    almaty_time(r.entry.at)
                )),
                Cell::Text(r.entry.actor.clone()),
                Cell::Text(r.entry.action.clone()),
                Cell::Text(r.entry.purpose.clone().unwrap_or_default()),
                Cell::Text(r.entry.categories.join(", ")),
            ]
        })
        .collect();
    let blocks = vec![
        status,
        Block::Table(Table {
            caption: t.get("audit-caption"),
            headers: [
                "audit-seq",
                "audit-at",
                "audit-actor",
                "audit-action",
                "col-purpose",
                "col-categories",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows,
            empty: t.get("audit-empty"),
        }),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-audit"), blocks)
}

/// Staff and their paperwork; administrators add staff, the DPO records paperwork.
pub async fn team(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::ViewStaff, None) {
        return staff.denied(&state, reason);
    }
    let members = match state.app.staff_members().await {
        Ok(m) => m,
        Err(e) => return staff.failed(&state, e),
    };
    let today = state
        .app
        .now()
        .to_zoned_datetime(state.app.policy().zone())
        .date();
    let rows = members
        .iter()
        .map(|m| {
            let standing = match m.paperwork.standing(today) {
                Ok(()) => Cell::Text(
                    t.with(
                        "team-until",
                        &[(
                            "date",
                            m.paperwork
                                .training_lapses_on
                                .map(|d| t.date(d))
                                .unwrap_or_default(),
                        )],
                    ),
                ),
                Err(reason) => Cell::Strong(t.get(&format!("team-{}", reason.rule()))),
            };
            vec![
                Cell::Text(m.login.clone()),
                Cell::Text(t.get(&format!("role-{}", m.role.as_str()))),
                Cell::Text(t.get(if m.enrolled {
                    "team-enrolled"
                } else {
                    "team-invited"
                })),
                standing,
            ]
        })
        .collect();
    let mut blocks = vec![Block::Table(Table {
        caption: t.get("console-team"),
        headers: [
            "console-login",
            "team-role",
            "team-enrollment",
            "team-paperwork",
        ]
        .iter()
        .map(|k| t.get(k))
        .collect(),
        rows,
        empty: String::new(),
    })];
    if Permission::RecordPaperwork.allows(staff.member.principal()) {
        blocks.push(Block::Heading(t.get("team-paperwork-record")));
        blocks.push(Block::Form(form(
            "paperwork",
            "/staff/team/paperwork".into(),
            vec![
                Field::choice(
                    "staff",
                    t.get("console-login"),
                    members
                        .iter()
                        .map(|m| (m.id.to_string(), m.login.clone()))
                        .collect(),
                ),
                Field::choice(
                    "kind",
                    t.get("team-paper"),
                    vec![
                        ("agreement".into(), t.get("team-agreement")),
                        ("training".into(), t.get("team-training")),
                    ],
                ),
                Field::input("on", t.get("team-on"), "date"),
                Field::input("reference", t.get("team-reference"), "text"),
            ],
            t.get("team-paperwork-submit"),
        )));
    }
    if Permission::ManageStaff.allows(staff.member.principal()) {
        blocks.push(Block::Heading(t.get("team-add")));
        blocks.push(Block::Form(form(
            "add-staff",
            "/staff/team".into(),
            vec![
                Field::input("login", t.get("console-login"), "text"),
                Field::choice(
                    "role",
                    t.get("team-role"),
                    Role::ALL
                        .iter()
                        .map(|r| {
                            (
                                r.as_str().to_string(),
                                t.get(&format!("role-{}", r.as_str())),
                            )
                        })
                        .collect(),
                ),
            ],
            t.get("team-add-submit"),
        )));
    }
    staff.page(&state, StatusCode::OK, t.get("console-team"), blocks)
}

#[derive(Debug, Deserialize)]
pub struct PaperworkForm {
    csrf: String,
    staff: Uuid,
    kind: String,
    on: Date,
    reference: String,
}

pub async fn record_paperwork(
    State(state): State<AppState>,
    staff: StaffVisit,
    Form(form): Form<PaperworkForm>,
) -> Response {
    let (staff, actor) = match staff.admit(&state, &form.csrf, Permission::RecordPaperwork, None) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    let kind = PaperKind::parse(&form.kind).unwrap_or(PaperKind::Training);
    let paper = Paper {
        kind,
        on: form.on,
        reference: form.reference,
    };
    match state.app.record_paperwork(&actor, form.staff, paper).await {
        Ok(_) => staff.visit.redirect("/staff/team"),
        Err(e) => staff.failed(&state, e),
    }
}

#[derive(Debug, Deserialize)]
pub struct AddStaffForm {
    csrf: String,
    login: String,
    role: String,
}

/// Add a staff member: the page shows their one-time link, once.
pub async fn add_staff(
    State(state): State<AppState>,
    staff: StaffVisit,
    Form(form): Form<AddStaffForm>,
) -> Response {
    let (staff, actor) = match staff.admit(&state, &form.csrf, Permission::ManageStaff, None) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    let t = staff.t();
    let role = Role::parse(&form.role).unwrap_or(Role::Support);
    match state.app.add_staff(&actor, &form.login, role).await {
        Ok(enrollment) => {
            let link = format!("/staff/enroll?token={}", enrollment.token);
            let blocks = vec![
                Block::Text(t.with("team-link", &[("login", enrollment.login.clone())])),
                Block::Table(Table {
                    caption: t.get("team-link-caption"),
                    headers: vec![t.get("console-login")],
                    rows: vec![vec![Cell::Link(link.clone(), link)]],
                    empty: String::new(),
                }),
            ];
            staff.page(&state, StatusCode::CREATED, t.get("team-add"), blocks)
        }
        Err(e) => staff.failed(&state, e),
    }
}

/// The recipients register, from the policy (disclosures come with issue 8).
pub async fn recipients(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::Console, None) {
        return staff.denied(&state, reason);
    }
    let policy = state.app.policy();
    let lang = t.code();
    let rows = policy
        .recipients
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.name.get(lang).to_string()),
                Cell::Text(r.role.get(lang).to_string()),
                Cell::Text(r.countries.join(", ")),
                Cell::Text(r.categories.join(", ")),
                Cell::Text(r.purposes.join(", ")),
            ]
        })
        .collect();
    let blocks = vec![
        Block::Text(t.with("recipients-version", &[("version", policy.version.clone())])),
        Block::Table(Table {
            caption: t.get("console-recipients"),
            headers: [
                "col-recipient",
                "col-role",
                "col-countries",
                "col-categories",
                "col-purpose",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows,
            empty: String::new(),
        }),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-recipients"), blocks)
}

/// Retention at a glance: what falls due in each of the next six months, and the holds.
pub async fn retention(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::ViewRetention, None) {
        return staff.denied(&state, reason);
    }
    let (months, holds) = match (
        state.app.expiring_by_month(6).await,
        state.app.holds().await,
    ) {
        (Ok(m), Ok(h)) => (m, h),
        (Err(e), _) | (_, Err(e)) => return staff.failed(&state, e),
    };
    let label = |d: Date| {
        format!(
            "{} {}",
            t.get(&format!("month-short-{}", d.month())),
            d.year()
        )
    };
    let chart = Chart::bars(
        "retention",
        t.get("retention-chart"),
        months
            .iter()
            .map(|m| (label(m.month_end), m.items, "ok"))
            .collect(),
    );
    let now = state.app.now();
    let blocks = vec![
        Block::Chart(chart),
        Block::Table(Table {
            caption: t.get("retention-caption"),
            headers: ["retention-month", "retention-items", "retention-people"]
                .iter()
                .map(|k| t.get(k))
                .collect(),
            rows: months
                .iter()
                .map(|m| {
                    vec![
                        Cell::Text(label(m.month_end)),
                        Cell::Text(t.number(m.items)),
                        Cell::Text(t.number(m.subjects_removed)),
                    ]
                })
                .collect(),
            empty: String::new(),
        }),
        Block::Heading(t.get("retention-holds")),
        Block::Table(Table {
            caption: t.get("retention-holds"),
            headers: [
                "retention-reference",
                "col-categories",
                "retention-until",
                "col-state",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows: holds
                .iter()
                .map(|h| {
                    vec![
                        Cell::Text(h.reference.clone()),
                        Cell::Text(if h.categories.is_empty() {
                            t.get("retention-all")
                        } else {
                            h.categories.join(", ")
                        }),
                        Cell::Text(
                            h.until
                                .map(|u| t.day_of(u))
                                .unwrap_or_else(|| t.get("retention-until-released")),
                        ),
                        Cell::Text(t.get(if h.in_force(now) {
                            "retention-in-force"
                        } else {
                            "retention-released"
                        })),
                    ]
                })
                .collect(),
            empty: t.get("retention-no-holds"),
        }),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-retention"), blocks)
}

/// Learning effectiveness, from the anonymized release: completion rate by course and level.
pub async fn analytics(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::ViewAnalytics, None) {
        return staff.denied(&state, reason);
    }
    let release = match state.app.analytics(vintrova_core::analytics::MIN_K).await {
        Ok(release) => release,
        Err(CoreError::Invalid(_)) => {
            let text = t.get("analytics-too-small");
            return staff.page(
                &state,
                StatusCode::OK,
                t.get("console-analytics"),
                vec![Block::Text(text)],
            );
        }
        Err(e) => return staff.failed(&state, e),
    };
    let rates = vintrova_core::analytics::completion_rates(&release);
    let chart = Chart::bars(
        "completion",
        t.get("analytics-chart"),
        rates
            .iter()
            .map(|r| (r.course.clone(), (r.rate * 100.0).round() as u64, "ok"))
            .collect(),
    );
    let blocks = vec![
        Block::Text(t.with(
            "analytics-intro",
            &[
                ("k", release.k.to_string()),
                ("suppressed", t.number(release.suppressed)),
            ],
        )),
        Block::Chart(chart),
        Block::Table(Table {
            caption: t.get("analytics-caption"),
            headers: [
                "analytics-course",
                "analytics-level",
                "analytics-enrollments",
                "analytics-rate",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows: rates
                .iter()
                .map(|r| {
                    vec![
                        Cell::Text(r.course.clone()),
                        Cell::Text(r.course_level.clone()),
                        Cell::Text(t.number(r.enrollments)),
                        Cell::Text(format!("{}%", (r.rate * 100.0).round())),
                    ]
                })
                .collect(),
            empty: t.get("analytics-too-small"),
        }),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-analytics"), blocks)
}
