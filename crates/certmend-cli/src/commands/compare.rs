use std::path::PathBuf;

use certmend_core::ops::{self, ServerRef};
use certmend_core::CodedMessage;

use super::{Ctx, Outcome};
use crate::render;

#[derive(clap::Args)]
pub struct Args {
    /// The server's install folder.
    #[arg(long, value_name = "DIR")]
    server: PathBuf,
    /// Certificate files or folders of them (<host>.dat, <host>_OfcNTCer.dat, <host>/OfcNTCer.dat).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub fn exec(args: Args, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    let mut store = ctx.open_store()?;
    let report = ops::agents::compare(&mut store, ServerRef::Folder(&args.server), &args.paths)?;
    if ctx.json {
        render::json(&report);
    } else {
        render::compare(&report);
    }
    Ok(Outcome::problem_unless(report.all_current()))
}
