//! The keys and what they vouch for: the master key over every data key, the signing key of
//! erasure receipts, and the audit chain.

use std::path::Path;

use vintrova_core::Actor;
use vintrova_vault::PublicKey;

use crate::cli::{AuditCommand, KeysCommand, ReceiptCommand};
use crate::console::read_input;
use crate::setup::{self, Config, Result, Runtime};

pub async fn run(config: &Config, actor: &Actor, command: KeysCommand) -> Result<()> {
    let KeysCommand::Rotate = command;
    let rt = setup::open(config).await?;
    let (count, next) = setup::rotate_master_key(&rt, actor).await?;
    say!(
        "rotated: {count} keys re-wrapped under master key v{} in {}.\n\
         Back that file up now. The v{} key no longer opens this data; keep it only beside backups made before the rotation.",
        next.version,
        rt.config.master_key_path().display(),
        rt.master.version
    );
    Ok(())
}

pub async fn audit(config: &Config, actor: &Actor, command: AuditCommand) -> Result<()> {
    let rt = setup::open(config).await?;
    match command {
        AuditCommand::Verify { witnesses } => {
            let mut kept = vec![];
            for file in witnesses {
                let text = String::from_utf8(read_input(&file)?)
                    .map_err(|_| format!("{} is not a signed head", file.display()))?;
                kept.push((file, text));
            }
            let witnessed = kept.len();
            let report = rt.app.verify_audit_witnessed(kept).await?;
            println!("audit log intact: {} entries verified", report.entries);
            if witnessed > 0 {
                println!(
                    "every witnessed head ({witnessed}) is still reached or lawfully pruned past"
                );
            }
        }
        AuditCommand::Head => print!("{}", rt.app.signed_head()?),
        AuditCommand::Accept { reason } => {
            let found = rt.app.accept_audit_break(actor, &reason).await?;
            println!(
                "accepted on the record: the log ended at entry {} where entry {} had been made durable; personal data is served again",
                found.found, found.anchored
            );
        }
    }
    Ok(())
}

pub async fn receipt(config: &Config, command: ReceiptCommand) -> Result<()> {
    match command {
        ReceiptCommand::Key => {
            let rt = open_installation(config).await?;
            print!("{}", rt.app.receipt_key().to_pem());
        }
        ReceiptCommand::Verify { file, key } => {
            let text = String::from_utf8(read_input(&file)?)
                .map_err(|_| format!("{} is not a text file", file.display()))?;
            let (public, rt) = match key {
                Some(path) => (published_key(&path)?, None),
                None => {
                    let rt = open_installation(config).await?;
                    (rt.app.receipt_key(), Some(rt))
                }
            };
            let body = vintrova_core::receipts::verify(&text, &public)?;
            println!(
                "receipt {} verifies with key {}",
                body.receipt,
                public.fingerprint()
            );
            println!("issued by:  {}", body.issuer);
            println!("cause:      {}", body.cause.as_str());
            println!("erased at:  {}", body.erased_at);
            println!("destroyed:  {}", body.destroyed.join(", "));
            for kept in &body.kept {
                let until = kept
                    .until
                    .map_or("the services end".to_string(), |t| t.to_string());
                println!(
                    "kept:       {} under the rule `{}` until {until}",
                    kept.categories.join(", "),
                    kept.rule,
                );
            }
            if let Some(rt) = rt {
                match rt.app.issued_receipt(&text).await? {
                    Some(r) => println!("issued here: yes, on {}", r.issued_at),
                    None => println!(
                        "issued here: no record of it (signed with this key, but not by this database)"
                    ),
                }
            }
        }
    }
    Ok(())
}

/// The key a site publishes, for checking a receipt offline.
fn published_key(path: &Path) -> Result<PublicKey> {
    let pem = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(PublicKey::from_pem(&pem).ok_or_else(|| {
        format!(
            "{} is not an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----)",
            path.display()
        )
    })?)
}

/// Open an installation that exists, never creating one: checking a receipt on a machine
/// without Vintrova must not make a data directory and a key of its own.
async fn open_installation(config: &Config) -> Result<Runtime> {
    if !config.master_key_path().exists() {
        return Err(format!(
            "there is no Vintrova installation in {}: give the published key with --key FILE (from /.well-known/vintrova-receipt-key.pem), or --data-dir of the server",
            config.data_dir.display()
        )
        .into());
    }
    setup::open(config).await
}
