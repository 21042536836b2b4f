//! What Vintrova writes to a person, in their language and with the pages' own words
//! (`vintrova-i18n`): a right is called what the privacy center calls it, a date is written the
//! way the language writes dates, and no code, field path or machine timestamp reaches a letter.
//! Every letter is one [`Letter`]; a test writes each in every language and reads it back.

use jiff::Timestamp;
use jiff::civil::Date;
use vintrova_i18n::{Lang, Tr};
use vintrova_policy::Policy;

use crate::notifications::NoticeKind;
use crate::receipts::ErasureCause;
use crate::rights::RightKind;
use crate::transparency::{Access, Accessor};

/// One letter, with what it says. The words are chosen when it is written, in the person's
/// language; the letter is then sealed in the outbox as written.
#[derive(Debug, Clone)]
pub enum Letter<'a> {
    /// A rights request was received; the answer is due by `due`.
    Received { right: RightKind, due: Date },
    /// A rights request was carried out.
    Fulfilled { right: RightKind },
    /// A rights request was refused, for the reason the officer gave.
    Refused { right: RightKind, reason: &'a str },
    /// The copy the person asked for waits behind `link` until `until`.
    CopyReady { link: &'a str, until: Timestamp },
    /// The code that proves a request came from the address.
    RequestCode { code: &'a str },
    /// The code that proves a registration came from the address.
    RegistrationCode { code: &'a str },
    /// The link that sets a new password.
    PasswordReset { link: &'a str },
    /// The person was erased; the signed receipt travels attached.
    Erased { cause: ErasureCause },
    /// A notice staff announce, with nothing of its own to say ([`crate::notifications::ANNOUNCED`]).
    Notice(NoticeKind),
    /// The account closes on `closes` unless the person signs in.
    AccountIdle { closes: Date },
    /// A published policy version comes into force.
    PolicyChange { effective: Date },
    /// An incident touched the person's data: what happened and what was done.
    Incident {
        contact: &'a str,
        description: &'a str,
        measures: &'a [String],
    },
    /// The person's data will go to `country` (its name, in the person's language) from `starts`.
    TransferAbroad { country: &'a str, starts: Date },
    /// Who looked at the person's data between `from` and `to`.
    AccessDigest {
        from: Date,
        to: Date,
        lines: &'a [Access],
        policy: &'a Policy,
    },
}

impl Letter<'_> {
    /// The notice this letter is, for the cabinet's list of notices.
    pub fn notice(&self) -> Option<NoticeKind> {
        Some(match self {
            Letter::Notice(kind) => *kind,
            Letter::AccountIdle { .. } => NoticeKind::AccountIdle,
            Letter::PolicyChange { .. } => NoticeKind::PolicyChange,
            Letter::Incident { .. } => NoticeKind::Incident,
            Letter::TransferAbroad { .. } => NoticeKind::TransferAbroad,
            Letter::AccessDigest { .. } => NoticeKind::AccessDigest,
            _ => return None,
        })
    }

    /// The letter's title and text in `locale` (the default language for one Vintrova does
    /// not speak).
    pub fn write(&self, locale: &str) -> (String, String) {
        let t = Tr::new(Lang::or_default(locale));
        let right = |r: &RightKind| ("right", t.get(&format!("right-{}", r.as_str())));
        match self {
            Letter::Received { right: r, due } => (
                t.get("mail-received-title"),
                t.with("mail-received-body", &[right(r), ("due", t.date(*due))]),
            ),
            Letter::Fulfilled { right: r } => (
                t.get("mail-answered-title"),
                t.with("mail-fulfilled-body", &[right(r)]),
            ),
            Letter::Refused { right: r, reason } => (
                t.get("mail-answered-title"),
                t.with(
                    "mail-refused-body",
                    &[right(r), ("reason", reason.to_string())],
                ),
            ),
            Letter::CopyReady { link, until } => (
                t.get("mail-copy-title"),
                t.with(
                    "mail-copy-body",
                    &[("link", link.to_string()), ("until", t.moment(*until))],
                ),
            ),
            Letter::RequestCode { code } => (
                t.get("mail-request-code-title"),
                t.with("mail-request-code-body", &[("code", code.to_string())]),
            ),
            Letter::RegistrationCode { code } => (
                t.get("mail-registration-code-title"),
                t.with("mail-registration-code-body", &[("code", code.to_string())]),
            ),
            Letter::PasswordReset { link } => (
                t.get("mail-reset-title"),
                format!("{}\n\n{link}\n", t.get("mail-reset-body")),
            ),
            Letter::Erased { cause } => {
                let cause = match cause {
                    ErasureCause::Request => "request",
                    ErasureCause::Retention => "retention",
                };
                (
                    t.get(&format!("mail-erased-{cause}-title")),
                    format!(
                        "{}\n\n{}",
                        t.get(&format!("mail-erased-{cause}-body")),
                        t.get("mail-receipt-explained")
                    ),
                )
            }
            Letter::Notice(kind) => (notice_title(&t, *kind), notice(&t, *kind, &[])),
            Letter::AccountIdle { closes } => (
                notice_title(&t, NoticeKind::AccountIdle),
                notice(&t, NoticeKind::AccountIdle, &[("date", t.date(*closes))]),
            ),
            Letter::PolicyChange { effective } => (
                notice_title(&t, NoticeKind::PolicyChange),
                notice(
                    &t,
                    NoticeKind::PolicyChange,
                    &[("date", t.date(*effective))],
                ),
            ),
            Letter::Incident {
                contact,
                description,
                measures,
            } => (
                notice_title(&t, NoticeKind::Incident),
                format!(
                    "{}\n\n{description}\n\n{}",
                    notice(
                        &t,
                        NoticeKind::Incident,
                        &[("contact", contact.to_string())]
                    ),
                    measures.join("\n")
                ),
            ),
            Letter::TransferAbroad { country, starts } => (
                notice_title(&t, NoticeKind::TransferAbroad),
                notice(
                    &t,
                    NoticeKind::TransferAbroad,
                    &[("country", country.to_string()), ("date", t.date(*starts))],
                ),
            ),
            Letter::AccessDigest {
                from,
                to,
                lines,
                policy,
            } => {
                let mut text = notice(
                    &t,
                    NoticeKind::AccessDigest,
                    &[("from", t.date(*from)), ("to", t.date(*to))],
                );
                text.push_str("\n\n");
                if lines.is_empty() {
                    text.push_str(&t.get("digest-nobody"));
                    text.push('\n');
                }
                for a in lines.iter() {
                    let words = AccessWords::of(&t, policy, a);
                    let purpose = if words.why.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", words.why)
                    };
                    text.push_str("- ");
                    text.push_str(&t.with(
                        "digest-line",
                        &[
                            ("day", t.day_of(a.last)),
                            ("who", words.who),
                            ("categories", words.categories),
                            ("purpose", purpose),
                            ("times", a.times.to_string()),
                        ],
                    ));
                    text.push('\n');
                }
                (notice_title(&t, NoticeKind::AccessDigest), text)
            }
        }
    }
}

/// A notice's title, as the letter and the cabinet's list of notices both show it.
pub fn notice_title(t: &Tr, kind: NoticeKind) -> String {
    t.get(&format!("notice-{}-title", kind.as_str()))
}

fn notice(t: &Tr, kind: NoticeKind, args: &[(&str, String)]) -> String {
    t.with(&format!("notice-{}-body", kind.as_str()), args)
}

/// One access to a person's data in their words: who (a role, never a name), what was done,
/// to which categories, and why. The "who looked" page and the monthly digest both say it so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessWords {
    pub who: String,
    pub what: String,
    pub categories: String,
    pub why: String,
}

impl AccessWords {
    pub fn of(t: &Tr, policy: &Policy, a: &Access) -> AccessWords {
        let lang = t.code();
        let who = match &a.who {
            Accessor::Staff(role) => t.with(
                "who-staff",
                &[(
                    "role",
                    t.find(&format!("role-{role}"))
                        .unwrap_or_else(|| role.replace('_', " ")),
                )],
            ),
            Accessor::You => t.get("who-you"),
            Accessor::Platform => t.get("who-platform"),
            Accessor::System => t.get("who-system"),
            Accessor::Operator => t.get("who-operator"),
        };
        let what = t
            .find(&format!("action-{}", a.action))
            .unwrap_or_else(|| a.action.replace('_', " "));
        let categories = a
            .categories
            .iter()
            .map(|c| {
                policy
                    .category(c)
                    .map_or(c.replace('_', " "), |c| c.name.get(lang).to_string())
            })
            .collect::<Vec<_>>()
            .join(", ");
        let why = a
            .purpose
            .as_deref()
            .map(|purpose| why(t, policy, purpose))
            .unwrap_or_default();
        AccessWords {
            who,
            what,
            categories,
            why,
        }
    }
}

/// Why someone looked, in words: a purpose of the policy by its name; a duty or a right as the
/// audit log labels them (`duty:request_answer@…`, `right:access@session`) by what they are;
/// anything else by general words — never the label itself.
pub fn why(t: &Tr, policy: &Policy, purpose: &str) -> String {
    let label = purpose.split('@').next().unwrap_or(purpose);
    if let Some(p) = policy.purpose(label) {
        return p.name.get(t.code()).to_string();
    }
    match label.split_once(':') {
        Some(("duty", duty)) => t.find(&format!("duty-{duty}")),
        Some(("right", right)) => t
            .find(&format!("right-{right}"))
            .map(|right| t.with("why-right", &[("right", right)])),
        _ => t.find(&format!("duty-{label}")),
    }
    .unwrap_or_else(|| t.get("why-other"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifications::ANNOUNCED;

    /// Issue 22: every letter, written in every language, is words — no code (`right:access`,
    /// `policy_change`), no field path, no machine timestamp, no unformatted placeholder.
    #[test]
    fn every_letter_in_every_language_is_words_without_a_raw_code() {
        let policy = crate::shipped_policy();
        let due = jiff::civil::date(2026, 12, 14);
        let at: Timestamp = "2026-12-01T09:30:00Z".parse().unwrap();
        let measures = vec!["Пароли сброшены".to_string()];
        let lines = vec![Access {
            who: Accessor::Staff("dpo".into()),
            action: "export".into(),
            categories: vec![policy.categories[0].key.clone()],
            purpose: Some(policy.purposes[0].key.clone()),
            first: at,
            last: at,
            times: 3,
        }];
        let mut letters = vec![];
        for right in RightKind::ALL {
            letters.push(Letter::Received { right: *right, due });
            letters.push(Letter::Fulfilled { right: *right });
            letters.push(Letter::Refused {
                right: *right,
                reason: "Запрос повторяет предыдущий",
            });
        }
        letters.extend([
            Letter::CopyReady {
                link: "https://vintrova.com/d/token",
                until: at,
            },
            Letter::RequestCode { code: "482913" },
            Letter::RegistrationCode { code: "482913" },
            Letter::PasswordReset {
                link: "https://vintrova.com/reset?token=t",
            },
            Letter::Erased {
                cause: ErasureCause::Request,
            },
            Letter::Erased {
                cause: ErasureCause::Retention,
            },
            Letter::AccountIdle { closes: due },
            Letter::PolicyChange { effective: due },
            Letter::Incident {
                contact: "info@vintrova.com",
                description: "Утечка",
                measures: &measures,
            },
            Letter::TransferAbroad {
                country: "Германия",
                starts: due,
            },
            Letter::AccessDigest {
                from: due,
                to: due,
                lines: &lines,
                policy: &policy,
            },
            Letter::AccessDigest {
                from: due,
                to: due,
                lines: &[],
                policy: &policy,
            },
        ]);
        letters.extend(ANNOUNCED.iter().map(|k| Letter::Notice(*k)));
        let words = [Raw::Code, Raw::IsoDate, Raw::Placeholder];
        for locale in ["ru", "kk", "en"] {
            for letter in &letters {
                let (title, body) = letter.write(locale);
                let text = format!("{title}\n{body}");
                // The link and the address are the letter's own; everything else must be words.
                let text = text
                    .replace("https://vintrova.com/d/token", "")
                    .replace("https://vintrova.com/reset?token=t", "")
                    .replace("info@vintrova.com", "");
                let found: Vec<&Raw> = words.iter().filter(|w| w.found_in(&text)).collect();
                assert!(
                    found.is_empty(),
                    "{locale}: {letter:?} shows {found:?}:\n{text}"
                );
            }
        }
    }

    /// What must never show in a letter.
    #[derive(Debug)]
    enum Raw {
        Code,
        IsoDate,
        Placeholder,
    }

    impl Raw {
        fn found_in(&self, text: &str) -> bool {
            match self {
                // `right:access`, `policy_change`, `mail-received-body`: a code or a key.
                Raw::Code => text.split_whitespace().any(|w| {
                    let w = w.trim_matches(|c: char| !c.is_alphanumeric());
                    w.contains('_')
                        || w.contains(':') && w.chars().all(|c| c.is_ascii_lowercase() || c == ':')
                        || w.starts_with("mail-")
                        || w.starts_with("notice-")
                        || w.starts_with("right-")
                }),
                // 2026-12-14, 2026-12-01T09:30:00Z
                Raw::IsoDate => text.as_bytes().windows(10).any(|w| {
                    w.iter().enumerate().all(|(i, b)| match i {
                        4 | 7 => *b == b'-',
                        _ => b.is_ascii_digit(),
                    })
                }),
                Raw::Placeholder => text.contains('{') || text.contains('$'),
            }
        }
    }
}
