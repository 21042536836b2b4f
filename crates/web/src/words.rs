//! The policy's keys in the reader's words: categories, purposes, recipients, countries and
//! consents by their names in the reader's language. A key the policy does not know (an old
//! record's) is shown as written, so nothing is hidden, and the raw-code scans catch it.

use vintrova_policy::Policy;

use crate::i18n::Tr;

/// What kind of key a name is looked up for.
#[derive(Debug, Clone, Copy)]
pub enum Named {
    Category,
    Purpose,
    Recipient,
    Country,
    /// A purpose on consent, or a consent to data.
    Consent,
}

impl Named {
    /// The name of `key` in `t`'s language.
    pub fn of(self, t: &Tr, p: &Policy, key: &str) -> String {
        let lang = t.code();
        let found = match self {
            Named::Category => p.category(key).map(|c| c.name.get(lang)),
            Named::Purpose => p.purpose(key).map(|c| c.name.get(lang)),
            Named::Recipient => p
                .recipients
                .iter()
                .find(|r| r.key == key)
                .map(|r| r.name.get(lang)),
            Named::Country => p
                .countries
                .iter()
                .find(|c| c.code == key)
                .map(|c| c.name.get(lang)),
            Named::Consent => p.purpose(key).map(|c| c.name.get(lang)).or_else(|| {
                p.consents
                    .iter()
                    .find(|c| c.key == key)
                    .map(|c| c.name.get(lang))
            }),
        };
        found.map_or_else(|| key.to_string(), str::to_string)
    }

    /// The names of `keys`, joined as a list.
    pub fn all(self, t: &Tr, p: &Policy, keys: &[String]) -> String {
        keys.iter()
            .map(|k| self.of(t, p, k))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
