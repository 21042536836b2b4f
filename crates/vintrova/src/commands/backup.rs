//! Encrypted backups from the command line: written, checked, restored.

use crate::backup;
use crate::cli::BackupCommand;
use crate::console::print_json;
use crate::setup::{self, Config, Result};

pub async fn run(config: &Config, command: BackupCommand) -> Result<()> {
    match command {
        BackupCommand::Create { out, key_days } => {
            let rt = setup::open(config).await?;
            let summary = backup::create(&rt, &out, key_days).await?;
            say!(
                "backup written to {}; restorable until {} (its key is in {})",
                out.display(),
                summary.header.key_expires_at,
                config.data_dir.join(backup::KEYRING).display()
            );
            print_json(&summary)
        }
        BackupCommand::Verify { file } => print_json(&backup::verify(&config.data_dir, &file)?),
        BackupCommand::Restore { file } => {
            let restored = backup::restore(config, &file).await?;
            say!(
                "restored backup {}; {} erasure(s) re-applied, {} value(s) and event(s) swept",
                restored.backup.header.id,
                restored.erasures_reapplied,
                restored.sweep.total_deleted()
            );
            print_json(&restored)
        }
    }
}
