use certmend_core::{ops, CodedMessage};

use super::{Ctx, Outcome};
use crate::render;

#[derive(clap::Args)]
pub struct Args {
    /// Show at most N events.
    #[arg(long, default_value_t = 200)]
    limit: u32,
}

pub fn exec(args: Args, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    let store = ctx.open_store()?;
    let history = ops::history::history(&store, args.limit)?;
    if ctx.json {
        render::json(&history);
    } else {
        render::history(&history);
    }
    Ok(Outcome::Ok)
}
