use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use certmend_core::backup::{self, Created};
use certmend_core::keypair::Encryption;
use certmend_core::ops::keys::{Approval, BackupRequest, Pkcs12Source, WeakPassword};
use certmend_core::ops::{self, ServerRef};
use certmend_core::restore::{self, Kit, KitPlan};
use certmend_core::CodedMessage;

use super::keypair::{relation_text, report_text};
use super::{Ctx, Outcome};
use crate::output::outln;
use crate::{render, secrets};

#[derive(clap::Subcommand)]
pub enum Command {
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

pub fn exec(command: Command, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    match command {
        Command::Create {
            server,
            from,
            out,
            legacy,
            allow_weak_password,
            password_file,
            new_password_file,
        } => {
            let out_dir = match out {
                Some(dir) => dir,
                None => ops::keys::default_backups_dir()?,
            };
            let mut store = ctx.open_store()?;
            let password = |of: &Path| secrets::file_password(password_file.as_deref(), of);
            let new_password = || secrets::new_password(new_password_file.as_deref());
            let encryption = if legacy {
                eprintln!("certmend: warning: {}", backup::LEGACY_WARNING);
                Encryption::Legacy
            } else {
                Encryption::Modern
            };
            let created = ops::keys::backup(
                &mut store,
                BackupRequest {
                    server: ServerRef::Folder(&server),
                    source: Pkcs12Source {
                        file: from.as_deref(),
                        password: &password,
                    },
                    out_dir: Some(out_dir),
                    encryption,
                    weak_password: if allow_weak_password {
                        WeakPassword::Allow
                    } else {
                        WeakPassword::Refuse
                    },
                    new_password: &new_password,
                },
            )?;
            if ctx.json {
                render::json(&created);
            } else {
                created_text(&created, legacy);
            }
            Ok(Outcome::Ok)
        }
        Command::List => {
            let store = ctx.open_store()?;
            let rows = ops::keys::backups(&store)?;
            if ctx.json {
                render::json(&serde_json::json!({ "backups": rows }));
            } else {
                list_text(&rows);
            }
            Ok(Outcome::Ok)
        }
        Command::Verify {
            file,
            password_file,
        } => {
            let password = |of: &Path| secrets::file_password(password_file.as_deref(), of);
            let source = Pkcs12Source {
                file: Some(&file),
                password: &password,
            };
            let mut store = ctx.open_store()?;
            let verified = ops::keys::verify(&mut store, source, None)?;
            if ctx.json {
                render::json(&verified);
            } else {
                report_text(&verified.report);
                outln!("  Catalog         {}", verified.catalog.text());
            }
            Ok(Outcome::problem_unless(verified.ok()))
        }
        Command::Restore {
            file,
            server,
            out,
            dry_run,
            yes,
            password_file,
        } => restore(ctx, &file, &server, &out, dry_run, yes, password_file),
    }
}

fn restore(
    ctx: &Ctx,
    file: &Path,
    server: &Path,
    out: &Path,
    dry_run: bool,
    yes: bool,
    password_file: Option<PathBuf>,
) -> Result<Outcome, CodedMessage> {
    let mut store = ctx.open_store()?;
    let password = |of: &Path| secrets::file_password(password_file.as_deref(), of);
    let source = Pkcs12Source {
        file: Some(file),
        password: &password,
    };
    let draft = ops::keys::plan_kit(&mut store, ServerRef::Folder(server), source, out)?;
    if dry_run {
        if ctx.json {
            render::json(&serde_json::json!({ "plan": draft.plan, "dry_run": true }));
        } else {
            plan_text(&draft.plan);
            outln!("Dry run: nothing was written.");
        }
        return Ok(Outcome::Ok);
    }
    if !ctx.json {
        plan_text(&draft.plan);
    }
    if !yes {
        confirm()?;
    }
    let plan = draft.plan.clone();
    let approval = Approval::Approved {
        source_sha256: plan.source_sha256.clone(),
    };
    let kit = ops::keys::write_kit(&mut store, draft, approval)?;
    if ctx.json {
        render::json(&serde_json::json!({ "plan": plan, "kit": kit }));
    } else {
        kit_text(&kit, out);
    }
    Ok(Outcome::Ok)
}

fn created_text(created: &Created, legacy: bool) {
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

fn list_text(rows: &[certmend_core::store::BackupRow]) {
    if rows.is_empty() {
        outln!("No backups recorded yet.");
    }
    for r in rows {
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

fn kit_text(kit: &Kit, out: &Path) {
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
        return Err(CodedMessage::new(
            "backup.needs_confirmation",
            "a restore kit holds the server's private key: run it at a terminal to confirm, or pass --yes; nothing was written",
        ));
    }
    eprint!("Type yes to write the kit: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).map_err(|e| {
        CodedMessage::new(
            "backup.needs_confirmation",
            format!("cannot read the answer: {e}; nothing was written"),
        )
    })?;
    if answer.trim().eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err(CodedMessage::new(
            "backup.not_confirmed",
            "not confirmed; nothing was written",
        ))
    }
}
