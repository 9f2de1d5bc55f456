//! Text and JSON output of the CLI. Formatting only: every fact comes from the core.

use std::path::Path;

use certmend_core::cert::{CertificateInfo, Comparison};
use certmend_core::demo::DemoSummary;
use certmend_core::server::{DefaultLocation, Product, ServerInstall, ServerReport};
use serde::Serialize;

pub fn json<T: Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
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
            Some(root) => println!(
                "No OfficeScan / Apex One server found under {} (looked in Program Files and Program Files (x86), \\Trend Micro\\OfficeScan and \\Trend Micro\\Apex One).",
                root.display()
            ),
            None => println!(
                "No OfficeScan / Apex One server found on this machine. Use --root DIR for a mounted or copied drive."
            ),
        }
        return;
    }
    for (i, s) in servers.iter().enumerate() {
        if i > 0 {
            println!();
        }
        server(s);
    }
}

pub fn server(s: &ServerInstall) {
    let demo = if s.demo { "  [DEMO DATA]" } else { "" };
    println!("{}{demo}", s.install_folder.display());
    println!(
        "  {} · {} · {}",
        product(s.product),
        location(s.default_location),
        if s.complete { "complete" } else { "INCOMPLETE" }
    );
    for f in &s.files {
        match (&f.path, f.size, &f.sha256, &f.error) {
            (Some(path), Some(size), Some(sha), _) => {
                println!(
                    "  ok       {:<24} {:>10} bytes  SHA-256 {sha}",
                    f.name, size
                );
                println!("           {}", path.display());
            }
            (Some(_), _, _, Some(error)) => println!("  error    {:<24} {error}", f.name),
            _ => println!("  missing  {:<24} (expected {})", f.name, f.expected),
        }
    }
}

pub fn server_report(report: &ServerReport) {
    server(&report.server);
    println!();
    match (&report.certificate, &report.certificate_error) {
        (Some(info), _) => certificate_body(info),
        (None, Some(error)) => println!("Certificate: {}", error.message),
        (None, None) => println!("Certificate: not read"),
    }
}

pub fn certificate(path: &Path, info: &CertificateInfo) {
    println!("{}", path.display());
    certificate_body(info);
}

fn certificate_body(info: &CertificateInfo) {
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
    println!("  Subject         {}", info.subject);
    println!("  Issuer          {}", info.issuer);
    println!("  Serial          {}", info.serial);
    println!("  Thumbprint      {}  (SHA-1)", info.sha1_thumbprint);
    println!("  SHA-256         {}", info.sha256);
    println!("  Valid from      {}", info.not_before);
    println!("  Valid to        {}  ({expiry})", info.not_after);
    println!(
        "  Public key      {} {} bits",
        info.public_key_algorithm, info.public_key_bits
    );
    println!(
        "  Signature       {} · {signature}",
        info.signature_algorithm
    );
    println!("  Self-signed     {}", yes_no(info.self_signed));
    println!("  Format          {}", info.format);
    for warning in &info.warnings {
        println!("  Note            {warning}");
    }
}

pub fn comparison(
    a: &Path,
    a_info: &CertificateInfo,
    b: &Path,
    b_info: &CertificateInfo,
    c: &Comparison,
) {
    println!("A  {}  {}", a_info.sha1_thumbprint, a.display());
    println!("B  {}  {}", b_info.sha1_thumbprint, b.display());
    println!("  Same certificate  {}", yes_no(c.same_certificate));
    println!("  Same public key   {}", yes_no(c.same_public_key));
    println!("  Same subject      {}", yes_no(c.same_subject));
    println!("  Same serial       {}", yes_no(c.same_serial));
    if c.same_certificate {
        println!("Identical.");
    } else if c.same_public_key {
        println!("Different certificates of the same key pair (e.g. a renewal).");
    } else {
        println!(
            "Different key pairs: an agent holding one does not trust a server using the other."
        );
    }
}

pub fn demo(s: &DemoSummary) {
    println!("Demo server written to {}", s.root.display());
    println!("  Install folder      {}", s.install_folder.display());
    println!("  Certificate         {}", s.certificate.display());
    println!("  Current thumbprint  {}", s.current_sha1_thumbprint);
    println!(
        "  Previous thumbprint {}  (the key pair lost in the \"rebuild\")",
        s.previous_sha1_thumbprint
    );
    println!(
        "  Agent list          {} ({} agents)",
        s.list_file.display(),
        s.list_agents
    );
    println!(
        "  Collected certs     {} ({} current, {} previous)",
        s.collected_folder.display(),
        s.collected_current,
        s.collected_previous
    );
    println!("  Seed                {}", s.seed);
    println!("Try: certmend detect --root {}", s.root.display());
}
