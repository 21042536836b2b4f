//! The names of the policy the code relies on: the purposes it asks the gate for, the categories
//! and fields it writes, the sources it records. The policy is data and may change; these may
//! not vanish from it. [`check`] runs when the core starts over a policy, so a policy without
//! one is refused with a message naming it, not failed on first use.

use vintrova_policy::Policy;

pub const EDUCATION_ACCESS: &str = "education_access";
pub const PERSONALIZATION: &str = "personalization";
pub const SUPPORT: &str = "support";
pub const PAYMENTS: &str = "payments";
pub const NOTIFICATIONS: &str = "notifications";
pub const LEARNING_ANALYTICS: &str = "learning_analytics";

/// Purposes the code asks the gate for by name, and what for.
const PURPOSES: &[(&str, &str)] = &[
    (EDUCATION_ACCESS, "enrollments and progress"),
    (PERSONALIZATION, "recommendations by level"),
    (SUPPORT, "support tickets"),
    (PAYMENTS, "orders and refunds"),
    (NOTIFICATIONS, "notices about courses and features"),
    (LEARNING_ANALYTICS, "the anonymized effectiveness report"),
];

pub const CONTACT: &str = "contact";
pub const EDUCATION: &str = "education";
pub const PROFESSIONAL: &str = "professional";
pub const PAYMENT: &str = "payment";

/// The address every notice, code and answer goes to.
pub const EMAIL: &str = "contact.email";

/// Fields the code writes or reads by name (`category.field`), and what for.
const FIELDS: &[(&str, &str)] = &[
    (
        EMAIL,
        "sign-in, look-ups, and the address every notice goes to",
    ),
    ("contact.request_description", "rights requests"),
    ("contact.request_answer", "rights requests"),
    ("contact.support_subject", "support tickets"),
    ("contact.support_message", "support tickets"),
    ("education.course", "enrollments"),
    ("education.progress", "progress in a course"),
    ("education.completed_courses", "recommendations"),
    ("professional.it_experience_years", "recommendations"),
    ("payment.amount", "orders"),
    ("payment.currency", "orders"),
    ("payment.method", "orders"),
    ("payment.provider_reference", "payment callbacks"),
    ("payment.status", "payment callbacks"),
    ("payment.paid_at", "payment callbacks"),
    ("payment.card_last4", "payment callbacks"),
];

pub const REGISTRATION_FORM: &str = "registration_form";
pub const CABINET: &str = "cabinet";
pub const STAFF_ENTRY: &str = "staff_entry";
pub const SUPPORT_REQUEST: &str = "support_request";
pub const PAID_ORDER: &str = "paid_order";
pub const LEARNING_INTERACTION: &str = "learning_interaction";

/// Sources the code records data under, and what for.
const SOURCES: &[(&str, &str)] = &[
    (REGISTRATION_FORM, "registration"),
    (CABINET, "the person's own changes and requests"),
    (STAFF_ENTRY, "staff entering a written request"),
    (SUPPORT_REQUEST, "the person's support messages"),
    (PAID_ORDER, "orders"),
    (LEARNING_INTERACTION, "progress in a course"),
];

/// Every name above the policy lacks, each with what needs it; empty when all are there.
pub fn missing(policy: &Policy) -> Vec<String> {
    let mut out = vec![];
    for (name, needed_by) in PURPOSES {
        if policy.purpose(name).is_none() {
            out.push(format!("purpose `{name}` (needed by {needed_by})"));
        }
    }
    for (name, needed_by) in FIELDS {
        if policy.field(name).is_none() {
            out.push(format!("field `{name}` (needed by {needed_by})"));
        }
    }
    for (name, needed_by) in SOURCES {
        if policy.source(name).is_none() {
            out.push(format!("source `{name}` (needed by {needed_by})"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_has_every_name_the_code_relies_on_and_a_policy_without_one_is_named() {
        let shipped = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../policy/vintrova.toml"
        ));
        let policy = vintrova_policy::load(shipped).unwrap();
        assert_eq!(missing(&policy), Vec::<String>::new());
        let without = shipped.replace("key = \"paid_order\"", "key = \"bought\"");
        let policy = vintrova_policy::load(&without).unwrap();
        assert_eq!(missing(&policy), ["source `paid_order` (needed by orders)"]);
    }
}
