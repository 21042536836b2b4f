//! Vintrova's three languages (R1.2): Russian by default, Kazakh and English. The words of every
//! page and every letter live in `locales/{ru,kk,en}/*.ftl` (Fluent, for Russian and Kazakh
//! plural rules), so a page and the letter about the same thing say it with the same words; a
//! test checks every key exists in all three. Dates are written the locale's way, in Almaty time.

use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{Loader, static_loader};
use jiff::Timestamp;
use jiff::civil::Date;
use unic_langid::LanguageIdentifier;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "ru",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    Kk,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Ru, Lang::Kk, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::Kk => "kk",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// A stored locale's language; Russian, the default, for anything else.
    pub fn or_default(code: &str) -> Lang {
        Lang::parse(code).unwrap_or(Lang::Ru)
    }

    fn id(self) -> LanguageIdentifier {
        self.code()
            .parse()
            .expect("ru, kk and en are language identifiers")
    }
}

/// The texts of one language, as templates use them.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Tr { lang }
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    /// The text for `key`; a missing key shows as itself (and fails the key test).
    pub fn get(&self, key: &str) -> String {
        LOCALES
            .try_lookup(&self.lang.id(), key)
            .unwrap_or_else(|| key.to_string())
    }

    /// The text for `key`, if there is one.
    pub fn find(&self, key: &str) -> Option<String> {
        LOCALES.try_lookup(&self.lang.id(), key)
    }

    /// The text for `key` with its `{ $name }` arguments.
    pub fn with(&self, key: &str, args: &[(&str, String)]) -> String {
        let args: HashMap<std::borrow::Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(k, v)| (k.to_string().into(), argument(v)))
            .collect();
        LOCALES
            .try_lookup_with_args(&self.lang.id(), key, &args)
            .unwrap_or_else(|| key.to_string())
    }

    /// A day as the locale writes it: «26 ноября 2026 г.», «2026 ж. 26 қараша», "26 November 2026".
    pub fn date(&self, day: Date) -> String {
        self.with(
            "date-format",
            &[
                ("day", day.day().to_string()),
                ("month", self.get(&format!("month-{}", day.month()))),
                ("year", day.year().to_string()),
            ],
        )
    }

    /// A whole number grouped the locale's way: «12 345» in Russian and Kazakh (a narrow
    /// no-break space), "12,345" in English.
    pub fn number(&self, n: u64) -> String {
        let separator = match self.lang {
            Lang::En => ",",
            Lang::Ru | Lang::Kk => "\u{202f}",
        };
        let digits = n.to_string();
        let mut out = String::new();
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(separator);
            }
            out.push(d);
        }
        out
    }

    /// A retention term (an ISO 8601 duration from the policy, `P3Y`, `P30D`, `PT0S`) in words:
    /// «3 года», "30 days", «сразу». A term the policy validator let through is always one of
    /// years, months, weeks and days; anything else is shown as written.
    pub fn term(&self, iso: &str) -> String {
        let Ok(span) = iso.parse::<jiff::Span>() else {
            return iso.to_string();
        };
        let parts: Vec<String> = [
            ("term-years", span.get_years() as i64),
            ("term-months", span.get_months() as i64),
            ("term-weeks", span.get_weeks() as i64),
            ("term-days", span.get_days() as i64),
        ]
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|(key, n)| self.with(key, &[("n", n.unsigned_abs().to_string())]))
        .collect();
        let clock = span.get_hours() != 0
            || span.get_minutes() != 0
            || span.get_seconds() != 0
            || span.get_milliseconds() != 0;
        match (parts.is_empty(), clock) {
            (true, false) => self.get("term-at-once"),
            (false, false) => parts.join(" "),
            (_, true) => iso.to_string(),
        }
    }

    /// An amount in minor units (tiyn, cents) as money: «45 000 ₸», "45,000.50 $". The sign of
    /// the tenge and a few other currencies; any other currency by its code.
    pub fn money(&self, minor: i64, currency: &str) -> String {
        let whole = self.number(minor.unsigned_abs() / 100);
        let cents = minor.unsigned_abs() % 100;
        let mut amount = if minor < 0 {
            format!("−{whole}")
        } else {
            whole
        };
        if cents != 0 {
            let point = if self.lang == Lang::En { '.' } else { ',' };
            amount.push_str(&format!("{point}{cents:02}"));
        }
        let sign = match currency {
            "KZT" => "₸",
            "RUB" => "₽",
            "USD" => "$",
            "EUR" => "€",
            other => other,
        };
        self.with(
            "money-format",
            &[("amount", amount), ("currency", sign.to_string())],
        )
    }

    /// A phone number grouped for reading: Kazakhstan's and Russia's «+7 701 234 56 78»;
    /// another country's as written.
    pub fn phone(&self, number: &str) -> String {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        match (number.starts_with("+7"), digits.len()) {
            (true, 11) => format!(
                "+7 {} {} {} {}",
                &digits[1..4],
                &digits[4..7],
                &digits[7..9],
                &digits[9..11]
            ),
            _ => number.to_string(),
        }
    }

    /// A moment as its day in Almaty.
    pub fn day_of(&self, at: Timestamp) -> String {
        self.date(almaty(at).date())
    }

    /// A moment as its day and time in Almaty: «1 декабря 2026 г., 14:30».
    pub fn moment(&self, at: Timestamp) -> String {
        let zoned = almaty(at);
        self.with(
            "moment-format",
            &[
                ("date", self.date(zoned.date())),
                ("time", zoned.strftime("%H:%M").to_string()),
            ],
        )
    }
}

/// An argument as Fluent reads it: a plain count is a number, so `[few]`/`[many]` choose the
/// right word («3 раза», «5 раз»); everything else (a code with a leading zero, a name) stays
/// text, as written.
fn argument(v: &str) -> FluentValue<'static> {
    let count = !v.is_empty()
        && v.len() < 16
        && v.bytes().all(|b| b.is_ascii_digit())
        && (v == "0" || !v.starts_with('0'));
    match count {
        true => FluentValue::try_number(v).into_owned(),
        false => FluentValue::from(v.to_string()),
    }
}

/// Vintrova's people live in Kazakhstan: every day and time they read is Almaty's.
fn almaty(at: Timestamp) -> jiff::ZonedDateTime {
    let zone = vintrova_policy::zone("Asia/Almaty").expect("the bundled zone database");
    at.to_zoned_datetime(zone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every `key = text` line of a language's files, by file, so each file's keys match.
    fn texts(lang: &str) -> Vec<(String, String, String)> {
        let dir = format!("{}/locales/{lang}", env!("CARGO_MANIFEST_DIR"));
        let mut out = vec![];
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().to_string();
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                if let Some((k, v)) = line.split_once(" = ")
                    && !k.starts_with('#')
                    && !k.trim().is_empty()
                {
                    out.push((file.clone(), k.trim().to_string(), v.to_string()));
                }
            }
        }
        out
    }

    fn keys(lang: &str) -> BTreeSet<(String, String)> {
        texts(lang).into_iter().map(|(f, k, _)| (f, k)).collect()
    }

    #[test]
    fn every_key_exists_in_all_three_languages() {
        let ru = keys("ru");
        assert!(ru.len() > 100);
        for lang in ["kk", "en"] {
            let other = keys(lang);
            let missing: Vec<_> = ru.symmetric_difference(&other).collect();
            assert!(missing.is_empty(), "{lang} differs from ru: {missing:?}");
        }
    }

    /// A text that does not format (a stray `{` in it) would show as its key: every one
    /// formats in every language (issue 22).
    #[test]
    fn every_text_formats_in_every_language() {
        for lang in Lang::ALL {
            let t = Tr::new(lang);
            // Texts with arguments format with them (`Tr::with`); every other one on its own.
            for (_, key, text) in texts(lang.code()) {
                if !text.contains('$') {
                    assert_ne!(t.get(&key), key, "{key} does not format in {}", lang.code());
                }
            }
        }
    }

    #[test]
    fn dates_are_written_the_locales_way() {
        let day = jiff::civil::date(2026, 11, 26);
        assert_eq!(Tr::new(Lang::Ru).date(day), "26 ноября 2026 г.");
        assert_eq!(Tr::new(Lang::Kk).date(day), "2026 ж. 26 қараша");
        assert_eq!(Tr::new(Lang::En).date(day), "26 November 2026");
        // 19:30 UTC is already the next day in Almaty (UTC+5).
        let late: Timestamp = "2026-11-26T19:30:00Z".parse().unwrap();
        assert_eq!(Tr::new(Lang::En).day_of(late), "27 November 2026");
        assert_eq!(Tr::new(Lang::En).number(1_234_567), "1,234,567");
        assert_eq!(Tr::new(Lang::Ru).number(12_345), "12\u{202f}345");
        assert_eq!(Tr::new(Lang::Kk).number(999), "999");
    }

    #[test]
    fn terms_money_and_phones_are_written_the_locales_way() {
        let [ru, kk, en] = Lang::ALL.map(Tr::new);
        assert_eq!(ru.term("P3Y"), "3 года");
        assert_eq!(ru.term("P5Y"), "5 лет");
        assert_eq!(ru.term("P1Y"), "1 год");
        assert_eq!(en.term("P1Y"), "1 year");
        assert_eq!(en.term("P2Y"), "2 years");
        assert_eq!(kk.term("P30D"), "30 күн");
        assert_eq!(ru.term("P1Y6M"), "1 год 6 месяцев");
        assert_eq!(ru.term("PT0S"), "сразу");
        assert_eq!(en.term("PT0S"), "at once");
        assert_eq!(ru.money(4_500_000, "KZT"), "45\u{202f}000 ₸");
        assert_eq!(en.money(4_500_050, "KZT"), "45,000.50 ₸");
        assert_eq!(kk.money(150, "XYZ"), "1,50 XYZ");
        assert_eq!(ru.phone("+77012345678"), "+7 701 234 56 78");
        assert_eq!(ru.phone("+4930123456"), "+4930123456");
        // A count chooses its plural; a code keeps its leading zero.
        assert_eq!(ru.term("P2Y"), "2 года");
        assert_eq!(argument("012345"), FluentValue::from("012345"));
    }
}
