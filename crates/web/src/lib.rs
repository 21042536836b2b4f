//! HTTP: the JSON API v1, its OpenAPI document, health, and the one mapping from core errors
//! to RFC 9457 problem details.
//!
//! May not: write SQL, decide policy, or see a decrypted value other than by asking core. No
//! personal data in URLs, logs or error bodies.

pub mod access;
pub mod accounts;
pub mod api;
pub mod console;
mod contract;
pub mod downloads;
pub mod edge;
pub mod i18n;
pub mod learning;
pub mod live;
pub mod metrics;
pub mod payments;
mod problem;
pub mod refusals;
pub mod requests;
pub mod security;
pub mod site;
pub mod staff;
pub mod support;
pub mod tls;
pub mod webhooks;
pub mod words;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use vintrova_core::payments::PaymentProvider;
use vintrova_core::{Actor, Vintrova};

use contract::Contract;
use edge::BODY_LIMIT;
pub use problem::Problem;
use security::{Limits, TrustedProxies};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub app: Arc<Vintrova>,
    pub provider: Arc<dyn PaymentProvider>,
    /// Who the platform's back end is in the audit log.
    platform: Actor,
    token_digest: [u8; 32],
    limits: Arc<Limits>,
    proxies: TrustedProxies,
    /// Where people reach this server: the base of links sent by mail.
    public_url: String,
}

impl AppState {
    /// `api_token` is the bearer token the platform's back end calls `/api/v1` with.
    /// `provider` takes payments and signs their callbacks.
    pub fn new(app: Arc<Vintrova>, api_token: &str, provider: Arc<dyn PaymentProvider>) -> Self {
        AppState {
            platform: Actor::new("api", "token"),
            provider,
            token_digest: Sha256::digest(api_token.as_bytes()).into(),
            limits: Arc::new(Limits::default()),
            proxies: TrustedProxies::loopback(),
            public_url: app.policy().operator.website.clone(),
            app,
        }
    }

    /// The address links in mail point at (the policy's website by default).
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = url.to_string();
        self
    }

    /// Believe `X-Forwarded-For` only from these peers (loopback by default).
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Vintrova API", version = "1", description = "Personal data of the Vintrova education platform, held as its privacy policy says."),
    paths(
        api::healthz, api::create_subject, api::update_subject, api::export_subject, api::read_for_purpose,
        api::erase_subject, api::record_basis, api::record_consent, api::record_events, accounts::register, accounts::confirm, accounts::sign_in, accounts::current, accounts::sign_out, accounts::change_password, accounts::request_reset, accounts::confirm_reset, accounts::close, staff::sign_in, staff::current, staff::sign_out, staff::list, staff::add, staff::paperwork, staff::reissue, staff::activate, staff::incidents, staff::report, staff::incident, staff::step, staff::notify, staff::assessments, staff::record_assessment, staff::follow_up_done, staff::recipients, staff::record_agreement, staff::disclosures, staff::disclose, staff::analytics_report, staff::export_analytics, staff::transfers, staff::plan_transfer, payments::create, payments::list, payments::refund, payments::callback, learning::catalog, learning::add_offering, learning::roster, learning::enroll, learning::enrollments, learning::progress, learning::cancel, learning::recommendations, support::open, support::list, support::reply, support::close, support::notify, requests::by_letter, requests::in_cabinet, requests::queue, requests::letters, requests::verify, requests::fulfil, requests::reject, downloads::download, api::lookup, api::verify_audit, api::policy,
        webhooks::list, webhooks::add, webhooks::remove, webhooks::rotate, webhooks::enable, webhooks::deliveries
    ),
    // The per-value copy is answered on request (`?shape=values`), so its schema stays.
    components(schemas(vintrova_core::Export)),
    modifiers(&Contract)
)]
pub struct ApiDoc;

/// Where the key that signs erasure receipts is published.
pub const RECEIPT_KEY_PATH: &str = "/.well-known/vintrova-receipt-key.pem";

/// The console's forms are small.
const FORM_LIMIT: usize = 16 * 1024;

pub fn router(state: AppState) -> Router {
    // Record from the first request on, not from the first scrape.
    metrics::handle();
    let protected = Router::new()
        .route("/subjects", post(api::create_subject))
        .route("/subjects/lookup", post(api::lookup))
        .route(
            "/subjects/{id}",
            axum::routing::patch(api::update_subject).delete(api::erase_subject),
        )
        .route("/subjects/{id}/export", get(api::export_subject))
        .route(
            "/subjects/{id}/purposes/{purpose}",
            get(api::read_for_purpose),
        )
        .route("/subjects/{id}/bases", post(api::record_basis))
        .route("/subjects/{id}/consents", post(api::record_consent))
        .route("/subjects/{id}/events", post(api::record_events))
        .route("/accounts", post(accounts::register))
        .route("/accounts/confirmation", post(accounts::confirm))
        .route(
            "/subjects/{id}/orders",
            post(payments::create).get(payments::list),
        )
        .route("/orders/{id}/refund", post(payments::refund))
        .route(
            "/catalog",
            get(learning::catalog).post(learning::add_offering),
        )
        .route("/catalog/{offering}/roster", get(learning::roster))
        .route(
            "/subjects/{id}/enrollments",
            post(learning::enroll).get(learning::enrollments),
        )
        .route("/enrollments/{id}/progress", post(learning::progress))
        .route("/enrollments/{id}/cancel", post(learning::cancel))
        .route(
            "/subjects/{id}/recommendations",
            get(learning::recommendations),
        )
        .route(
            "/subjects/{id}/tickets",
            post(support::open).get(support::list),
        )
        .route("/tickets/{id}/messages", post(support::reply))
        .route("/tickets/{id}/close", post(support::close))
        .route("/notices", post(support::notify))
        .route("/requests", post(requests::by_letter).get(requests::queue))
        .route("/requests/cabinet", post(requests::in_cabinet))
        .route("/requests/letters", get(requests::letters))
        .route("/requests/{id}/verify", post(requests::verify))
        .route("/requests/{id}/fulfil", post(requests::fulfil))
        .route("/requests/{id}/reject", post(requests::reject))
        .route("/accounts/password", post(accounts::change_password))
        .route("/accounts/password-reset", post(accounts::request_reset))
        .route(
            "/accounts/password-reset/confirm",
            post(accounts::confirm_reset),
        )
        .route("/accounts/{id}/close", post(accounts::close))
        .route("/sessions", post(accounts::sign_in))
        .route(
            "/sessions/current",
            get(accounts::current).delete(accounts::sign_out),
        )
        .route("/audit/verify", get(api::verify_audit))
        .route("/staff", get(staff::list).post(staff::add))
        .route("/staff/{id}/paperwork", post(staff::paperwork))
        .route("/staff/{id}/enrollment", post(staff::reissue))
        .route("/staff/{id}/active", post(staff::activate))
        .route(
            "/staff/sessions/current",
            get(staff::current).delete(staff::sign_out),
        )
        .route("/incidents", get(staff::incidents).post(staff::report))
        .route("/incidents/{id}", get(staff::incident))
        .route("/incidents/{id}/steps", post(staff::step))
        .route("/incidents/{id}/notify", post(staff::notify))
        .route(
            "/assessments",
            get(staff::assessments).post(staff::record_assessment),
        )
        .route(
            "/assessments/{id}/follow-ups/{index}/done",
            post(staff::follow_up_done),
        )
        .route("/recipients", get(staff::recipients))
        .route("/recipients/agreements", post(staff::record_agreement))
        .route("/webhooks", get(webhooks::list).post(webhooks::add))
        .route("/webhooks/{id}", axum::routing::delete(webhooks::remove))
        .route("/webhooks/{id}/rotation", post(webhooks::rotate))
        .route("/webhooks/{id}/enable", post(webhooks::enable))
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route(
            "/disclosures",
            get(staff::disclosures).post(staff::disclose),
        )
        .route("/analytics/report", get(staff::analytics_report))
        .route("/analytics/exports", post(staff::export_analytics))
        .route(
            "/transfers",
            get(staff::transfers).post(staff::plan_transfer),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), access::guard));
    let v1 = protected
        .route("/policy", get(api::policy))
        .route("/payments/callback", post(payments::callback))
        .route("/downloads/{token}", get(downloads::download))
        .route("/staff/sessions", post(staff::sign_in))
        .route("/openapi.json", get(openapi));
    let console = Router::new()
        .route("/staff", get(console::home))
        .route(
            "/staff/sign-in",
            get(console::sign_in_page).post(console::sign_in),
        )
        .route(
            "/staff/enroll",
            get(console::enroll_page).post(console::enroll),
        )
        .route("/staff/sign-out", post(console::sign_out))
        .route("/staff/requests", get(console::requests))
        .route("/staff/requests/{id}", get(console::request_page))
        .route("/staff/requests/{id}/verify", post(console::verify_request))
        .route("/staff/requests/{id}/fulfil", post(console::fulfil_request))
        .route("/staff/requests/{id}/reject", post(console::reject_request))
        .route("/staff/requests/{id}/resend", post(console::resend_code))
        .route("/staff/inbox/{id}", get(console::letter_page))
        .route("/staff/inbox/{id}/classify", post(console::classify_letter))
        .route("/staff/inbox/{id}/dismiss", post(console::dismiss_letter))
        .route(
            "/staff/requests/{id}/rectify",
            post(console::rectify_request),
        )
        .route(
            "/staff/lookup",
            get(console::lookup_page).post(console::lookup),
        )
        .route("/staff/subjects/{id}", get(console::subject))
        .route("/staff/incidents", get(console::incidents))
        .route("/staff/retention", get(console::retention))
        .route("/staff/analytics", get(console::analytics))
        .route("/staff/audit", get(console::audit))
        .route("/staff/team", get(console::team).post(console::add_staff))
        .route("/staff/team/paperwork", post(console::record_paperwork))
        .route("/staff/recipients", get(console::recipients))
        .route("/", get(site::home))
        .route("/policy", get(site::policy))
        .route("/policy/versions", get(site::policy_archive))
        .route("/policy/versions/{version}", get(site::policy_version))
        .route("/lang", get(site::switch_language))
        .route("/cookies", get(site::cookies_page).post(site::cookies))
        .route("/register", get(site::register_page).post(site::register))
        .route("/register/confirm", post(site::register_confirm))
        .route("/sign-in", get(site::sign_in_page).post(site::sign_in))
        .route("/sign-out", post(site::sign_out))
        .route("/password-reset", get(site::reset_page).post(site::reset))
        .route(
            "/password-reset/confirm",
            get(site::reset_confirm_page).post(site::reset_confirm),
        )
        .route("/me", get(site::my_data))
        .route("/me/copy", get(site::my_copy))
        .route(
            "/me/profile",
            get(site::profile_page).post(site::update_profile),
        )
        .route("/me/activity", get(site::activity))
        .route("/me/access", get(site::who_looked))
        .route("/me/access/digest", post(site::change_digest))
        .route(
            "/me/consents",
            get(site::consents_page).post(site::change_consent),
        )
        .route(
            "/me/requests",
            get(site::requests_page).post(site::file_request),
        )
        .route("/me/requests/{id}", get(site::request_page))
        .route("/me/requests/{id}/withdraw", post(site::withdraw_request))
        .layer(DefaultBodyLimit::max(FORM_LIMIT));
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::scrape))
        .route("/assets/site.css", get(site::stylesheet))
        .route(RECEIPT_KEY_PATH, get(site::receipt_key))
        .nest("/api/v1", v1)
        .merge(console)
        .fallback(not_found)
        // Innermost: every text is checked before the guard or a handler sees it.
        .layer(middleware::from_fn(edge::screen))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::throttle,
        ))
        .layer(middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), edge::uniform))
        .layer(middleware::from_fn(security::headers))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of a request names its route template, never its URI: a URI can carry a download
/// token (`/api/v1/downloads/{token}`) or a reset token in its query, and a log line must
/// never hold a credential, at any level.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |m| m.as_str());
    tracing::debug_span!("request", method = %request.method(), route)
}

async fn openapi() -> Response {
    let doc = ApiDoc::openapi().to_json().unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}

/// A problem for the API's paths, a page in the visitor's language for the rest.
async fn not_found(
    State(state): State<AppState>,
    visit: site::Visit,
    uri: axum::http::Uri,
) -> Response {
    if uri.path().starts_with("/api/") {
        return Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such resource",
            "See /api/v1/openapi.json for the API.",
        )
        .into_response();
    }
    site::not_found(State(state), visit).await
}
