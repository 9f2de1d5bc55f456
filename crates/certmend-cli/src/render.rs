//! Text and JSON output of the CLI. Formatting only: every fact comes from the core.

use std::path::Path;

use crate::output::outln;
use certmend_core::cert::{CertificateInfo, Comparison};
use certmend_core::demo::DemoSummary;
use certmend_core::server::{DefaultLocation, Product, ServerInstall, ServerReport, ServerVersion};
use serde::Serialize;

pub fn json<T: Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => outln!("{text}"),
        // Our types always serialise; say so loudly if that ever changes.
        Err(e) => eprintln!("certmend: error[internal.json]: {e}"),
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn product(p: Product) -> &'static str {
    match p {
        Product::OfficeScan => "OfficeScan",
        Product::ApexOne => "Apex One",
        Product::Unknown => "unknown product",
    }
}

fn location(l: DefaultLocation) -> &'static str {
    match l {
        DefaultLocation::Windows32bit => "default location on 32-bit Windows",
        DefaultLocation::Windows64bit => "default location on 64-bit Windows",
        DefaultLocation::Custom => "custom location",
    }
}

pub fn detected(servers: &[ServerInstall], root: Option<&Path>) {
    if servers.is_empty() {
        match root {
            Some(root) => outln!(
                "No OfficeScan / Apex One server found under {} (looked in Program Files and Program Files (x86), \\Trend Micro\\OfficeScan and \\Trend Micro\\Apex One).",
                root.display()
            ),
            None => outln!(
                "No OfficeScan / Apex One server found on this machine. Use --root DIR for a mounted or copied drive."
            ),
        }
        return;
    }
    for (i, s) in servers.iter().enumerate() {
        if i > 0 {
            outln!();
        }
        server(s);
    }
}

pub fn server(s: &ServerInstall) {
    let demo = if s.demo { "  [DEMO DATA]" } else { "" };
    outln!("{}{demo}", s.install_folder.display());
    outln!(
        "  {} · {} · {}",
        product(s.product),
        location(s.default_location),
        if s.complete { "complete" } else { "INCOMPLETE" }
    );
    outln!("  Version  {}", version(&s.version));
    for f in &s.files {
        match (&f.path, f.size, &f.sha256, &f.error) {
            (Some(path), Some(size), Some(sha), _) => {
                outln!(
                    "  ok       {:<24} {:>10} bytes  SHA-256 {sha}",
                    f.name,
                    size
                );
                outln!("           {}", path.display());
            }
            (Some(_), _, _, Some(error)) => outln!("  error    {:<24} {error}", f.name),
            _ => outln!("  missing  {:<24} (expected {})", f.name, f.expected),
        }
    }
}

/// `14.0, build 8378 (HKLM\...\Information)`, or why it is unknown.
fn version(v: &ServerVersion) -> String {
    let build = v
        .service_pack_build
        .as_deref()
        .map(|b| format!(", build {b}"))
        .unwrap_or_default();
    match (&v.server_version, &v.registry_key) {
        (Some(version), Some(key)) => format!("{version}{build} ({key})"),
        (Some(version), None) => format!("{version}{build}"),
        (None, Some(key)) => format!("unknown ({key} has no Server_Version{build})"),
        (None, None) => {
            "unknown (no registry key names this folder: not on Windows, or a copied folder)".into()
        }
    }
}

pub fn server_report(report: &ServerReport) {
    server(&report.server);
    outln!();
    match (&report.certificate, &report.certificate_error) {
        (Some(info), _) => certificate_body(info),
        (None, Some(error)) => outln!("Certificate: {}", error.message),
        (None, None) => outln!("Certificate: not read"),
    }
}

pub fn certificate(path: &Path, info: &CertificateInfo) {
    outln!("{}", path.display());
    certificate_body(info);
}

pub fn certificate_body(info: &CertificateInfo) {
    let expiry = if info.days_left < 0 {
        format!("EXPIRED {} days ago", -info.days_left)
    } else {
        format!("{} days left", info.days_left)
    };
    let signature = match info.signature_valid {
        Some(true) => "valid (verified with its own key)",
        Some(false) => "INVALID",
        None => "not checked",
    };
    outln!("  Subject         {}", info.subject);
    outln!("  Issuer          {}", info.issuer);
    outln!("  Serial          {}", info.serial);
    outln!("  Thumbprint      {}  (SHA-1)", info.sha1_thumbprint);
    outln!("  SHA-256         {}", info.sha256);
    outln!("  Valid from      {}", info.not_before);
    outln!("  Valid to        {}  ({expiry})", info.not_after);
    outln!(
        "  Public key      {} {} bits",
        info.public_key_algorithm,
        info.public_key_bits
    );
    outln!(
        "  Signature       {} · {signature}",
        info.signature_algorithm
    );
    outln!("  Self-signed     {}", yes_no(info.self_signed));
    outln!("  Format          {}", info.format);
    for warning in &info.warnings {
        outln!("  Note            {warning}");
    }
}

pub fn comparison(
    a: &Path,
    a_info: &CertificateInfo,
    b: &Path,
    b_info: &CertificateInfo,
    c: &Comparison,
) {
    outln!("A  {}  {}", a_info.sha1_thumbprint, a.display());
    outln!("B  {}  {}", b_info.sha1_thumbprint, b.display());
    outln!("  Same certificate  {}", yes_no(c.same_certificate));
    outln!("  Same public key   {}", yes_no(c.same_public_key));
    outln!("  Same subject      {}", yes_no(c.same_subject));
    outln!("  Same serial       {}", yes_no(c.same_serial));
    if c.same_certificate {
        outln!("Identical.");
    } else if c.same_public_key {
        outln!("Different certificates of the same key pair (e.g. a renewal).");
    } else {
        outln!(
            "Different key pairs: an agent holding one does not trust a server using the other."
        );
    }
}

pub fn demo(s: &DemoSummary) {
    outln!("Demo server written to {}", s.root.display());
    outln!("  Install folder      {}", s.install_folder.display());
    outln!("  Certificate         {}", s.certificate.display());
    outln!("  Current thumbprint  {}", s.current_sha1_thumbprint);
    outln!(
        "  Previous thumbprint {}  (the key pair lost in the \"rebuild\")",
        s.previous_sha1_thumbprint
    );
    outln!("  Key pair            {}", s.key_pair_file.display());
    outln!(
        "  Previous key pair   {}",
        s.previous_key_pair_file.display()
    );
    outln!(
        "  Key pair password   {}  (demo data only)",
        s.key_pair_password
    );
    outln!(
        "  Agent list          {} ({} agents)",
        s.list_file.display(),
        s.list_agents
    );
    outln!(
        "  Collected certs     {} ({} current, {} previous)",
        s.collected_folder.display(),
        s.collected_current,
        s.collected_previous
    );
    outln!("  Seed                {}", s.seed);
    outln!("Try: certmend detect --root {}", s.root.display());
}

fn delimiter_name(d: &str) -> &'static str {
    match d {
        "\t" => "tab",
        ";" => "semicolon",
        _ => "comma",
    }
}

/// An import report with the server it was attached to, as one JSON object.
pub fn import_json(
    report: &certmend_core::agents::import::ImportReport,
    chosen: &certmend_core::inventory::ChosenServer,
) -> serde_json::Value {
    let mut doc = serde_json::to_value(report).unwrap_or_default();
    if let Some(map) = doc.as_object_mut() {
        map.insert(
            "server".into(),
            serde_json::json!({
                "install_folder": chosen.install_folder,
                "chosen_by": chosen.chosen_by,
            }),
        );
    }
    doc
}

/// `-l` exited with 0 and wrote no list, as one JSON object.
pub fn nothing_listed_json(
    outcome: &certmend_core::certificate_manager::ListOutcome,
    chosen: &certmend_core::inventory::ChosenServer,
) -> serde_json::Value {
    serde_json::json!({
        "certificate_manager": outcome,
        "code": outcome.code(),
        "message": outcome.message(),
        "server": {
            "install_folder": chosen.install_folder,
            "chosen_by": chosen.chosen_by,
        },
    })
}

pub fn nothing_listed(
    outcome: &certmend_core::certificate_manager::ListOutcome,
    chosen: &certmend_core::inventory::ChosenServer,
) {
    use certmend_core::certificate_manager::{ListOutcome, NOTHING_LISTED};
    let ListOutcome::NothingListed {
        program, output, ..
    } = outcome
    else {
        return;
    };
    outln!("{NOTHING_LISTED}.");
    outln!("  Server      {}", chosen.install_folder.display());
    outln!("  Program     {}", program.display());
    if output.is_empty() {
        outln!("  Output      (none)");
    } else {
        outln!("  Output      {output}");
    }
}

pub fn import(
    r: &certmend_core::agents::import::ImportReport,
    chosen: &certmend_core::inventory::ChosenServer,
) {
    outln!("{}", r.file.display());
    let how = if chosen.chosen_by == "given" {
        "given with --server"
    } else {
        "the server read last"
    };
    outln!("  Server      {} ({how})", chosen.install_folder.display());
    if let Some(earlier) = &r.already_imported {
        outln!(
            "  Already imported on {} (same SHA-256, as {}): nothing changed.",
            earlier.imported_at,
            earlier.file_name
        );
        return;
    }
    let header = if r.header && r.named_by_guid {
        format!(
            "header: {} (no name column: agents are named by their GUID)",
            r.columns.join(" | ")
        )
    } else if r.header {
        format!("header: {}", r.columns.join(" | "))
    } else {
        "no header recognised: first column taken as the name, IP columns found by their values"
            .to_string()
    };
    outln!(
        "  Read as     {} · {} · {header}",
        r.encoding.as_str(),
        delimiter_name(&r.delimiter)
    );
    outln!(
        "  Lines       {} → {} agents ({} new), {} duplicates, {} rejected",
        r.rows,
        r.agents,
        r.new_agents,
        r.duplicates,
        r.rejected.len()
    );
    if r.resolved > 0 {
        outln!(
            "  Resolved    {} agents of this server are no longer on the list",
            r.resolved
        );
    }
    if !r.skipped_preamble.is_empty() {
        outln!(
            "  Skipped     {} lines before the header (not agents):",
            r.skipped_preamble.len()
        );
        for skipped in &r.skipped_preamble {
            outln!("  line {:>6}: {}", skipped.line, skipped.text);
        }
    }
    for rejected in &r.rejected {
        outln!(
            "  line {:>6}: {}  |  {}",
            rejected.line,
            rejected.reason,
            rejected.text
        );
    }
}

pub fn compare(r: &certmend_core::compare::CompareReport) {
    outln!(
        "Server {}  (thumbprint {})",
        r.server.display(),
        r.server_sha1_thumbprint
    );
    for c in &r.results {
        let verdict = match c.verdict {
            certmend_core::compare::Verdict::Current => "current".to_string(),
            certmend_core::compare::Verdict::Previous => match &c.previous {
                Some(p) => format!(
                    "PREVIOUS ({}, seen {} to {})",
                    p.sha1_thumbprint, p.first_seen, p.last_seen
                ),
                None => "PREVIOUS".to_string(),
            },
            certmend_core::compare::Verdict::Foreign => format!(
                "FOREIGN ({})",
                c.sha1_thumbprint.as_deref().unwrap_or_default()
            ),
            certmend_core::compare::Verdict::Unreadable => format!(
                "UNREADABLE: {}",
                c.error
                    .as_ref()
                    .map(|e| e.message.as_str())
                    .unwrap_or_default()
            ),
        };
        outln!("  {:<24} {verdict}", c.host);
    }
    let n = &r.counts;
    outln!(
        "{} current, {} previous, {} foreign, {} unreadable",
        n.current,
        n.previous,
        n.foreign,
        n.unreadable
    );
    if n.previous > 0 {
        // Online help, "Authentication Certificate Manager": after a renewal the server
        // keeps the old certificate and agents recover with their next update.
        outln!(
            "Previous: a certificate the server used before. After a renewal (CertificateManager -c) the server still accepts it and the agent takes the new one with its next update; after a reinstall or migration with a new certificate the agent is stranded and needs a repair bundle (agents on the CertificateManager -l list are the stranded ones)."
        );
    }
    let not_certificates: Vec<_> = r.skipped.iter().filter(|s| !r.links.contains(s)).collect();
    if !not_certificates.is_empty() {
        outln!(
            "Skipped {} files that are not certificates by their ending (.dat .cer .crt .der .pem):",
            not_certificates.len()
        );
        for s in not_certificates {
            outln!("  {}", s.display());
        }
    }
    if !r.links.is_empty() {
        outln!(
            "Skipped {} links (certmend never follows a link in a collected folder: copy the files themselves):",
            r.links.len()
        );
        for s in &r.links {
            outln!("  {}", s.display());
        }
    }
}

pub fn agents(rows: &[certmend_core::store::AgentRow]) {
    for a in rows {
        outln!(
            "{:<22} {:<28} {:<16} {:<16} {}",
            a.status,
            a.name,
            a.ip.as_deref().unwrap_or("-"),
            a.domain.as_deref().unwrap_or("-"),
            a.last_seen
        );
        // A status a receipt set is repair.cmd's claim: say where it came from.
        if let Some(r) = &a.status_receipt {
            let line = r.line.map(|l| format!(":{l}")).unwrap_or_default();
            outln!(
                "    {} by receipt {}{line} (run {}, computer {}, {})",
                a.status,
                r.file,
                r.run_id,
                r.computer,
                r.ran_at.as_deref().unwrap_or("-")
            );
        }
    }
    outln!("{} agents", rows.len());
}

/// What `bundle verify` (and the checks of an export or a read-back) found on a stick.
pub fn bundle_check(c: &certmend_core::bundle::TargetCheck) {
    outln!(
        "{}: {} bundles, {} files compared with what certmend wrote",
        c.dir.display(),
        c.bundles,
        c.files
    );
    bundle_findings(c);
    if c.is_clean() {
        outln!("Every bundle is as certmend wrote it.");
    }
}

fn bundle_findings(c: &certmend_core::bundle::TargetCheck) {
    for f in &c.findings {
        let whose = match (&f.agent, &f.bundle_id) {
            (Some(agent), _) => format!(" [{agent}]"),
            (None, Some(id)) => format!(" [bundle {id}]"),
            _ => String::new(),
        };
        let label = f
            .code
            .strip_prefix("bundle_check.")
            .unwrap_or(f.code)
            .to_uppercase();
        outln!("  {label}{whose}: {}", f.reason);
    }
    if !c.is_clean() {
        outln!(
            "WARNING: {} finding(s): this stick is not as certmend wrote it, and every PC it visits can write to it. Do not run these bundles: export again to a stick you have emptied, and look at the PCs the stick visited.",
            c.findings.len()
        );
    }
}

pub fn history(history: &certmend_core::ops::history::History) {
    for entry in &history.servers {
        outln!("{}", entry.server.install_folder);
        for c in &entry.certificates {
            let mark = if c.current { "current " } else { "previous" };
            outln!(
                "  {mark} {}  seen {} to {}  ({})",
                c.sha1_thumbprint,
                c.first_seen,
                c.last_seen,
                c.subject
            );
        }
    }
    outln!("Events (newest first):");
    for e in &history.events {
        outln!(
            "  {}  {:<22} {}  {}",
            e.at,
            e.kind,
            e.subject.as_deref().unwrap_or_default(),
            // As JSON, as it is stored: `null` when there is none.
            e.detail.as_ref().unwrap_or(&serde_json::Value::Null)
        );
    }
}

pub fn export(r: &certmend_core::bundle::ExportReport) {
    for path in &r.removed_leftovers {
        outln!(
            "Removed what an interrupted export left: {}",
            path.display()
        );
    }
    for b in &r.bundles {
        outln!(
            "  {:<28} {}  ({})",
            b.agent.name,
            b.folder.display(),
            b.bundle_id
        );
    }
    if let Some(tools) = &r.shared_tools {
        outln!("  shared tools                 {}", tools.display());
    }
    outln!(
        "IpXfer syntax: {}: {}.",
        r.ipxfer.syntax.as_str(),
        r.ipxfer.explanation
    );
    outln!(
        "{} bundles written to {} and read back ({} bytes, every file matches its manifest).",
        r.bundles.len(),
        r.out_dir.display(),
        r.bytes
    );
    outln!(
        "Entry script {} runs this computer's bundle on any PC ({} bundles listed; `repair.cmd /quiet` for unattended runs).",
        r.entry.script.display(),
        r.entry.listed
    );
    if !r.entry.unlisted.is_empty() {
        outln!(
            "  Not in the entry script (their PCs run their own folder's repair.cmd): {}",
            r.entry.unlisted.join(", ")
        );
    }
    if r.password_embedded {
        outln!("WARNING: the scripts hold the agent unload password in plain text.");
    }
    if let Some(check) = r.bundle_check.as_ref().filter(|c| !c.is_clean()) {
        outln!(
            "Bundles already on {} before this export:",
            r.out_dir.display()
        );
        bundle_findings(check);
    }
    outln!("Next: eject the stick safely before removing it; on each agent run repair.cmd as administrator; then `certmend receipts {}`.", r.out_dir.display());
}

pub fn receipts(r: &certmend_core::receipts::ReceiptsReport) {
    outln!(
        "{} ({} files, {} lines)",
        r.folder.display(),
        r.files,
        r.lines
    );
    // First what repair.cmd refused to do, and receipts certmend did not believe.
    for (label, list) in [
        ("ALERT", &r.alerts),
        ("NOT COUNTED", &r.disagreeing),
        ("FILE REFUSED", &r.refused_files),
    ] {
        for p in list {
            let at = if p.line > 0 {
                format!(" line {}", p.line)
            } else {
                String::new()
            };
            outln!("  {label}: {}{at}: {}", p.file.display(), p.problem.reason);
        }
    }
    for n in &r.not_listed {
        outln!(
            "  NOT LISTED: {} ran the entry script of export {} ({} {}); no bundle is for it, nothing changed",
            n.computer,
            n.export_id,
            n.date,
            n.time
        );
    }
    if let Some(check) = r.bundle_check.as_ref().filter(|c| !c.is_clean()) {
        outln!("Bundles on this stick:");
        bundle_findings(check);
    }
    for a in &r.applied {
        let status = if a.status_before == a.status_after {
            format!("status stays {}", a.status_after)
        } else {
            format!("{} -> {}", a.status_before, a.status_after)
        };
        let result = serde_json::to_value(a.result)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        outln!(
            "  {:<24} {:<22} {status}  (ran on {})",
            a.agent,
            result,
            a.computer
        );
        use certmend_core::receipts::{MatchedBy, ServerCheck};
        if a.check == Some(MatchedBy::Thumbprint) {
            outln!("    same certificate in another encoding (SHA-1 thumbprint matches)");
        }
        match a.server {
            Some(ServerCheck::Differs) => outln!("    WARNING: the agent's registry value Server names another server than IpXfer was given"),
            Some(ServerCheck::Missing) => outln!("    WARNING: the agent's registry has no value Server"),
            _ => {}
        }
    }
    if r.already_read > 0 {
        outln!(
            "  {} lines were read before: nothing changed for them",
            r.already_read
        );
    }
    for (label, list) in [
        ("UNKNOWN BUNDLE", &r.unknown_bundles),
        ("MALFORMED", &r.malformed),
        ("OLDER CERTIFICATE", &r.stale),
    ] {
        for p in list {
            outln!(
                "  {label}: {} line {}: {}  |  {}",
                p.file.display(),
                p.line,
                p.problem.reason,
                p.text
            );
        }
    }
}

pub fn drives(drives: &[certmend_core::drives::Drive]) {
    if drives.is_empty() {
        outln!(
            "No removable drive is mounted. Any folder can be given to `certmend bundle --out`."
        );
    }
    for d in drives {
        let free = d
            .free
            .map(|f| format!("{f} bytes free"))
            .unwrap_or_default();
        outln!("{}  ({})  {free}", d.mount_point.display(), d.device);
    }
}
