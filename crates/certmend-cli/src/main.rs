//! `certmend`: the command-line front end. Each command converts its arguments, calls
//! one function of certmend-core and prints the result (text, or one JSON document with
//! `--json`). Exit status: 0 success, 1 the check found a problem, 2 bad input or usage.

mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use certmend_core::server::{self, CodedMessage, DetectSources};
use certmend_core::{cert, demo, ErrorCode};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "certmend",
    version,
    about = "Repair Apex One / OfficeScan agents that no longer trust their server's certificate",
    propagate_version = true
)]
struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Find server install folders (registry, Program Files, or a mounted/copied drive).
    Detect {
        /// Root of a mounted or copied Windows system drive (e.g. /mnt/c), or an install
        /// or PCCSRV folder itself.
        #[arg(long, env = "CERTMEND_ROOT")]
        root: Option<PathBuf>,
    },
    /// Read a server install folder.
    #[command(subcommand)]
    Server(ServerCommand),
    /// Read and compare certificate files (OfcNTCer.dat, .cer; DER or PEM).
    #[command(subcommand)]
    Cert(CertCommand),
    /// Write a complete demo server (keys, certificates, agent list, collected certificates).
    Demo {
        /// Folder to create (it stands for a Windows system drive).
        dir: PathBuf,
        /// Make keys, certificates and lists deterministic.
        #[arg(long)]
        seed: Option<u64>,
        /// Replace an earlier demo in DIR.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum ServerCommand {
    /// Show an install folder's files and its certificate.
    Show {
        /// The install folder (holding PCCSRV) or the PCCSRV folder.
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum CertCommand {
    /// Show a certificate's subject, serial, thumbprints and validity.
    Show { file: PathBuf },
    /// Compare two certificates (exit 0 when identical, 1 when not).
    Compare { a: PathBuf, b: PathBuf },
}

/// How a command ended, beyond what it printed.
enum Outcome {
    Ok,
    /// The check found a problem (exit 1).
    Problem,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problem) => ExitCode::from(1),
        Err(error) => {
            if json {
                render::json(&serde_json::json!({ "error": error }));
            }
            eprintln!("certmend: error[{}]: {}", error.code, error.message);
            ExitCode::from(2)
        }
    }
}

fn coded<E: ErrorCode + std::fmt::Display>(error: E) -> CodedMessage {
    CodedMessage::from_error(&error)
}

fn run(cli: Cli) -> Result<Outcome, CodedMessage> {
    let json = cli.json;
    match cli.command {
        Command::Detect { root } => {
            let sources = match &root {
                Some(root) => {
                    if !root.is_dir() {
                        return Err(CodedMessage {
                            code: "detect.root_not_found".into(),
                            message: format!("{}: no such folder", root.display()),
                        });
                    }
                    DetectSources::default().with_root(root)
                }
                None => DetectSources::from_system(),
            };
            let servers = server::detect(&sources);
            if json {
                render::json(&serde_json::json!({ "servers": servers }));
            } else {
                render::detected(&servers, root.as_deref());
            }
            let all_complete = !servers.is_empty() && servers.iter().all(|s| s.complete);
            Ok(if all_complete {
                Outcome::Ok
            } else {
                Outcome::Problem
            })
        }
        Command::Server(ServerCommand::Show { dir }) => {
            let install = server::open(&dir).map_err(coded)?;
            let report = server::report(install);
            if json {
                render::json(&report);
            } else {
                render::server_report(&report);
            }
            if let Some(error) = &report.certificate_error {
                eprintln!("certmend: error[{}]: {}", error.code, error.message);
            }
            Ok(if report.is_healthy() {
                Outcome::Ok
            } else {
                Outcome::Problem
            })
        }
        Command::Cert(CertCommand::Show { file }) => {
            let certificate = cert::load(&file).map_err(coded)?;
            if json {
                render::json(certificate.info());
            } else {
                render::certificate(&file, certificate.info());
            }
            Ok(Outcome::Ok)
        }
        Command::Cert(CertCommand::Compare { a, b }) => {
            let first = cert::load(&a).map_err(coded)?;
            let second = cert::load(&b).map_err(coded)?;
            let comparison = cert::compare(&first, &second);
            if json {
                render::json(&serde_json::json!({
                    "a": first.info(),
                    "b": second.info(),
                    "comparison": comparison,
                    "identical": comparison.identical(),
                }));
            } else {
                render::comparison(&a, first.info(), &b, second.info(), &comparison);
            }
            Ok(if comparison.identical() {
                Outcome::Ok
            } else {
                Outcome::Problem
            })
        }
        Command::Demo { dir, seed, force } => {
            let summary =
                demo::write_demo(&dir, &demo::DemoOptions { seed, force }).map_err(coded)?;
            if json {
                render::json(&summary);
            } else {
                render::demo(&summary);
            }
            Ok(Outcome::Ok)
        }
    }
}
