//! The pages' language (R1.2): `?lang=` first, then the remembered cookie, then Russian. The
//! words themselves are `vintrova-i18n`'s, shared with the letters.

use axum::http::HeaderMap;
pub use vintrova_i18n::{Lang, Tr};

use crate::access::cookie;

/// The language cookie: remembered between visits, this origin only.
pub const LANG_COOKIE: &str = "__Host-vintrova-lang";

/// The page's language: `?lang=` first (a link someone shared), then the cookie, then Russian.
pub fn page_lang(query_lang: Option<&str>, headers: &HeaderMap) -> Lang {
    query_lang
        .and_then(Lang::parse)
        .or_else(|| cookie(headers, LANG_COOKIE).and_then(Lang::parse))
        .unwrap_or(Lang::Ru)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_key_the_templates_and_pages_use_is_translated() {
        // Every key of every Russian file (the i18n crate's test keeps the three alike).
        let dir = format!("{}/../i18n/locales/ru", env!("CARGO_MANIFEST_DIR"));
        let known: BTreeSet<String> = std::fs::read_dir(dir)
            .unwrap()
            .flat_map(|e| {
                std::fs::read_to_string(e.unwrap().path())
                    .unwrap()
                    .lines()
                    .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        // The pages' modules are read by folder, so a module added to either is checked too.
        let sources: Vec<String> = ["templates", "templates/parts", "src/site", "src/console"]
            .iter()
            .flat_map(|dir| {
                std::fs::read_dir(format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"))).unwrap()
            })
            .map(|e| e.unwrap().path())
            .filter(|path| path.is_file())
            .map(|path| std::fs::read_to_string(path).unwrap())
            .collect();
        let mut used = BTreeSet::new();
        for source in &sources {
            for marker in ["t.get(\"", "t.with(\""] {
                for piece in source.split(marker).skip(1) {
                    used.insert(piece.split('"').next().unwrap().to_string());
                }
            }
        }
        assert!(used.len() > 50, "{used:?}");
        let missing: Vec<_> = used.difference(&known).collect();
        assert!(missing.is_empty(), "untranslated keys: {missing:?}");
    }

    /// The audit view and "who looked" say every action in words, in every language: a new
    /// action without them fails here, not on an auditor's screen.
    #[test]
    fn every_audit_action_has_its_words_in_every_language() {
        for lang in Lang::ALL {
            let t = Tr::new(lang);
            for action in vintrova_core::audit::Action::ALL {
                let key = format!("action-{}", action.as_str());
                assert!(t.find(&key).is_some(), "{key} in {}", lang.code());
            }
        }
    }

    /// Every code the core gives a refused value has its words in every language: a new code
    /// without them fails here rather than show a page the general "check this" (issue 22).
    #[test]
    fn every_problem_code_of_the_core_has_its_words() {
        fn sources(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(std::fs::read_to_string(path).unwrap());
                }
            }
        }
        let mut texts = vec![];
        let core = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src");
        sources(&core, &mut texts);
        let mut codes = BTreeSet::new();
        for text in &texts {
            for marker in ["Refused::new(", "bad(", "refuse("] {
                for piece in text.split(marker).skip(1) {
                    let piece = piece.trim_start();
                    if let Some(rest) = piece.strip_prefix('"') {
                        let code = rest.split('"').next().unwrap();
                        if code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                            codes.insert(code.to_string());
                        }
                    }
                }
            }
        }
        assert!(codes.len() > 10, "{codes:?}");
        for lang in Lang::ALL {
            let t = Tr::new(lang);
            let missing: Vec<_> = codes
                .iter()
                .filter(|c| {
                    let key = format!("problem-{c}");
                    let args = [("max", "1".to_string()), ("min", "0".to_string())];
                    t.with(&key, &args) == key
                })
                .collect();
            assert!(
                missing.is_empty(),
                "{}: no words for {missing:?}",
                lang.code()
            );
        }
    }
}
