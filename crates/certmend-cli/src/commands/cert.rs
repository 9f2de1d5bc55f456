use std::path::PathBuf;

use certmend_core::cert;
use certmend_core::CodedMessage;

use super::{coded, Ctx, Outcome};
use crate::render;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Show a certificate's subject, serial, thumbprints and validity.
    Show { file: PathBuf },
    /// Compare two certificates (exit 0 when identical, 1 when not).
    Compare { a: PathBuf, b: PathBuf },
}

pub fn exec(command: Command, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    match command {
        Command::Show { file } => {
            let certificate = cert::load(&file).map_err(coded)?;
            if ctx.json {
                render::json(certificate.info());
            } else {
                render::certificate(&file, certificate.info());
            }
            Ok(Outcome::Ok)
        }
        Command::Compare { a, b } => {
            let first = cert::load(&a).map_err(coded)?;
            let second = cert::load(&b).map_err(coded)?;
            let comparison = cert::compare(&first, &second);
            if ctx.json {
                render::json(&serde_json::json!({
                    "a": first.info(),
                    "b": second.info(),
                    "comparison": comparison,
                    "identical": comparison.identical(),
                }));
            } else {
                render::comparison(&a, first.info(), &b, second.info(), &comparison);
            }
            Ok(Outcome::problem_unless(comparison.identical()))
        }
    }
}
