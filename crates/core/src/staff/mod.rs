//! Staff: who works with personal data, with what role, on what paperwork (R7.6, R7.7).
//!
//! The access matrix lives here and nowhere else: [`Permission::granted_to`] says which
//! principals may do what, and [`Vintrova::permit`] is the one check every door calls. A role
//! that reaches personal data is not enough: the staff member also needs a signed
//! confidentiality agreement and privacy training within the last twelve months on record, and
//! loses access the day the training lapses.
//!
//! Staff sign in with a password (argon2id) and a TOTP code (RFC 6238, each code accepted once);
//! five failures in a row lock the account for fifteen minutes. Sessions end after thirty idle
//! minutes or twelve hours, whichever comes first. Accounts start with a one-time enrollment
//! link, never a password someone else chose.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use totp_rs::{Builder, Secret, Totp};
use uuid::Uuid;
use vintrova_vault::{SecretKey, open_with_aad, seal_with_aad};

use crate::accounts::{digest_of, hash, random_token, verify};
use crate::audit::Action;
use crate::values::InvalidInput;
use crate::words::words;
use crate::{Actor, CoreError, Result, Vintrova};

mod matrix;
pub use matrix::{AccessDenied, Permission, Principal};

pub const STAFF_IDLE: SignedDuration = SignedDuration::from_mins(30);
pub const STAFF_ABSOLUTE: SignedDuration = SignedDuration::from_hours(12);
pub const MAX_FAILURES: i64 = 5;
pub const LOCKOUT: SignedDuration = SignedDuration::from_mins(15);
pub const ENROLLMENT_VALID: SignedDuration = SignedDuration::from_hours(72);
/// Paperwork book in the ledger.
const PAPERWORK: &str = "staff_paperwork";
pub use crate::duties::STAFF_DUTIES;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Data protection officer: rights requests, incidents, assessments, paperwork.
    Dpo,
    /// Support agent: tickets and the people who wrote them.
    Support,
    /// Finance: orders, payments, refunds.
    Finance,
    /// Auditor: the audit log, incidents and assessments; no personal data.
    Auditor,
    /// Administrator: staff accounts and operations; no personal data.
    Admin,
}

words!(Role {
    Dpo => "dpo",
    Support => "support",
    Finance => "finance",
    Auditor => "auditor",
    Admin => "admin",
});

/// A staff account as stored: credentials and state, no paperwork (that is a ledger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub id: Uuid,
    /// A work handle (`a.nurlanova`), chosen by the administrator; not an email.
    pub login: String,
    pub role: Role,
    pub password_hash: Option<String>,
    /// The TOTP secret, sealed by a key derived from the vault's.
    pub totp_sealed: Option<Vec<u8>>,
    /// The last accepted TOTP time step: a code is accepted once.
    pub totp_last_step: Option<i64>,
    pub enrollment_digest: Option<Vec<u8>>,
    pub enrollment_expires: Option<Timestamp>,
    pub failed_attempts: i64,
    pub locked_until: Option<Timestamp>,
    pub active: bool,
    pub created_at: Timestamp,
}

/// How to find one staff account.
#[derive(Debug, Clone, Copy)]
pub enum StaffLookup<'a> {
    Id(Uuid),
    Login(&'a str),
    Enrollment(&'a [u8]),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSessionRecord {
    pub token_digest: Vec<u8>,
    pub staff: Uuid,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaperKind {
    /// A signed confidentiality agreement.
    Agreement,
    /// Completed privacy training.
    Training,
}

words!(PaperKind {
    Agreement => "agreement",
    Training => "training",
});

/// One paper as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Paper {
    pub kind: PaperKind,
    /// The day it was signed or the training completed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub on: Date,
    /// Where the paper is filed (a document number); never a person's data.
    pub reference: String,
}

/// The latest of each paper, and what it means today.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Paperwork {
    pub agreement: Option<Paper>,
    pub training: Option<Paper>,
    /// The first day without valid training.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub training_lapses_on: Option<Date>,
}

impl Paperwork {
    fn fold(papers: impl IntoIterator<Item = Paper>) -> Self {
        let mut work = Paperwork::default();
        for paper in papers {
            let slot = match paper.kind {
                PaperKind::Agreement => &mut work.agreement,
                PaperKind::Training => &mut work.training,
            };
            if slot.as_ref().is_none_or(|p| p.on <= paper.on) {
                *slot = Some(paper);
            }
        }
        work.training_lapses_on = work.training.as_ref().map(|t| lapses_on(t.on));
        work
    }

    /// Whether the paperwork opens personal data on `today`.
    pub fn standing(&self, today: Date) -> Result<(), AccessDenied> {
        if self.agreement.is_none() {
            return Err(AccessDenied::NoAgreement);
        }
        let Some(training) = &self.training else {
            return Err(AccessDenied::NoTraining);
        };
        let lapsed_on = lapses_on(training.on);
        if today >= lapsed_on {
            return Err(AccessDenied::TrainingLapsed {
                trained_on: training.on,
                lapsed_on,
            });
        }
        Ok(())
    }
}

/// Training counts for twelve months: taken on 10 March 2026, it lapses on 10 March 2027.
fn lapses_on(trained_on: Date) -> Date {
    trained_on
        .checked_add(12.months())
        .expect("a year after a real date is a real date")
}

/// A staff member as the console and the API show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffMember {
    pub id: Uuid,
    pub login: String,
    pub role: Role,
    /// Password and second factor are set.
    pub enrolled: bool,
    pub active: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub locked_until: Option<Timestamp>,
    pub paperwork: Paperwork,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl StaffMember {
    /// Who they are in the audit log: role and id, never a name.
    pub fn actor(&self) -> Actor {
        Actor::new("staff", &format!("{}:{}", self.role.as_str(), self.id))
    }

    pub fn principal(&self) -> Principal {
        Principal::Staff(self.role)
    }
}

/// A one-time link's token, for a new account or a re-issued one. Shown once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enrollment {
    pub staff: Uuid,
    pub login: String,
    pub role: Role,
    pub token: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: Timestamp,
}

/// The second factor to put into an authenticator app.
#[derive(Debug, Clone, Serialize)]
pub struct TotpSetup {
    pub login: String,
    /// Base32, for typing in.
    pub secret: String,
    /// `otpauth://` URI, for a QR code.
    pub uri: String,
}

/// A signed-in staff session: the token for the cookie, and the CSRF token for its forms.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub token: String,
    pub csrf: String,
    pub member: StaffMember,
}

/// The CSRF token of a session: derived from the session token, so the server keeps nothing
/// more and a page from another origin, which cannot read the cookie, cannot forge it.
pub fn csrf_token(session_token: &str) -> String {
    hex::encode(Sha256::digest(
        format!("vintrova-csrf:{session_token}").as_bytes(),
    ))
}

/// Why a staff sign-in failed: the same words whether the login, password or code was wrong or
/// the account is locked, so an attacker learns nothing.
pub const SIGN_IN_REFUSED: &str = "the login, password or code is wrong, or the account is locked for a while after repeated failures";

fn login_problem(login: &str) -> Option<InvalidInput> {
    let ok = (3..=64).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
        && !login.contains('@');
    (!ok).then(|| {
        InvalidInput::one(
            "login",
            "not a work handle",
            "3 to 64 lowercase Latin letters, digits, `.`, `-` or `_` (not an email address)",
        )
    })
}

impl Vintrova {
    fn totp_key(&self) -> SecretKey {
        SecretKey::from_bytes(self.vault().outbox().mac("staff-totp", b"v1"))
    }

    fn totp_of(&self, record: &StaffRecord) -> Result<Option<Totp>> {
        let Some(sealed) = &record.totp_sealed else {
            return Ok(None);
        };
        let secret =
            open_with_aad(&self.totp_key(), record.id.as_bytes(), sealed).ok_or_else(|| {
                CoreError::Internal(
                    "a staff second factor does not decrypt; re-issue the account's enrollment"
                        .into(),
                )
            })?;
        totp(secret).map(Some)
    }

    /// Add a staff member: no password yet, only a one-time enrollment link.
    pub async fn add_staff(&self, actor: &Actor, login: &str, role: Role) -> Result<Enrollment> {
        let login = login.trim();
        if let Some(problem) = login_problem(login) {
            return Err(problem.into());
        }
        if self
            .store()
            .find_staff(StaffLookup::Login(login))
            .await?
            .is_some()
        {
            return Err(InvalidInput::one(
                "login",
                "is taken by another staff account",
                "a login no one else has",
            )
            .into());
        }
        let now = self.now();
        let record = StaffRecord {
            id: Uuid::now_v7(),
            login: login.to_string(),
            role,
            password_hash: None,
            totp_sealed: None,
            totp_last_step: None,
            enrollment_digest: None,
            enrollment_expires: None,
            failed_attempts: 0,
            locked_until: None,
            active: true,
            created_at: now,
        };
        self.issue_enrollment(actor, record, Action::AddStaff).await
    }

    /// The first start's administrator, when there is no staff at all yet; or a fresh link for
    /// an administrator who never enrolled (the earlier link stops working).
    pub async fn first_administrator(&self, actor: &Actor) -> Result<Option<Enrollment>> {
        let staff = self.store().all_staff().await?;
        if staff.is_empty() {
            return match self.add_staff(actor, "admin", Role::Admin).await {
                Ok(enrollment) => Ok(Some(enrollment)),
                // Another server starting beside this one made it first, and printed its link.
                Err(_) if !self.store().all_staff().await?.is_empty() => Ok(None),
                Err(e) => Err(e),
            };
        }
        let admins: Vec<&StaffRecord> = staff
            .iter()
            .filter(|s| s.role == Role::Admin && s.active)
            .collect();
        if admins.iter().any(|s| s.password_hash.is_some()) {
            return Ok(None);
        }
        match admins.first() {
            Some(admin) => self
                .issue_enrollment(actor, (*admin).clone(), Action::ReissueEnrollment)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// A new enrollment link for `id`: it resets the password and second factor.
    pub async fn reissue_enrollment(&self, actor: &Actor, id: Uuid) -> Result<Enrollment> {
        let record = self.staff_record(StaffLookup::Id(id)).await?;
        self.issue_enrollment(actor, record, Action::ReissueEnrollment)
            .await
    }

    async fn issue_enrollment(
        &self,
        actor: &Actor,
        mut record: StaffRecord,
        action: Action,
    ) -> Result<Enrollment> {
        let token = random_token()?;
        let expires_at = self
            .now()
            .checked_add(ENROLLMENT_VALID)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        record.password_hash = None;
        record.totp_sealed = None;
        record.totp_last_step = None;
        record.enrollment_digest = Some(digest_of(&token));
        record.enrollment_expires = Some(expires_at);
        record.failed_attempts = 0;
        record.locked_until = None;
        self.store()
            .delete_staff_sessions(Some(record.id), None)
            .await?;
        self.save_staff(actor, &record, Some(action)).await?;
        Ok(Enrollment {
            staff: record.id,
            login: record.login,
            role: record.role,
            token,
            expires_at,
        })
    }

    async fn save_staff(
        &self,
        actor: &Actor,
        record: &StaffRecord,
        action: Option<Action>,
    ) -> Result<()> {
        let audit = action.map(|a| self.draft(actor, a, None, vec![], None));
        if let Some(head) = self
            .store()
            .put_staff(record, audit.as_ref(), &self.sealer().await?)
            .await?
        {
            self.anchor(head).await?;
        }
        Ok(())
    }

    async fn staff_record(&self, by: StaffLookup<'_>) -> Result<StaffRecord> {
        self.store().find_staff(by).await?.ok_or_else(|| {
            InvalidInput::one(
                "staff",
                "no such staff account",
                "the id of a staff account from `vintrova staff list`",
            )
            .into()
        })
    }

    async fn enrolling(&self, token: &str) -> Result<StaffRecord> {
        let digest = digest_of(token);
        match self
            .store()
            .find_staff(StaffLookup::Enrollment(&digest))
            .await?
        {
            Some(r) if r.enrollment_expires.is_some_and(|e| e > self.now()) && r.active => Ok(r),
            _ => Err(CoreError::Gone),
        }
    }

    /// The second factor for an enrollment link: made on first visit, the same on every
    /// visit until enrollment finishes.
    pub async fn enrollment(&self, token: &str) -> Result<TotpSetup> {
        let mut record = self.enrolling(token).await?;
        let totp = match self.totp_of(&record)? {
            Some(t) => t,
            None => {
                let mut secret = [0u8; 20];
                getrandom::fill(&mut secret)
                    .map_err(|e| CoreError::Internal(format!("no randomness: {e}")))?;
                record.totp_sealed = Some(seal_with_aad(
                    &self.totp_key(),
                    record.id.as_bytes(),
                    &secret,
                ));
                self.save_staff(&Actor::new("staff", "enrollment"), &record, None)
                    .await?;
                totp(secret.to_vec())?
            }
        };
        let secret = totp.secret().to_base32();
        Ok(TotpSetup {
            uri: format!(
                "otpauth://totp/Vintrova:{login}?secret={secret}&issuer=Vintrova&algorithm=SHA1&digits=6&period=30",
                login = record.login
            ),
            login: record.login,
            secret,
        })
    }

    /// Finish enrollment: the chosen password and a first code from the authenticator, which
    /// proves the second factor works before it is required.
    pub async fn finish_enrollment(
        &self,
        token: &str,
        password: &str,
        code: &str,
    ) -> Result<StaffMember> {
        crate::accounts::check_password(password, "password")?;
        let mut record = self.enrolling(token).await?;
        let Some(totp) = self.totp_of(&record)? else {
            return Err(InvalidInput::one(
                "code",
                "the second factor was not set up yet",
                "open the enrollment link first, then enter the code your app shows",
            )
            .into());
        };
        let Some(step) = totp.check(code.trim(), self.unix_seconds()) else {
            return Err(InvalidInput::one(
                "code",
                "does not match the second factor",
                "the 6-digit code your authenticator app shows now",
            )
            .into());
        };
        record.password_hash = Some(hash(self.password_cost, password.to_string()).await?);
        record.totp_last_step = Some(step as i64);
        record.enrollment_digest = None;
        record.enrollment_expires = None;
        let member = StaffMember::from_parts(&record, Paperwork::default());
        self.save_staff(&member.actor(), &record, Some(Action::EnrollStaff))
            .await?;
        self.staff_member(record.id).await
    }

    fn unix_seconds(&self) -> u64 {
        u64::try_from(self.now().as_second()).unwrap_or(0)
    }

    /// Sign in with login, password and the authenticator's code.
    pub async fn staff_sign_in(
        &self,
        login: &str,
        password: &str,
        code: &str,
    ) -> Result<StaffSession> {
        let now = self.now();
        let record = self
            .store()
            .find_staff(StaffLookup::Login(login.trim()))
            .await?;
        // Locked, disabled and unknown accounts cost the same hash as a wrong password.
        let usable = record.filter(|r| {
            r.active && r.password_hash.is_some() && r.locked_until.is_none_or(|t| t <= now)
        });
        let stored = usable
            .as_ref()
            .and_then(|r| r.password_hash.clone())
            .unwrap_or_else(|| self.decoy_hash());
        let password_ok = verify(self.password_cost, password.to_string(), stored).await;
        let Some(usable) = usable else {
            return Err(refused());
        };
        let step = match self.totp_of(&usable)? {
            Some(totp) if password_ok => totp
                .check(code.trim(), self.unix_seconds())
                .map(|s| s as i64)
                .filter(|s| usable.totp_last_step.is_none_or(|last| *s > last)),
            _ => None,
        };
        let member = StaffMember::from_parts(&usable, Paperwork::default());
        let mut updated = usable;
        let Some(step) = step else {
            updated.failed_attempts += 1;
            let action = if updated.failed_attempts >= MAX_FAILURES {
                updated.failed_attempts = 0;
                updated.locked_until = Some(
                    now.checked_add(LOCKOUT)
                        .map_err(|e| CoreError::Internal(e.to_string()))?,
                );
                Action::LockStaff
            } else {
                Action::StaffSignInFailed
            };
            self.save_staff(&member.actor(), &updated, Some(action))
                .await?;
            return Err(refused());
        };
        updated.failed_attempts = 0;
        updated.locked_until = None;
        updated.totp_last_step = Some(step);
        self.save_staff(&member.actor(), &updated, Some(Action::StaffSignIn))
            .await?;
        let token = random_token()?;
        self.store()
            .insert_staff_session(&StaffSessionRecord {
                token_digest: digest_of(&token),
                staff: updated.id,
                created_at: now,
                last_seen_at: now,
            })
            .await?;
        Ok(StaffSession {
            csrf: csrf_token(&token),
            token,
            member: self.staff_member(updated.id).await?,
        })
    }

    /// The staff member a session belongs to, if it is live: used within thirty minutes and
    /// younger than twelve hours. Using it keeps it alive.
    pub async fn staff_session(&self, token: &str) -> Result<StaffMember> {
        let digest = digest_of(token);
        let now = self.now();
        let Some(session) = self.store().staff_session(&digest).await? else {
            return Err(CoreError::Auth(crate::accounts::AuthError::NoSession));
        };
        let idle_end = session.last_seen_at.checked_add(STAFF_IDLE);
        let absolute_end = session.created_at.checked_add(STAFF_ABSOLUTE);
        let live = matches!((idle_end, absolute_end), (Ok(i), Ok(a)) if now < i && now < a);
        if !live {
            self.store()
                .delete_staff_sessions(None, Some(&digest))
                .await?;
            return Err(CoreError::Auth(crate::accounts::AuthError::NoSession));
        }
        let member = self.staff_member(session.staff).await?;
        if !member.active {
            return Err(CoreError::Auth(crate::accounts::AuthError::NoSession));
        }
        self.store().touch_staff_session(&digest, now).await?;
        Ok(member)
    }

    pub async fn staff_sign_out(&self, token: &str) -> Result<()> {
        self.store()
            .delete_staff_sessions(None, Some(&digest_of(token)))
            .await?;
        Ok(())
    }

    /// The one access check. `Ok` with the actor to act as, or the reason the door stays shut.
    /// Staff reaching personal data need current paperwork and a stated purpose, which the
    /// audit log then keeps on every entry the access writes.
    pub fn permit(
        &self,
        who: Option<&StaffMember>,
        permission: Permission,
        stated_purpose: Option<&str>,
    ) -> Result<Option<Actor>> {
        let Some(member) = who else {
            return if permission.allows(Principal::Platform) {
                Ok(None)
            } else {
                Err(CoreError::Denied(AccessDenied::NotPermitted {
                    role: "platform",
                    permission: permission.as_str(),
                }))
            };
        };
        if !member.active {
            return Err(CoreError::Denied(AccessDenied::Disabled));
        }
        if !permission.allows(member.principal()) {
            return Err(CoreError::Denied(AccessDenied::NotPermitted {
                role: member.role.as_str(),
                permission: permission.as_str(),
            }));
        }
        let actor = member.actor();
        // Everyone who works here signs the confidentiality agreement (policy §7: "with all
        // employees") before acting at all; the console's own pages stay open so the refusal
        // can be read and the session ended.
        if permission != Permission::Console && member.paperwork.agreement.is_none() {
            return Err(CoreError::Denied(AccessDenied::NoAgreement));
        }
        if !permission.reaches_pd() {
            return Ok(Some(actor));
        }
        let today = self.now().to_zoned_datetime(self.policy().zone()).date();
        member
            .paperwork
            .standing(today)
            .map_err(CoreError::Denied)?;
        let purpose = stated_purpose.map(str::trim).unwrap_or_default();
        let known = self.policy().purpose(purpose).is_some() || STAFF_DUTIES.contains(&purpose);
        if !known {
            let mut options: Vec<&str> = self
                .policy()
                .purposes
                .iter()
                .map(|p| p.key.as_str())
                .collect();
            options.extend(STAFF_DUTIES);
            return Err(InvalidInput::one(
                "purpose",
                if purpose.is_empty() {
                    "staff must name the purpose of every access to personal data".to_string()
                } else {
                    "is not a purpose staff may name".to_string()
                },
                format!(
                    "the `Vintrova-Purpose` header or `purpose` form field set to one of {}",
                    options.join(", ")
                ),
            )
            .into());
        }
        Ok(Some(actor.for_purpose(purpose)))
    }

    /// Record a signed agreement or a completed training. From the day it is recorded, access
    /// follows it; a training dated in the future is refused.
    pub async fn record_paperwork(
        &self,
        actor: &Actor,
        staff: Uuid,
        paper: Paper,
    ) -> Result<StaffMember> {
        let record = self.staff_record(StaffLookup::Id(staff)).await?;
        if actor.is_staff(record.id) {
            return Err(InvalidInput::one(
                "staff",
                "is you: nobody records their own agreement or training",
                "another staff member's id; yours is recorded by the data protection officer, an administrator or `vintrova staff paperwork` on the server",
            )
            .into());
        }
        let mut problems = InvalidInput::default();
        let today = self.now().to_zoned_datetime(self.policy().zone()).date();
        if paper.on > today {
            problems.push(
                "on",
                format!("{} is in the future", paper.on),
                "the day the paper was signed or the training completed",
            );
        }
        let reference = paper.reference.trim();
        if reference.is_empty()
            || crate::text::check(crate::text::Rule::line(100), reference).is_err()
            || reference.contains('@')
        {
            problems.push(
                "reference",
                "empty, too long, an email address or not printable text on one line",
                "the document's number where it is filed: 1 to 100 printable characters on one line",
            );
        }
        problems.into_result()?;
        let paper = Paper {
            reference: reference.to_string(),
            ..paper
        };
        self.append_ledger(
            actor,
            (PAPERWORK, record.id),
            &paper,
            Action::RecordPaperwork,
            vec![],
        )
        .await?;
        self.staff_member(record.id).await
    }

    /// Enable or disable an account; disabling ends its sessions at once.
    pub async fn set_staff_active(
        &self,
        actor: &Actor,
        staff: Uuid,
        active: bool,
    ) -> Result<StaffMember> {
        let mut record = self.staff_record(StaffLookup::Id(staff)).await?;
        record.active = active;
        if !active {
            self.store()
                .delete_staff_sessions(Some(record.id), None)
                .await?;
        }
        let action = if active {
            Action::EnableStaff
        } else {
            Action::DisableStaff
        };
        self.save_staff(actor, &record, Some(action)).await?;
        self.staff_member(staff).await
    }

    pub async fn staff_member(&self, id: Uuid) -> Result<StaffMember> {
        let record = self.staff_record(StaffLookup::Id(id)).await?;
        let papers = self.ledger(PAPERWORK, Some(id)).await?;
        let papers = papers
            .iter()
            .map(|e| e.body::<Paper>())
            .collect::<Result<Vec<_>>>()?;
        Ok(StaffMember::from_parts(&record, Paperwork::fold(papers)))
    }

    pub async fn staff_members(&self) -> Result<Vec<StaffMember>> {
        let records = self.store().all_staff().await?;
        let mut papers: std::collections::HashMap<Uuid, Vec<Paper>> = Default::default();
        for entry in self.ledger(PAPERWORK, None).await? {
            papers.entry(entry.entity).or_default().push(entry.body()?);
        }
        Ok(records
            .iter()
            .map(|r| {
                StaffMember::from_parts(
                    r,
                    Paperwork::fold(papers.remove(&r.id).unwrap_or_default()),
                )
            })
            .collect())
    }
}

impl StaffMember {
    fn from_parts(record: &StaffRecord, paperwork: Paperwork) -> Self {
        StaffMember {
            id: record.id,
            login: record.login.clone(),
            role: record.role,
            enrolled: record.password_hash.is_some() && record.totp_sealed.is_some(),
            active: record.active,
            locked_until: record.locked_until,
            paperwork,
            created_at: record.created_at,
        }
    }
}

fn refused() -> CoreError {
    CoreError::Auth(crate::accounts::AuthError::StaffRefused)
}

fn totp(secret: Vec<u8>) -> Result<Totp> {
    Builder::new()
        .with_secret(Secret::new(secret.into_boxed_slice()))
        .build()
        .map_err(|e| CoreError::Internal(format!("second factor: {e:?}")))
}

/// The code an authenticator shows at `at` for a `TotpSetup::secret` (tests and the CLI's
/// self-check use it; a person uses their app).
pub fn code_at(secret_base32: &str, at: Timestamp) -> Option<String> {
    let secret = Secret::try_from_base32(secret_base32).ok()?;
    let totp = Builder::new().with_secret(secret).build().ok()?;
    Some(
        totp.generate(u64::try_from(at.as_second()).ok()?)
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn paper(kind: PaperKind, on: Date) -> Paper {
        Paper {
            kind,
            on,
            reference: "HR-1".into(),
        }
    }

    #[test]
    fn training_lapses_on_its_anniversary_and_not_a_day_before() {
        let work = Paperwork::fold([
            paper(PaperKind::Agreement, date(2025, 1, 10)),
            paper(PaperKind::Training, date(2025, 11, 26)),
        ]);
        assert_eq!(work.standing(date(2026, 11, 25)), Ok(()));
        assert_eq!(
            work.standing(date(2026, 11, 26)),
            Err(AccessDenied::TrainingLapsed {
                trained_on: date(2025, 11, 26),
                lapsed_on: date(2026, 11, 26)
            })
        );
    }

    #[test]
    fn the_latest_paper_counts_and_each_kind_is_needed() {
        assert_eq!(
            Paperwork::fold([paper(PaperKind::Training, date(2026, 1, 1))])
                .standing(date(2026, 2, 1)),
            Err(AccessDenied::NoAgreement)
        );
        assert_eq!(
            Paperwork::fold([paper(PaperKind::Agreement, date(2026, 1, 1))])
                .standing(date(2026, 2, 1)),
            Err(AccessDenied::NoTraining)
        );
        let renewed = Paperwork::fold([
            paper(PaperKind::Agreement, date(2024, 1, 1)),
            paper(PaperKind::Training, date(2026, 3, 1)),
            paper(PaperKind::Training, date(2025, 3, 1)),
        ]);
        assert_eq!(renewed.standing(date(2027, 2, 28)), Ok(()));
    }

    #[test]
    fn administrators_and_auditors_never_reach_personal_data() {
        for permission in Permission::ALL {
            if permission.reaches_pd() {
                assert!(
                    !permission.allows(Principal::Staff(Role::Admin)),
                    "{permission:?}"
                );
                assert!(
                    !permission.allows(Principal::Staff(Role::Auditor)),
                    "{permission:?}"
                );
            }
        }
    }
}
