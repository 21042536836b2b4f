//! The staff console, server-rendered in three languages and usable without JavaScript: sign-in
//! with the second factor, enrollment from the one-time link, and the data protection officer's
//! practice — the request queue by days left (with its chart), subject look-up that asks for a
//! purpose, incidents and their clocks, the audit log with its verification, staff and their
//! paperwork, the recipients register.
//!
//! Every page asks the access matrix (`Vintrova::permit`) for its permission; every form carries
//! the session's CSRF token (before sign-in, the double-submit cookie of the site's forms).

mod analytics;
mod audit;
mod home;
mod inbox;
mod incidents;
mod lookup;
mod recipients;
mod requests;
mod retention;
mod session;
mod team;

pub use analytics::analytics;
pub use audit::audit;
pub use home::home;
pub use inbox::{classify as classify_letter, dismiss as dismiss_letter, letter_page};
pub use incidents::incidents;
pub use lookup::{lookup, lookup_page, subject};
pub use recipients::recipients;
pub use requests::{
    fulfil_request, rectify_request, reject_request, request_page, requests, resend_code,
    verify_request,
};
pub use retention::retention;
pub use session::{enroll, enroll_page, sign_in, sign_in_page, sign_out};
pub use team::{add_staff, record_paperwork, team};

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use vintrova_core::staff::{Permission, StaffMember, csrf_token};
use vintrova_core::{Actor, CoreError};

use crate::AppState;
use crate::access::{STAFF_COOKIE, cookie, same_token};
use crate::i18n::Tr;
use crate::site::{Chrome, Visit};

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

impl Table {
    /// The header of column `i`, which names the cell when a phone stacks the row into a card
    /// (by reference: the template's loop index is one).
    pub fn label(&self, i: &usize) -> &str {
        self.headers.get(*i).map_or("", String::as_str)
    }
}

pub struct Field {
    pub name: &'static str,
    pub label: String,
    pub kind: &'static str,
    pub required: bool,
    pub options: Vec<(String, String)>,
    /// What the field holds when the form opens (a correction starts from what is held).
    pub value: String,
}

impl Field {
    fn input(name: &'static str, label: String, kind: &'static str) -> Field {
        Field {
            name,
            label,
            kind,
            required: true,
            options: vec![],
            value: String::new(),
        }
    }

    /// A field that opens holding `value` and may be left empty.
    fn prefilled(name: &'static str, label: String, value: String) -> Field {
        Field {
            required: false,
            value,
            ..Field::input(name, label, "text")
        }
    }

    fn choice(name: &'static str, label: String, options: Vec<(String, String)>) -> Field {
        Field {
            name,
            label,
            kind: "select",
            required: true,
            options,
            value: String::new(),
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
    /// A line that leads somewhere: (where, what it says).
    Link(String, String),
    /// A picture drawn on the server (a QR code): SVG of our own making, never of input.
    Svg(String),
    Chart(Chart),
    Table(Table),
    Form(FormSpec),
}

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
            Err(e) => Err(crate::refusals::say(&self.t(), state.app.policy(), e).text),
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
            (
                Permission::ViewRetention,
                "/staff/retention",
                "console-retention",
            ),
            (
                Permission::ViewAnalytics,
                "/staff/analytics",
                "console-analytics",
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
        self.page_saying(state, status, title, blocks, None)
    }

    /// A page that opens by saying what was just done.
    fn page_saying(
        self,
        state: &AppState,
        status: StatusCode,
        title: String,
        blocks: Vec<Block>,
        message: Option<String>,
    ) -> Response {
        let mut c = self.chrome(state);
        c.message = message;
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
        let said = crate::refusals::say(&self.t(), state.app.policy(), e);
        self.page(state, said.status, said.title, vec![Block::Text(said.text)])
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

fn almaty_time(at: jiff::Timestamp) -> String {
    let zone = vintrova_policy::zone("Asia/Almaty").expect("the bundled zone database");
    at.to_zoned_datetime(zone).strftime("%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    /// A name stored before the edge refused bidi overrides still cannot reorder the page: every
    /// cell renders inside `<bdi>`.
    #[test]
    fn every_cell_is_bidi_isolated() {
        let c = Chrome {
            t: Tr::new(Lang::Ru),
            path: "/staff".into(),
            home: "/staff".into(),
            brand: "Vintrova".into(),
            nav: vec![],
            sign_out: None,
            signed_in: true,
            cookie_banner: false,
            csrf: String::new(),
            languages: vec![],
            message: None,
            problems: vec![],
            contact_name: String::new(),
            contact_email: String::new(),
            contact_phone: String::new(),
            hours: String::new(),
            operator: String::new(),
        };
        let name = "Sara\u{202E}gnp.exe";
        let page = ConsolePage {
            c,
            title: "t".into(),
            blocks: vec![Block::Table(Table {
                caption: "c".into(),
                headers: vec!["h".into()],
                rows: vec![vec![
                    Cell::Text(name.into()),
                    Cell::Strong(name.into()),
                    Cell::Link("/x".into(), name.into()),
                ]],
                empty: String::new(),
            })],
        }
        .render()
        .unwrap();
        assert_eq!(
            page.matches(&format!("<bdi>{name}</bdi>")).count(),
            3,
            "{page}"
        );
        // On a phone the row stacks into a card, each cell named by its column's header.
        assert!(page.contains(r#"<table class="stack">"#), "{page}");
        assert!(page.contains(r#"<td data-label="h"><bdi>"#), "{page}");
    }
}
