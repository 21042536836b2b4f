//! Accounts: registration with explicit consents, sign-in with server-side sessions, password
//! change, closing the account. An account is the contract (R3.2): opening one starts it,
//! closing one ends it, and with it every contract purpose.
//!
//! Passwords are hashed with argon2id (OWASP minimum by default) off the async threads. A
//! sign-in never says whether an email is registered: an unknown email costs the same hash as
//! a wrong password. Session tokens are random; only their SHA-256 is stored.

use crate::names;
use crate::words::words;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::Action;
use crate::collect::taken;
use crate::consent::Channel;
use crate::events::{Event, EventKind};
use crate::gate::BasisEventKind;
use crate::letters::Letter;
use crate::requests::AddressToProve;
use crate::values::{FieldValue, InvalidInput, Refused};
use crate::{Actor, Collection, CoreError, Result, Vintrova};

/// What a registration did.
#[derive(Debug, Clone)]
pub enum Registered {
    /// The account is open: the person's id.
    Open(Uuid),
    /// The address is held by someone known only by a letter: a code went to it, and the account
    /// opens on that person when it comes back.
    AddressToProve(AddressToProve),
}

impl Registered {
    /// The person whose account opened, if it did.
    pub fn opened(&self) -> Option<Uuid> {
        match self {
            Registered::Open(id) => Some(*id),
            Registered::AddressToProve(_) => None,
        }
    }
}

/// How long a session lives without being used again.
pub const SESSION_IDLE: SignedDuration = SignedDuration::from_hours(24 * 30);
const MIN_PASSWORD: usize = 10;
const MAX_PASSWORD: usize = 128;

/// The cost of password hashing. Production uses the OWASP minimum for argon2id; tests may use
/// the cheapest the algorithm allows, which is the only reason this is configurable.
#[derive(Debug, Clone, Copy)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl PasswordCost {
    /// m = 19 MiB, t = 2, p = 1 (OWASP).
    pub const OWASP: PasswordCost = PasswordCost {
        memory_kib: 19 * 1024,
        iterations: 2,
    };
    /// For tests only: fast, and still argon2id.
    pub const TEST: PasswordCost = PasswordCost {
        memory_kib: 8,
        iterations: 1,
    };

    fn hasher(self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None)
            .expect("valid argon2 parameters");
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }
}

/// Account as stored: no PD, only the credential and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub subject: Uuid,
    pub password_hash: String,
    pub status: AccountStatus,
    pub created_at: Timestamp,
    /// The last sign-in; `None` until the first.
    pub last_seen_at: Option<Timestamp>,
    /// When the person was warned the unused account will close; cleared by a sign-in.
    pub idle_notice_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Closed,
}

words!(AccountStatus {
    Active => "active",
    Closed => "closed",
});

/// A session as stored: the token's digest, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_digest: Vec<u8>,
    pub subject: Uuid,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A new session, with the token to hand to the person's browser once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub token: String,
    pub subject: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: Timestamp,
}

/// A password reset as stored: the token's digest, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetRecord {
    pub token_digest: Vec<u8>,
    pub subject: Uuid,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// A reset token for the platform to send to the address, and until when it works. Issued the
/// same way whether or not the address has an account: an unknown address's token opens nothing.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetIssued {
    pub token: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: Timestamp,
}

/// How long a reset token works.
pub const RESET_VALID: SignedDuration = SignedDuration::from_hours(1);

/// Why a sign-in or session was refused; deliberately the same words for an unknown email and
/// a wrong password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the email or the password is wrong")]
    WrongCredentials,
    #[error("the session has expired or was ended; sign in again")]
    NoSession,
    #[error("{}", crate::staff::SIGN_IN_REFUSED)]
    StaffRefused,
    #[error(
        "the reset link is not valid: it was used, has expired, or was never issued; ask for a new one"
    )]
    BadResetToken,
}

pub(crate) fn digest_of(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub(crate) fn check_password(password: &str, field: &str) -> Result<(), InvalidInput> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&chars) {
        return Err(InvalidInput::coded(
            field,
            Refused::new(
                "password_length",
                format!("{chars} characters long"),
                format!("a password of {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
            )
            .with("min", MIN_PASSWORD)
            .with("max", MAX_PASSWORD),
        ));
    }
    Ok(())
}

/// Hash on a blocking thread: argon2 takes tens of milliseconds by design.
pub(crate) async fn hash(cost: PasswordCost, password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        cost.hasher()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| CoreError::Internal(format!("password hashing task failed: {e}")))?
}

pub(crate) async fn verify(cost: PasswordCost, password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        cost.hasher()
            .verify_password(password.as_bytes(), stored.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// How the site mails a reset: the locale, and the page's URL made from the token.
type ResetMail<'a> = (&'a str, &'a (dyn Fn(&str) -> String + Sync));

impl Vintrova {
    /// Register: the person's data (with `contact.email`, the login), a password, and exactly
    /// the consents they ticked — nothing is assumed (R2.3). Opens the account, which starts the
    /// contract — or, when the address belongs to someone known only by a letter, holds the
    /// registration until the code sent there comes back ([`Vintrova::confirm_registration`]).
    pub async fn register(
        &self,
        actor: &Actor,
        values: Vec<FieldValue>,
        password: &str,
        consents: Vec<String>,
    ) -> Result<Registered> {
        check_password(password, "password")?;
        if let Some(missing) = self
            .policy()
            .required_consents()
            .find(|term| !consents.contains(&term.key))
        {
            return Err(InvalidInput::coded(
                "consents",
                Refused::new(
                    "consent_needed",
                    format!(
                        "an account needs the consent `{}`: without it the person cannot be reached",
                        missing.key
                    ),
                    format!(
                        "the person's consent `{}`, shown to them whole",
                        missing.key
                    ),
                ),
            )
            .into());
        }
        let Some(email) = values.iter().find(|v| v.field == names::EMAIL) else {
            return Err(InvalidInput::coded(
                names::EMAIL,
                Refused::new("empty", "missing", "the email address to sign in with"),
            )
            .into());
        };
        let holder = match email.index_form.as_deref() {
            Some(form) => self.address_holder(form).await?,
            None => None,
        };
        // An address someone holds is refused, with one answer — unless they hold it only by a
        // letter (no account): then whoever registers it must prove it is theirs, and becomes
        // that person. Checked before the password's costly hash; the store's unique index
        // settles a race.
        let claimed = match holder {
            Some(holder) if self.store().account(holder).await?.is_none() => Some(holder),
            Some(_) => return Err(taken(names::EMAIL).into()),
            None => None,
        };
        let password_hash = hash(self.password_cost, password.to_string()).await?;
        if let Some(holder) = claimed {
            return self
                .hold_claim(
                    actor,
                    holder,
                    &values,
                    Self::registration(consents),
                    password_hash,
                )
                .await
                .map(Registered::AddressToProve);
        }
        let id = self
            .add_subject(actor, values, Self::registration(consents))
            .await?;
        let account = AccountRecord {
            subject: id,
            password_hash,
            status: AccountStatus::Active,
            created_at: self.now(),
            last_seen_at: None,
            idle_notice_at: None,
        };
        let audit = self.draft(actor, Action::OpenAccount, Some(id), vec![], None);
        self.audited(async |sealer| self.store().insert_account(&account, &audit, sealer).await)
            .await?;
        Ok(Registered::Open(id))
    }

    /// How a registration's data arrives: by the form, with the contract it starts and the
    /// consents ticked.
    pub(crate) fn registration(consents: Vec<String>) -> Collection {
        Collection {
            bases: vec![(BasisEventKind::ContractStarted, None)],
            consents,
            channel: Channel::Form,
            ..Collection::from(names::REGISTRATION_FORM)
        }
    }

    /// Sign in by email and password; returns a new session.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<Session> {
        let form = crate::values::email(&serde_json::Value::String(email.to_string())).ok();
        let mut account = None;
        if let Some(form) = form
            && let Some(id) = self.address_holder(&form).await?
        {
            account = self.store().account(id).await?;
        }
        // Always pay for one verification, so timing does not tell registered from unknown.
        let stored = account
            .as_ref()
            .filter(|a| a.status == AccountStatus::Active)
            .map(|a| a.password_hash.clone())
            .unwrap_or_else(|| self.decoy_hash());
        let ok = verify(self.password_cost, password.to_string(), stored).await;
        match account {
            Some(a) if ok && a.status == AccountStatus::Active => {
                self.open_session(a.subject).await
            }
            _ => Err(CoreError::Auth(AuthError::WrongCredentials)),
        }
    }

    async fn open_session(&self, subject: Uuid) -> Result<Session> {
        let token = random_token()?;
        let now = self.now();
        let record = SessionRecord {
            token_digest: digest_of(&token),
            subject,
            created_at: now,
            expires_at: now
                .checked_add(SESSION_IDLE)
                .map_err(|e| CoreError::Internal(e.to_string()))?,
        };
        self.store().insert_session(&record).await?;
        Ok(Session {
            token,
            subject,
            expires_at: record.expires_at,
        })
    }

    /// The subject a live session belongs to.
    pub async fn session(&self, token: &str) -> Result<Uuid> {
        match self.store().session(&digest_of(token)).await? {
            Some(s) if s.expires_at > self.now() => Ok(s.subject),
            _ => Err(CoreError::Auth(AuthError::NoSession)),
        }
    }

    /// Sign out: the session ends at once.
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        self.store()
            .delete_sessions(None, Some(&digest_of(token)))
            .await?;
        Ok(())
    }

    /// Change the password of the session's account; every other session ends.
    pub async fn change_password(
        &self,
        actor: &Actor,
        token: &str,
        current: &str,
        new: &str,
    ) -> Result<()> {
        check_password(new, "new_password")?;
        let subject = self.session(token).await?;
        let account = self
            .store()
            .account(subject)
            .await?
            .ok_or(CoreError::Auth(AuthError::NoSession))?;
        if !verify(
            self.password_cost,
            current.to_string(),
            account.password_hash,
        )
        .await
        {
            return Err(CoreError::Auth(AuthError::WrongCredentials));
        }
        let password_hash = hash(self.password_cost, new.to_string()).await?;
        let audit = self.draft(actor, Action::ChangePassword, Some(subject), vec![], None);
        self.audited(async |sealer| {
            self.store()
                .set_password(subject, &password_hash, &audit, sealer)
                .await
        })
        .await?;
        self.store().delete_sessions(Some(subject), None).await?;
        // Keep the session the change was made from.
        self.store()
            .insert_session(&SessionRecord {
                token_digest: digest_of(token),
                subject,
                created_at: self.now(),
                expires_at: self
                    .now()
                    .checked_add(SESSION_IDLE)
                    .map_err(|e| CoreError::Internal(e.to_string()))?,
            })
            .await?;
        Ok(())
    }

    /// Issue a password reset token for `email`. The answer is the same for every address, so
    /// it never tells whether one is registered; only a registered, active account's token works.
    pub async fn request_password_reset(&self, actor: &Actor, email: &str) -> Result<ResetIssued> {
        self.issue_reset(actor, email, None).await
    }

    /// The site's own reset: the link goes to the address through the outbox, in `locale`, and
    /// the page says the same for every address. `link` makes the page's URL from the token.
    pub async fn send_password_reset(
        &self,
        actor: &Actor,
        email: &str,
        locale: &str,
        link: impl Fn(&str) -> String + Sync,
    ) -> Result<()> {
        self.issue_reset(actor, email, Some((locale, &link)))
            .await
            .map(|_| ())
    }

    /// A reset token for the address; when it opens an active account, the token is stored
    /// (with the message carrying its link, when `mail` says how to write it), otherwise the
    /// asking is only recorded. Either way one audited write — the same work, so how long the
    /// answer takes does not tell a registered address from another.
    async fn issue_reset(
        &self,
        actor: &Actor,
        email: &str,
        mail: Option<ResetMail<'_>>,
    ) -> Result<ResetIssued> {
        let token = random_token()?;
        let expires_at = self
            .now()
            .checked_add(RESET_VALID)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let mut account = None;
        if let Ok(form) = crate::values::email(&serde_json::Value::String(email.to_string()))
            && let Some(id) = self.address_holder(&form).await?
            && self
                .store()
                .account(id)
                .await?
                .is_some_and(|a| a.status == AccountStatus::Active)
        {
            account = Some((id, form));
        }
        let Some((id, to)) = account else {
            self.log(self.draft(actor, Action::RequestPasswordReset, None, vec![], None))
                .await?;
            return Ok(ResetIssued { token, expires_at });
        };
        let record = ResetRecord {
            token_digest: digest_of(&token),
            subject: id,
            expires_at,
            used_at: None,
        };
        let message = mail.map(|(locale, link)| {
            let link = link(&token);
            let (title, body) = Letter::PasswordReset { link: &link }.write(locale);
            self.outbox_entry(Some(id), "account:reset", &to, &title, &body)
        });
        let audit = self.draft(actor, Action::RequestPasswordReset, Some(id), vec![], None);
        self.audited(async |sealer| {
            self.store()
                .insert_reset(&record, message.as_ref(), &audit, sealer)
                .await
        })
        .await?;
        Ok(ResetIssued { token, expires_at })
    }

    /// Set a new password with a reset token: once, within its hour. Every session ends.
    pub async fn reset_password(&self, actor: &Actor, token: &str, new: &str) -> Result<()> {
        check_password(new, "new_password")?;
        let now = self.now();
        let digest = digest_of(token);
        let reset = self
            .store()
            .reset(&digest)
            .await?
            .filter(|r| r.used_at.is_none() && r.expires_at > now)
            .ok_or(CoreError::Auth(AuthError::BadResetToken))?;
        // Spend the token first: of two racing uses, only one gets past this line.
        if !self.store().use_reset(&digest, now).await? {
            return Err(CoreError::Auth(AuthError::BadResetToken));
        }
        let password_hash = hash(self.password_cost, new.to_string()).await?;
        let audit = self.draft(
            actor,
            Action::ChangePassword,
            Some(reset.subject),
            vec![],
            None,
        );
        self.audited(async |sealer| {
            self.store()
                .set_password(reset.subject, &password_hash, &audit, sealer)
                .await
        })
        .await?;
        self.store()
            .delete_sessions(Some(reset.subject), None)
            .await?;
        Ok(())
    }

    /// Close the account: sessions end, the contract ends (so every contract purpose is refused
    /// from now on), and the retention clock of active users' data starts.
    /// End the service to the person: their account closes if they have one (sessions end with
    /// it), and the contract ends either way.
    pub(crate) async fn end_service(&self, actor: &Actor, subject: Uuid) -> Result<()> {
        if self.store().account(subject).await?.is_some() {
            return self.close_account(actor, subject).await;
        }
        if self.contract_in_force(subject).await? {
            self.record_basis(
                actor,
                subject,
                BasisEventKind::ContractEnded,
                None,
                names::CABINET,
            )
            .await?;
        }
        Ok(())
    }

    pub async fn close_account(&self, actor: &Actor, subject: Uuid) -> Result<()> {
        let account = self
            .store()
            .account(subject)
            .await?
            .ok_or(CoreError::UnknownSubject(subject))?;
        if account.status == AccountStatus::Closed {
            return Ok(());
        }
        let audit = self
            .draft(actor, Action::CloseAccount, Some(subject), vec![], None)
            .telling(Event::about(
                EventKind::AccountClosed,
                subject,
                serde_json::json!({}),
            ));
        self.audited(async |sealer| self.store().close_account(subject, &audit, sealer).await)
            .await?;
        self.store().delete_sessions(Some(subject), None).await?;
        self.record_basis(
            actor,
            subject,
            BasisEventKind::ContractEnded,
            None,
            names::CABINET,
        )
        .await
    }
}

/// 32 random bytes, hex: session, reset, enrollment and form tokens.
pub fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| CoreError::Internal(format!("no randomness for a token: {e}")))?;
    Ok(hex::encode(bytes))
}

/// A hash of a random password at the given cost, verified against when the email is unknown.
pub(crate) fn decoy_hash(cost: PasswordCost) -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    cost.hasher()
        .hash_password(hex::encode(bytes).as_bytes())
        .map(|h| h.to_string())
        .unwrap_or_default()
}
