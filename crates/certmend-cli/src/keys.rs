//! `certmend keypair ...` and `certmend backup ...`: the server's key pair, its backups
//! and restores. Thin: arguments and passwords in, certmend-core's results out.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::output::outln;
use certmend_core::backup;
use certmend_core::keypair::{self, Encryption, KeyPair, KeyPairReport};
use certmend_core::restore::{self, KitPlan};
use certmend_core::server::CodedMessage;
use certmend_core::{inventory, paths};
use clap::Subcommand;

use crate::{coded, open_store, render, secrets, Outcome};

#[derive(Subcommand)]
pub enum KeypairCommand {
    /// Read a key pair (PKCS#12 .pfx/.p12/OfficeScanAuth.dat, or a PEM/DER key with
    /// --cert) and check that its key belongs to its certificate.
    Show {
        /// The PKCS#12 file, or a private key file (PKCS#8, encrypted PKCS#8, PKCS#1) with --cert.
        file: PathBuf,
        /// The certificate for a private key file.
        #[arg(long, value_name = "FILE")]
        cert: Option<PathBuf>,
        /// Compare with this server's certificates (current, previous, neither).
        #[arg(long, value_name = "DIR")]
        server: Option<PathBuf>,
        /// File holding the password (first line); else env CERTMEND_PASSWORD, else asked.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Back up a server's key pair (by default its AuthCertBackup\OfficeScanAuth.dat)
    /// into a new PKCS#12 file under a new password, plus its certificate (.cer).
    Create {
        /// The server's install folder.
        #[arg(long, value_name = "DIR")]
        server: PathBuf,
        /// The key pair to back up instead of the server's OfficeScanAuth.dat (PKCS#12).
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
        /// Where to write it (default: backups in certmend's data folder).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// 3DES and a SHA-1 MAC for old importers (Windows Server 2012 R2/2016); weaker.
        #[arg(long)]
        legacy: bool,
        /// Accept a new backup password shorter than 12 characters.
        #[arg(long)]
        allow_weak_password: bool,
        /// Password of the key pair being read (first line); else env CERTMEND_PASSWORD, else asked.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Password of the new backup (first line); else env CERTMEND_NEW_PASSWORD, else asked twice.
        #[arg(long, value_name = "FILE")]
        new_password_file: Option<PathBuf>,
    },
    /// The backups certmend wrote (and the pre-restore copies), newest first.
    List,
    /// Prove a backup opens with its password and its key matches its certificate, and
    /// compare it with the catalog (a file certmend wrote, unchanged?).
    Verify {
        file: PathBuf,
        /// File holding the password (first line); else env CERTMEND_PASSWORD, else asked.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Write a restore kit for the server's reinstallation: the key pair as
    /// OfficeScanAuth.pfx (3DES with a SHA-1 MAC, which every Windows Server imports), its
    /// certificate, and a guide in English and Japanese. Writes nothing into the server
    /// folder: Trend documents importing a key pair only while installing the server.
    Restore {
        /// A PKCS#12 key pair file (a certmend backup, an OfficeScanAuth.dat, any .pfx).
        file: PathBuf,
        /// The server's install folder (to say what the certificate is to its agents).
        #[arg(long, value_name = "DIR")]
        server: PathBuf,
        /// Where the kit goes, as a new folder certmend-restore-kit-<thumbprint>.
        #[arg(long, value_name = "KIT_DIR")]
        out: PathBuf,
        /// Show what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// File holding the password (first line); else env CERTMEND_PASSWORD, else asked.
        /// The kit's OfficeScanAuth.pfx is protected by the same password.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

fn backups_dir(out: Option<PathBuf>) -> Result<PathBuf, CodedMessage> {
    out.or_else(|| paths::data_dir().map(|d| d.join("backups")))
        .ok_or_else(|| CodedMessage {
            code: "backup.no_data_folder".into(),
            message: "no per-user data folder on this system; give --out".into(),
        })
}

fn read_pkcs12(file: &Path, password_file: Option<&Path>) -> Result<KeyPair, CodedMessage> {
    // Read first: a missing file is reported before a password is asked for.
    let bytes = keypair::read_bytes(file).map_err(coded)?;
    keypair::expect_pkcs12(&bytes, file).map_err(coded)?;
    let password = secrets::file_password(password_file, file)?;
    keypair::parse_pkcs12(&bytes, &password, file).map_err(coded)
}

fn report_text(report: &KeyPairReport) {
    outln!("{}", report.file.display());
    outln!(
        "  Container       {}",
        match report.container {
            keypair::Container::Pkcs12 => "PKCS#12",
            keypair::Container::KeyFile => "private key file + certificate",
        }
    );
    outln!(
        "  Key             {} {} bits",
        report.key.algorithm,
        report.key.bits
    );
    render::certificate_body(&report.certificate);
    let c = &report.checks;
    let yes_no = |b: bool| if b { "yes" } else { "NO" };
    outln!("  Password        ok");
    outln!(
        "  Key matches     {} (public key equal: {}, sign/verify: {})",
        yes_no(c.key_matches_certificate),
        yes_no(c.public_key_equal),
        yes_no(c.sign_verify)
    );
    if let Some(relation) = &c.equals_server_certificate {
        outln!("  Server          {}", relation_text(relation));
    }
    if report.other_certificates > 0 {
        outln!(
            "  Also in file    {} other certificate(s)",
            report.other_certificates
        );
    }
}

fn relation_text(relation: &keypair::ServerRelation) -> String {
    match relation {
        keypair::ServerRelation::Current => "the server's current certificate".into(),
        keypair::ServerRelation::Previous {
            first_seen,
            last_seen,
        } => format!("a previous certificate of the server (seen {first_seen} to {last_seen})"),
        keypair::ServerRelation::Neither => {
            "not a certificate this server is known to have had".into()
        }
    }
}

pub fn run_keypair(
    command: KeypairCommand,
    json: bool,
    db: Option<&Path>,
) -> Result<Outcome, CodedMessage> {
    let KeypairCommand::Show {
        file,
        cert,
        server,
        password_file,
    } = command;
    let pair = match &cert {
        Some(cert) => {
            // Only an encrypted key needs a password: ask for it only then.
            let password = if keypair::key_file_is_encrypted(&file) {
                Some(secrets::file_password(password_file.as_deref(), &file)?)
            } else {
                None
            };
            keypair::read_key_file(&file, cert, password.as_deref().map(|p| p.as_str()))
                .map_err(coded)?
        }
        None => read_pkcs12(&file, password_file.as_deref())?,
    };
    let relation = match &server {
        Some(dir) => {
            let mut store = open_store(db)?;
            let recorded = inventory::open(&mut store, dir).map_err(coded)?;
            Some(
                backup::relation(
                    &store,
                    recorded.server_id,
                    &pair.certificate().info().sha256,
                )
                .map_err(coded)?,
            )
        }
        None => None,
    };
    Ok(print_report(&pair.report(&file, relation), json))
}

pub fn run_backup(
    command: BackupCommand,
    json: bool,
    db: Option<&Path>,
) -> Result<Outcome, CodedMessage> {
    match command {
        BackupCommand::Create {
            server,
            from,
            out,
            legacy,
            allow_weak_password,
            password_file,
            new_password_file,
        } => {
            let out = backups_dir(out)?;
            let mut store = open_store(db)?;
            let recorded = inventory::open(&mut store, &server).map_err(coded)?;
            let source = match from {
                Some(from) => from,
                None => backup::server_key_pair_file(&recorded).map_err(coded)?,
            };
            let pair = read_pkcs12(&source, password_file.as_deref())?;
            pair.ensure_matches(&source).map_err(coded)?;
            let new_password = secrets::new_password(new_password_file.as_deref())?;
            backup::check_new_password(&new_password, allow_weak_password).map_err(coded)?;
            let encryption = if legacy {
                Encryption::Legacy
            } else {
                Encryption::Modern
            };
            if legacy {
                eprintln!("certmend: warning: {}", backup::LEGACY_WARNING);
            }
            let created = backup::create(
                &mut store,
                Some(recorded.server_id),
                &pair,
                &source,
                &out,
                &new_password,
                encryption,
            )
            .map_err(coded)?;
            if json {
                render::json(&created);
            } else {
                outln!(
                    "Backup {} of {} ({}), {} encryption, verified:",
                    created.backup_id,
                    created.certificate.subject,
                    created.certificate.sha1_thumbprint,
                    if legacy { "legacy" } else { "modern" }
                );
                for f in &created.files {
                    outln!(
                        "  {}  ({} bytes, SHA-256 {})",
                        f.path.display(),
                        f.size,
                        f.sha256
                    );
                }
                outln!("Keep the backup password somewhere safe: certmend does not store it.");
            }
            Ok(Outcome::Ok)
        }
        BackupCommand::List => {
            let store = open_store(db)?;
            let rows = store.backups().map_err(coded)?;
            if json {
                render::json(&serde_json::json!({ "backups": rows }));
            } else if rows.is_empty() {
                outln!("No backups recorded yet.");
            } else {
                for r in &rows {
                    outln!(
                        "{:>4}  {}  {:<11} {}  {}  {}",
                        r.id,
                        r.created,
                        r.kind,
                        r.sha1_thumbprint,
                        r.encryption.as_deref().unwrap_or("-"),
                        r.folder
                    );
                    for f in &r.files {
                        outln!("        {}  ({} bytes)", f.name, f.size);
                    }
                }
            }
            Ok(Outcome::Ok)
        }
        BackupCommand::Verify {
            file,
            password_file,
        } => {
            let bytes = keypair::read_bytes(&file).map_err(coded)?;
            keypair::expect_pkcs12(&bytes, &file).map_err(coded)?;
            let password = secrets::file_password(password_file.as_deref(), &file)?;
            let pair = keypair::parse_pkcs12(&bytes, &password, &file).map_err(coded)?;
            let store = open_store(db)?;
            let verified = backup::verified(&store, &file, &bytes, &pair).map_err(coded)?;
            if json {
                render::json(&verified);
            } else {
                report_text(&verified.report);
                outln!("  Catalog         {}", verified.catalog.text());
            }
            Ok(if verified.ok() {
                Outcome::Ok
            } else {
                Outcome::Problem
            })
        }
        BackupCommand::Restore {
            file,
            server,
            out,
            dry_run,
            yes,
            password_file,
        } => {
            let mut store = open_store(db)?;
            let recorded = inventory::open(&mut store, &server).map_err(coded)?;
            let bytes = keypair::read_bytes(&file).map_err(coded)?;
            keypair::expect_pkcs12(&bytes, &file).map_err(coded)?;
            let password = secrets::file_password(password_file.as_deref(), &file)?;
            let pair = keypair::parse_pkcs12(&bytes, &password, &file).map_err(coded)?;
            let plan =
                restore::plan(&store, &recorded, &file, &bytes, &pair, &out).map_err(coded)?;
            if dry_run {
                if json {
                    render::json(&serde_json::json!({ "plan": plan, "dry_run": true }));
                } else {
                    plan_text(&plan);
                    outln!("Dry run: nothing was written.");
                }
                return Ok(Outcome::Ok);
            }
            if !json {
                plan_text(&plan);
            }
            if !yes {
                confirm()?;
            }
            let kit = restore::write(
                &mut store,
                recorded.server_id,
                &plan,
                &bytes,
                &pair,
                &password,
            )
            .map_err(coded)?;
            drop(password);
            if json {
                render::json(&serde_json::json!({ "plan": plan, "kit": kit }));
            } else {
                if kit.stale_staging_removed > 0 {
                    outln!(
                        "Removed {} hidden folder(s) a stopped earlier run had left in {}.",
                        kit.stale_staging_removed,
                        out.display()
                    );
                }
                outln!(
                    "Restore kit written and verified (catalog #{}):",
                    kit.backup_id
                );
                for f in &kit.files {
                    outln!("  {}  (SHA-256 {})", f.path.display(), f.sha256);
                }
                outln!(
                    "Next: copy {} to the server and follow {} ({} in Japanese) while installing the server. Nothing on the server was changed.",
                    kit.kit_folder.display(),
                    restore::GUIDE_EN,
                    restore::GUIDE_JA
                );
            }
            Ok(Outcome::Ok)
        }
    }
}

fn plan_text(plan: &KitPlan) {
    outln!("Restore kit from {}", plan.source_file.display());
    outln!("  File                   SHA-256 {}", plan.source_sha256);
    outln!("  Catalog                {}", plan.source_catalog.text());
    outln!(
        "  Kit's certificate      {}  {}  ({})",
        plan.certificate.sha1_thumbprint,
        plan.certificate.subject,
        relation_text(&plan.relation)
    );
    match &plan.current_certificate {
        Some(c) => outln!(
            "  Server's certificate   {}  {}",
            c.sha1_thumbprint,
            c.subject
        ),
        None => outln!("  Server's certificate   (none readable)"),
    }
    outln!("  {}", plan.verdict_text());
    outln!(
        "  Agents known to hold the kit's certificate: {}; the server's current one: {}; unknown: {}",
        plan.agents_holding_kit.count,
        plan.agents_holding_current.count,
        plan.agents_unknown
    );
    if plan.agents_holding_current.count > 0 && plan.verdict != restore::Verdict::SameAsCurrent {
        let more = plan.agents_holding_current.count - plan.agents_holding_current.sample.len();
        outln!(
            "  After a reinstall with this kit these agents need a repair bundle: {}{}",
            plan.agents_holding_current.sample.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    outln!("  Encryption             {}", plan.encryption_reason);
    for f in &plan.files {
        outln!("  Writes                 {}", f.display());
    }
    outln!("  The server folder is not changed.");
}

fn confirm() -> Result<(), CodedMessage> {
    if !std::io::stdin().is_terminal() {
        return Err(CodedMessage {
            code: "backup.needs_confirmation".into(),
            message: "a restore kit holds the server's private key: run it at a terminal to confirm, or pass --yes; nothing was written".into(),
        });
    }
    eprint!("Type yes to write the kit: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| CodedMessage {
            code: "backup.needs_confirmation".into(),
            message: format!("cannot read the answer: {e}; nothing was written"),
        })?;
    if answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err(CodedMessage {
            code: "backup.not_confirmed".into(),
            message: "not confirmed; nothing was written".into(),
        })
    }
}

/// Prints a key pair's report; a key that does not belong to its certificate is a
/// problem (exit 1).
fn print_report(report: &KeyPairReport, json: bool) -> Outcome {
    if json {
        render::json(report);
    } else {
        report_text(report);
    }
    if report.checks.key_matches_certificate {
        Outcome::Ok
    } else {
        Outcome::Problem
    }
}
