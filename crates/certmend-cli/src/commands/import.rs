use std::path::PathBuf;

use certmend_core::certificate_manager::SystemRunner;
use certmend_core::ops::agents::{CertificateManagerRun, ImportInto, ImportRequest};
use certmend_core::progress::Cancel;
use certmend_core::{ops, CodedMessage};

use super::{Bar, Ctx, Outcome};
use crate::render;

#[derive(clap::Args)]
pub struct Args {
    /// List files (CSV/TSV; UTF-8, UTF-16 or CP932).
    files: Vec<PathBuf>,
    /// The server the lists come from (default: the server read last).
    #[arg(long, value_name = "DIR")]
    server: Option<PathBuf>,
    /// Run the server's CertificateManager.exe -l and import its list (needs --server).
    #[arg(long, requires = "server")]
    run_certificate_manager: bool,
}

pub fn exec(args: Args, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    let mut store = ctx.open_store()?;
    if args.files.is_empty() && !args.run_certificate_manager {
        return Err(CodedMessage::new(
            "usage.no_files",
            "give one or more list files, or --run-certificate-manager",
        ));
    }
    let request = ImportRequest {
        into: match args.server {
            Some(dir) => ImportInto::Folder(dir),
            None => ImportInto::LastRead,
        },
        files: args.files,
        certificate_manager: if args.run_certificate_manager {
            CertificateManagerRun::Run
        } else {
            CertificateManagerRun::Skip
        },
    };
    let bar = Bar::bytes("Importing");
    let outcome = ops::agents::import(&mut store, request, &SystemRunner, &bar, &Cancel::new())?;
    drop(bar);

    let mut docs = Vec::new();
    if let Some(listed) = &outcome.nothing_listed {
        if !ctx.json {
            render::nothing_listed(listed, &outcome.server);
        }
        docs.push(render::nothing_listed_json(listed, &outcome.server));
    }
    // One file alone: its failure is the command's error.
    if let [one] = outcome.files.as_slice() {
        if let (Some(error), None) = (&one.error, &outcome.nothing_listed) {
            return Err(error.clone());
        }
    }
    for file in &outcome.files {
        match (&file.report, &file.error) {
            (Some(report), _) => {
                if !ctx.json {
                    render::import(report, &outcome.server);
                }
                docs.push(render::import_json(report, &outcome.server));
            }
            (None, Some(e)) => {
                eprintln!("certmend: error[{}]: {}", e.code, e.message);
                docs.push(serde_json::json!({ "file": file.file, "error": e }));
            }
            (None, None) => {}
        }
    }
    if ctx.json {
        match docs.as_slice() {
            [one] => render::json(one),
            many => render::json(many),
        }
    }
    if outcome.any_failed() {
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::problem_unless(!outcome.any_rejected()))
}
