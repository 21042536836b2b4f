//! The access matrix: who may do what. [`Permission::granted_to`] is the one table, which
//! `docs/ACCESS.md` is generated from and every door checks through `Vintrova::permit`.

use jiff::civil::Date;
use serde::Serialize;

use super::Role;
use crate::words::words;

/// Who knocks: the platform's backend with the API token, or a signed-in staff member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    Platform,
    Staff(Role),
}

impl Principal {
    pub const ALL: &'static [Principal] = &[
        Principal::Platform,
        Principal::Staff(Role::Dpo),
        Principal::Staff(Role::Support),
        Principal::Staff(Role::Finance),
        Principal::Staff(Role::Auditor),
        Principal::Staff(Role::Admin),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Principal::Platform => "platform",
            Principal::Staff(role) => role.as_str(),
        }
    }
}

/// What a door lets through. Each endpoint needs exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    RegisterPeople,
    ServeAccounts,
    ReadSubject,
    RectifySubject,
    EraseSubject,
    FileRequests,
    HandleRequests,
    Orders,
    Refunds,
    Learning,
    ViewCatalog,
    SupportTickets,
    SendNotices,
    VerifyAudit,
    ViewStaff,
    ManageStaff,
    RecordPaperwork,
    ViewIncidents,
    ManageIncidents,
    NotifyIncidentSubjects,
    ViewAssessments,
    RecordAssessments,
    /// What retention will delete in the coming months, and the legal holds.
    ViewRetention,
    /// Hand data to a recipient (R5.2).
    Disclose,
    /// The disclosure log and the recipients register with its agreements.
    ViewDisclosures,
    RecordAgreements,
    /// The anonymized learning-effectiveness report.
    ViewAnalytics,
    /// The webhook endpoints the platform is told through, and their deliveries.
    ViewWebhooks,
    /// Subscribe, rotate, enable and remove webhook endpoints.
    ManageWebhooks,
    Console,
}

words!(Permission {
    RegisterPeople => "register_people",
    ServeAccounts => "serve_accounts",
    ReadSubject => "read_subject",
    RectifySubject => "rectify_subject",
    EraseSubject => "erase_subject",
    FileRequests => "file_requests",
    HandleRequests => "handle_requests",
    Orders => "orders",
    Refunds => "refunds",
    Learning => "learning",
    ViewCatalog => "view_catalog",
    SupportTickets => "support_tickets",
    SendNotices => "send_notices",
    VerifyAudit => "verify_audit",
    ViewStaff => "view_staff",
    ManageStaff => "manage_staff",
    RecordPaperwork => "record_paperwork",
    ViewIncidents => "view_incidents",
    ManageIncidents => "manage_incidents",
    NotifyIncidentSubjects => "notify_incident_subjects",
    ViewAssessments => "view_assessments",
    RecordAssessments => "record_assessments",
    ViewRetention => "view_retention",
    Disclose => "disclose",
    ViewDisclosures => "view_disclosures",
    RecordAgreements => "record_agreements",
    ViewAnalytics => "view_analytics",
    ViewWebhooks => "view_webhooks",
    ManageWebhooks => "manage_webhooks",
    Console => "console",
});

impl Permission {
    /// The access matrix: who holds this permission. Least access: each role gets what its work
    /// needs and no more; administrators and auditors never reach personal data.
    pub fn granted_to(self) -> &'static [Principal] {
        use Permission::*;
        use Principal::{Platform, Staff};
        use Role::*;
        match self {
            RegisterPeople | ServeAccounts => &[Platform],
            ReadSubject | RectifySubject | FileRequests => &[Platform, Staff(Dpo), Staff(Support)],
            EraseSubject => &[Platform, Staff(Dpo)],
            HandleRequests | NotifyIncidentSubjects | Disclose | RecordAgreements => &[Staff(Dpo)],
            ViewDisclosures => &[Staff(Dpo), Staff(Auditor)],
            ViewAnalytics => &[Staff(Dpo), Staff(Auditor), Staff(Admin)],
            Orders => &[Platform, Staff(Finance)],
            Refunds => &[Staff(Finance)],
            Learning => &[Platform, Staff(Support)],
            ViewCatalog => &[
                Platform,
                Staff(Dpo),
                Staff(Support),
                Staff(Finance),
                Staff(Auditor),
                Staff(Admin),
            ],
            SupportTickets => &[Platform, Staff(Support)],
            SendNotices => &[Platform, Staff(Dpo)],
            VerifyAudit | ViewIncidents | ViewAssessments | ViewStaff | ViewRetention => {
                &[Staff(Dpo), Staff(Auditor), Staff(Admin)]
            }
            ManageStaff | ManageWebhooks => &[Staff(Admin)],
            ViewWebhooks => &[Staff(Dpo), Staff(Auditor), Staff(Admin)],
            RecordPaperwork | ManageIncidents => &[Staff(Dpo), Staff(Admin)],
            RecordAssessments => &[Staff(Dpo), Staff(Auditor)],
            Console => &[
                Staff(Dpo),
                Staff(Support),
                Staff(Finance),
                Staff(Auditor),
                Staff(Admin),
            ],
        }
    }

    pub fn allows(self, principal: Principal) -> bool {
        self.granted_to().contains(&principal)
    }

    /// Whether using it opens personal data: staff then need their paperwork and a purpose.
    pub fn reaches_pd(self) -> bool {
        use Permission::*;
        matches!(
            self,
            RegisterPeople
                | ServeAccounts
                | ReadSubject
                | RectifySubject
                | EraseSubject
                | FileRequests
                | HandleRequests
                | Orders
                | Refunds
                | Learning
                | SupportTickets
                | SendNotices
                | NotifyIncidentSubjects
                | Disclose
        )
    }
}

/// Why a door stayed shut, in words that say what would open it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    #[error(
        "the role `{role}` may not {permission}; ask an administrator if your work needs it (docs/ACCESS.md lists every role's access)"
    )]
    NotPermitted {
        role: &'static str,
        permission: &'static str,
    },
    #[error(
        "no signed confidentiality agreement is on record for you; personal data opens once the data protection officer records it"
    )]
    NoAgreement,
    #[error(
        "no privacy training is on record for you; personal data opens once the data protection officer records a training"
    )]
    NoTraining,
    #[error(
        "your privacy training of {trained_on} lapsed on {lapsed_on}; personal data opens again once a new training is recorded"
    )]
    TrainingLapsed { trained_on: Date, lapsed_on: Date },
    #[error("the staff account is disabled; ask an administrator")]
    Disabled,
}

impl AccessDenied {
    /// A stable word for the reason, for problem types and metrics.
    pub fn rule(&self) -> &'static str {
        match self {
            AccessDenied::NotPermitted { .. } => "not_permitted",
            AccessDenied::NoAgreement => "no_agreement",
            AccessDenied::NoTraining => "no_training",
            AccessDenied::TrainingLapsed { .. } => "training_lapsed",
            AccessDenied::Disabled => "disabled",
        }
    }
}
