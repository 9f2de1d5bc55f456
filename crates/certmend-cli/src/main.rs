//! `certmend`: the command-line front end. Each command (one file in commands/)
//! converts its arguments, calls certmend-core (mostly one `ops::` use case) and prints
//! the result (text, or one JSON document with `--json`). Exit status: 0 success, 1 the
//! check found a problem, 2 bad input or usage.

#![forbid(unsafe_code)]

mod commands;
mod output;
mod render;
mod secrets;

use std::path::PathBuf;
use std::process::ExitCode;

use certmend_core::CodedMessage;
use clap::{Parser, Subcommand};

use commands::{Ctx, Outcome};

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

    /// The state database (default: certmend.sqlite3 in the per-user data folder).
    #[arg(long, global = true, env = "CERTMEND_DB", value_name = "PATH")]
    db: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Find server install folders (registry, Program Files, or a mounted/copied drive).
    Detect(commands::detect::Args),
    /// Read a server install folder.
    #[command(subcommand)]
    Server(commands::server::Command),
    /// Read and compare certificate files (OfcNTCer.dat, .cer; DER or PEM).
    #[command(subcommand)]
    Cert(commands::cert::Command),
    /// Import CertificateManager `-l` lists of agents with mismatched certificates.
    Import(commands::import::Args),
    /// Compare certificates collected from agents with the server's (exit 1 unless all current).
    Compare(commands::compare::Args),
    /// List agents from imported lists.
    Agents(commands::agents::Args),
    /// Show the servers' certificate history and the event log.
    History(commands::history::Args),
    /// Write one verified repair bundle per agent (USB stick or any folder); `bundle
    /// verify DIR` checks a stick against what certmend wrote.
    #[command(
        group(clap::ArgGroup::new("selection").required(true).multiple(false)),
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true
    )]
    Bundle(commands::bundle::Args),
    /// Read the receipts repair.cmd wrote on a stick and update the agents' statuses.
    Receipts(commands::receipts::Args),
    /// List removable drives to write bundles to.
    Drives,
    /// Read and check key pairs (PKCS#12, or a private key with its certificate).
    #[command(subcommand)]
    Keypair(commands::keypair::Command),
    /// Back up, verify and restore the server's key pair.
    #[command(subcommand)]
    Backup(commands::backup::Command),
    /// Write a complete demo server (keys, certificates, agent list, collected certificates).
    Demo(commands::demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Ctx {
        json: cli.json,
        db: cli.db,
    };
    match run(cli.command, &ctx) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problem) => ExitCode::from(1),
        Ok(Outcome::Failed) => ExitCode::from(2),
        Err(error) => {
            if ctx.json {
                render::json(&serde_json::json!({ "error": error }));
            }
            eprintln!("certmend: error[{}]: {}", error.code, error.message);
            ExitCode::from(2)
        }
    }
}

fn run(command: Command, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    use commands::*;
    match command {
        Command::Detect(args) => detect::exec(args, ctx),
        Command::Server(command) => server::exec(command, ctx),
        Command::Cert(command) => cert::exec(command, ctx),
        Command::Import(args) => import::exec(args, ctx),
        Command::Compare(args) => compare::exec(args, ctx),
        Command::Agents(args) => agents::exec(args, ctx),
        Command::History(args) => history::exec(args, ctx),
        Command::Bundle(args) => bundle::exec(args, ctx),
        Command::Receipts(args) => receipts::exec(args, ctx),
        Command::Drives => drives::exec(ctx),
        Command::Keypair(command) => keypair::exec(command, ctx),
        Command::Backup(command) => backup::exec(command, ctx),
        Command::Demo(args) => demo::exec(args, ctx),
    }
}
