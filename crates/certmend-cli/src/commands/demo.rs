use std::path::PathBuf;

use certmend_core::{demo, CodedMessage};

use super::{coded, Ctx, Outcome};
use crate::render;

#[derive(clap::Args)]
pub struct Args {
    /// Folder to create (it stands for a Windows system drive).
    dir: PathBuf,
    /// Make keys, certificates and lists deterministic.
    #[arg(long)]
    seed: Option<u64>,
    /// Replace an earlier demo in DIR.
    #[arg(long)]
    force: bool,
}

pub fn exec(args: Args, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    let options = demo::DemoOptions {
        seed: args.seed,
        force: args.force,
    };
    let summary = demo::write_demo(&args.dir, &options).map_err(coded)?;
    if ctx.json {
        render::json(&summary);
    } else {
        render::demo(&summary);
    }
    Ok(Outcome::Ok)
}
