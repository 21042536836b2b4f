//! `vintrova demo seed`: realistic synthetic activity for demos, benchmarks and later work.
//!
//! People with Russian and Kazakh names, professional and education data, consents as real
//! people give them (most accept the contract, fewer the newsletter, fewer still analytics
//! cookies), and visits and interactions spread over several years. Everything goes through
//! the same services as real data — validation, sealing, the purpose gate, the audit log — with
//! a clock that walks forward through the years. Deterministic for a given `--seed`.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use vintrova_core::clock::{Clock, ManualClock};
use vintrova_core::consent::Channel;
use vintrova_core::gate::BasisEventKind;
use vintrova_core::learning::{Level, Offering, OfferingKind};
use vintrova_core::payments::{DevProvider, Outcome};
use vintrova_core::support::Author;
use vintrova_core::{Actor, Collection, Vintrova};

use crate::setup::Result;

const FIRST_NAMES: &[(&str, &str)] = &[
    ("Айгерим", "aigerim"),
    ("Жансая", "zhansaya"),
    ("Дана", "dana"),
    ("Асель", "assel"),
    ("Мадина", "madina"),
    ("Алия", "aliya"),
    ("Анна", "anna"),
    ("Екатерина", "ekaterina"),
    ("Ольга", "olga"),
    ("Әсем", "asem"),
    ("Нұрсұлтан", "nursultan"),
    ("Ерлан", "yerlan"),
    ("Марат", "marat"),
    ("Данияр", "daniyar"),
    ("Арман", "arman"),
    ("Сергей", "sergey"),
    ("Алексей", "aleksey"),
    ("Дмитрий", "dmitriy"),
    ("Бауыржан", "bauyrzhan"),
    ("Тимур", "timur"),
];

const LAST_NAMES: &[(&str, &str)] = &[
    ("Нурланова", "nurlanova"),
    ("Қуанышбекова", "kuanyshbekova"),
    ("Сейткали", "seitkali"),
    ("Жақсыбеков", "zhaksybekov"),
    ("Ахметов", "akhmetov"),
    ("Омарова", "omarova"),
    ("Иванова", "ivanova"),
    ("Смирнов", "smirnov"),
    ("Абенова", "abenova"),
    ("Тулегенов", "tulegenov"),
    ("Кузнецова", "kuznetsova"),
    ("Есенова", "yesenova"),
    ("Мұхамеджанов", "mukhamedzhanov"),
    ("Петров", "petrov"),
    ("Серікбаева", "serikbayeva"),
];

const EMPLOYERS: &[&str] = &[
    "ТОО «Казахтелеком»",
    "АО «Kaspi Bank»",
    "ТОО «Шымкент Софт»",
    "ТОО «Нейросети Алматы»",
    "Назарбаев Университет",
    "ИП «Аналитика Плюс»",
    "АО «КазМунайГаз»",
];
const POSITIONS: &[&str] = &[
    "Аналитик данных",
    "Инженер машинного обучения",
    "Backend-разработчик",
    "Студент",
    "Руководитель проекта",
    "Преподаватель информатики",
];
const LEVELS: &[&str] = &[
    "Среднее специальное",
    "Бакалавриат",
    "Магистратура",
    "Высшее техническое",
    "PhD",
];
const SPECIALIZATIONS: &[&str] = &[
    "Информатика",
    "Математика",
    "Экономика",
    "Физика",
    "Финансы",
    "Data Science",
];
const COURSES: &[&str] = &[
    "Нейронные сети: основы",
    "Глубокое обучение на PyTorch",
    "Трансформеры на практике",
    "Компьютерное зрение",
    "MLOps для начинающих",
    "Большие языковые модели",
];
const COURSE_IDS: &[&str] = &[
    "neural-networks-101",
    "pytorch-deep-learning",
    "transformers-in-practice",
    "computer-vision",
    "mlops-basics",
    "llm-webinar",
];
const QUESTIONS: &[(&str, &str)] = &[
    (
        "Не открывается урок",
        "Здравствуйте! Урок 3 не открывается,\nвидео не грузится.",
    ),
    ("Оплата", "Оплатил курс, но доступ не появился."),
    (
        "Сертификат",
        "Когда будет готов сертификат о прохождении курса?",
    ),
    (
        "Курс бойынша сұрақ",
        "Сәлеметсіз бе! Тапсырманы қалай жіберуге болады?",
    ),
];
const PAGES: &[&str] = &[
    "/courses",
    "/courses/neural-networks-101",
    "/courses/transformers",
    "/webinars",
    "/cabinet",
    "/support",
    "/blog/llm-in-kazakh",
];
const INTERACTIONS: &[&str] = &[
    "video_play",
    "quiz_submit",
    "notebook_open",
    "slides_download",
    "forum_post",
];
const BROWSERS: &[&str] = &[
    "Chrome 131",
    "Yandex Browser 24.10",
    "Safari 18",
    "Firefox 133",
    "Edge 131",
];
const SYSTEMS: &[&str] = &[
    "Android 14",
    "iOS 18",
    "Windows 11",
    "macOS 15",
    "Ubuntu 24.04",
];

/// A small deterministic generator (xorshift64*), so a seed reproduces the same people.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn person(dice: &mut Dice, n: u64) -> Value {
    let (first, first_latin) = *dice.pick(FIRST_NAMES);
    let (last, last_latin) = *dice.pick(LAST_NAMES);
    let domain = *dice.pick(&["mail.kz", "gmail.com", "inbox.ru", "yandex.kz"]);
    let mut doc = json!({
        "contact": {
            "first_name": first,
            "last_name": last,
            "email": format!("{first_latin}.{last_latin}.{n}@{domain}"),
            "phone": format!("+77{}{:07}", dice.pick(&["00", "01", "02", "05", "07", "47", "71", "75", "77", "78"]), dice.below(10_000_000)),
        },
        "education": {
            "level": dice.pick(LEVELS),
            "specialization": dice.pick(SPECIALIZATIONS),
        },
    });
    if dice.chance(70) {
        doc["professional"] = json!({
            "employer": dice.pick(EMPLOYERS),
            "position": dice.pick(POSITIONS),
            "it_experience_years": dice.below(15),
        });
    }
    if dice.chance(40) {
        let done: Vec<&str> = (0..1 + dice.below(3))
            .map(|_| *dice.pick(COURSES))
            .collect();
        doc["education"]["completed_courses"] = json!(done);
    }
    doc
}

/// What one run created.
#[derive(Debug, Default, serde::Serialize)]
pub struct Seeded {
    pub subjects: u64,
    pub technical_events: u64,
    pub usage_events: u64,
    pub consents: u64,
    pub orders: u64,
    pub enrollments: u64,
    pub completions: u64,
    pub tickets: u64,
    /// The first few people seeded, to look at.
    pub sample: Vec<uuid::Uuid>,
}

/// A clock that starts `years` ago, for `seed` to walk forward to now.
pub fn clock_years_ago(years: i64) -> Result<(Arc<ManualClock>, SignedDuration)> {
    let span = SignedDuration::from_hours(24 * 365 * years.max(1));
    Ok((
        Arc::new(ManualClock::starting_at(
            Timestamp::now().checked_sub(span)?,
        )),
        span,
    ))
}

/// Seed `count` people, arriving evenly over `span` as `clock` walks forward through it.
pub async fn seed(
    app: &Vintrova,
    clock: &ManualClock,
    span: SignedDuration,
    count: u64,
    seed: u64,
) -> Result<Seeded> {
    let actor = Actor::new("demo", "seed");
    let mut dice = Dice(seed.max(1));
    // The seeder is the payment system too: it confirms its own orders by signed callback.
    let mut secret = [0u8; 32];
    secret[..8].copy_from_slice(&seed.to_le_bytes());
    let provider = DevProvider::new(secret);
    for (i, title) in COURSES.iter().enumerate() {
        let level = [
            Level::Beginner,
            Level::Beginner,
            Level::Intermediate,
            Level::Intermediate,
            Level::Advanced,
            Level::Advanced,
        ][i % 6];
        let kind = if i == 5 {
            OfferingKind::Webinar
        } else {
            OfferingKind::Course
        };
        app.add_offering(&Offering {
            id: COURSE_IDS[i].to_string(),
            kind,
            level,
            title_ru: title.to_string(),
            title_kk: title.to_string(),
            title_en: COURSE_IDS[i].replace('-', " "),
        })
        .await?;
    }
    let mut out = Seeded::default();
    // Each person arrives a little later than the one before; their visits follow.
    let step = SignedDuration::from_secs((span.as_secs() / count.max(1) as i64).max(1));
    let mut last_report = 0;
    for n in 0..count {
        clock.advance(step);
        // As the daily sweep would have, over the years walked.
        app.file_months().await?;
        let analytics = dice.chance(45);
        let mut consents = vec![];
        if dice.chance(60) {
            consents.push("notifications".to_string());
        }
        if analytics {
            consents.push("learning_analytics".to_string());
        }
        let values = app.parse_json(&person(&mut dice, n))?;
        // The form's consents to the data it asks for, ticked (contact data is required).
        consents.extend(
            app.policy()
                .consents_needed(values.iter().map(|v| v.field.as_str())),
        );
        out.consents += consents.len() as u64;
        let collection = Collection {
            bases: vec![(BasisEventKind::ContractStarted, None)],
            consents,
            channel: Channel::Form,
            ..Collection::from("registration_form")
        };
        let id = app.add_subject(&actor, values, collection).await?;
        for _ in 0..1 + dice.below(4) {
            clock.advance(step / 8);
            let visit = json!({"technical": {
                "ip": format!("{}.{}.{}.{}", 2 + dice.below(220), dice.below(256), dice.below(256), 1 + dice.below(254)),
                "browser": dice.pick(BROWSERS),
                "os": dice.pick(SYSTEMS),
            }});
            app.record_events(
                &actor,
                id,
                "security",
                app.parse_json(&visit)?,
                "visit_technical",
            )
            .await?;
            out.technical_events += 1;
            if analytics {
                let usage = json!({"usage": {
                    "visited_at": clock.now().to_string(),
                    "page": dice.pick(PAGES),
                    "interaction": dice.pick(INTERACTIONS),
                }});
                app.record_events(
                    &actor,
                    id,
                    "learning_analytics",
                    app.parse_json(&usage)?,
                    "analytics_cookies",
                )
                .await?;
                out.usage_events += 1;
            }
        }
        if dice.chance(70) {
            let enrollment = app
                .enroll(
                    &actor,
                    id,
                    dice.pick::<&str>(COURSE_IDS),
                    "course_enrollment",
                )
                .await?;
            out.enrollments += 1;
            for _ in 0..dice.below(3) {
                clock.advance(step / 16);
                app.record_progress(&actor, enrollment.id, 10 + dice.below(80) as i64)
                    .await?;
            }
            if dice.chance(45) {
                clock.advance(step / 16);
                app.complete(&actor, enrollment.id).await?;
                out.completions += 1;
            }
        }
        if dice.chance(30) {
            let (title, question) = *dice.pick(QUESTIONS);
            let ticket = app.open_ticket(&actor, id, title, question).await?;
            clock.advance(step / 16);
            app.reply(
                &actor,
                ticket.id,
                Author::Staff,
                "Спасибо за обращение! Проверили и исправили, попробуйте снова.",
            )
            .await?;
            if dice.chance(80) {
                app.close_ticket(&actor, ticket.id).await?;
            }
            out.tickets += 1;
        }
        if dice.chance(55) {
            let amount = *dice.pick(&[1_990_000_i64, 4_500_000, 9_900_000, 24_900_000]);
            let method = *dice.pick(&["card", "kaspi", "bank_transfer"]);
            let created = app
                .create_order(&actor, &provider, id, amount, "KZT", method)
                .await?;
            let reference = created
                .checkout_url
                .split("/checkout/")
                .nth(1)
                .and_then(|r| r.split('?').next())
                .unwrap_or_default();
            let outcome = if dice.chance(92) {
                Outcome::Succeeded {
                    card_last4: (method == "card").then(|| format!("{:04}", dice.below(10_000))),
                }
            } else {
                Outcome::Failed
            };
            clock.advance(step / 16);
            let (body, signature) = provider.callback(reference, outcome);
            app.payment_callback(&provider, &body, &signature).await?;
            out.orders += 1;
        }
        if out.sample.len() < 3 {
            out.sample.push(id);
        }
        out.subjects += 1;
        let percent = (n + 1) * 100 / count;
        if percent >= last_report + 5 || n + 1 == count {
            last_report = percent;
            say!("seeded {}/{count} people ({percent}%)", n + 1);
        }
    }
    Ok(out)
}
