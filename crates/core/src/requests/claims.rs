//! Claims: registering with an address that someone known only by a letter already holds.
//!
//! A letter-writer who proved their address is a person without an account. Whoever registers
//! that address later is the same person only if they prove it too: the registration is held,
//! sealed like a letter, a code goes to the address, and when it comes back the account opens
//! on the person the letter made — their open requests with it — in one transaction. Until then
//! nothing of the registration touches the person, and an unproven claim goes with its code.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::VerificationError;
use super::intake::Held;
use crate::accounts::{AccountRecord, AccountStatus};
use crate::audit::Action;
use crate::collect::taken;
use crate::letters::Letter;
use crate::values::FieldValue;
use crate::{Actor, Collection, CoreError, Result, Vintrova, names};

/// A registration waiting for its address to be proven, as sealed in its held record: the
/// document as the person wrote it (parsed again when it is admitted, against the policy then
/// in force), the consents they gave and their password's hash — never the password.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Claim {
    pub(super) email: String,
    data: Value,
    consents: Vec<String>,
    password_hash: String,
}

/// The answer to a registration whose address must be proven first: the code went to it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressToProve {
    /// Send the code back with this id.
    pub id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: Timestamp,
}

/// The values as the document they came from, `{"contact": {"email": …}, …}`.
fn document(values: &[FieldValue]) -> Value {
    let mut doc = Map::new();
    for v in values {
        let name = v
            .field
            .split_once('.')
            .map_or(v.field.as_str(), |(_, name)| name);
        doc.entry(v.category.clone())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("a category is an object")
            .insert(name.to_string(), v.value.clone());
    }
    Value::Object(doc)
}

impl Vintrova {
    /// Hold a registration of an address `holder` has by a letter: checked now as it will be
    /// when admitted (so a refused one holds nothing), a code sent to the address.
    pub(crate) async fn hold_claim(
        &self,
        actor: &Actor,
        holder: Uuid,
        values: &[FieldValue],
        collection: Collection,
        password_hash: String,
    ) -> Result<AddressToProve> {
        // Checked as it will be when admitted, without sealing what is not stored yet.
        self.checked_events(holder, values, &collection)?;
        let email = values
            .iter()
            .find(|v| v.field == names::EMAIL)
            .and_then(|v| v.index_form.clone())
            .unwrap_or_default();
        let id = Uuid::now_v7();
        let claim = Held::Claim(Claim {
            email,
            data: document(values),
            consents: collection.consents,
            password_hash,
        });
        let audit = self.draft(
            actor,
            Action::ReceiveRequest,
            None,
            vec![names::CONTACT.into()],
            Some(format!("claim:{id}")),
        );
        let expires_at = self
            .hold(
                id,
                (&claim, Some(holder)),
                self.now(),
                |code| Letter::RegistrationCode { code },
                &audit,
            )
            .await?;
        Ok(AddressToProve { id, expires_at })
    }

    /// The code of a held registration came back: the account opens on the person who holds
    /// the address, with what they registered, in one transaction with the claim's end.
    /// Returns the person's id.
    pub async fn confirm_registration(&self, actor: &Actor, id: Uuid, code: &str) -> Result<Uuid> {
        let spent = || CoreError::Verification(VerificationError::Spent);
        let record = self.store().letter(id).await?.ok_or_else(spent)?;
        // A letter's code proves a request, not a registration.
        let Held::Claim(claim) = self.open_held(&record)? else {
            return Err(spent());
        };
        self.check_code(Some(&record.code), code, true).await?;
        let values = self.parse_json(&claim.data)?;
        // The letter-writer may have been erased meanwhile: then the address is free, and the
        // registration starts again as anyone's would.
        let holder = self.address_holder(&claim.email).await?.ok_or_else(spent)?;
        if self.store().account(holder).await?.is_some() {
            return Err(taken(names::EMAIL).into());
        }
        let joining = self
            .sealed_subject(holder, &values, Self::registration(claim.consents))
            .await?;
        let account = AccountRecord {
            subject: holder,
            password_hash: claim.password_hash,
            status: AccountStatus::Active,
            created_at: self.now(),
            last_seen_at: None,
            idle_notice_at: None,
        };
        let audit = self.draft(
            actor,
            Action::OpenAccount,
            Some(holder),
            values.iter().map(|v| v.category.clone()).collect(),
            Some(format!("claim:{id}")),
        );
        let opened = self
            .audited(async |sealer| {
                self.store()
                    .open_claimed_account(id, &joining, &account, &audit, sealer)
                    .await
            })
            .await?;
        // Another confirmation took the claim a moment before: its code is spent.
        opened.map(|()| holder).ok_or_else(spent)
    }
}
