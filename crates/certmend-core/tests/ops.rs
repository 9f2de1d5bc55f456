#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Black-box tests of the use cases (`certmend_core::ops`) through the public API: a
//! copy of the demo server on disk, a real SQLite database, real files written and read
//! back. Each test has its own world; the demo's keys are generated once per run.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use certmend_core::backup::{CatalogMatch, Created};
use certmend_core::bundle::Selection;
use certmend_core::compare::Verdict;
use certmend_core::demo::{self, DEMO_KEY_PAIR_PASSWORD};
use certmend_core::keypair::{Encryption, ServerRelation};
use certmend_core::ops::agents::{CertificateManagerRun, ImportInto, ImportRequest, ListRequest};
use certmend_core::ops::keys::{
    Approval, BackupRequest, KeySource, PasswordFor, Pkcs12Source, WeakPassword,
};
use certmend_core::ops::repair::AgentPassword;
use certmend_core::ops::{self, ServerRef};
use certmend_core::progress::{Cancel, NoProgress};
use certmend_core::server::DetectSources;
use certmend_core::store::{AgentQuery, AgentStatus, Store};
use certmend_core::CodedMessage;

use common::{append_receipt, export_request, import_request, receipt_line, Prompt, World};

/// Only for imports that do not run CertificateManager.
struct NoProcesses;

impl certmend_core::certificate_manager::ProcessRunner for NoProcesses {
    fn run(
        &self,
        program: &Path,
        _: &[std::ffi::OsString],
        _: &Path,
    ) -> std::io::Result<std::process::Output> {
        panic!("{} was run", program.display())
    }
}

fn kinds(store: &Store) -> Vec<String> {
    ops::history::events(store, 1000)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

fn statuses(store: &Store, status: AgentStatus) -> usize {
    ops::agents::list(
        store,
        ListRequest {
            status: Some(status),
            ..Default::default()
        },
    )
    .unwrap()
    .len()
}

/// The demo's list imported into its server.
fn import_demo_list(world: &mut World) {
    let request = import_request(&world.demo.install_folder, &[&world.demo.list_file]);
    let outcome = ops::agents::import(
        &mut world.store,
        request,
        &NoProcesses,
        &NoProgress,
        &Cancel::new(),
    )
    .unwrap();
    assert!(!outcome.any_failed() && !outcome.any_rejected());
}

// ---- server ----

/// The demo fallback a front end hands in: the demo server under `root`, written once.
fn demo_at(
    root: &std::path::Path,
) -> impl Fn() -> Result<std::path::PathBuf, certmend_core::CodedMessage> + '_ {
    move || {
        certmend_core::demo::ensure(root).map_err(|e| certmend_core::CodedMessage::from_error(&e))
    }
}

#[test]
fn open_at_start_falls_back_to_the_demo_when_nothing_is_found_and_records_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(&tmp.path().join("certmend.sqlite3")).unwrap();
    let demo_root = tmp.path().join("demo");
    let nothing = DetectSources::default().with_root(tmp.path().join("empty-drive"));

    let first = ops::server::open_at_start(&mut store, &nothing, &demo_at(&demo_root)).unwrap();
    assert!(first.fell_back_to_demo);
    assert!(first.found.is_empty());
    assert!(first.report.server.demo && first.report.server.complete);
    assert!(first.report.is_healthy());
    assert!(first.backup.is_none());
    // The demo was written where it was asked for, and the read recorded.
    let install = demo_root.join(demo::INSTALL_SUBDIR);
    assert!(install.join(demo::MARKER_FILE).is_file());
    let servers = store.servers().unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].id, first.server_id);
    assert!(servers[0].demo);
    assert_eq!(
        servers[0].current_sha1_thumbprint.as_deref(),
        first
            .report
            .certificate
            .as_ref()
            .map(|c| c.sha1_thumbprint.as_str())
    );
    assert_eq!(kinds(&store), ["server.first_read"]);

    // Started again: the same demo, not a new one.
    let again = ops::server::open_at_start(&mut store, &nothing, &demo_at(&demo_root)).unwrap();
    assert!(again.fell_back_to_demo);
    assert_eq!(again.server_id, first.server_id);
    assert_eq!(
        again.report.certificate.unwrap().sha256,
        first.report.certificate.unwrap().sha256
    );
    assert_eq!(store.servers().unwrap().len(), 1);

    // A demo folder that holds something else is not written over.
    let taken = tmp.path().join("taken");
    fs::create_dir(&taken).unwrap();
    fs::write(taken.join("notes.txt"), b"mine").unwrap();
    let err = ops::server::open_at_start(&mut store, &nothing, &demo_at(&taken)).unwrap_err();
    assert_eq!(err.code, "demo.not_empty");
    assert_eq!(fs::read(taken.join("notes.txt")).unwrap(), b"mine");
    assert_eq!(fs::read_dir(&taken).unwrap().count(), 1);
}

#[test]
fn open_at_start_opens_a_server_the_sources_find() {
    let mut world = World::new();
    let sources = ops::server::sources(Some(&world.demo.root)).unwrap();
    let demo_root = world.path("never-written");
    let opened =
        ops::server::open_at_start(&mut world.store, &sources, &demo_at(&demo_root)).unwrap();
    assert!(!opened.fell_back_to_demo);
    assert_eq!(opened.found.len(), 1);
    assert_eq!(
        opened.report.server.install_folder,
        world.demo.install_folder
    );
    assert!(!demo_root.exists());
}

#[test]
fn sources_and_detect_find_and_record_the_servers_below_a_root() {
    let mut world = World::new();
    let missing = world.path("no-such-drive");
    let err = ops::server::sources(Some(&missing)).unwrap_err();
    assert_eq!(err.code, "detect.root_not_found");

    let sources = ops::server::sources(Some(&world.demo.root)).unwrap();
    let detected = ops::server::detect(&sources, Ok(&mut world.store));
    assert!(detected.all_complete());
    assert_eq!(detected.servers.len(), 1);
    assert!(detected.not_recorded.is_none());
    assert_eq!(world.store.servers().unwrap().len(), 1);

    // Without the store the servers are still found; why they were not recorded is said.
    let unavailable = CodedMessage::new("store.open", "the database is locked");
    let detected = ops::server::detect(&sources, Err(unavailable));
    assert_eq!(detected.servers.len(), 1);
    assert_eq!(detected.not_recorded.unwrap().code, "store.open");
}

#[test]
fn choose_on_a_drive_root_finds_the_server_below_it() {
    let mut world = World::new();
    let overview = ops::server::choose(&mut world.store, &world.demo.root).unwrap();
    assert_eq!(
        overview.report.server.install_folder,
        world.demo.install_folder
    );
    assert!(!overview.fell_back_to_demo);
    assert_eq!(
        overview
            .report
            .certificate
            .as_ref()
            .unwrap()
            .sha1_thumbprint,
        world.demo.current_sha1_thumbprint
    );
    assert_eq!(overview.recorded.server_id, overview.server_id);
    assert_eq!(world.store.servers().unwrap().len(), 1);

    // The PCCSRV folder names the same server.
    let pccsrv = world.demo.install_folder.join("PCCSRV");
    let again = ops::server::choose(&mut world.store, &pccsrv).unwrap();
    assert_eq!(again.server_id, overview.server_id);

    // A folder with no server anywhere below: the error of opening it.
    let empty = world.path("empty");
    fs::create_dir(&empty).unwrap();
    let err = ops::server::choose(&mut world.store, &empty).unwrap_err();
    assert_eq!(err.code, "server.not_an_install_folder");
    assert_eq!(world.store.servers().unwrap().len(), 1);
}

#[test]
fn reload_after_the_certificate_file_changed_shows_the_new_certificate() {
    let mut world = World::new();
    let before = ops::server::choose(&mut world.store, &world.demo.install_folder).unwrap();
    // The server's certificate replaced (here by its previous one, as after a restore).
    let previous = previous_certificate_file(&world);
    fs::copy(&previous, &world.demo.certificate).unwrap();

    let after = ops::server::reload(&mut world.store, &world.demo.install_folder).unwrap();
    assert_eq!(after.server_id, before.server_id);
    assert_eq!(
        after.report.certificate.as_ref().unwrap().sha1_thumbprint,
        world.demo.previous_sha1_thumbprint
    );
    let server = &world.store.servers().unwrap()[0];
    assert_eq!(
        server.current_sha1_thumbprint.as_deref(),
        Some(world.demo.previous_sha1_thumbprint.as_str())
    );
    assert!(kinds(&world.store).contains(&"certificate.changed".to_string()));

    let gone = world.path("gone");
    let err = ops::server::reload(&mut world.store, &gone).unwrap_err();
    assert_eq!(err.code, "server.not_found");
}

/// A collected copy of the server's previous certificate.
fn previous_certificate_file(world: &World) -> PathBuf {
    let mut files = Vec::new();
    collect_files(&world.demo.collected_folder, &mut files);
    files
        .into_iter()
        .find(|f| {
            certmend_core::cert::load(f).unwrap().info().sha1_thumbprint
                == world.demo.previous_sha1_thumbprint
        })
        .unwrap()
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn show_reads_the_server_even_when_the_store_is_unavailable() {
    let mut world = World::new();
    let unavailable = CodedMessage::new("store.open", "the database cannot be opened");
    let shown = ops::server::show(&world.demo.install_folder, Err(unavailable)).unwrap();
    assert_eq!(
        shown.report.certificate.as_ref().unwrap().sha1_thumbprint,
        world.demo.current_sha1_thumbprint
    );
    assert_eq!(shown.not_recorded.unwrap().code, "store.open");
    assert!(world.store.servers().unwrap().is_empty());

    let shown = ops::server::show(&world.demo.install_folder, Ok(&mut world.store)).unwrap();
    assert!(shown.not_recorded.is_none());
    assert_eq!(world.store.servers().unwrap().len(), 1);

    let err = ops::server::show(&world.path("nowhere"), Ok(&mut world.store)).unwrap_err();
    assert_eq!(err.code, "server.not_found");
}

// ---- agents ----

#[test]
fn import_of_two_files_one_bad_reports_each_and_stores_the_good_one() {
    let mut world = World::new();
    let bad = world.path("no-names.csv");
    fs::write(&bad, "IP Address,Domain\r\n10.0.0.1,x\r\n").unwrap();
    let request = import_request(&world.demo.install_folder, &[&world.demo.list_file, &bad]);
    let outcome = ops::agents::import(
        &mut world.store,
        request,
        &NoProcesses,
        &NoProgress,
        &Cancel::new(),
    )
    .unwrap();

    assert_eq!(outcome.server.chosen_by, "given");
    assert_eq!(outcome.server.install_folder, world.demo.install_folder);
    assert!(outcome.nothing_listed.is_none());
    assert_eq!(outcome.files.len(), 2);
    let good = &outcome.files[0];
    assert_eq!(good.file, world.demo.list_file);
    assert!(good.error.is_none());
    let report = good.report.as_ref().unwrap();
    assert_eq!(report.agents, world.demo.list_agents as i64);
    assert_eq!(report.new_agents, world.demo.list_agents as i64);
    assert!(report.rejected.is_empty());
    let failed = &outcome.files[1];
    assert!(failed.report.is_none());
    assert_eq!(failed.error.as_ref().unwrap().code, "list.no_name_column");
    assert!(outcome.any_failed());
    assert!(!outcome.any_rejected());

    assert_eq!(
        statuses(&world.store, AgentStatus::Mismatched),
        world.demo.list_agents
    );
    let imports = kinds(&world.store)
        .into_iter()
        .filter(|k| k == "list.imported")
        .count();
    assert_eq!(imports, 1);
}

#[test]
fn import_into_the_last_read_server_needs_one() {
    let mut world = World::new();
    let request = ImportRequest {
        into: ImportInto::LastRead,
        files: vec![world.demo.list_file.clone()],
        certificate_manager: CertificateManagerRun::Skip,
    };
    let run = |store: &mut Store, request: ImportRequest| {
        ops::agents::import(store, request, &NoProcesses, &NoProgress, &Cancel::new())
    };
    let err = run(&mut world.store, request.clone()).unwrap_err();
    assert_eq!(err.code, "server.none_known");
    assert!(world.store.agents(&Default::default()).unwrap().is_empty());

    // Once a server was read, it is the one.
    ops::server::show(&world.demo.install_folder, Ok(&mut world.store)).unwrap();
    let outcome = run(&mut world.store, request).unwrap();
    assert_eq!(outcome.server.chosen_by, "last_read");
    assert!(!outcome.any_failed());
    assert_eq!(
        statuses(&world.store, AgentStatus::Mismatched),
        world.demo.list_agents
    );
}

#[test]
fn import_cancelled_before_it_starts_stores_nothing() {
    let mut world = World::new();
    let cancel = Cancel::new();
    cancel.cancel();
    let list = &world.demo.list_file;
    let request = import_request(&world.demo.install_folder, &[list, list]);
    let outcome = ops::agents::import(
        &mut world.store,
        request,
        &NoProcesses,
        &NoProgress,
        &cancel,
    )
    .unwrap();
    // Stopped at the first file; the second was not tried.
    assert_eq!(outcome.files.len(), 1);
    assert_eq!(
        outcome.files[0].error.as_ref().unwrap().code,
        "import.cancelled"
    );
    assert!(world.store.agents(&Default::default()).unwrap().is_empty());
    assert!(!kinds(&world.store).contains(&"list.imported".to_string()));
}

/// Stands in for `CertificateManager.exe -l <csv>`: writes the given list there (or
/// nothing), exit code 0.
struct FakeCertificateManager(Option<PathBuf>);

impl certmend_core::certificate_manager::ProcessRunner for FakeCertificateManager {
    fn run(
        &self,
        program: &Path,
        args: &[std::ffi::OsString],
        working_dir: &Path,
    ) -> std::io::Result<std::process::Output> {
        assert!(program.ends_with("CertificateManager.exe"));
        assert_eq!(Some(working_dir), program.parent());
        assert_eq!(args[0], "-l");
        if let Some(list) = &self.0 {
            fs::copy(list, &args[1])?;
        }
        Ok(std::process::Output {
            status: exit_success(),
            stdout: Vec::new(),
            stderr: Vec::new(),
        })
    }
}

#[cfg(unix)]
fn exit_success() -> std::process::ExitStatus {
    std::os::unix::process::ExitStatusExt::from_raw(0)
}

#[cfg(windows)]
fn exit_success() -> std::process::ExitStatus {
    std::os::windows::process::ExitStatusExt::from_raw(0)
}

#[test]
fn import_runs_certificate_manager_when_asked() {
    let mut world = World::new();
    let request = ImportRequest {
        into: ImportInto::Folder(world.demo.install_folder.clone()),
        files: Vec::new(),
        certificate_manager: CertificateManagerRun::Run,
    };
    let silent = FakeCertificateManager(None);
    let outcome = ops::agents::import(
        &mut world.store,
        request.clone(),
        &silent,
        &NoProgress,
        &Cancel::new(),
    )
    .unwrap();
    assert!(outcome.nothing_listed.is_some());
    assert!(outcome.files.is_empty());

    let listing = FakeCertificateManager(Some(world.demo.list_file.clone()));
    let outcome = ops::agents::import(
        &mut world.store,
        request,
        &listing,
        &NoProgress,
        &Cancel::new(),
    )
    .unwrap();
    assert!(outcome.nothing_listed.is_none());
    assert_eq!(outcome.files.len(), 1);
    let report = outcome.files[0].report.as_ref().unwrap();
    assert_eq!(report.new_agents, world.demo.list_agents as i64);
    // The tool's output was a temporary file, removed once imported.
    assert!(!outcome.files[0].file.exists());
}

#[test]
fn list_and_page_show_the_imported_agents() {
    let mut world = World::new();
    import_demo_list(&mut world);
    let all = ops::agents::list(
        &world.store,
        ListRequest {
            server: Some(world.demo.install_folder.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(all.len(), world.demo.list_agents);
    assert!(all
        .iter()
        .all(|a| a.status == AgentStatus::Mismatched && a.lists == 1));
    // The demo's agents come from four departments, in turn.
    let sales = ops::agents::list(
        &world.store,
        ListRequest {
            search: Some("pc-sales".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(sales.len(), world.demo.list_agents / 4);

    let other = world.path("other-drive");
    demo_copy_without_reading(&world, &other);
    let err = ops::agents::list(
        &world.store,
        ListRequest {
            server: Some(other.join(demo::INSTALL_SUBDIR)),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.code, "server.unknown");

    let server_id = world.store.servers().unwrap()[0].id;
    let page = ops::agents::page(
        &world.store,
        server_id,
        AgentQuery {
            limit: 10,
            offset: 30,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(page.total, Some(world.demo.list_agents as u64));
    assert_eq!(page.rows.len(), world.demo.list_agents - 30);
    let counts = page.counts.unwrap();
    assert!(counts.contains(&(AgentStatus::Mismatched, world.demo.list_agents as u64)));
}

/// Another install folder (a copy of this world's), which the store has never read.
fn demo_copy_without_reading(world: &World, to: &Path) {
    let install = to.join(demo::INSTALL_SUBDIR);
    let certificate = install.join("PCCSRV/Pccnt/Common");
    fs::create_dir_all(&certificate).unwrap();
    fs::copy(&world.demo.certificate, certificate.join("OfcNTCer.dat")).unwrap();
}

#[test]
fn compare_gives_each_collected_certificate_its_verdict() {
    let mut world = World::new();
    import_demo_list(&mut world);
    fs::write(
        world.demo.collected_folder.join("PC-BROKEN.dat"),
        b"no cert",
    )
    .unwrap();
    let overview = ops::server::choose(&mut world.store, &world.demo.install_folder).unwrap();
    let report = ops::agents::compare(
        &mut world.store,
        ServerRef::Recorded(&overview.recorded),
        std::slice::from_ref(&world.demo.collected_folder),
    )
    .unwrap();

    assert_eq!(report.counts.current, world.demo.collected_current);
    assert_eq!(report.counts.previous, world.demo.collected_previous);
    assert_eq!(report.counts.foreign, 0);
    assert_eq!(report.counts.unreadable, 1);
    assert_eq!(report.results.len(), 13);
    assert_eq!(
        report.server_sha1_thumbprint,
        world.demo.current_sha1_thumbprint
    );
    for result in &report.results {
        if result.verdict == Verdict::Unreadable {
            assert_eq!(result.host, "PC-BROKEN");
            assert!(result.error.is_some());
            continue;
        }
        // Every demo host is an agent of the imported list.
        assert_eq!(
            result.agent_status.as_deref(),
            Some("mismatched"),
            "{}",
            result.host
        );
        if result.verdict == Verdict::Previous {
            assert_eq!(
                result.sha1_thumbprint.as_deref(),
                Some(world.demo.previous_sha1_thumbprint.as_str())
            );
            assert!(result.previous.is_some());
        }
    }
    assert!(!report.all_current());
    assert!(kinds(&world.store).contains(&"certificates.compared".to_string()));

    // Given as a folder, the server is read and recorded first.
    let again = ops::agents::compare(
        &mut world.store,
        ServerRef::Folder(&world.demo.install_folder),
        std::slice::from_ref(&world.demo.collected_folder),
    )
    .unwrap();
    assert_eq!(again.counts.previous, world.demo.collected_previous);
}

// ---- repair ----

#[test]
fn export_verify_and_receipts_move_the_agents_statuses() {
    let mut world = World::new();
    import_demo_list(&mut world);
    let out = world.path("stick");
    let server = ServerRef::Folder(&world.demo.install_folder);
    let agents = world.demo.list_agents;

    let estimate = ops::repair::estimate(&mut world.store, server, export_request(&out)).unwrap();
    assert_eq!(estimate.bundles, agents);
    assert!(estimate.fits && estimate.bytes_needed > 0);
    assert!(!out.exists(), "an estimate writes nothing");

    let report = ops::repair::export(
        &mut world.store,
        server,
        export_request(&out),
        &NoProgress,
        &Cancel::new(),
    )
    .unwrap();
    assert_eq!(report.bundles.len(), agents);
    assert!(!report.password_embedded);
    let certificate = world.certificate_bytes();
    for bundle in &report.bundles {
        assert!(bundle.folder.starts_with(&out));
        for name in ["repair.cmd", "manifest.json", "README.txt"] {
            assert!(bundle.folder.join(name).is_file(), "{name}");
        }
        assert_eq!(
            fs::read(bundle.folder.join("OfcNTCer.dat")).unwrap(),
            certificate
        );
    }
    assert_eq!(statuses(&world.store, AgentStatus::BundleExported), agents);

    let check = ops::repair::verify(&world.store, &out).unwrap();
    assert!(check.is_clean(), "{:?}", check.findings);
    assert_eq!(check.bundles, agents);
    // No receipts yet: nothing to hear about.
    assert!(ops::repair::receipts_news(&mut world.store, &out).is_none());

    // repair.cmd ran on the first bundle's agent and repaired it.
    let sha256 = world_certificate_sha256(&world);
    let first = &report.bundles[0];
    let line = receipt_line(&first.agent.name, &first.bundle_id, &sha256, "REPAIRED");
    append_receipt(&out, &first.agent.name, &line);
    let receipts = ops::repair::read_receipts(&mut world.store, &out).unwrap();
    assert_eq!((receipts.files, receipts.lines), (1, 1));
    assert_eq!(receipts.applied.len(), 1);
    let applied = &receipts.applied[0];
    assert_eq!(applied.agent, first.agent.name);
    assert_eq!(
        (
            applied.status_before.as_str(),
            applied.status_after.as_str()
        ),
        ("bundle_exported", "repaired")
    );
    assert!(!receipts.has_problems(), "{receipts:?}");
    assert_eq!(statuses(&world.store, AgentStatus::Repaired), 1);
    assert_eq!(
        statuses(&world.store, AgentStatus::BundleExported),
        agents - 1
    );

    // Read again: nothing new.
    let receipts = ops::repair::read_receipts(&mut world.store, &out).unwrap();
    assert_eq!((receipts.applied.len(), receipts.already_read), (0, 1));
    assert!(ops::repair::receipts_news(&mut world.store, &out).is_none());

    // A new receipt (IpXfer failed on the second agent) is news.
    let second = &report.bundles[1];
    let line = receipt_line(&second.agent.name, &second.bundle_id, "", "IPXFER_FAILED");
    append_receipt(&out, &second.agent.name, &line);
    let news = ops::repair::receipts_news(&mut world.store, &out).unwrap();
    assert_eq!(news.applied.len(), 1);
    assert_eq!(news.applied[0].status_after, AgentStatus::RepairFailed);
    assert_eq!(statuses(&world.store, AgentStatus::RepairFailed), 1);
}

fn world_certificate_sha256(world: &World) -> String {
    certmend_core::cert::load(&world.demo.certificate)
        .unwrap()
        .info()
        .sha256
        .clone()
}

#[test]
fn verify_finds_a_changed_bundle_and_receipts_need_a_stick() {
    let mut world = World::new();
    import_demo_list(&mut world);
    let out = world.path("stick");
    let name = "PC-SALES-010";
    let mut request = export_request(&out);
    request.selection = Selection::Agents(vec![name.to_lowercase()]);
    // What an export killed midway left behind.
    let leftover = out.join(".certmend-tmp-PC-OLD");
    fs::create_dir_all(&leftover).unwrap();
    fs::write(leftover.join("repair.cmd"), b"half").unwrap();
    let prompt = Prompt::new("unload-me");
    let ask = || prompt.answer();
    request.password = AgentPassword::Embedded(&ask);
    let report = ops::repair::export(
        &mut world.store,
        ServerRef::Folder(&world.demo.install_folder),
        request,
        &NoProgress,
        &Cancel::new(),
    )
    .unwrap();
    assert_eq!(prompt.asked(), 1);
    assert!(report.password_embedded);
    assert_eq!(report.bundles.len(), 1);
    assert_eq!(report.bundles[0].agent.name, name);
    assert_eq!(report.removed_leftovers, std::slice::from_ref(&leftover));
    assert!(!leftover.exists());
    let script = fs::read_to_string(report.bundles[0].folder.join("repair.cmd")).unwrap();
    assert!(script.contains("unload-me"));
    assert_eq!(statuses(&world.store, AgentStatus::BundleExported), 1);

    let script = report.bundles[0].folder.join("repair.cmd");
    let mut text = fs::read(&script).unwrap();
    text.extend_from_slice(b"echo changed on some PC\r\n");
    fs::write(&script, text).unwrap();
    let check = ops::repair::verify(&world.store, &out).unwrap();
    assert!(!check.is_clean());

    let err = ops::repair::read_receipts(&mut world.store, &out).unwrap_err();
    assert_eq!(err.code, "receipts.no_folder");
    // An export of agents the server does not have.
    let mut request = export_request(&world.path("other"));
    request.selection = Selection::Agents(vec!["PC-NOBODY".into()]);
    let err = ops::repair::estimate(
        &mut world.store,
        ServerRef::Folder(&world.demo.install_folder),
        request,
    )
    .unwrap_err();
    assert_eq!(err.code, "bundle.unknown_agents");
}

// ---- keys ----

#[test]
fn show_tells_the_servers_key_pair_from_its_previous_one() {
    let mut world = World::new();
    let overview = ops::server::choose(&mut world.store, &world.demo.install_folder).unwrap();
    let prompt = Prompt::new(DEMO_KEY_PAIR_PASSWORD);
    let password = |file: &Path| prompt.answer_for(file);
    let own = ops::keys::show(
        KeySource::Pkcs12(Pkcs12Source {
            file: None,
            password: &password,
        }),
        Some((&mut world.store, ServerRef::Recorded(&overview.recorded))),
    )
    .unwrap();
    assert_eq!(own.file, world.demo.key_pair_file);
    assert!(own.checks.key_matches_certificate);
    assert_eq!(
        own.checks.equals_server_certificate,
        Some(ServerRelation::Current)
    );
    let previous = ops::keys::show(
        KeySource::Pkcs12(Pkcs12Source {
            file: Some(&world.demo.previous_key_pair_file),
            password: &password,
        }),
        Some((&mut world.store, ServerRef::Recorded(&overview.recorded))),
    )
    .unwrap();
    assert!(matches!(
        previous.checks.equals_server_certificate,
        Some(ServerRelation::Previous { .. })
    ));
    assert_eq!(prompt.asked(), 2);

    // Verifying the server's own key pair needs the server; it is no certmend backup.
    let Err(err) = ops::keys::verify(
        &mut world.store,
        Pkcs12Source {
            file: None,
            password: &password,
        },
        None,
    ) else {
        panic!("verified a key pair without a server");
    };
    assert_eq!(err.code, "app.no_server");
    let verified = ops::keys::verify(
        &mut world.store,
        Pkcs12Source {
            file: None,
            password: &password,
        },
        Some(ServerRef::Recorded(&overview.recorded)),
    )
    .unwrap();
    assert!(verified.ok());
    assert_eq!(verified.catalog, CatalogMatch::NotCertmend);
    assert_eq!(prompt.asked(), 3);

    let wrong = Prompt::new("not the password");
    let password = |file: &Path| wrong.answer_for(file);
    let err = ops::keys::show(
        KeySource::Pkcs12(Pkcs12Source {
            file: Some(&world.demo.key_pair_file),
            password: &password,
        }),
        None,
    )
    .unwrap_err();
    assert_eq!(err.code, "keypair.wrong_password");
}

fn backup_request<'a>(
    install: &'a Path,
    out_dir: &Path,
    file: Option<&'a Path>,
    password: PasswordFor<'a>,
    weak_password: WeakPassword,
    new_password: &'a dyn Fn() -> Result<zeroize::Zeroizing<String>, CodedMessage>,
) -> BackupRequest<'a> {
    BackupRequest {
        server: ServerRef::Folder(install),
        source: Pkcs12Source { file, password },
        out_dir: Some(out_dir.to_path_buf()),
        // Legacy: in this debug build its key derivation takes a fraction of the
        // modern one's seconds; what is under test here is the same either way.
        encryption: Encryption::Legacy,
        weak_password,
        new_password,
    }
}

#[test]
fn backup_asks_each_password_once_refuses_weak_ones_and_verifies() {
    let mut world = World::new();
    let old = Prompt::new(DEMO_KEY_PAIR_PASSWORD);
    let password = |file: &Path| old.answer_for(file);
    let new = Prompt::new("short");
    let new_password = || new.answer();
    let install = world.demo.install_folder.clone();
    let backups = world.path("backups");

    // A missing file is reported before anyone types a password.
    let missing = world.path("missing.pfx");
    let request = backup_request(
        &install,
        &backups,
        Some(&missing),
        &password,
        WeakPassword::Allow,
        &new_password,
    );
    let err = ops::keys::backup(&mut world.store, request).unwrap_err();
    assert_eq!(err.code, "file.not_found");
    assert_eq!((old.asked(), new.asked()), (0, 0));

    // A new password under 12 characters is refused unless allowed; nothing is written.
    let request = backup_request(
        &install,
        &backups,
        None,
        &password,
        WeakPassword::Refuse,
        &new_password,
    );
    let err = ops::keys::backup(&mut world.store, request).unwrap_err();
    assert_eq!(err.code, "backup.weak_password");
    assert_eq!((old.asked(), new.asked()), (1, 1));
    assert!(!backups.exists() || fs::read_dir(&backups).unwrap().next().is_none());
    assert!(ops::keys::backups(&world.store).unwrap().is_empty());

    let request = backup_request(
        &install,
        &backups,
        None,
        &password,
        WeakPassword::Allow,
        &new_password,
    );
    let created = ops::keys::backup(&mut world.store, request).unwrap();
    assert_eq!((old.asked(), new.asked()), (2, 2));
    assert_eq!(
        created.certificate.sha1_thumbprint,
        world.demo.current_sha1_thumbprint
    );
    assert_eq!(created.encryption, Encryption::Legacy);
    assert_eq!(created.warning_codes, ["backup.legacy_weaker"]);
    assert_eq!(created.files.len(), 2);
    for file in &created.files {
        assert!(file.path.starts_with(&backups));
        assert_eq!(fs::metadata(&file.path).unwrap().len(), file.size);
    }
    let listed = ops::keys::backups(&world.store).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, created.backup_id);
    assert_eq!(listed[0].kind, "backup");
    // The server view now shows the backup of its current key pair.
    let overview = ops::server::reload(&mut world.store, &world.demo.install_folder).unwrap();
    assert_eq!(overview.backup.unwrap().id, created.backup_id);

    verify_backup(&mut world.store, &created, &new);
    assert_eq!(new.asked(), 3);
}

/// The backup opens with its password and is the file certmend wrote.
fn verify_backup(store: &mut Store, created: &Created, password: &Prompt) {
    let pfx = created
        .files
        .iter()
        .find(|f| f.path.extension().is_some_and(|e| e == "pfx"))
        .unwrap();
    let password = |file: &Path| password.answer_for(file);
    let verified = ops::keys::verify(
        store,
        Pkcs12Source {
            file: Some(&pfx.path),
            password: &password,
        },
        None,
    )
    .unwrap();
    assert!(verified.ok());
    assert_eq!(
        verified.catalog,
        CatalogMatch::Unchanged {
            backup_id: created.backup_id,
            name: pfx.path.file_name().unwrap().to_string_lossy().into_owned(),
        }
    );
}

/// The world, its server as recorded and where kits go.
fn kit_world() -> (World, certmend_core::inventory::RecordedServer, PathBuf) {
    let mut world = World::new();
    let overview = ops::server::choose(&mut world.store, &world.demo.install_folder).unwrap();
    let out = world.path("kits");
    (world, overview.recorded, out)
}

#[test]
fn a_restore_kit_is_written_only_when_the_file_shown_is_approved() {
    let (mut world, recorded, out) = kit_world();
    let server = ServerRef::Recorded(&recorded);
    let prompt = Prompt::new(DEMO_KEY_PAIR_PASSWORD);
    let password = |file: &Path| prompt.answer_for(file);
    let source = Pkcs12Source {
        file: Some(&world.demo.previous_key_pair_file),
        password: &password,
    };

    // Not approved: refused before the file is read or anything is written.
    let err = ops::keys::approved_kit(
        &mut world.store,
        server,
        source,
        &out,
        Approval::NotApproved,
    )
    .unwrap_err();
    assert_eq!(err.code, "backup.not_confirmed");
    assert_eq!(prompt.asked(), 0);
    assert!(!out.exists());

    let draft = ops::keys::plan_kit(&mut world.store, server, source, &out).unwrap();
    assert_eq!(prompt.asked(), 1);
    let kit_folder = draft.plan.kit_folder.clone();
    let err = ops::keys::write_kit(&mut world.store, draft, Approval::NotApproved).unwrap_err();
    assert_eq!(err.code, "backup.not_confirmed");
    assert!(!kit_folder.exists());

    // Approved for other bytes than the plan showed: refused, after planning here or
    // the window's way (approved before planning).
    let other = || Approval::Approved {
        source_sha256: "00".repeat(32),
    };
    let draft = ops::keys::plan_kit(&mut world.store, server, source, &out).unwrap();
    let err = ops::keys::write_kit(&mut world.store, draft, other()).unwrap_err();
    assert_eq!(err.code, "restore.source_changed");
    let err = ops::keys::approved_kit(&mut world.store, server, source, &out, other()).unwrap_err();
    assert_eq!(err.code, "restore.source_changed");
    assert!(!kit_folder.exists());
    assert!(ops::keys::backups(&world.store).unwrap().is_empty());
}

#[test]
fn a_restore_kit_is_planned_then_written() {
    let (mut world, recorded, out) = kit_world();
    let server = ServerRef::Recorded(&recorded);
    let prompt = Prompt::new(DEMO_KEY_PAIR_PASSWORD);
    let password = |file: &Path| prompt.answer_for(file);
    let source = Pkcs12Source {
        file: Some(&world.demo.previous_key_pair_file),
        password: &password,
    };

    let draft = ops::keys::plan_kit(&mut world.store, server, source, &out).unwrap();
    let plan = draft.plan.clone();
    assert_eq!(
        plan.certificate.sha1_thumbprint,
        world.demo.previous_sha1_thumbprint
    );
    assert_eq!(
        plan.verdict_code,
        "restore.verdict.previous_no_agents_known"
    );
    assert_eq!(plan.files.len(), 5);
    assert!(plan.kit_folder.starts_with(&out));
    assert!(!plan.kit_folder.exists(), "a plan writes nothing");

    let approval = Approval::Approved {
        source_sha256: plan.source_sha256.clone(),
    };
    let kit = ops::keys::write_kit(&mut world.store, draft, approval).unwrap();
    assert_eq!(prompt.asked(), 1);
    assert_eq!(kit.kit_folder, plan.kit_folder);
    assert_eq!(kit.files.len(), 5);
    for file in &plan.files {
        assert!(file.is_file(), "{}", file.display());
    }
    let cer = plan.kit_folder.join(certmend_core::restore::KIT_CER);
    let cer = certmend_core::cert::load(&cer).unwrap();
    assert_eq!(
        cer.info().sha1_thumbprint,
        world.demo.previous_sha1_thumbprint
    );
    let listed = ops::keys::backups(&world.store).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, kit.backup_id);
    assert_eq!(listed[0].kind, "restore_kit");
    // The kit's folder exists now: planning it again is refused.
    let Err(err) = ops::keys::plan_kit(&mut world.store, server, source, &out) else {
        panic!("a kit planned into an existing folder");
    };
    assert_eq!(err.code, "restore.kit_exists");
}

// ---- history ----

#[test]
fn history_lists_the_servers_read_and_the_events() {
    let mut world = World::new();
    let empty = ops::history::history(&world.store, 10).unwrap();
    assert!(empty.servers.is_empty() && empty.events.is_empty());

    ops::server::choose(&mut world.store, &world.demo.install_folder).unwrap();
    import_demo_list(&mut world);
    ops::agents::compare(
        &mut world.store,
        ServerRef::Folder(&world.demo.install_folder),
        std::slice::from_ref(&world.demo.collected_folder),
    )
    .unwrap();

    let history = ops::history::history(&world.store, 100).unwrap();
    assert_eq!(history.servers.len(), 1);
    let server = &history.servers[0];
    assert_eq!(
        Path::new(&server.server.install_folder),
        world.demo.install_folder
    );
    assert!(server.server.demo);
    // The current certificate, and the previous one the demo's marker recorded.
    assert_eq!(server.certificates.len(), 2);
    let current: Vec<_> = server.certificates.iter().filter(|c| c.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(
        current[0].sha1_thumbprint,
        world.demo.current_sha1_thumbprint
    );
    assert!(server
        .certificates
        .iter()
        .any(|c| !c.current && c.sha1_thumbprint == world.demo.previous_sha1_thumbprint));

    let kinds: Vec<&str> = history.events.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "server.first_read",
        "list.imported",
        "certificates.compared",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    // Newest first, and as many as asked for.
    assert_eq!(kinds[0], "certificates.compared");
    let newest = ops::history::events(&world.store, 1).unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].id, history.events[0].id);
}
