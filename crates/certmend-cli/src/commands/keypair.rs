use std::path::PathBuf;

use certmend_core::keypair::{self, KeyPairReport};
use certmend_core::ops::keys::{KeySource, Pkcs12Source};
use certmend_core::ops::{self, ServerRef};
use certmend_core::CodedMessage;

use super::{Ctx, Outcome};
use crate::output::outln;
use crate::{render, secrets};

#[derive(clap::Subcommand)]
pub enum Command {
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

pub fn exec(command: Command, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    let Command::Show {
        file,
        cert,
        server,
        password_file,
    } = command;
    let password = |of: &std::path::Path| secrets::file_password(password_file.as_deref(), of);
    let source = match &cert {
        Some(certificate) => KeySource::KeyFile {
            key: &file,
            certificate,
            password: &password,
        },
        None => KeySource::Pkcs12(Pkcs12Source {
            file: Some(&file),
            password: &password,
        }),
    };
    // The store only when a server is named: reading a key pair needs none.
    let mut store = match &server {
        Some(_) => Some(ctx.open_store()?),
        None => None,
    };
    let against = store
        .as_mut()
        .zip(server.as_deref())
        .map(|(store, dir)| (store, ServerRef::Folder(dir)));
    let report = ops::keys::show(source, against)?;
    if ctx.json {
        render::json(&report);
    } else {
        report_text(&report);
    }
    // A key that does not belong to its certificate is a problem (exit 1).
    Ok(Outcome::problem_unless(
        report.checks.key_matches_certificate,
    ))
}

pub(super) fn report_text(report: &KeyPairReport) {
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

pub(super) fn relation_text(relation: &keypair::ServerRelation) -> String {
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
