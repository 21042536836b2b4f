//! A copy of one's data behind a download link (R6.1 access): machine-readable JSON, or a page a
//! person can read in Russian, Kazakh or English. The token in the link is the credential; it
//! expires, and then the link says so.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use vintrova_policy::Policy;

use crate::AppState;
use crate::problem::Problem;

#[derive(Debug, Deserialize, IntoParams)]
pub struct Format {
    /// `html` (default) or `json`.
    pub format: Option<String>,
    /// `ru` (default), `kk` or `en`.
    pub lang: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/downloads/{token}", params(Format),
    responses((status = 200, description = "The copy, as a page or as JSON"), (status = 410, body = Problem)))]
pub async fn download(
    State(s): State<AppState>,
    Path(token): Path<String>,
    Query(format): Query<Format>,
) -> Result<Response, Problem> {
    let copy = s.app.download(&token).await?;
    if format.format.as_deref() == Some("json") {
        return Ok(axum::Json(copy).into_response());
    }
    let lang = format
        .lang
        .as_deref()
        .filter(|l| matches!(*l, "kk" | "en"))
        .unwrap_or("ru");
    let page = render(s.app.policy(), &copy, lang);
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn words(lang: &str) -> [&'static str; 6] {
    match lang {
        "kk" => [
            "Сіздің деректеріңіздің көшірмесі",
            "Дерек",
            "Мәні",
            "Негіз",
            "Жойылады",
            "сіз қызметтерді пайдаланғанша",
        ],
        "en" => [
            "A copy of your data",
            "Datum",
            "Value",
            "Basis",
            "Deleted after",
            "while you use our services",
        ],
        _ => [
            "Копия ваших данных",
            "Данные",
            "Значение",
            "Основание",
            "Удаляются после",
            "пока вы пользуетесь услугами",
        ],
    }
}

/// A plain page: no scripts, nothing from elsewhere but the site's own stylesheet (it is only
/// looks: saved without it, the page reads the same). On a phone the rows stack into cards.
pub(crate) fn render(policy: &Policy, copy: &Value, lang: &str) -> String {
    let [title, datum, value, basis, until, while_used] = words(lang);
    let mut rows = String::new();
    for v in copy["values"].as_array().into_iter().flatten() {
        let field = v["field"].as_str().unwrap_or_default();
        let name = policy.field(field).map_or(field.to_string(), |(c, f)| {
            format!("{} — {}", c.name.get(lang), f.name.get(lang))
        });
        let shown = match &v["value"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let due = v["retention"]["delete_after"]
            .as_str()
            .map_or(while_used.to_string(), str::to_string);
        rows.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td data-label=\"{value}\">{}</td><td data-label=\"{basis}\">{}</td><td data-label=\"{until}\">{}</td></tr>\n",
            escape(&name),
            escape(&shown),
            escape(v["legal_basis"].as_str().unwrap_or_default()),
            escape(&due)
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/assets/site.css\"></head><body><main>\n\
         <h1>{title}</h1>\n<p>{operator} · {email}</p>\n<table class=\"stack\">\n\
         <thead><tr><th scope=\"col\">{datum}</th><th scope=\"col\">{value}</th><th scope=\"col\">{basis}</th>\
         <th scope=\"col\">{until}</th></tr></thead>\n<tbody>{rows}</tbody></table>\n</main></body></html>\n",
        operator = escape(&policy.operator.name),
        email = escape(&policy.contact.email),
    )
}
