use std::path::PathBuf;

use certmend_core::cert::Expiry;
use certmend_core::ops;
use certmend_core::CodedMessage;

use super::{warn, Ctx, Outcome};
use crate::render;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Show an install folder's files and its certificate.
    Show {
        /// The install folder (holding PCCSRV) or the PCCSRV folder.
        dir: PathBuf,
    },
}

pub fn exec(command: Command, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    let Command::Show { dir } = command;
    let mut store = ctx.open_store();
    let shown = ops::server::show(&dir, store.as_mut().map_err(|e| e.clone()))?;
    if let Some(e) = &shown.not_recorded {
        warn(e, " (the read was not recorded)");
    }
    let report = &shown.report;
    if ctx.json {
        render::json(report);
    } else {
        render::server_report(report);
    }
    if let Some(error) = &report.certificate_error {
        eprintln!("certmend: error[{}]: {}", error.code, error.message);
    }
    if let Some(info) = &report.certificate {
        match info.expiry() {
            Expiry::Ok => {}
            Expiry::Warning => eprintln!(
                "certmend: warning[cert.expires_soon]: the server's certificate expires in {} days ({}); agents stop accepting what the server signs once it has expired",
                info.days_left, info.not_after
            ),
            Expiry::Expired => eprintln!(
                "certmend: warning[cert.expired]: the server's certificate expired {} days ago ({})",
                -info.days_left, info.not_after
            ),
        }
    }
    Ok(Outcome::problem_unless(report.is_healthy()))
}
