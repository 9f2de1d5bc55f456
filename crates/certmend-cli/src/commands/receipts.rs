use std::path::PathBuf;

use certmend_core::{ops, CodedMessage};

use super::{Ctx, Outcome};
use crate::render;

#[derive(clap::Args)]
pub struct Args {
    /// The stick's root (holding receipts\) or the receipts folder.
    dir: PathBuf,
}

pub fn exec(args: Args, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    let mut store = ctx.open_store()?;
    let report = ops::repair::read_receipts(&mut store, &args.dir)?;
    if ctx.json {
        render::json(&report);
    } else {
        render::receipts(&report);
    }
    Ok(Outcome::problem_unless(!report.has_problems()))
}
