#![allow(clippy::unwrap_used, clippy::expect_used)]
// Wine runs on Linux: the suite drives Windows programs from there.
#![cfg(target_os = "linux")]
//! The entry script at an export's root (`S:\repair.cmd`, the drive standing for a
//! share) run in a real cmd.exe (Wine) as several computers, one `COMPUTERNAME` per run,
//! against ONE export, as a startup script would run it (`/quiet`): listed and repaired,
//! listed and already matching, not listed, a password needed with none on the PC, run
//! twice (nothing repeated), a stale lock taken over, and a bundle's repair.cmd changed
//! on the share refused. The receipts are read back with the `certmend receipts` command.
//!
//! One agent is installed in the prefix (its registry is the prefix's); before each
//! computer's run its certificate and GUID are set to that computer's. The stand-ins are
//! those of repair_cmd.rs (see certmend_wine_tests).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use certmend_core::bundle::{self, ExportOptions, ExportReport, Selection};
use certmend_core::progress::{Cancel, NoProgress};
use certmend_core::script::{netbios_name, IpXferSyntax, Password, ScriptLanguage};
use certmend_core::store::Store;
use certmend_core::{demo, inventory};
use certmend_wine_tests::{
    build_agent_stand_ins, install_system_stand_ins, leftover_work_folders, receipt_field, serial,
    stand_in_overrides, z_path, View, WinePrefix,
};
use serde_json::Value;

const AGENT_KEY: &str = r"HKLM\SOFTWARE\TrendMicro\PC-cillinNTCorp\CurrentVersion";
const DONE_KEY: &str = r"HKLM\SOFTWARE\certmend\Receipts";
/// The agents' password file, as the export names it, and its place in the prefix.
const PASSWORD_FILE: &str = r"C:\certmend\unload.txt";
const PASSWORD: &str = "trend";
const ADMIN: (&str, &str) = ("FAKE_NET_SESSION", "ok");

struct WineWorld {
    prefix: WinePrefix,
    tools: PathBuf,
}

fn world() -> &'static WineWorld {
    static WORLD: OnceLock<WineWorld> = OnceLock::new();
    WORLD.get_or_init(|| {
        let prefix = WinePrefix::for_this_process(
            &Path::new(env!("CARGO_TARGET_TMPDIR")).join("wine/fleet"),
        );
        let tools = prefix.root().join("tools");
        build_agent_stand_ins(&tools);
        install_system_stand_ins(&prefix, &tools);
        WineWorld { prefix, tools }
    })
}

/// One export on a "share" (drive S:) for every mismatched agent of the demo server,
/// the agent unload password read from [`PASSWORD_FILE`] on each PC.
struct Fleet {
    tmp: tempfile::TempDir,
    db: PathBuf,
    share: PathBuf,
    report: ExportReport,
    old_cert: Vec<u8>,
    new_cert: Vec<u8>,
    agent_cert: PathBuf,
    agent_windows_dir: String,
    log: PathBuf,
}

/// A computer of the fleet: its bundle's agent name and GUID.
struct Computer {
    name: String,
    guid: Option<String>,
}

impl Fleet {
    fn new() -> Self {
        let w = world();
        let tmp = tempfile::tempdir().unwrap();
        let summary = demo::write_demo(
            &tmp.path().join("drive"),
            &demo::DemoOptions {
                seed: Some(4),
                force: false,
            },
        )
        .unwrap();
        let db = tmp.path().join("state.sqlite3");
        let mut store = Store::open(&db).unwrap();
        let server = inventory::open(&mut store, &summary.install_folder).unwrap();
        certmend_core::agents::import::import_list(
            &mut store,
            server.server_id,
            &summary.list_file,
            &NoProgress,
            &Cancel::new(),
        )
        .unwrap();
        let share = tmp.path().join("share/certmend");
        let report = bundle::export(
            &mut store,
            &server,
            &ExportOptions {
                out_dir: share.clone(),
                selection: Selection::AllMismatched,
                ipxfer_dir: Some(w.tools.clone()),
                shared_tools: true,
                syntax: IpXferSyntax::Seed,
                language: ScriptLanguage::En,
                password: Password::File(PASSWORD_FILE.into()),
                // Exported for a share, as a GPO startup script would run it.
                share: Some(
                    bundle::share_target(&share, Some(r"\\fileserver\certmend$\fleet")).unwrap(),
                ),
            },
            &NoProgress,
            &Cancel::new(),
        )
        .unwrap();
        assert!(report.entry.listed >= 3, "{:?}", report.entry);
        let deploy = report
            .deploy
            .as_ref()
            .expect("a share export writes DEPLOY.txt");
        let text = std::fs::read_to_string(share.join("DEPLOY.txt")).unwrap();
        assert!(
            text.contains(r"\\fileserver\certmend$\fleet\repair.cmd /quiet"),
            "{deploy:?}"
        );
        w.prefix.map_drive('s', &share);

        let n = tmp
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace('.', "");
        let agent_windows_dir = format!(r"C:\Agents\{n}\OfficeScan Client\");
        let agent_dir = w
            .prefix
            .drive_c()
            .join(format!("Agents/{n}/OfficeScan Client"));
        std::fs::create_dir_all(&agent_dir).unwrap();
        w.prefix.set_reg_string(
            View::Bits64,
            AGENT_KEY,
            "Application Path",
            &agent_windows_dir,
        );
        let new_cert = std::fs::read(report.bundles[0].folder.join("OfcNTCer.dat")).unwrap();
        let mut old_cert = new_cert.clone();
        let last = old_cert.len() - 1;
        old_cert[last] ^= 0xFF;
        let log = tmp.path().join("ipxfer.log");
        Fleet {
            agent_cert: agent_dir.join("OfcNTCer.dat"),
            tmp,
            db,
            share,
            report,
            old_cert,
            new_cert,
            agent_windows_dir,
            log,
        }
    }

    /// The `i`th bundle whose agent has a plain computer name.
    fn computer(&self, i: usize) -> Computer {
        let b = self
            .report
            .bundles
            .iter()
            .filter(|b| netbios_name(&b.agent.name).is_some())
            .nth(i)
            .expect("enough agents with plain names");
        Computer {
            name: netbios_name(&b.agent.name).unwrap(),
            guid: b.agent.guid.clone(),
        }
    }

    /// The PC `computer` as it boots: its agent holds `cert`, its registry its GUID,
    /// its password file `password`.
    fn prepare(&self, computer: &Computer, cert: &[u8], password: Option<&str>) {
        let w = world();
        std::fs::write(&self.agent_cert, cert).unwrap();
        match &computer.guid {
            Some(guid) => {
                w.prefix
                    .set_reg_string(View::Bits64, AGENT_KEY, "GUID", &format!("{{{guid}}}"))
            }
            None => w.prefix.import_reg(&format!(
                "[{}]\r\n\"GUID\"=-\r\n",
                View::Bits64.key(AGENT_KEY)
            )),
        }
        let file = w.prefix.drive_c().join("certmend/unload.txt");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        match password {
            Some(p) => std::fs::write(&file, format!("{p}\r\n")).unwrap(),
            None => {
                let _ = std::fs::remove_file(&file);
            }
        }
    }

    /// `S:\repair.cmd /quiet` on computer `name`, as a startup script runs it.
    fn run_on(&self, name: &str) -> (i32, String) {
        let w = world();
        let mut cmd = w.prefix.wine();
        cmd.current_dir(self.tmp.path())
            .args([
                "cmd",
                "/c",
                &format!("set COMPUTERNAME={name}&& S:\\repair.cmd /quiet"),
            ])
            .env("WINEDLLOVERRIDES", stand_in_overrides())
            .env("FAKE_IPXFER_LOG", z_path(&self.log))
            .env("FAKE_IPXFER_PASSWORD", PASSWORD)
            .env(
                "FAKE_AGENT_CERT",
                format!("{}OfcNTCer.dat", self.agent_windows_dir),
            )
            .env(ADMIN.0, ADMIN.1);
        let out = w.prefix.run(
            &mut cmd,
            None,
            Duration::from_secs(400),
            &format!("S:\\repair.cmd /quiet as {name}"),
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            leftover_work_folders(&w.prefix),
            Vec::<String>::new(),
            "{text}"
        );
        assert!(
            !w.prefix
                .drive_c()
                .join("windows/temp/certmend.lock")
                .exists(),
            "the lock is left behind: {text}"
        );
        (out.code.unwrap_or(-1), text)
    }

    fn receipts_of(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.share.join("receipts").join(format!("{name}.txt")))
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    fn ipxfer_calls(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    fn agent_holds_new(&self) -> bool {
        std::fs::read(&self.agent_cert).unwrap() == self.new_cert
    }

    /// `certmend receipts` on the share: its JSON report.
    fn read_back(&self) -> Value {
        let bin =
            std::env::var_os("CERTMEND_BIN").expect("CERTMEND_BIN: run through cargo xtask test");
        let output = Command::new(bin)
            .arg("--db")
            .arg(&self.db)
            .args(["--json", "receipts"])
            .arg(&self.share)
            .output()
            .unwrap();
        let code = output.status.code().unwrap_or(-1);
        assert!(
            code == 0 || code == 1,
            "certmend receipts: exit {code}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    fn status_of(&self, name: &str) -> String {
        let store = Store::open(&self.db).unwrap();
        store
            .agents(&Default::default())
            .unwrap()
            .into_iter()
            .find(|a| netbios_name(&a.name).as_deref() == Some(name))
            .unwrap()
            .status
            .as_str()
            .to_string()
    }
}

/// Clears what a PC remembers between scenes (the prefix is shared).
fn forget_runs() {
    let w = world();
    w.prefix.delete_reg_key(DONE_KEY);
    let _ = std::fs::remove_dir(w.prefix.drive_c().join("windows/temp/certmend.lock"));
}

#[test]
fn one_entry_script_serves_every_computer_of_the_fleet() {
    let _serial = serial();
    forget_runs();
    let fleet = Fleet::new();
    let (repaired, matching, no_password) =
        (fleet.computer(0), fleet.computer(1), fleet.computer(2));

    // Listed and repaired: the password comes from the file on the PC.
    fleet.prepare(&repaired, &fleet.old_cert, Some(PASSWORD));
    let (code, out) = fleet.run_on(&repaired.name);
    assert_eq!(code, 0, "{out}");
    assert!(fleet.agent_holds_new(), "{out}");
    assert_eq!(fleet.ipxfer_calls(), 1, "{out}");
    let lines = fleet.receipts_of(&repaired.name);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(receipt_field(&lines[0], "result"), "REPAIRED");

    // Run again at the next boot: nothing repeated, no second receipt.
    let (code, out) = fleet.run_on(&repaired.name);
    assert_eq!(code, 0, "{out}");
    assert_eq!(fleet.ipxfer_calls(), 1, "IpXfer ran again: {out}");
    assert_eq!(fleet.receipts_of(&repaired.name).len(), 1, "{out}");

    // Listed and already matching: IpXfer does not run, one MATCHES receipt.
    fleet.prepare(&matching, &fleet.new_cert, Some(PASSWORD));
    let (code, out) = fleet.run_on(&matching.name);
    assert_eq!(code, 0, "{out}");
    assert_eq!(fleet.ipxfer_calls(), 1, "{out}");
    let lines = fleet.receipts_of(&matching.name);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(receipt_field(&lines[0], "result"), "MATCHES");
    fleet.run_on(&matching.name);
    assert_eq!(fleet.receipts_of(&matching.name).len(), 1);

    // Listed, the password needed, no password file on the PC: nothing changes.
    fleet.prepare(&no_password, &fleet.old_cert, None);
    let (code, out) = fleet.run_on(&no_password.name);
    assert_eq!(code, 10, "{out}");
    assert!(!fleet.agent_holds_new());
    assert_eq!(fleet.ipxfer_calls(), 1, "{out}");
    let lines = fleet.receipts_of(&no_password.name);
    assert_eq!(receipt_field(&lines[0], "result"), "PASSWORD_NEEDED");

    // Not listed: nothing changes, one NOT_LISTED receipt naming the export.
    let stray = Computer {
        name: "PC-STRAY-99".into(),
        guid: None,
    };
    fleet.prepare(&stray, &fleet.old_cert, Some(PASSWORD));
    let (code, out) = fleet.run_on(&stray.name);
    assert_eq!(code, 11, "{out}");
    assert!(!fleet.agent_holds_new());
    assert_eq!(fleet.ipxfer_calls(), 1, "{out}");
    fleet.run_on(&stray.name);
    let lines = fleet.receipts_of(&stray.name);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(receipt_field(&lines[0], "result"), "NOT_LISTED");
    assert_eq!(receipt_field(&lines[0], "bundle"), "");
    assert_eq!(
        receipt_field(&lines[0], "export"),
        fleet.report.entry.export_id
    );

    // Read back: the right statuses, the stray computer listed as not listed.
    let report = fleet.read_back();
    let applied = report["applied"].as_array().unwrap();
    let result_of = |name: &str| {
        applied
            .iter()
            .find(|a| a["computer"] == name)
            .map(|a| a["result"].as_str().unwrap().to_string())
    };
    assert_eq!(result_of(&repaired.name).as_deref(), Some("REPAIRED"));
    assert_eq!(result_of(&matching.name).as_deref(), Some("MATCHES"));
    assert_eq!(
        result_of(&no_password.name).as_deref(),
        Some("PASSWORD_NEEDED")
    );
    assert_eq!(fleet.status_of(&repaired.name), "repaired");
    assert_eq!(fleet.status_of(&matching.name), "repaired");
    assert_eq!(fleet.status_of(&no_password.name), "bundle_exported");
    let not_listed = report["not_listed"].as_array().unwrap();
    assert_eq!(not_listed.len(), 1, "{report:#}");
    assert_eq!(not_listed[0]["computer"], "PC-STRAY-99");
    assert_eq!(not_listed[0]["export_id"], fleet.report.entry.export_id);
    // The share as certmend wrote it, entry script included.
    assert!(
        report["bundle_check"]["findings"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{report:#}"
    );
}

#[test]
fn a_bundle_script_changed_on_the_share_is_refused() {
    let _serial = serial();
    forget_runs();
    let fleet = Fleet::new();
    let pc = fleet.computer(0);
    let b = fleet
        .report
        .bundles
        .iter()
        .find(|b| netbios_name(&b.agent.name).as_deref() == Some(pc.name.as_str()))
        .unwrap();
    let script = b.folder.join("repair.cmd");
    let mut text = std::fs::read(&script).unwrap();
    text.extend_from_slice(b"rem planted\r\n");
    std::fs::write(&script, text).unwrap();
    fleet.prepare(&pc, &fleet.old_cert, Some(PASSWORD));
    let (code, out) = fleet.run_on(&pc.name);
    assert_eq!(code, 7, "{out}");
    assert_eq!(fleet.ipxfer_calls(), 0, "{out}");
    assert!(!fleet.agent_holds_new());
    let lines = fleet.receipts_of(&pc.name);
    assert_eq!(receipt_field(&lines[0], "result"), "BUNDLE_TAMPERED");
    assert_eq!(receipt_field(&lines[0], "tampered"), "repair.cmd");
    assert_eq!(receipt_field(&lines[0], "bundle"), b.bundle_id);
    let report = fleet.read_back();
    assert_eq!(
        report["alerts"][0]["code"], "receipts.alert_bundle_tampered",
        "{report:#}"
    );
}

#[test]
fn a_stale_lock_is_taken_over() {
    let _serial = serial();
    forget_runs();
    let fleet = Fleet::new();
    let pc = fleet.computer(0);
    // A run that died (power lost) left its lock.
    let lock = world().prefix.drive_c().join("windows/temp/certmend.lock");
    std::fs::create_dir_all(&lock).unwrap();
    fleet.prepare(&pc, &fleet.old_cert, Some(PASSWORD));
    let (code, out) = fleet.run_on(&pc.name);
    assert_eq!(code, 0, "{out}");
    assert!(fleet.agent_holds_new());
    assert_eq!(
        receipt_field(&fleet.receipts_of(&pc.name)[0], "result"),
        "REPAIRED"
    );
    let log = std::fs::read_to_string(world().prefix.drive_c().join("windows/temp/certmend.log"))
        .unwrap();
    assert!(log.contains("stale lock taken over"), "{log}");
}
