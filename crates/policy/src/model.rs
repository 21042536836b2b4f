use serde::{Deserialize, Serialize};

/// The whole policy, as `policy/vintrova.toml` writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Version label; every published version is kept, this names the one in force.
    pub version: String,
    /// The day this version took effect (ISO date).
    pub effective: jiff::civil::Date,
    pub operator: Operator,
    /// IANA time zone all deadlines and office hours are computed in (R1.2).
    pub time_zone: String,
    pub default_locale: String,
    pub locales: Vec<String>,
    pub contact: Contact,
    #[serde(rename = "category")]
    pub categories: Vec<Category>,
    #[serde(rename = "purpose")]
    pub purposes: Vec<Purpose>,
    #[serde(rename = "retention")]
    pub retention_rules: Vec<RetentionRule>,
    #[serde(rename = "recipient")]
    pub recipients: Vec<Recipient>,
    #[serde(rename = "country")]
    pub countries: Vec<Country>,
    #[serde(rename = "source")]
    pub sources: Vec<Source>,
    /// Consents the policy asks for that are not a purpose's own: to a category held on consent
    /// (R3.2) or to confidential fields (R2.3).
    #[serde(rename = "consent", default)]
    pub consents: Vec<ConsentTerm>,
}

/// A consent the person gives to data rather than to a purpose: contact data on consent, the
/// phone number, the professional profile. Shown whole before it is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentTerm {
    pub key: String,
    pub name: Texts,
    /// What the person agrees to and what withdrawing does, in their language.
    pub text: Texts,
    /// Needed to have an account: registration asks for it, and withdrawing it ends the
    /// service the way closing the account does.
    #[serde(default)]
    pub required: bool,
}

/// A text in every language the site speaks (R1.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    pub ru: String,
    pub kk: String,
    pub en: String,
}

impl Texts {
    /// The text in `locale`, Russian when the locale is not one we speak.
    pub fn get(&self, locale: &str) -> &str {
        match locale {
            "kk" => &self.kk,
            "en" => &self.en,
            _ => &self.ru,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    pub name: String,
    pub website: String,
    pub country: String,
}

/// The data protection service and when it answers (R11.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: Texts,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub hours: OfficeHours,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeHours {
    pub days: Vec<Day>,
    pub opens: jiff::civil::Time,
    pub closes: jiff::civil::Time,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// A category of personal data with its fields (R2.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub key: String,
    pub name: Texts,
    /// The basis on which this category is collected, as the policy's table says (R3.2).
    pub legal_basis: LegalBasis,
    /// For a category on consent: the consent it needs (a `[[consent]]` or a purpose on
    /// consent). Its values open only while that consent is in force.
    #[serde(default)]
    pub consent: Option<String>,
    /// Key of the retention rule that governs this category (R8.1).
    pub retention: String,
    /// How values of this category are kept: one current value per field, or a series of events.
    #[serde(default)]
    pub storage: Storage,
    #[serde(rename = "field")]
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    /// A profile: each field holds the person's current value (contact, education, …).
    #[default]
    Profile,
    /// A series of observations, each its own record (visits, interactions). Collected
    /// automatically, so each needs a basis that holds at the moment it arrives (R4.2).
    Events,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub key: String,
    pub name: Texts,
    pub kind: FieldKind,
    /// Confidential data is collected and opened only with explicit consent (R2.3): the one
    /// `consent` names.
    #[serde(default)]
    pub confidential: bool,
    /// The consent that covers a confidential field.
    #[serde(default)]
    pub consent: Option<String>,
    /// Most characters a value may hold (for lists: each item).
    #[serde(default)]
    pub max_len: Option<usize>,
    /// Keep a keyed blind index so the subject can be found by this value.
    #[serde(default)]
    pub blind_index: bool,
    /// For `choice` fields: the values allowed.
    #[serde(default)]
    pub choices: Vec<String>,
    /// For `integer` fields: the smallest and largest value allowed.
    #[serde(default)]
    pub range: Option<[i64; 2]>,
    /// Overrides the category's retention rule: support messages are contact with the person,
    /// kept by the support rule rather than for as long as the account lives.
    #[serde(default)]
    pub retention: Option<String>,
    /// Overrides the category's storage: a field only ever recorded as part of events (a
    /// course's progress) in a category otherwise kept as a profile.
    #[serde(default)]
    pub storage: Option<Storage>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    /// Text that may run over several lines (a message).
    Paragraph,
    Email,
    Phone,
    Integer,
    IpAddress,
    Timestamp,
    TextList,
    Choice,
    /// The last four digits of a card: never more (PCI DSS).
    CardLast4,
    /// A non-negative amount in minor units (tiyn), as an integer.
    Amount,
    CurrencyCode,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    Consent,
    Contract,
    LegitimateInterest,
    LegalObligation,
}

impl LegalBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::Contract => "contract",
            LegalBasis::LegitimateInterest => "legitimate_interest",
            LegalBasis::LegalObligation => "legal_obligation",
        }
    }
}

/// A purpose of processing (R3.1) with the categories it may use and its basis.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    pub key: String,
    pub name: Texts,
    pub legal_basis: LegalBasis,
    pub categories: Vec<String>,
}

/// What starts a retention clock.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RetentionAnchor {
    /// Kept while the person uses the services; the clock starts when they stop.
    ServiceEnded,
    /// Kept for a term after the person completed their studies.
    CourseCompleted,
    /// Kept for a term after the record was made.
    Recorded,
    /// Kept for a term after the tax period of the record ends: the calendar year it was made
    /// in, in the policy's time zone (Tax Code of Kazakhstan: records are kept five years after
    /// the end of the tax period they concern).
    TaxPeriodEnded,
    /// Kept for a term after the support ticket was closed.
    TicketClosed,
    /// Kept for a term after the datum was collected (logs, technical data).
    Collected,
}

/// A retention rule (R8.1): an anchor event plus a term, under its own key class so that
/// expiry or erasure can destroy one class's key and keep the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    pub key: String,
    pub name: Texts,
    pub anchor: RetentionAnchor,
    /// ISO 8601 duration after the anchor, e.g. "P3Y"; "PT0S" for "at once".
    pub term: String,
    /// The vault key class holding data under this rule.
    pub key_class: String,
    /// Why the data is kept this long.
    pub ground: Texts,
    /// A law requires keeping it for the whole term: an erasure request does not shorten it.
    #[serde(default)]
    pub required_by_law: bool,
    /// For the rule of active users: when a person who no longer signs in stops counting as
    /// one.
    #[serde(default)]
    pub idle: Option<Idle>,
}

/// An account unused for `after` is warned; still unused `notice` later, it is closed and the
/// person no longer counts as using the services.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Idle {
    /// ISO 8601 duration without a sign-in before the warning, e.g. "P2Y".
    pub after: String,
    /// ISO 8601 duration between the warning and the closing, e.g. "P30D".
    pub notice: String,
}

impl Idle {
    pub fn after_span(&self) -> jiff::Span {
        self.after.parse().unwrap_or_default()
    }

    pub fn notice_span(&self) -> jiff::Span {
        self.notice.parse().unwrap_or_default()
    }
}

impl RetentionRule {
    /// The term as a calendar span (validated at load).
    pub fn span(&self) -> jiff::Span {
        self.term.parse().unwrap_or_default()
    }
}

/// A kind of third party the policy allows to receive data (R5.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    pub key: String,
    pub name: Texts,
    pub role: Texts,
    pub countries: Vec<String>,
    pub categories: Vec<String>,
    pub purposes: Vec<String>,
    /// Receives anonymized data only (R5.3).
    #[serde(default)]
    pub anonymized_only: bool,
    /// Receives data only against a recorded lawful demand (R5.4).
    #[serde(default)]
    pub lawful_demand_required: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Country {
    /// ISO 3166-1 alpha-2.
    pub code: String,
    pub name: Texts,
    /// Adequate protection of personal data (R9.1).
    pub adequate: bool,
}

/// How data arrives (R4.1, R4.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub key: String,
    pub name: Texts,
    pub method: CollectionMethod,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CollectionMethod {
    Direct,
    Automatic,
}

/// A time zone from the IANA database bundled with this build, not the host's: an outdated host
/// database would still put Almaty at UTC+6 after 1 March 2024.
pub fn zone(name: &str) -> Option<jiff::tz::TimeZone> {
    jiff::tz::TimeZoneDatabase::bundled().get(name).ok()
}

impl Policy {
    /// The policy's time zone (validated at load).
    pub fn zone(&self) -> jiff::tz::TimeZone {
        zone(&self.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    pub fn category(&self, key: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.key == key)
    }

    pub fn purpose(&self, key: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.key == key)
    }

    pub fn retention_rule(&self, key: &str) -> Option<&RetentionRule> {
        self.retention_rules.iter().find(|r| r.key == key)
    }

    pub fn source(&self, key: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.key == key)
    }

    pub fn consent_term(&self, key: &str) -> Option<&ConsentTerm> {
        self.consents.iter().find(|c| c.key == key)
    }

    /// Whether a person can give a consent under `key`: a purpose on consent, or a consent to
    /// data of the policy's `[[consent]]`.
    pub fn is_consent_key(&self, key: &str) -> bool {
        self.consent_term(key).is_some()
            || self
                .purpose(key)
                .is_some_and(|p| p.legal_basis == LegalBasis::Consent)
    }

    /// The consents to data that values of these fields (`category.field`) need: their
    /// categories' and, for confidential fields, their own — what a form must ask for them.
    pub fn consents_needed<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut out = vec![];
        for key in fields {
            if let Some((category, field)) = self.field(key) {
                out.extend(category.consent.clone());
                out.extend(field.consent.clone());
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The consents a person must give to have an account.
    pub fn required_consents(&self) -> impl Iterator<Item = &ConsentTerm> {
        self.consents.iter().filter(|c| c.required)
    }

    /// The categories a consent key covers: those that name it, and those of the confidential
    /// fields that name it.
    pub fn categories_of_consent(&self, key: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .categories
            .iter()
            .filter(|c| {
                c.consent.as_deref() == Some(key)
                    || c.fields.iter().any(|f| f.consent.as_deref() == Some(key))
            })
            .map(|c| c.key.clone())
            .collect();
        out.dedup();
        out
    }

    /// The field named `category.field`, with its category.
    pub fn field(&self, key: &str) -> Option<(&Category, &Field)> {
        let (category, field) = key.split_once('.')?;
        let category = self.category(category)?;
        let field = category.fields.iter().find(|f| f.key == field)?;
        Some((category, field))
    }

    /// Purposes that may use a category.
    pub fn purposes_using<'a>(&'a self, category: &'a str) -> impl Iterator<Item = &'a Purpose> {
        self.purposes
            .iter()
            .filter(move |p| p.categories.iter().any(|c| c == category))
    }

    /// How a field is kept: its own storage, or its category's.
    pub fn storage_of(&self, category: &Category, field: &Field) -> Storage {
        field.storage.unwrap_or(category.storage)
    }

    /// The retention rule governing a field: its own, or its category's.
    pub fn retention_of_field(&self, category: &Category, field: &Field) -> &RetentionRule {
        field
            .retention
            .as_deref()
            .and_then(|r| self.retention_rule(r))
            .unwrap_or_else(|| self.retention_of(category))
    }

    /// The retention rule whose key class is `class` (one rule per class, validated).
    pub fn rule_of_class(&self, class: &str) -> Option<&RetentionRule> {
        self.retention_rules.iter().find(|r| r.key_class == class)
    }

    /// The retention rule governing a category.
    pub fn retention_of(&self, category: &Category) -> &RetentionRule {
        self.retention_rule(&category.retention)
            .expect("validated policy: every category names an existing retention rule")
    }
}
