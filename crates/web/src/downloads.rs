//! A copy of one's data behind a download link (R6.1 access): machine-readable JSON, or the
//! privacy center's copy page in the reader's language (`?lang=` or their language cookie). The
//! token in the link is the credential; it expires, and then the link says so.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::problem::Problem;
use crate::site::Visit;

#[derive(Debug, Deserialize, IntoParams)]
pub struct Format {
    /// `html` (default) or `json`.
    pub format: Option<String>,
    /// `ru`, `kk` or `en`; without it, the reader's chosen or browser language.
    pub lang: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/downloads/{token}", params(Format),
    responses((status = 200, description = "The copy, as a page or as JSON"), (status = 410, body = Problem)))]
pub async fn download(
    State(s): State<AppState>,
    Path(token): Path<String>,
    Query(format): Query<Format>,
    visit: Visit,
) -> Result<Response, Problem> {
    let as_json = format.format.as_deref() == Some("json");
    let copy = match s.app.download(&token).await {
        Ok(copy) => copy,
        // The link is opened from a letter, in a browser: an expired one is a page that says
        // what to do, not a problem document.
        Err(e) if !as_json => {
            let said = crate::refusals::say(&visit.t, s.app.policy(), e);
            return Ok(crate::site::error_page(&s, visit, said));
        }
        Err(e) => return Err(e.into()),
    };
    if as_json {
        return Ok(crate::site::copy::json(&copy));
    }
    let json = format!("/api/v1/downloads/{token}?format=json");
    Ok(crate::site::copy::page(&s, visit, &copy, &json).await)
}
