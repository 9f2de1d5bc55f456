//! `certmend`: the command-line front end. Each command converts its arguments, calls
//! one function of certmend-core and prints the result (text, or one JSON document with
//! `--json`). Exit status: 0 success, 1 the check found a problem, 2 bad input or usage.

#![forbid(unsafe_code)]

mod keys;
mod output;
mod render;
mod secrets;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use certmend_core::agents::import::import_list;
use certmend_core::certificate_manager::{self, SystemRunner};
use certmend_core::progress::{Cancel, Progress};
use certmend_core::script::{Password, ScriptLanguage};
use certmend_core::server::{self, CodedMessage, DetectSources, ServerInstall};
use certmend_core::store::{AgentFilter, AgentStatus, Store};
use certmend_core::{bundle, cert, compare, demo, drives, inventory, receipts, ErrorCode};
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

    /// The state database (default: certmend.sqlite3 in the per-user data folder).
    #[arg(long, global = true, env = "CERTMEND_DB", value_name = "PATH")]
    db: Option<PathBuf>,

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
    /// Import CertificateManager `-l` lists of agents with mismatched certificates.
    Import {
        /// List files (CSV/TSV; UTF-8, UTF-16 or CP932).
        files: Vec<PathBuf>,
        /// The server the lists come from (default: the server read last).
        #[arg(long, value_name = "DIR")]
        server: Option<PathBuf>,
        /// Run the server's CertificateManager.exe -l and import its list (needs --server).
        #[arg(long, requires = "server")]
        run_certificate_manager: bool,
    },
    /// Compare certificates collected from agents with the server's (exit 1 unless all current).
    Compare {
        /// The server's install folder.
        #[arg(long, value_name = "DIR")]
        server: PathBuf,
        /// Certificate files or folders of them (<host>.dat, <host>_OfcNTCer.dat, <host>/OfcNTCer.dat).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List agents from imported lists.
    Agents {
        /// Only this server's agents (its install folder).
        #[arg(long, value_name = "DIR")]
        server: Option<PathBuf>,
        /// Only agents with this status.
        #[arg(long, value_parser = parse_status)]
        status: Option<AgentStatus>,
        /// Only agents whose name, IP, domain or GUID contains TEXT (any case).
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
    },
    /// Show the servers' certificate history and the event log.
    History {
        /// Show at most N events.
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// Write one verified repair bundle per agent (USB stick or any folder); `bundle
    /// verify DIR` checks a stick against what certmend wrote.
    #[command(
        group(clap::ArgGroup::new("selection").required(true).multiple(false)),
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true
    )]
    Bundle {
        #[command(subcommand)]
        action: Option<BundleCommand>,
        /// The server's install folder.
        #[arg(long, value_name = "DIR", required = true)]
        server: Option<PathBuf>,
        /// Where to write the bundles (e.g. the stick's root).
        #[arg(long, value_name = "DIR", required = true)]
        out: Option<PathBuf>,
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
        /// IpXfer command line: seed (-e [-pwd]) or xg (-s -p -sp -c -e [-pwd]); auto
        /// follows the server's version (Server_Version in the registry; seed when
        /// unknown or when no source documents that version).
        #[arg(long, value_parser = ["auto", "seed", "xg"], default_value = "auto")]
        ipxfer_syntax: String,
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
        #[arg(long, value_parser = ["en", "ja"], default_value = "en")]
        lang: String,
    },
    /// Read the receipts repair.cmd wrote on a stick and update the agents' statuses.
    Receipts {
        /// The stick's root (holding receipts\) or the receipts folder.
        dir: PathBuf,
    },
    /// List removable drives to write bundles to.
    Drives,
    /// Read and check key pairs (PKCS#12, or a private key with its certificate).
    Keypair {
        #[command(subcommand)]
        command: keys::KeypairCommand,
    },
    /// Back up, verify and restore the server's key pair.
    Backup {
        #[command(subcommand)]
        command: keys::BackupCommand,
    },
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
enum BundleCommand {
    /// Check every bundle on a stick against what certmend wrote (changed, added and
    /// missing files, links, bundles it does not know); exit 1 when anything differs.
    Verify {
        /// The stick's root (the folder given to `bundle --out`).
        dir: PathBuf,
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

fn parse_status(text: &str) -> Result<AgentStatus, String> {
    AgentStatus::parse(text).ok_or_else(|| {
        let all: Vec<&str> = AgentStatus::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown status; one of: {}", all.join(", "))
    })
}

/// How a command ended, beyond what it printed.
enum Outcome {
    Ok,
    /// The check found a problem (exit 1).
    Problem,
    /// Some of the work failed on bad input, already reported (exit 2).
    Failed,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problem) => ExitCode::from(1),
        Ok(Outcome::Failed) => ExitCode::from(2),
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

fn open_store(db: Option<&Path>) -> Result<Store, CodedMessage> {
    let path = match db {
        Some(path) => path.to_path_buf(),
        None => Store::default_path().map_err(coded)?,
    };
    Store::open(&path).map_err(coded)
}

/// Records servers that were read, for the certificate history. Reading works without
/// the store, so a store problem is a warning here, not a failure.
fn record_reads(db: Option<&Path>, servers: &[ServerInstall]) {
    let result = open_store(db).and_then(|mut store| {
        for server in servers {
            inventory::record(&mut store, server.clone()).map_err(coded)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        eprintln!(
            "certmend: warning[{}]: {} (the read was not recorded)",
            e.code, e.message
        );
    }
}

/// An indicatif bar on stderr (hidden when stderr is not a terminal).
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn bytes(label: &str) -> Self {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.to_string());
        Bar(bar)
    }
}

impl Progress for Bar {
    fn update(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

fn run(cli: Cli) -> Result<Outcome, CodedMessage> {
    let json = cli.json;
    let db = cli.db.as_deref();
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
            let missing = server::missing_registry_paths(&sources);
            for path in &missing {
                eprintln!(
                    "certmend: warning[detect.registry_path_missing]: {}\\Local_Path names {}, \
                     which does not exist (a server uninstalled or moved?); looked elsewhere",
                    server::REGISTRY_KEY,
                    path.display()
                );
            }
            record_reads(db, &servers);
            if json {
                render::json(&serde_json::json!({
                    "servers": servers,
                    "registry_paths_missing": missing,
                }));
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
            record_reads(db, std::slice::from_ref(&install));
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
        Command::Import {
            files,
            server,
            run_certificate_manager,
        } => {
            let mut store = open_store(db)?;
            let chosen = inventory::choose(&mut store, server.as_deref()).map_err(coded)?;
            // Holds CertificateManager's output until it is imported, then removes it.
            let mut _output_dir = None;
            let mut files = files;
            // Exit 0 and no list: reported as its own outcome, not as an error.
            let mut nothing_listed = None;
            if run_certificate_manager {
                let install = server::open(&chosen.install_folder).map_err(coded)?;
                // A random name, created exclusively; on Unix the owner's alone (the
                // list names every mismatched agent). On Windows %TEMP% is per-user.
                let mut builder = tempfile::Builder::new();
                builder.prefix("certmend-");
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    builder.permissions(std::fs::Permissions::from_mode(0o700));
                }
                let dir = builder.tempdir().map_err(|e| CodedMessage {
                    code: "file.unwritable".into(),
                    message: format!("cannot create a temporary folder: {e}"),
                })?;
                let csv = dir.path().join("CertificateManager-l.csv");
                match certificate_manager::list_mismatched(&SystemRunner, &install, &csv)
                    .map_err(coded)?
                {
                    certificate_manager::ListOutcome::Listed { csv, .. } => files.push(csv),
                    outcome => nothing_listed = Some(outcome),
                }
                _output_dir = Some(dir);
            }
            let mut docs = Vec::new();
            if let Some(outcome) = &nothing_listed {
                if !json {
                    render::nothing_listed(outcome, &chosen);
                }
                docs.push(render::nothing_listed_json(outcome, &chosen));
                if files.is_empty() {
                    if json {
                        render::json(&docs[0]);
                    }
                    return Ok(Outcome::Ok);
                }
            }
            if files.is_empty() {
                return Err(CodedMessage {
                    code: "usage.no_files".into(),
                    message: "give one or more list files, or --run-certificate-manager".into(),
                });
            }
            let cancel = Cancel::new();
            // Each file is its own import: one that fails does not undo or hide the others.
            let single = files.len() == 1 && nothing_listed.is_none();
            let mut any_rejected = false;
            let mut any_failed = false;
            for file in &files {
                let bar = Bar::bytes("Importing");
                let result = import_list(&mut store, chosen.server_id, file, &bar, &cancel);
                drop(bar);
                match result {
                    Ok(report) => {
                        any_rejected |= !report.rejected.is_empty();
                        if !json {
                            render::import(&report, &chosen);
                        }
                        docs.push(render::import_json(&report, &chosen));
                    }
                    Err(e) if single => return Err(coded(e)),
                    Err(e) => {
                        any_failed = true;
                        let e = coded(e);
                        eprintln!("certmend: error[{}]: {}", e.code, e.message);
                        docs.push(serde_json::json!({ "file": file, "error": e }));
                    }
                }
            }
            if json {
                match docs.as_slice() {
                    [one] => render::json(one),
                    many => render::json(many),
                }
            }
            if any_failed {
                return Ok(Outcome::Failed);
            }
            Ok(if any_rejected {
                Outcome::Problem
            } else {
                Outcome::Ok
            })
        }
        Command::Compare { server, paths } => {
            let mut store = open_store(db)?;
            let recorded = inventory::open(&mut store, &server).map_err(coded)?;
            let report =
                compare::compare_collected(&mut store, &recorded, &paths).map_err(coded)?;
            if json {
                render::json(&report);
            } else {
                render::compare(&report);
            }
            Ok(if report.all_current() {
                Outcome::Ok
            } else {
                Outcome::Problem
            })
        }
        Command::Agents {
            server,
            status,
            search,
        } => {
            let store = open_store(db)?;
            let server_id = match server {
                Some(dir) => {
                    let install = server::open(&dir).map_err(coded)?;
                    Some(
                        store
                            .server_id_for(&install.install_folder)
                            .map_err(coded)?
                            .ok_or_else(|| CodedMessage {
                                code: "server.unknown".into(),
                                message: format!(
                                    "{}: certmend has not read this server yet; import a list for it first",
                                    install.install_folder.display()
                                ),
                            })?,
                    )
                }
                None => None,
            };
            let agents = store
                .agents(&AgentFilter {
                    server_id,
                    status,
                    search,
                })
                .map_err(coded)?;
            if json {
                render::json(&serde_json::json!({ "count": agents.len(), "agents": agents }));
            } else {
                render::agents(&agents);
            }
            Ok(Outcome::Ok)
        }
        Command::History { limit } => {
            let store = open_store(db)?;
            let servers = store.servers().map_err(coded)?;
            let mut with_certs = Vec::new();
            for s in servers {
                let certificates = store.certificate_history(s.id).map_err(coded)?;
                with_certs.push(serde_json::json!({ "server": s, "certificates": certificates }));
            }
            let events = store.events(Some(limit)).map_err(coded)?;
            let doc = serde_json::json!({ "servers": with_certs, "events": events });
            if json {
                render::json(&doc);
            } else {
                render::history(&doc);
            }
            Ok(Outcome::Ok)
        }
        Command::Bundle {
            action: Some(BundleCommand::Verify { dir }),
            ..
        } => {
            let store = open_store(db)?;
            let check = bundle::verify_target(&store, &dir).map_err(coded)?;
            if json {
                render::json(&check);
            } else {
                render::bundle_check(&check);
            }
            Ok(if check.is_clean() {
                Outcome::Ok
            } else {
                Outcome::Problem
            })
        }
        Command::Bundle {
            action: None,
            server: Some(server),
            out: Some(out),
            agents,
            all_mismatched,
            ipxfer_dir,
            shared_tools,
            embed_password,
            agent_password_file,
            ipxfer_syntax,
            ipxfer_server,
            http_port,
            https_port,
            agent_port,
            lang,
        } => {
            let mut store = open_store(db)?;
            let recorded = inventory::open(&mut store, &server).map_err(coded)?;
            let syntax = bundle::choose_syntax(
                &recorded,
                bundle::SyntaxRequest::parse(&ipxfer_syntax).unwrap_or_default(),
                &bundle::XgValues {
                    server: ipxfer_server,
                    http_port,
                    https_port,
                    agent_port,
                },
            )
            .map_err(coded)?;
            let password = if embed_password {
                eprintln!(
                    "certmend: warning: the agent unload password will be written in plain text into every repair.cmd; keep the stick safe and delete the bundles after the repair"
                );
                Password::Embedded(secrets::agent_password(agent_password_file.as_deref())?)
            } else {
                Password::Prompt
            };
            let options = bundle::ExportOptions {
                out_dir: out,
                selection: if all_mismatched {
                    bundle::Selection::AllMismatched
                } else {
                    bundle::Selection::Agents(agents)
                },
                ipxfer_dir,
                shared_tools,
                syntax,
                language: if lang == "ja" {
                    ScriptLanguage::Ja
                } else {
                    ScriptLanguage::En
                },
                password,
            };
            let bar = Bar::bytes("Writing bundles");
            let report = bundle::export(&mut store, &recorded, &options, &bar, &Cancel::new())
                .map_err(coded)?;
            drop(bar);
            if json {
                render::json(&report);
            } else {
                render::export(&report);
            }
            // Bundles already on the stick that are not as certmend wrote them.
            Ok(
                if report.bundle_check.as_ref().is_some_and(|c| !c.is_clean()) {
                    Outcome::Problem
                } else {
                    Outcome::Ok
                },
            )
        }
        Command::Bundle { .. } => Err(CodedMessage {
            code: "usage.bundle".into(),
            message: "give --server DIR --out DIR and the agents, or `bundle verify DIR`".into(),
        }),
        Command::Receipts { dir } => {
            let mut store = open_store(db)?;
            let report = receipts::read_receipts(&mut store, &dir).map_err(coded)?;
            if json {
                render::json(&report);
            } else {
                render::receipts(&report);
            }
            Ok(if report.has_problems() {
                Outcome::Problem
            } else {
                Outcome::Ok
            })
        }
        Command::Drives => {
            let drives = drives::removable_drives();
            if json {
                render::json(&serde_json::json!({ "drives": drives }));
            } else {
                render::drives(&drives);
            }
            Ok(Outcome::Ok)
        }
        Command::Keypair { command } => keys::run_keypair(command, json, db),
        Command::Backup { command } => keys::run_backup(command, json, db),
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
