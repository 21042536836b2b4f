//! Synthetic data for demos and benchmarks.

use crate::cli::DemoCommand;
use crate::console::print_json;
use crate::demo;
use crate::setup::{self, Config, Result};

pub async fn run(config: &Config, command: DemoCommand) -> Result<()> {
    let DemoCommand::Seed {
        subjects,
        years,
        seed,
    } = command;
    // The installation runs on the seed's clock, so the activity is dated over the years seeded.
    let (clock, span) = demo::clock_years_ago(years)?;
    let rt = setup::open_with_clock(config, clock.clone()).await?;
    print_json(&demo::seed(&rt.app, &clock, span, subjects, seed).await?)
}
