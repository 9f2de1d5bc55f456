use std::path::PathBuf;

use certmend_core::ops;
use certmend_core::server::REGISTRY_KEY;
use certmend_core::CodedMessage;

use super::{warn, Ctx, Outcome};
use crate::render;

#[derive(clap::Args)]
pub struct Args {
    /// Root of a mounted or copied Windows system drive (e.g. /mnt/c), or an install
    /// or PCCSRV folder itself.
    #[arg(long, env = "CERTMEND_ROOT")]
    root: Option<PathBuf>,
}

pub fn exec(args: Args, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    let sources = ops::server::sources(args.root.as_deref())?;
    let mut store = ctx.open_store();
    let detected = ops::server::detect(&sources, store.as_mut().map_err(|e| e.clone()));
    for path in &detected.registry_paths_missing {
        eprintln!(
            "certmend: warning[detect.registry_path_missing]: {REGISTRY_KEY}\\Local_Path names {}, \
             which does not exist (a server uninstalled or moved?); looked elsewhere",
            path.display()
        );
    }
    if let Some(e) = &detected.not_recorded {
        warn(e, " (the read was not recorded)");
    }
    if ctx.json {
        render::json(&detected);
    } else {
        render::detected(&detected.servers, args.root.as_deref());
    }
    Ok(Outcome::problem_unless(detected.all_complete()))
}
