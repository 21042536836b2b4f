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
            .map(|(k, v)| (k.to_string().into(), FluentValue::from(v.clone())))
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
}
