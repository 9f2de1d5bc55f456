//! The demo server: a complete, realistic install tree to try every feature on.
//!
//! It holds real RSA-2048 key pairs and self-signed certificates (a current one and an
//! older one, as after a server rebuild), stand-ins for Trend's tools (clearly marked),
//! a CertificateManager `-l` style list of mismatched agents and a folder of
//! certificates "collected from agents". With a seed, everything but the validity
//! dates (which follow today's date) is the same on every run.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rsa::PrivateKey as RsaPrivateKey;
use serde::Serialize;
use time::{Duration, OffsetDateTime, Time};

use crate::demo_marker::{Marker, MarkerHistory};
use crate::paths::join_slashed;
use crate::ErrorCode;

mod forge;

pub use forge::{generate_key_pair, self_signed_certificate, to_pem, CertSpec};

/// The marker file that labels an install folder as demo data (the app shows "DEMO").
pub use crate::demo_marker::MARKER_FILE;

/// Where the demo puts the server, relative to the demo folder (a system-drive root).
pub const INSTALL_SUBDIR: &str = "Program Files (x86)/Trend Micro/Apex One";
pub const LIST_FILE: &str = "agents/CertificateManager-mismatched.csv";
pub const COLLECTED_DIR: &str = "collected";

const STAND_IN_NOTE: &str =
    "CERTMEND DEMO STAND-IN. This is NOT a Trend Micro program and does nothing.\r\n\
Real servers have the genuine file at this place.\r\n";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{}: the folder exists and is not empty; choose a new folder (or --force to replace an earlier demo)", path.display())]
    NotEmpty { path: PathBuf },
    #[error("{}: the folder exists and was not made by `certmend demo`; refusing to replace it", path.display())]
    NotADemo { path: PathBuf },
    #[error("{}: cannot write: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("key generation failed: {0}")]
    Key(String),
    #[error("certificate creation failed: {0}")]
    Certificate(String),
}

impl ErrorCode for DemoError {
    fn code(&self) -> &'static str {
        match self {
            DemoError::NotEmpty { .. } => "demo.not_empty",
            DemoError::NotADemo { .. } => "demo.not_a_demo",
            DemoError::Io { .. } => "demo.io",
            DemoError::Key(_) => "demo.key",
            DemoError::Certificate(_) => "demo.certificate",
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Options for [`write_demo`].
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Makes keys, certificates and lists deterministic.
    pub seed: Option<u64>,
    /// Replace an existing demo tree at the target.
    pub force: bool,
}

/// What [`write_demo`] made.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub root: PathBuf,
    pub install_folder: PathBuf,
    pub seed: u64,
    pub certificate: PathBuf,
    pub current_sha1_thumbprint: String,
    pub previous_sha1_thumbprint: String,
    pub list_file: PathBuf,
    pub list_agents: usize,
    pub collected_folder: PathBuf,
    pub collected_current: usize,
    pub collected_previous: usize,
    /// `AuthCertBackup\OfficeScanAuth.dat`: the current key pair (PKCS#12, legacy
    /// encryption as Windows-made files often have).
    pub key_pair_file: PathBuf,
    /// The key pair the server lost in its "rebuild", kept as a separate backup.
    pub previous_key_pair_file: PathBuf,
    /// The password of both key pair files (demo data only).
    pub key_pair_password: String,
}

/// The password of the demo's key pair files. Demo data only: printed by `certmend demo`.
pub const DEMO_KEY_PAIR_PASSWORD: &str = "certmend-demo-keys";
/// Where the demo keeps the previous key pair, relative to its root.
pub const PREVIOUS_KEY_PAIR_FILE: &str = "key-pairs/previous-OfficeScanAuth.pfx";

/// The demo server's install folder under `root`, written there first when no demo is
/// there yet (the app's fallback when no real server is found).
pub fn ensure(root: &Path) -> Result<PathBuf, DemoError> {
    let install = join_slashed(root, INSTALL_SUBDIR);
    if !install.join(MARKER_FILE).is_file() {
        write_demo(root, &DemoOptions::default())?;
    }
    Ok(install)
}

/// Writes a demo tree into `root` (a stand-in for a Windows system drive).
///
/// The tree is built in a temporary sibling folder and renamed into place, so a failure
/// never leaves a half-made demo behind.
pub fn write_demo(root: &Path, options: &DemoOptions) -> Result<DemoSummary, DemoError> {
    prepare_target(root, options.force)?;
    let parent = match root.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".certmend-demo-")
        .tempdir_in(&parent)
        .map_err(io_err(&parent))?;

    let seed = options.seed.unwrap_or_else(random_seed);
    let relative = build_tree(staging.path(), seed)?;

    if root.exists() {
        remove_target(root)?;
    }
    let staged = staging.keep();
    fs::rename(&staged, root).map_err(io_err(root))?;
    Ok(relative.rooted(root))
}

fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    // The OS RNG does not fail on supported platforms; a fixed fallback only affects demo keys.
    if getrandom::fill(&mut bytes).is_err() {
        return 0x5EED;
    }
    u64::from_le_bytes(bytes)
}

/// Refuses a target that holds anything but an earlier demo.
fn prepare_target(root: &Path, force: bool) -> Result<(), DemoError> {
    let mut entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(root)(e)),
    };
    if entries.next().is_none() {
        return Ok(());
    }
    if !force {
        return Err(DemoError::NotEmpty {
            path: root.to_path_buf(),
        });
    }
    if !join_slashed(root, INSTALL_SUBDIR)
        .join(MARKER_FILE)
        .is_file()
    {
        return Err(DemoError::NotADemo {
            path: root.to_path_buf(),
        });
    }
    Ok(())
}

fn remove_target(root: &Path) -> Result<(), DemoError> {
    fs::remove_dir_all(root).map_err(io_err(root))
}

/// Paths relative to the demo root, turned absolute at the end.
struct Built {
    seed: u64,
    current_thumbprint: String,
    previous_thumbprint: String,
    list_agents: usize,
    collected_current: usize,
    collected_previous: usize,
}

impl Built {
    fn rooted(self, root: &Path) -> DemoSummary {
        let install = join_slashed(root, INSTALL_SUBDIR);
        DemoSummary {
            root: root.to_path_buf(),
            certificate: join_slashed(&install, "PCCSRV/Pccnt/Common/OfcNTCer.dat"),
            key_pair_file: join_slashed(&install, "AuthCertBackup/OfficeScanAuth.dat"),
            install_folder: install,
            seed: self.seed,
            current_sha1_thumbprint: self.current_thumbprint,
            previous_sha1_thumbprint: self.previous_thumbprint,
            list_file: join_slashed(root, LIST_FILE),
            list_agents: self.list_agents,
            collected_folder: root.join(COLLECTED_DIR),
            collected_current: self.collected_current,
            collected_previous: self.collected_previous,
            previous_key_pair_file: join_slashed(root, PREVIOUS_KEY_PAIR_FILE),
            key_pair_password: DEMO_KEY_PAIR_PASSWORD.into(),
        }
    }
}

fn build_tree(root: &Path, seed: u64) -> Result<Built, DemoError> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let today = OffsetDateTime::now_utc().replace_time(Time::MIDNIGHT);
    let keys = ServerKeys::generate(&mut rng, today)?;

    let install = join_slashed(root, INSTALL_SUBDIR);
    write_marker(&install, seed, today, &keys.previous)?;
    write(
        &join_slashed(&install, "PCCSRV/Pccnt/Common/OfcNTCer.dat"),
        &keys.current,
    )?;
    write_server_files(&install)?;
    keys.write_pkcs12(root, &install)?;

    let agents = demo_agents(&mut rng);
    write(&join_slashed(root, LIST_FILE), list_csv(&agents).as_bytes())?;
    let (collected_current, collected_previous) = write_collected(root, &agents, &keys)?;
    write(
        &root.join("README.txt"),
        "certmend demo data. Everything here is generated: the certificates and keys are real but\r\n\
         belong to no real server, and the .exe files are stand-ins, not Trend Micro programs.\r\n\
         certmend デモデータ: すべて生成されたものです。実在のサーバーとは関係ありません。\r\n"
            .as_bytes(),
    )?;

    Ok(Built {
        seed,
        current_thumbprint: crate::hexfmt::sha1_hex(&keys.current),
        previous_thumbprint: crate::hexfmt::sha1_hex(&keys.previous),
        list_agents: agents.len(),
        collected_current,
        collected_previous,
    })
}

/// The key pair the server lost in a rebuild, and the one Setup made afterwards, with
/// their certificates (DER).
struct ServerKeys {
    previous_key: RsaPrivateKey,
    current_key: RsaPrivateKey,
    previous: Vec<u8>,
    current: Vec<u8>,
}

impl ServerKeys {
    /// Draws from `rng` in a fixed order (keys, then serials): a seed makes the same keys.
    fn generate(rng: &mut ChaCha20Rng, today: OffsetDateTime) -> Result<Self, DemoError> {
        let previous_key = generate_key_pair(rng.next_u64())?;
        let current_key = generate_key_pair(rng.next_u64())?;
        let previous = self_signed_certificate(
            &previous_key,
            &CertSpec {
                common_name: "OfficeScan Server NTSG".into(),
                organization: Some("certmend demo (previous key pair)".into()),
                serial: serial_bytes(rng),
                not_before: today - Duration::days(1000),
                not_after: today - Duration::days(1000) + Duration::days(3 * 365),
            },
        )?;
        let current = self_signed_certificate(
            &current_key,
            &CertSpec {
                common_name: "OfficeScan Server NTSG".into(),
                organization: Some("certmend demo".into()),
                serial: serial_bytes(rng),
                not_before: today - Duration::days(30),
                not_after: today - Duration::days(30) + Duration::days(3 * 365),
            },
        )?;
        Ok(ServerKeys {
            previous_key,
            current_key,
            previous,
            current,
        })
    }

    /// The key pairs as PKCS#12 files: the current one where the server keeps its
    /// backup, the previous one beside the install.
    fn write_pkcs12(&self, root: &Path, install: &Path) -> Result<(), DemoError> {
        write(
            &join_slashed(install, "AuthCertBackup/OfficeScanAuth.dat"),
            &as_pkcs12(
                &self.current_key,
                &self.current,
                crate::keypair::Encryption::Legacy,
            )?,
        )?;
        write(
            &join_slashed(root, PREVIOUS_KEY_PAIR_FILE),
            &as_pkcs12(
                &self.previous_key,
                &self.previous,
                crate::keypair::Encryption::Modern,
            )?,
        )
    }
}

/// A key pair as a PKCS#12 file (random salts: these bytes differ run to run).
fn as_pkcs12(
    key: &RsaPrivateKey,
    der: &[u8],
    encryption: crate::keypair::Encryption,
) -> Result<Vec<u8>, DemoError> {
    // The password is printed for anyone, so 2,048 iterations (OpenSSL's long-time
    // default) keep demos quick without weakening anything real.
    let certificate = crate::cert::parse(der).map_err(|e| DemoError::Certificate(e.to_string()))?;
    crate::keypair::KeyPair::new(certificate, key.clone())
        .to_pkcs12_with_iterations(DEMO_KEY_PAIR_PASSWORD, encryption, 2048)
        .map_err(|e| DemoError::Certificate(e.to_string()))
}

/// The marker that labels the install as demo data, recording the previous certificate
/// as seen until the rebuild.
fn write_marker(
    install: &Path,
    seed: u64,
    today: OffsetDateTime,
    previous: &[u8],
) -> Result<(), DemoError> {
    let marker = Marker {
        generator: "certmend demo".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        demo: true,
        seed,
        created: today.date().to_string(),
        history: vec![MarkerHistory {
            certificate_pem: to_pem("CERTIFICATE", previous),
            first_seen: crate::store::timestamp(today - Duration::days(1000)),
            last_seen: crate::store::timestamp(today - Duration::days(31)),
        }],
    };
    let marker_json =
        serde_json::to_vec_pretty(&marker).map_err(|e| DemoError::Certificate(e.to_string()))?;
    write(&install.join(MARKER_FILE), &marker_json)
}

/// Stand-ins for Trend's tools and the server's `ofcscan.ini`.
fn write_server_files(install: &Path) -> Result<(), DemoError> {
    for tool in [
        "PCCSRV/Admin/Utility/IpXfer/IpXfer.exe",
        "PCCSRV/Admin/Utility/IpXfer/IpXfer_x64.exe",
        "PCCSRV/Admin/Utility/CertificateManager/CertificateManager.exe",
    ] {
        write(&join_slashed(install, tool), STAND_IN_NOTE.as_bytes())?;
    }
    write(
        &join_slashed(install, "PCCSRV/ofcscan.ini"),
        b"[INI_SERVER_SECTION]\r\nMaster_DomainName=demo-apexone.example.local\r\nMaster_DomainPort=8080\r\nMaster_DomainSSLPort=4343\r\nClient_LocalServer_Port=21112\r\n",
    )
}

/// Agents' own OfcNTCer.dat copies, in the three layouts admins use; returns how many
/// hold the current and the previous certificate.
fn write_collected(
    root: &Path,
    agents: &[DemoAgent],
    keys: &ServerKeys,
) -> Result<(usize, usize), DemoError> {
    let mut collected_current = 0;
    let mut collected_previous = 0;
    let collected = root.join(COLLECTED_DIR);
    for (i, agent) in agents.iter().take(12).enumerate() {
        let holds_previous = i % 3 != 2;
        let bytes = if holds_previous {
            &keys.previous
        } else {
            &keys.current
        };
        let path = match i % 3 {
            0 => collected.join(format!("{}.dat", agent.name)),
            1 => collected.join(format!("{}_OfcNTCer.dat", agent.name)),
            _ => collected.join(&agent.name).join("OfcNTCer.dat"),
        };
        write(&path, bytes)?;
        if holds_previous {
            collected_previous += 1;
        } else {
            collected_current += 1;
        }
    }
    Ok((collected_current, collected_previous))
}

fn serial_bytes(rng: &mut ChaCha20Rng) -> Vec<u8> {
    let mut serial = [0u8; 16];
    rng.fill_bytes(&mut serial);
    serial[0] &= 0x7f; // positive
    serial[0] |= 0x10; // no leading zero byte, so the length is stable
    serial.to_vec()
}

struct DemoAgent {
    name: String,
    ip: String,
    domain: String,
    guid: String,
    mac: String,
    os: &'static str,
}

fn demo_agents(rng: &mut ChaCha20Rng) -> Vec<DemoAgent> {
    const DEPARTMENTS: [(&str, &str); 4] = [
        ("SALES", "営業部"),
        ("ACCT", "経理部"),
        ("DEV", "開発部"),
        ("FACTORY", "Workgroup"),
    ];
    const OSES: [&str; 3] = [
        "Windows 10 Enterprise",
        "Windows 11 Pro",
        "Windows Server 2019",
    ];
    (0..36)
        .map(|i| {
            let (dept, domain) = DEPARTMENTS[i % DEPARTMENTS.len()];
            let mut id = [0u8; 16];
            rng.fill_bytes(&mut id);
            let mut mac = [0u8; 6];
            rng.fill_bytes(&mut mac);
            DemoAgent {
                name: format!("PC-{dept}-{:03}", 10 + i * 7),
                ip: format!("10.20.{}.{}", 1 + i / 10, 10 + (rng.next_u32() % 240)),
                domain: domain.to_string(),
                guid: format!(
                    "{}-{}-{}-{}-{}",
                    hex::encode(&id[0..4]),
                    hex::encode(&id[4..6]),
                    hex::encode(&id[6..8]),
                    hex::encode(&id[8..10]),
                    hex::encode(&id[10..16])
                ),
                mac: mac
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<Vec<_>>()
                    .join("-"),
                os: OSES[i % OSES.len()],
            }
        })
        .collect()
}

/// A CertificateManager `-l` style CSV (the real format is undocumented): UTF-8 with a
/// BOM, CRLF, English headers.
fn list_csv(agents: &[DemoAgent]) -> String {
    let mut out = String::from("\u{FEFF}Computer Name,IP Address,Domain,GUID,MAC Address,OS\r\n");
    for a in agents {
        out.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            a.name, a.ip, a.domain, a.guid, a.mac, a.os
        ));
    }
    out
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), DemoError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    crate::durable::write_new(path, bytes).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let a = write_demo(
            &tmp.path().join("a"),
            &DemoOptions {
                seed: Some(7),
                force: false,
            },
        )
        .unwrap();
        let b = write_demo(
            &tmp.path().join("b"),
            &DemoOptions {
                seed: Some(7),
                force: false,
            },
        )
        .unwrap();
        assert_eq!(a.current_sha1_thumbprint, b.current_sha1_thumbprint);
        assert_ne!(a.current_sha1_thumbprint, a.previous_sha1_thumbprint);
        assert_eq!(
            fs::read(a.root.join(LIST_FILE)).unwrap(),
            fs::read(b.root.join(LIST_FILE)).unwrap()
        );
        assert_eq!(a.list_agents, 36);
        assert_eq!(a.collected_current + a.collected_previous, 12);
        let cert = crate::cert::load(&a.certificate).unwrap();
        assert_eq!(cert.info().sha1_thumbprint, a.current_sha1_thumbprint);
        assert_eq!(cert.info().signature_valid, Some(true));
        assert!(cert.info().days_left > 1000);
        let history = crate::demo_marker::recorded_history(&a.install_folder);
        assert_eq!(history.len(), 1);
        assert_eq!(
            history[0].0.info().sha1_thumbprint,
            a.previous_sha1_thumbprint
        );
        // No staging folder is left behind.
        let leftovers: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".certmend"))
            .collect();
        assert!(leftovers.is_empty());
        // Both key pair files open with the demo password and hold matching pairs.
        let current = crate::keypair::read_pkcs12(&a.key_pair_file, &a.key_pair_password).unwrap();
        assert_eq!(
            current.certificate().info().sha1_thumbprint,
            a.current_sha1_thumbprint
        );
        assert!(current.checks().ok());
        let previous =
            crate::keypair::read_pkcs12(&a.previous_key_pair_file, &a.key_pair_password).unwrap();
        assert_eq!(
            previous.certificate().info().sha1_thumbprint,
            a.previous_sha1_thumbprint
        );
        assert!(previous.checks().ok());
    }

    #[test]
    fn refuses_foreign_folders() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("precious.txt"), b"keep me").unwrap();
        let err = write_demo(
            tmp.path(),
            &DemoOptions {
                seed: Some(1),
                force: false,
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), "demo.not_empty");
        let err = write_demo(
            tmp.path(),
            &DemoOptions {
                seed: Some(1),
                force: true,
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), "demo.not_a_demo");
        assert_eq!(
            fs::read(tmp.path().join("precious.txt")).unwrap(),
            b"keep me"
        );
    }

    #[test]
    fn force_replaces_an_earlier_demo() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("demo");
        write_demo(
            &root,
            &DemoOptions {
                seed: Some(1),
                force: false,
            },
        )
        .unwrap();
        let again = write_demo(
            &root,
            &DemoOptions {
                seed: Some(2),
                force: true,
            },
        )
        .unwrap();
        assert_eq!(again.seed, 2);
    }
}
