//! The transport's defences: security headers on every response, the client's address (through
//! trusted proxies only), and rate limits per client and per account on the doors attackers
//! knock on — sign-in, second factor, registration, password reset, request intake.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::problem::Problem;

/// The headers every response carries. The CSP allows nothing but this origin's stylesheet
/// and forms: no script, no frame, no plug-in, no base rewrite.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("cache-control", "no-store"),
];

pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

/// Which peers may tell us the client's address in `X-Forwarded-For`.
#[derive(Debug, Clone)]
pub struct TrustedProxies(Vec<IpAddr>);

impl TrustedProxies {
    pub fn new(proxies: Vec<IpAddr>) -> Self {
        TrustedProxies(proxies)
    }

    /// Loopback only: a reverse proxy or the platform's back end on the same machine.
    pub fn loopback() -> Self {
        TrustedProxies(vec![
            IpAddr::from([127, 0, 0, 1]),
            IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1]),
        ])
    }

    /// The client: the peer, unless the peer is a trusted proxy — then the nearest address in
    /// `X-Forwarded-For` that is not itself a trusted proxy. Addresses a client wrote further
    /// left are never believed.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.0.contains(&peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|a| !self.0.contains(a))
                .unwrap_or(peer),
        )
    }
}

/// The doors with limits, and how many knocks each allows per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Door {
    SignIn,
    StaffSignIn,
    Registration,
    PasswordReset,
    RequestIntake,
}

/// How many knocks a door allows per window, by who knocks.
#[derive(Debug, Clone, Copy)]
struct Allowance {
    /// An unauthenticated caller, by network address (a browser, an attacker).
    client: u32,
    /// One login or email address, whoever asks for it.
    account: u32,
    /// The platform's back end with its API token, wherever it calls from: it speaks for
    /// every student at once, so its ceiling is the platform's peak, not one person's.
    platform: u32,
    window: SignedDuration,
}

impl Door {
    fn limits(self) -> Allowance {
        let (client, account, platform, window) = match self {
            Door::SignIn => (30, 10, 20_000, SignedDuration::from_mins(15)),
            Door::StaffSignIn => (10, 5, 0, SignedDuration::from_mins(15)),
            Door::Registration => (10, 3, 5_000, SignedDuration::from_hours(1)),
            Door::PasswordReset => (10, 3, 2_000, SignedDuration::from_hours(1)),
            Door::RequestIntake => (10, 5, 1_000, SignedDuration::from_hours(1)),
        };
        Allowance {
            client,
            account,
            platform,
            window,
        }
    }

    /// The door a route template leads to, if it is one.
    pub fn of(method: &str, template: &str) -> Option<Door> {
        match (method, template) {
            ("POST", "/api/v1/sessions" | "/sign-in") => Some(Door::SignIn),
            ("POST", "/api/v1/staff/sessions" | "/staff/sign-in" | "/staff/enroll") => {
                Some(Door::StaffSignIn)
            }
            (
                "POST",
                "/api/v1/accounts"
                | "/api/v1/accounts/confirmation"
                | "/register"
                | "/register/confirm",
            ) => Some(Door::Registration),
            (
                "POST",
                "/api/v1/accounts/password-reset"
                | "/api/v1/accounts/password-reset/confirm"
                | "/password-reset"
                | "/password-reset/confirm",
            ) => Some(Door::PasswordReset),
            ("POST", "/api/v1/requests" | "/api/v1/requests/cabinet" | "/me/requests") => {
                Some(Door::RequestIntake)
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Client(IpAddr),
    /// The platform's back end, by its token.
    Platform,
    /// SHA-256 of the account's login or email: the limiter never holds the address itself.
    Account([u8; 32]),
}

/// Fixed-window counters in memory: enough for one server; behind a load balancer each server
/// limits on its own, which still bounds an attacker to servers × limit.
#[derive(Default)]
pub struct Limits {
    windows: Mutex<HashMap<(Door, Key), (Timestamp, u32)>>,
}

/// A knock over the limit: when to come back.
#[derive(Debug)]
pub struct Throttled {
    pub retry_after: SignedDuration,
}

impl From<Throttled> for Problem {
    fn from(t: Throttled) -> Problem {
        let seconds = t.retry_after.as_secs().max(1) as u64;
        Problem {
            retry_after: Some(seconds),
            ..Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many attempts",
                format!("Try again in {seconds} seconds."),
            )
        }
    }
}

impl IntoResponse for Throttled {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

impl Throttled {
    /// The refusal as a browser should see it: a page in its language that says when to come
    /// back (a classroom behind one address can meet the limit), never raw JSON.
    pub fn page(self, t: &crate::i18n::Tr) -> Response {
        let seconds = self.retry_after.as_secs().max(1);
        let minutes = (seconds + 59) / 60;
        let title = t.get("throttled-title");
        let text = t.with("throttled-text", &[("minutes", minutes.to_string())]);
        let html = format!(
            "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head><body><main><h1>{title}</h1><p>{text}</p><p><a href=\"/\">{}</a></p></main></body></html>",
            t.lang.code(),
            t.get("throttled-home")
        );
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response();
        if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

const MAX_TRACKED: usize = 100_000;

impl Limits {
    fn knock(&self, door: Door, key: Key, now: Timestamp) -> Result<(), Throttled> {
        let allowance = door.limits();
        let window = allowance.window;
        let limit = match key {
            Key::Client(_) => allowance.client,
            Key::Account(_) => allowance.account,
            Key::Platform => allowance.platform,
        };
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > MAX_TRACKED {
            windows.retain(|(d, _), (start, _)| *start + d.limits().window > now);
        }
        let entry = windows.entry((door, key)).or_insert((now, 0));
        if entry.0 + window <= now {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            // Counted here, where every refusal is decided, so per-account refusals made
            // inside handlers are counted as well as the per-client ones of [`throttle`].
            crate::metrics::throttled(door);
            return Err(Throttled {
                retry_after: entry.0 + window - now,
            });
        }
        entry.1 += 1;
        Ok(())
    }

    /// Count a knock by this client.
    pub fn client(&self, door: Door, client: IpAddr, now: Timestamp) -> Result<(), Throttled> {
        self.knock(door, Key::Client(client), now)
    }

    /// Count a knock on this account (a login or an email, normalized by the caller).
    pub fn account(&self, door: Door, account: &str, now: Timestamp) -> Result<(), Throttled> {
        let digest = Sha256::digest(account.trim().to_lowercase().as_bytes()).into();
        self.knock(door, Key::Account(digest), now)
    }
}

/// Count every call through a limited door against who makes it: the platform's back end (its
/// API token) against the platform's ceiling, anyone else against their network address. The
/// per-account limits apply to both, in the handlers.
pub async fn throttle(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str())
        .unwrap_or_default();
    if let Some(door) = Door::of(request.method().as_str(), template) {
        let now = state.app.now();
        let knocked = if crate::access::bearer_matches(request.headers(), &state.token_digest) {
            Some(state.limits.knock(door, Key::Platform, now))
        } else {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip());
            state
                .proxies
                .client(peer, request.headers())
                .map(|client| state.limits.client(door, client, now))
        };
        // Every refusal is counted where it is decided, in `Limits::knock`.
        if let Some(Err(throttled)) = knocked {
            // The API answers problem details; a browser gets a page in its language.
            if template.starts_with("/api/") {
                return throttled.into_response();
            }
            let query = request.uri().query().unwrap_or_default();
            let asked = query.split('&').find_map(|pair| pair.strip_prefix("lang="));
            let t = crate::i18n::Tr::new(crate::i18n::page_lang(asked, request.headers()));
            return throttled.page(&t);
        }
    }
    next.run(request).await
}
