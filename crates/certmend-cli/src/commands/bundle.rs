use std::path::PathBuf;

use certmend_core::bundle::{Selection, SyntaxRequest, XgValues};
use certmend_core::ops::repair::{AgentPassword, Destination, ExportRequest};
use certmend_core::ops::{self, ServerRef};
use certmend_core::progress::Cancel;
use certmend_core::script::{ScriptLanguage, ToolsLocation};
use certmend_core::CodedMessage;
use clap::ValueEnum;

use super::{Bar, Ctx, Outcome};
use crate::output::outln;
use crate::{render, secrets};

// The command's own attributes (the selection group, `bundle verify`) are on its
// variant in main.rs.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// The server's install folder.
    #[arg(long, value_name = "DIR", required = true)]
    server: Option<PathBuf>,
    /// Where to write the bundles (e.g. the stick's root; for a share, a UNC path
    /// \\server\share\certmend or any folder that will be shared).
    #[arg(long, value_name = "DIR", required = true)]
    out: Option<PathBuf>,
    /// stick: carried to each PC; share: run from a network share by a GPO startup
    /// script, a scheduled task or by hand (adds DEPLOY.txt and set-permissions.cmd).
    #[arg(long = "for", value_enum, default_value_t = For::Stick)]
    destination: For,
    /// With --for share: the path the computers use to reach --out
    /// (\\server\share\certmend; default: --out when it is a UNC path).
    #[arg(long, value_name = "UNC")]
    share_path: Option<String>,
    /// Agents to export, by name (any letter case); repeat for more.
    #[arg(long = "agent", value_name = "NAME", group = "selection")]
    agents: Vec<String>,
    /// Every agent of the server not yet repaired or resolved.
    #[arg(long, group = "selection")]
    all_mismatched: bool,
    /// Take IpXfer.exe and IpXfer_x64.exe from this folder instead of the server.
    #[arg(long, value_name = "DIR")]
    ipxfer_dir: Option<PathBuf>,
    /// One copy of the IpXfer executables in tools\ for all bundles.
    #[arg(long)]
    shared_tools: bool,
    /// Write the agent unload password into the scripts (asked at the terminal, or
    /// from --agent-password-file or CERTMEND_AGENT_PASSWORD). Default: the script asks.
    #[arg(long)]
    embed_password: bool,
    /// File holding the agent unload password (with --embed-password).
    #[arg(long, value_name = "FILE", requires = "embed_password")]
    agent_password_file: Option<PathBuf>,
    /// The agent unload password is the first line of this file on each agent PC (an
    /// absolute Windows path, e.g. C:\ProgramData\certmend\unload.txt), read when
    /// repair.cmd runs; where it is missing, repair.cmd /quiet writes PASSWORD_NEEDED.
    #[arg(
        long,
        value_name = "FILE_PATH_ON_AGENTS",
        conflicts_with = "embed_password"
    )]
    agent_password_from: Option<String>,
    /// IpXfer command line: seed (-e [-pwd]) or xg (-s -p -sp -c -e [-pwd]); auto
    /// follows the server's version (Server_Version in the registry; seed when
    /// unknown or when no source documents that version).
    #[arg(long, value_enum, default_value_t = Syntax::Auto)]
    ipxfer_syntax: Syntax,
    /// For --ipxfer-syntax xg (default: the server's ofcscan.ini).
    #[arg(long, value_name = "NAME")]
    ipxfer_server: Option<String>,
    /// For xg: the server's HTTP port, IpXfer -p (default: ofcscan.ini Master_DomainPort).
    #[arg(long, value_name = "PORT")]
    http_port: Option<u16>,
    /// For xg: the server's HTTPS port, IpXfer -sp (default: ofcscan.ini Master_DomainSSLPort,
    /// a key no public Trend source documents).
    #[arg(long, value_name = "PORT")]
    https_port: Option<u16>,
    /// For xg: the agents' listening port, IpXfer -c (default: ofcscan.ini Client_LocalServer_Port).
    #[arg(long, value_name = "PORT")]
    agent_port: Option<u16>,
    /// Language of the script's messages: en (ASCII) or ja (CP932).
    #[arg(long, value_enum, default_value_t = Language::En)]
    lang: Language,
}

#[derive(clap::Subcommand)]
pub enum Action {
    /// Check every bundle on a stick against what certmend wrote (changed, added and
    /// missing files, links, bundles it does not know); exit 1 when anything differs.
    Verify {
        /// The stick's root (the folder given to `bundle --out`).
        dir: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum For {
    Stick,
    Share,
}

#[derive(Clone, Copy, ValueEnum)]
enum Syntax {
    Auto,
    Seed,
    Xg,
}

#[derive(Clone, Copy, ValueEnum)]
enum Language {
    En,
    Ja,
}

pub fn exec(args: Args, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    match args.action {
        Some(Action::Verify { dir }) => verify(dir, ctx),
        None => export(args, ctx),
    }
}

fn verify(dir: PathBuf, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    let store = ctx.open_store()?;
    let check = ops::repair::verify(&store, &dir)?;
    if ctx.json {
        render::json(&check);
    } else {
        render::bundle_check(&check);
    }
    Ok(Outcome::problem_unless(check.is_clean()))
}

fn export(args: Args, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    let (Some(server), Some(out)) = (args.server, args.out) else {
        return Err(CodedMessage::new(
            "usage.bundle",
            "give --server DIR --out DIR and the agents, or `bundle verify DIR`",
        ));
    };
    let destination = match (args.destination, args.share_path) {
        (For::Share, share_path) => Destination::Share { share_path },
        (For::Stick, None) => Destination::Stick,
        (For::Stick, Some(_)) => {
            return Err(CodedMessage::new(
                "usage.bundle",
                "--share-path is for --for share",
            ))
        }
    };
    let mut store = ctx.open_store()?;
    let password_file = args.agent_password_file;
    let ask = || {
        eprintln!(
            "certmend: warning: the agent unload password will be written in plain text into every repair.cmd; keep the stick safe and delete the bundles after the repair"
        );
        secrets::agent_password(password_file.as_deref())
    };
    let request = ExportRequest {
        out_dir: out,
        selection: if args.all_mismatched {
            Selection::AllMismatched
        } else {
            Selection::Agents(args.agents)
        },
        ipxfer_dir: args.ipxfer_dir,
        tools: if args.shared_tools {
            ToolsLocation::Shared
        } else {
            ToolsLocation::InBundle
        },
        syntax: match args.ipxfer_syntax {
            Syntax::Auto => SyntaxRequest::Auto,
            Syntax::Seed => SyntaxRequest::Seed,
            Syntax::Xg => SyntaxRequest::Xg,
        },
        xg: XgValues {
            server: args.ipxfer_server,
            http_port: args.http_port,
            https_port: args.https_port,
            agent_port: args.agent_port,
        },
        language: match args.lang {
            Language::En => ScriptLanguage::En,
            Language::Ja => ScriptLanguage::Ja,
        },
        password: match (args.embed_password, args.agent_password_from) {
            (true, _) => AgentPassword::Embedded(&ask),
            (false, Some(path)) => AgentPassword::FileOnAgents(path),
            (false, None) => AgentPassword::AskedByScript,
        },
        destination,
    };
    let bar = Bar::bytes("Writing bundles");
    let report = ops::repair::export(
        &mut store,
        ServerRef::Folder(&server),
        request,
        &bar,
        &Cancel::new(),
    )?;
    drop(bar);
    if ctx.json {
        render::json(&report);
    } else {
        render::export(&report);
        if let Some(deploy) = &report.deploy {
            deploy_summary(deploy);
        }
    }
    // Bundles already on the stick that are not as certmend wrote them.
    Ok(Outcome::problem_unless(
        report.bundle_check.as_ref().is_none_or(|c| c.is_clean()),
    ))
}

/// What a share export wrote besides the bundles, and what to do next.
fn deploy_summary(d: &certmend_core::bundle::DeployReport) {
    outln!("For the network share {}:", d.share_path);
    for file in &d.files {
        outln!("  {}", file.display());
    }
    outln!(
        "  {} computers have a schtasks line; {} names were skipped (not plain computer names).",
        d.scheduled.len(),
        d.skipped.len()
    );
    outln!(
        "Next: set the permissions as DEPLOY.txt says, then run {} by GPO startup script, scheduled task or by hand.",
        d.entry
    );
}
