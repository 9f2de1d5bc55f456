#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The main workflow in the real window (WebKitGTK under Xvfb, driven through
//! WebDriver), as an admin walks it: the demo server's certificate, importing a list
//! (with a broken line), filtering and searching the agents, exporting repair bundles
//! to a folder, a receipt appearing on the target and the agent turning repaired by
//! itself, backing up and verifying the server's key pair, a restore kit made from
//! that backup, the History, and the window in Japanese.
//!
//! The OS file and folder dialogs cannot be driven: `pick_files` and `pick_folder` are
//! answered by a wrapper around `window.__TAURI__.core.invoke` (installed from
//! WebDriver) with this test's paths; every other command goes through to Rust.
//! Assertions are on page text, elements and files on disk; screenshots
//! (target/e2e/2x-…png, 3x-…png) are for people.

use std::collections::BTreeSet;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use certmend_e2e::{save_screenshot, text_of, wait_until_ready, Client, Driver, Locator};
use serde_json::{json, Value};

const INSTALL: &str = "demo-server/Program Files (x86)/Trend Micro/Apex One";
const DEMO_LIST: &str = "demo-server/agents/CertificateManager-mismatched.csv";
const DEMO_KEYS_PASSWORD: &str = "certmend-demo-keys";
const BACKUP_PASSWORD: &str = "e2e-backup-Passw0rd";
const LIST_NAME: &str = "e2e-mismatched-with-a-broken-line.csv";
/// The line (1-based, the header is line 1) where the list gets its broken line.
const BROKEN_LINE: usize = 11;
const BUNDLE_FILES: [&str; 6] = [
    "OfcNTCer.dat",
    "IpXfer.exe",
    "IpXfer_x64.exe",
    "repair.cmd",
    "README.txt",
    "manifest.json",
];

// ---------------------------------------------------------------- small helpers

/// Polls `probe` until it gives `Ok`, or fails the test with `what` and the last
/// thing seen.
async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) => {
                assert!(
                    Instant::now() < deadline,
                    "{what}: not so after {timeout:?}; last seen: {last}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// The text of `css` once `ok` holds for it.
async fn wait_text(
    client: &Client,
    css: &str,
    timeout: Duration,
    ok: impl Fn(&str) -> bool,
) -> String {
    eventually(&format!("text of {css}"), timeout, || async {
        match client.find(Locator::Css(css)).await {
            Ok(element) => {
                let text = element.text().await.map_err(|e| e.to_string())?;
                if ok(&text) {
                    Ok(text)
                } else {
                    Err(format!("{text:?}"))
                }
            }
            Err(_) => Err("no such element".into()),
        }
    })
    .await
}

/// The texts of every element matching `css`.
async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for element in client.find_all(Locator::Css(css)).await.unwrap() {
        out.push(element.text().await.unwrap_or_default());
    }
    out
}

async fn click(client: &Client, css: &str) {
    let element = eventually(
        &format!("{css} to click"),
        Duration::from_secs(10),
        || async {
            let element = client
                .find(Locator::Css(css))
                .await
                .map_err(|_| "no such element".to_string())?;
            if element.is_enabled().await.unwrap_or(false)
                && element.is_displayed().await.unwrap_or(false)
            {
                Ok(element)
            } else {
                Err("disabled or hidden".to_string())
            }
        },
    )
    .await;
    element
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

async fn js(client: &Client, script: &str, args: Vec<Value>) -> Value {
    client
        .execute(script, args)
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// Answers the OS dialogs (`pick_files`, `pick_folder`) with these paths from now on;
/// every other command goes to Rust. Every command's name is logged in
/// `window.__e2eCalls`. Returns how the wrapper was installed.
async fn answer_dialogs(client: &Client, files: &[&Path], folder: Option<&Path>) -> String {
    let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let folder = folder.map(|p| p.display().to_string());
    let how = js(
        client,
        r#"
        const [files, folder] = arguments;
        window.__e2eDialogs = { files, folder };
        if (window.__e2eWrapped) return window.__e2eWrapped;
        window.__e2eCalls = [];
        const core = window.__TAURI__.core;
        const original = core.invoke.bind(core);
        const wrapped = (command, args, options) => {
          window.__e2eCalls.push(command);
          if (command === "pick_files") return Promise.resolve(window.__e2eDialogs.files);
          if (command === "pick_folder") return Promise.resolve(window.__e2eDialogs.folder);
          return original(command, args, options);
        };
        try { core.invoke = wrapped; } catch (e) {}
        if (window.__TAURI__.core.invoke === wrapped) {
          window.__e2eWrapped = "core.invoke";
        } else {
          window.__TAURI__.core = Object.assign({}, core, { invoke: wrapped });
          if (window.__TAURI__.core.invoke !== wrapped) throw new Error("cannot wrap window.__TAURI__.core.invoke");
          window.__e2eWrapped = "core";
        }
        return window.__e2eWrapped;
        "#,
        vec![json!(files), json!(folder)],
    )
    .await;
    how.as_str().unwrap_or_default().to_string()
}

/// The commands the page invoked since the wrapper was installed.
async fn calls(client: &Client) -> Vec<String> {
    let value = js(client, "return window.__e2eCalls ?? [];", vec![]).await;
    serde_json::from_value(value).unwrap()
}

/// The agent rows the table has drawn: (status pill, name, whole row text).
async fn drawn_rows(client: &Client) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    for row in client
        .find_all(Locator::Css("[data-testid=agent-row]"))
        .await
        .unwrap()
    {
        let pill = match row.find(Locator::Css(".c-status .pill")).await {
            Ok(p) => p.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let name = match row.find(Locator::Css(".c-name")).await {
            Ok(n) => n.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let text = row.text().await.unwrap_or_default();
        rows.push((pill, name, text));
    }
    rows
}

fn hex_digits(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_ascii_uppercase()
}

fn short_thumbprint(hex: &str) -> String {
    format!("{}…{}", &hex[..8], &hex[hex.len() - 4..])
}

/// `openssl pkcs12 -in pfx -passin pass:… -nokeys | openssl x509 -noout -fingerprint -sha1`.
fn openssl_pfx_sha1(pfx: &Path, password: &str) -> String {
    let certs = Command::new("openssl")
        .arg("pkcs12")
        .arg("-in")
        .arg(pfx)
        .arg("-passin")
        .arg(format!("pass:{password}"))
        .arg("-nokeys")
        .output()
        .expect("openssl is installed");
    assert!(
        certs.status.success(),
        "openssl pkcs12 {}: {}",
        pfx.display(),
        String::from_utf8_lossy(&certs.stderr)
    );
    let mut x509 = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    x509.stdin.take().unwrap().write_all(&certs.stdout).unwrap();
    let out = x509.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl x509: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let value = text
        .split_once('=')
        .unwrap_or_else(|| panic!("openssl x509 printed {text:?}"))
        .1;
    hex_digits(value)
}

// ---------------------------------------------------------------- the world

struct World {
    client: Client,
    data: PathBuf,
    /// The list this test imports.
    list: PathBuf,
    /// Names of the agents in the list (without the broken line).
    agents: Vec<String>,
    /// Where the bundles go (the folder "chosen" in the export dialog).
    target: PathBuf,
    /// The server certificate's SHA-1 and SHA-256, uppercase hex.
    sha1: String,
    sha256: String,
}

/// The demo list's lines with one broken line (no computer name) as line
/// `BROKEN_LINE`; the agents' names in order.
fn write_list(demo_list: &Path, out: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(demo_list).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 37, "the demo list: a header and 36 agents");
    let agents: Vec<String> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap().trim().to_string())
        .collect();
    let mut written = String::new();
    for (index, line) in lines.iter().enumerate() {
        if index + 1 == BROKEN_LINE {
            written.push_str(",10.20.9.99,Workgroup,,00-00-00-00-00-00,Windows 11 Pro\r\n");
        }
        written.push_str(line);
    }
    std::fs::write(out, written).unwrap();
    agents
}

// ---------------------------------------------------------------- the steps

/// Step 1: the demo server: its certificate card and the DEMO badge.
async fn step_demo_server(w: &World) {
    let c = &w.client;
    assert_eq!(
        text_of(c, "[data-testid=thumbprint]").await,
        w.sha1,
        "step 1: [data-testid=thumbprint] is the certificate in the data folder"
    );
    let card = text_of(c, "[data-testid=cert-card]").await;
    assert!(card.contains(&w.sha1), "step 1: cert-card: {card}");
    assert_eq!(text_of(c, "[data-testid=demo-badge]").await, "DEMO");
    let days = text_of(c, "[data-testid=days-left]").await;
    assert!(days.ends_with("days left"), "step 1: days-left: {days}");
    let nav = text_of(c, "[data-testid=nav-agents]").await;
    assert!(nav.contains("No list yet"), "step 1: nav-agents: {nav}");
    save_screenshot(c, "20-workflow-demo-server.png").await;
}

/// Step 2: import the list through "Open lists…" (the dialog answered by the wrapper):
/// the report names the file, counts 36 agents and shows the rejected line.
async fn step_import(w: &World) {
    let c = &w.client;
    let how = answer_dialogs(c, &[&w.list], None).await;
    assert!(!how.is_empty());
    eprintln!("dialogs answered through the wrapped {how}");
    click(c, "[data-testid=nav-agents]").await;
    click(c, "[data-testid=open-lists]").await;
    let report = wait_text(
        c,
        "[data-testid=import-report]",
        Duration::from_secs(20),
        |t| t.contains(LIST_NAME),
    )
    .await;
    let invoked = calls(c).await;
    let pick = invoked.iter().position(|x| x == "pick_files");
    let import = invoked.iter().position(|x| x == "start_import");
    assert!(
        pick.is_some() && import > pick,
        "step 2: Open lists… asks pick_files then start_import; the page invoked {invoked:?}"
    );
    assert!(
        report.contains("36 agents"),
        "step 2: import-report counts 36 agents: {report}"
    );
    assert!(
        report.contains("36 new"),
        "step 2: import-report counts 36 new agents: {report}"
    );
    assert!(
        report.contains("1 rejected"),
        "step 2: import-report counts 1 rejected line: {report}"
    );
    // The rejected lines sit in a closed <details>: open it as a user would.
    click(c, "[data-testid=import-report] details.rejected summary").await;
    let rejected = client_rows(c, "[data-testid=rejected-line]").await;
    assert_eq!(rejected.len(), 1, "step 2: one rejected-line: {rejected:?}");
    let cells = &rejected[0];
    assert_eq!(
        cells[0],
        BROKEN_LINE.to_string(),
        "step 2: rejected-line number: {cells:?}"
    );
    assert!(
        cells[1].contains("no computer name"),
        "step 2: rejected-line reason: {cells:?}"
    );
    assert!(
        cells[2].starts_with(",10.20.9.99"),
        "step 2: rejected-line text: {cells:?}"
    );
    let nav = wait_text(c, "[data-testid=nav-agents]", Duration::from_secs(5), |t| {
        t.contains("36 mismatched")
    })
    .await;
    assert!(nav.contains("Agents"), "{nav}");
    wait_text(
        c,
        "[data-testid=agent-count]",
        Duration::from_secs(5),
        |t| t == "36 agents",
    )
    .await;
    save_screenshot(c, "21-workflow-import-report.png").await;
}

/// The cells' texts of each row matching `css`.
async fn client_rows(c: &Client, css: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for row in c.find_all(Locator::Css(css)).await.unwrap() {
        let mut cells = Vec::new();
        for cell in row.find_all(Locator::Css("td")).await.unwrap() {
            cells.push(cell.text().await.unwrap_or_default());
        }
        rows.push(cells);
    }
    rows
}

/// Step 3: the mismatched chip's count; the search box narrows the table; clearing it
/// brings every agent back.
async fn step_filter_and_search(w: &World) {
    let c = &w.client;
    let chip = wait_text(
        c,
        "[data-testid=chip-mismatched]",
        Duration::from_secs(5),
        |t| t.contains("36"),
    )
    .await;
    assert!(
        chip.contains("Mismatched"),
        "step 3: chip-mismatched: {chip}"
    );
    // The status filter: only mismatched agents (all of them, here).
    click(c, "[data-testid=chip-mismatched]").await;
    wait_text(
        c,
        "[data-testid=agent-count]",
        Duration::from_secs(5),
        |t| t == "36 of 36 agents shown",
    )
    .await;
    click(c, "[data-testid=chip-all]").await;
    wait_text(
        c,
        "[data-testid=agent-count]",
        Duration::from_secs(5),
        |t| t == "36 agents",
    )
    .await;

    let query = "SALES";
    let expected: Vec<&String> = w.agents.iter().filter(|n| n.contains(query)).collect();
    assert!(
        !expected.is_empty() && expected.len() < 36,
        "the demo list has some {query} agents: {expected:?}"
    );
    type_into(c, "[data-testid=agent-search]", query).await;
    let want = format!("{} of 36 agents shown", expected.len());
    wait_text(
        c,
        "[data-testid=agent-count]",
        Duration::from_secs(5),
        |t| t == want,
    )
    .await;
    let rows = eventually(
        "step 3: the table shows only the matching rows",
        Duration::from_secs(5),
        || async {
            let rows = drawn_rows(c).await;
            let names: BTreeSet<String> = rows.iter().map(|r| r.1.clone()).collect();
            let want: BTreeSet<String> = expected.iter().map(|n| n.to_string()).collect();
            if names == want {
                Ok(rows)
            } else {
                Err(format!("{names:?}, expected {want:?}"))
            }
        },
    )
    .await;
    for (_, _, text) in &rows {
        assert!(
            text.contains(query),
            "step 3: a row without {query}: {text}"
        );
    }
    let chip = text_of(c, "[data-testid=chip-mismatched]").await;
    assert!(
        chip.contains(&expected.len().to_string()),
        "step 3: chips follow the search: {chip}"
    );
    save_screenshot(c, "22-workflow-search.png").await;

    // Clear the box (Backspace, as a user would).
    type_into(
        c,
        "[data-testid=agent-search]",
        &"\u{E003}".repeat(query.len()),
    )
    .await;
    wait_text(
        c,
        "[data-testid=agent-count]",
        Duration::from_secs(5),
        |t| t == "36 agents",
    )
    .await;
    eventually(
        "step 3: clearing the search draws more rows again",
        Duration::from_secs(5),
        || async {
            let rows = drawn_rows(c).await;
            if rows.len() > expected.len() && rows.iter().any(|r| !r.2.contains(query)) {
                Ok(())
            } else {
                Err(format!("{} rows", rows.len()))
            }
        },
    )
    .await;
}

/// Step 4: export a bundle for every mismatched agent into the target folder.
async fn step_export(w: &World) {
    let c = &w.client;
    answer_dialogs(c, &[], Some(&w.target)).await;
    click(c, "[data-testid=nav-repair]").await;
    click(c, "[data-testid=open-export]").await;
    eventually(
        "step 4: export-dialog opens",
        Duration::from_secs(5),
        || async {
            let open = js(
                c,
                "return document.querySelector('[data-testid=export-dialog]').open;",
                vec![],
            )
            .await;
            if open == json!(true) {
                Ok(())
            } else {
                Err(format!("open = {open}"))
            }
        },
    )
    .await;
    let dialog = text_of(c, "[data-testid=export-dialog]").await;
    assert!(
        dialog.contains("Export repair bundles")
            && dialog.contains("Every agent not yet repaired (36)"),
        "step 4: export-dialog: {dialog}"
    );
    click(c, "#export-choose-folder").await;
    let estimate = wait_text(
        c,
        "[data-testid=export-estimate]",
        Duration::from_secs(15),
        |t| t.contains("36 bundles") && t.contains("needed"),
    )
    .await;
    let folder_radio = c
        .find(Locator::Css("#export-target-folder"))
        .await
        .expect("step 4: the chosen folder is a target");
    assert_eq!(
        folder_radio.prop("checked").await.unwrap().as_deref(),
        Some("true"),
        "step 4: the chosen folder is the target"
    );
    let dialog = text_of(c, "[data-testid=export-dialog]").await;
    assert!(
        dialog.contains(&w.target.display().to_string()),
        "step 4: the dialog names the folder: {dialog}"
    );
    save_screenshot(c, "23-workflow-export-dialog.png").await;
    eprintln!("export estimate: {estimate}");
    click(c, "[data-testid=export-start]").await;
    let result = wait_text(
        c,
        "[data-testid=export-result]",
        Duration::from_secs(40),
        |t| !t.is_empty(),
    )
    .await;
    assert!(
        result.contains("36 bundles written and verified"),
        "step 4: export-result: {result}"
    );
    assert!(
        result.contains(&w.target.display().to_string()),
        "step 4: export-result names the folder: {result}"
    );
    save_screenshot(c, "24-workflow-export-result.png").await;

    // On disk: one folder per agent with the six files.
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(&w.target).unwrap() {
        let entry = entry.unwrap();
        let folder = entry.path();
        if !folder.is_dir() {
            continue;
        }
        // Nothing but bundles yet (no shared tools, no receipts, no leftovers).
        let manifest = folder.join("manifest.json");
        for name in BUNDLE_FILES {
            assert!(
                folder.join(name).is_file(),
                "step 4: {} has no {name}",
                folder.display()
            );
        }
        let m: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
        let agent = m["agent"]["name"].as_str().unwrap().to_string();
        assert_eq!(
            m["server"]["certificate_sha1_thumbprint"]
                .as_str()
                .map(hex_digits),
            Some(w.sha1.clone()),
            "step 4: {} carries the server certificate",
            manifest.display()
        );
        assert_eq!(
            std::fs::read(folder.join("OfcNTCer.dat")).unwrap(),
            std::fs::read(
                w.data
                    .join(INSTALL)
                    .join("PCCSRV/Pccnt/Common/OfcNTCer.dat")
            )
            .unwrap(),
            "step 4: {}/OfcNTCer.dat is the server's",
            folder.display()
        );
        assert!(seen.insert(agent), "step 4: two bundles for one agent");
    }
    let want: BTreeSet<String> = w.agents.iter().cloned().collect();
    assert_eq!(seen, want, "step 4: one bundle folder per agent");

    // The table: every agent's status pill reads "Bundle exported".
    click(c, "[data-testid=nav-agents]").await;
    eventually(
        "step 4: agent-row status pills read Bundle exported",
        Duration::from_secs(10),
        || async {
            let rows = drawn_rows(c).await;
            if !rows.is_empty() && rows.iter().all(|r| r.0 == "Bundle exported") {
                Ok(())
            } else {
                Err(format!(
                    "{:?}",
                    rows.iter().map(|r| &r.0).collect::<Vec<_>>()
                ))
            }
        },
    )
    .await;
    let chip = text_of(c, "[data-testid=chip-bundle_exported]").await;
    assert!(chip.contains("36"), "step 4: chip-bundle_exported: {chip}");
    save_screenshot(c, "25-workflow-bundles-exported.png").await;
}

/// Step 5: a receipt written on the target turns its agent repaired, with no click.
async fn step_receipt(w: &World) {
    let c = &w.client;
    // The first agent the table shows, and its bundle from manifest.json.
    let rows = drawn_rows(c).await;
    let agent = rows.first().expect("rows are drawn").1.clone();
    let mut bundle = None;
    for entry in std::fs::read_dir(&w.target).unwrap() {
        let manifest = entry.unwrap().path().join("manifest.json");
        if let Ok(bytes) = std::fs::read(&manifest) {
            let m: Value = serde_json::from_slice(&bytes).unwrap();
            if m["agent"]["name"] == json!(agent) {
                bundle = m["bundle_id"].as_str().map(str::to_string);
            }
        }
    }
    let bundle = bundle.unwrap_or_else(|| panic!("step 5: no bundle for {agent}"));
    let receipts = w.target.join("receipts");
    std::fs::create_dir_all(&receipts).unwrap();
    let line = format!(
        "certmend-receipt=1;computer={agent};bundle={bundle};run=1;date=2026/11/26;time=10:00;mode=repair;ipxfer=IpXfer_x64.exe;ipxfer_exit=0;before={};after={};result=REPAIRED\r\n",
        "AB".repeat(32),
        w.sha256
    );
    std::fs::write(receipts.join(format!("{agent}.txt")), line).unwrap();
    let started = Instant::now();
    eventually(
        &format!("step 5: the agent-row of {agent} reads Repaired by itself"),
        Duration::from_secs(15),
        || async {
            let rows = drawn_rows(c).await;
            match rows.iter().find(|r| r.1 == agent) {
                Some(r) if r.0 == "Repaired" && r.2.contains("Repaired") => Ok(()),
                Some(r) => Err(format!("{r:?}")),
                None => Err("row not drawn".into()),
            }
        },
    )
    .await;
    eprintln!("receipt noticed after {:?}", started.elapsed());
    let chip = wait_text(
        c,
        "[data-testid=chip-repaired]",
        Duration::from_secs(5),
        |t| t.contains('1'),
    )
    .await;
    assert!(chip.contains("Repaired"), "step 5: chip-repaired: {chip}");
    let nav = wait_text(
        c,
        "[data-testid=nav-receipts]",
        Duration::from_secs(5),
        |t| t.contains("1 new"),
    )
    .await;
    assert!(nav.contains("Receipts"), "{nav}");
    save_screenshot(c, "26-workflow-receipt-repaired.png").await;

    click(c, "[data-testid=nav-receipts]").await;
    let result = wait_text(
        c,
        "[data-testid=receipts-result]",
        Duration::from_secs(5),
        |t| !t.is_empty(),
    )
    .await;
    assert!(
        result.contains("Receipts read when the stick came back"),
        "step 5: receipts-result heading: {result}"
    );
    assert!(
        result.contains("1 status changes"),
        "step 5: receipts-result: {result}"
    );
    let applied = texts(c, "[data-testid=receipt-applied]").await;
    assert_eq!(
        applied.len(),
        1,
        "step 5: receipt-applied rows: {applied:?}"
    );
    assert!(
        applied[0].contains(&agent)
            && applied[0].contains("Bundle exported")
            && applied[0].contains("Repaired")
            && applied[0].contains(&format!("{agent}.txt:1")),
        "step 5: receipt-applied: {}",
        applied[0]
    );
    save_screenshot(c, "27-workflow-receipts-view.png").await;
}

/// Step 7b: an export for a network share: the dialog's second destination, the
/// command every PC runs and DEPLOY.txt, and the fleet's progress as a receipt arrives.
async fn step_share_export(w: &World) {
    let c = &w.client;
    let share = w.target.parent().unwrap().join("share");
    std::fs::create_dir_all(&share).unwrap();
    let unc = r"\\fileserver\certmend$\repair";
    answer_dialogs(c, &[], Some(&share)).await;
    click(c, "[data-testid=nav-repair]").await;
    click(c, "[data-testid=open-export]").await;
    click(c, "[data-testid=export-destination-share]").await;
    type_into(c, "#export-share-path", unc).await;
    click(c, "#export-choose-folder").await;
    wait_text(
        c,
        "[data-testid=export-estimate]",
        Duration::from_secs(15),
        |t| t.contains("35 bundles") && t.contains("needed"),
    )
    .await;
    save_screenshot(c, "29-workflow-share-dialog.png").await;
    click(c, "[data-testid=export-start]").await;
    let result = wait_text(
        c,
        "[data-testid=export-deploy]",
        Duration::from_secs(40),
        |t| !t.is_empty(),
    )
    .await;
    let entry = format!(r"{unc}\repair.cmd /quiet");
    assert_eq!(
        text_of(c, "[data-testid=deploy-entry]").await,
        entry,
        "step 7b: the command every PC runs: {result}"
    );
    assert!(
        result.contains("DEPLOY.txt"),
        "step 7b: the deploy card names DEPLOY.txt: {result}"
    );
    let deploy = std::fs::read_to_string(share.join("DEPLOY.txt")).unwrap();
    assert!(deploy.contains(&entry), "step 7b: DEPLOY.txt: {deploy}");
    assert!(share.join("set-permissions.cmd").is_file());
    assert!(share.join("repair.cmd").is_file());
    wait_text(
        c,
        "[data-testid=fleet-silent]",
        Duration::from_secs(10),
        |t| t.starts_with("35"),
    )
    .await;

    // One PC reports: the progress moves by itself (the share is watched).
    let (agent, bundle) = std::fs::read_dir(&share)
        .unwrap()
        .filter_map(|e| std::fs::read(e.unwrap().path().join("manifest.json")).ok())
        .map(|bytes| serde_json::from_slice::<Value>(&bytes).unwrap())
        .map(|m| {
            (
                m["agent"]["name"].as_str().unwrap().to_string(),
                m["bundle_id"].as_str().unwrap().to_string(),
            )
        })
        .next()
        .expect("step 7b: a bundle on the share");
    let receipts = share.join("receipts");
    std::fs::create_dir_all(&receipts).unwrap();
    let line = format!(
        "certmend-receipt=1;computer={agent};bundle={bundle};run=1;date=2026/11/27;time=07:00;mode=repair;ipxfer=IpXfer_x64.exe;ipxfer_exit=0;before={};after={};result=REPAIRED\r\n",
        "AB".repeat(32),
        w.sha256
    );
    std::fs::write(receipts.join(format!("{agent}.txt")), line).unwrap();
    wait_text(
        c,
        "[data-testid=fleet-repaired]",
        Duration::from_secs(20),
        |t| t.starts_with('1'),
    )
    .await;
    let silent = text_of(c, "[data-testid=fleet-silent]").await;
    assert!(silent.starts_with("34"), "step 7b: fleet-silent: {silent}");
    save_screenshot(c, "30-workflow-share-progress.png").await;
    // Back where step 8 reads the history in Japanese.
    click(c, "[data-testid=nav-history]").await;
}

/// Step 6: back up the server's key pair, check the files with openssl, verify the backup.
async fn step_backup(w: &World) {
    let c = &w.client;
    click(c, "[data-testid=nav-keys]").await;
    click(c, "#kp-password").await;
    type_into(c, "#kp-password", DEMO_KEYS_PASSWORD).await;
    click(c, "[data-testid=keypair-check]").await;
    let checks = wait_text(
        c,
        "[data-testid=keypair-checks]",
        Duration::from_secs(30),
        |t| !t.is_empty(),
    )
    .await;
    assert!(
        checks.contains("The password opens the file")
            && checks.contains("The private key matches the certificate")
            && checks.contains(&w.sha1),
        "step 6: keypair-checks: {checks}"
    );
    type_into(c, "[data-testid=backup-password]", BACKUP_PASSWORD).await;
    type_into(c, "[data-testid=backup-password2]", BACKUP_PASSWORD).await;
    click(c, "[data-testid=backup-create]").await;
    let result = wait_text(
        c,
        "[data-testid=backup-result]",
        Duration::from_secs(40),
        |t| !t.is_empty(),
    )
    .await;
    assert!(
        result.contains(&format!(
            "Backup written and verified ({})",
            short_thumbprint(&w.sha1)
        )),
        "step 6: backup-result: {result}"
    );
    let files: Vec<PathBuf> = texts(c, "[data-testid=backup-result] td.path code")
        .await
        .into_iter()
        .map(PathBuf::from)
        .collect();
    let with_ext = |ext: &str| {
        files
            .iter()
            .find(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext)))
            .unwrap_or_else(|| panic!("step 6: backup-result lists no .{ext}: {files:?}"))
            .clone()
    };
    let pfx = with_ext("pfx");
    let cer = with_ext("cer");
    for file in [&pfx, &cer] {
        assert!(file.is_file(), "step 6: {} does not exist", file.display());
        assert!(
            file.starts_with(&w.data),
            "step 6: {} is outside the data folder",
            file.display()
        );
    }
    assert_eq!(
        openssl_pfx_sha1(&pfx, BACKUP_PASSWORD),
        w.sha1,
        "step 6: openssl reads the server certificate from {}",
        pfx.display()
    );
    assert_eq!(
        certmend_core::cert::load(&cer)
            .unwrap()
            .info()
            .sha1_thumbprint,
        w.sha1,
        "step 6: {} is the server certificate",
        cer.display()
    );
    // The password fields were emptied (the new-password fields are gone with the check).
    let left = js(
        c,
        "return ['kp-password', 'kp-new-password', 'kp-new-password2'].map(id => document.getElementById(id)?.value ?? '').join('');",
        vec![],
    )
    .await;
    assert_eq!(left, json!(""), "step 6: password fields emptied");

    let rows = texts(c, "[data-testid=backups-list] [data-testid=backup-row]").await;
    assert_eq!(rows.len(), 1, "step 6: backups-list rows: {rows:?}");
    assert!(
        rows[0].contains(&short_thumbprint(&w.sha1))
            && rows[0].contains("PFX")
            && rows[0].contains("CER"),
        "step 6: backup-row: {}",
        rows[0]
    );
    let nav = wait_text(c, "[data-testid=nav-keys]", Duration::from_secs(5), |t| {
        t.contains("backup ✓")
    })
    .await;
    assert!(nav.contains("Key pairs"), "{nav}");
    save_screenshot(c, "28-workflow-backup-created.png").await;

    // Verify it: the row's "Verify…", then the backup's password.
    let row = c
        .find(Locator::Css("[data-testid=backup-row]"))
        .await
        .unwrap();
    let mut verify_button = None;
    for b in row.find_all(Locator::Css("button")).await.unwrap() {
        if b.text().await.unwrap_or_default() == "Verify…" {
            verify_button = Some(b);
        }
    }
    verify_button
        .expect("step 6: backup-row has a Verify… button")
        .click()
        .await
        .unwrap();
    let chosen = wait_text(c, "#kp-verify-heading + p", Duration::from_secs(5), |t| {
        t.contains(".pfx")
    })
    .await;
    assert!(
        chosen.contains(&pfx.display().to_string()),
        "step 6: verify names the backup: {chosen}"
    );
    type_into(c, "#kp-verify-password", BACKUP_PASSWORD).await;
    click(c, "[data-testid=backup-verify]").await;
    let verified = wait_text(
        c,
        "[data-testid=verify-result]",
        Duration::from_secs(30),
        |t| !t.is_empty(),
    )
    .await;
    assert!(
        verified.contains("The password opens the file")
            && verified.contains("The private key matches the certificate")
            && verified.contains(&w.sha1),
        "step 6: verify-result: {verified}"
    );
    js(
        c,
        "document.querySelector('[data-testid=verify-result]').scrollIntoView({block: 'center'});",
        vec![],
    )
    .await;
    save_screenshot(c, "29-workflow-backup-verified.png").await;
}

/// Step 6b: a restore kit from the backup just made, through the window: the plan (the
/// kit's certificate is the server's current one), an explicit confirmation, the kit on
/// the "stick"; openssl reads the kit's key pair; the server folder is untouched.
async fn step_restore_kit(w: &World) {
    let c = &w.client;
    let install = w.data.join(INSTALL);
    let server_files = || {
        [
            "PCCSRV/Pccnt/Common/OfcNTCer.dat",
            "AuthCertBackup/OfficeScanAuth.dat",
        ]
        .map(|rel| std::fs::read(install.join(rel)).unwrap())
    };
    let before = server_files();
    let stick = w.target.with_file_name("kit-stick");
    std::fs::create_dir_all(&stick).unwrap();
    answer_dialogs(c, &[], Some(&stick)).await;

    // The backup row's "Restore…" chooses its .pfx.
    let row = c
        .find(Locator::Css("[data-testid=backup-row]"))
        .await
        .unwrap();
    let mut restore_button = None;
    for b in row.find_all(Locator::Css("button")).await.unwrap() {
        if b.text().await.unwrap_or_default() == "Restore…" {
            restore_button = Some(b);
        }
    }
    restore_button
        .expect("step 6b: backup-row has a Restore… button")
        .click()
        .await
        .unwrap();
    click(c, "[data-testid=restore-folder]").await;
    wait_text(
        c,
        "[data-testid=restore-kit-folder]",
        Duration::from_secs(5),
        |t| t.contains("kit-stick"),
    )
    .await;
    type_into(c, "#kp-restore-password", BACKUP_PASSWORD).await;
    click(c, "[data-testid=restore-plan-button]").await;
    let plan = wait_text(
        c,
        "[data-testid=restore-plan]",
        Duration::from_secs(30),
        |t| !t.is_empty(),
    )
    .await;
    let verdict = text_of(c, "[data-testid=restore-verdict]").await;
    assert!(
        verdict.contains("The server already uses this certificate"),
        "step 6b: restore-verdict: {verdict}"
    );
    let catalog = text_of(c, "[data-testid=restore-plan] [data-testid=catalog-match]").await;
    assert!(
        catalog.contains("A file certmend wrote") && catalog.contains("unchanged"),
        "step 6b: catalog-match: {catalog}"
    );
    let kit = stick.join(format!(
        "certmend-restore-kit-{}",
        w.sha1[..8].to_ascii_lowercase()
    ));
    assert!(
        plan.contains(&kit.join("OfficeScanAuth.pfx").display().to_string())
            && plan.contains("Nothing in the server folder is changed"),
        "step 6b: restore-plan: {plan}"
    );
    assert!(!kit.exists(), "step 6b: the plan wrote {}", kit.display());
    save_screenshot(c, "29b-workflow-restore-plan.png").await;
    click(c, "[data-testid=restore-confirm]").await;
    click(c, "[data-testid=restore-go]").await;
    // The whole card: an error box would say why there is no result.
    let result = wait_text(
        c,
        "section[aria-labelledby=kp-restore-heading]",
        Duration::from_secs(60),
        |t| t.contains("Restore kit written and verified"),
    )
    .await;
    assert!(
        result.contains("Restore kit written and verified"),
        "step 6b: restore-result: {result}"
    );
    assert_eq!(
        openssl_pfx_sha1(&kit.join("OfficeScanAuth.pfx"), BACKUP_PASSWORD),
        w.sha1,
        "step 6b: openssl reads the kit's key pair"
    );
    for name in [
        "OfficeScanAuth.cer",
        "RESTORE-GUIDE-en.txt",
        "RESTORE-GUIDE-ja.txt",
        "certmend-kit.json",
    ] {
        assert!(
            kit.join(name).is_file(),
            "step 6b: no {name} in {}",
            kit.display()
        );
    }
    assert!(
        server_files() == before,
        "step 6b: the server folder changed"
    );
    let left = js(
        c,
        "return document.getElementById('kp-restore-password').value;",
        vec![],
    )
    .await;
    assert_eq!(left, json!(""), "step 6b: password field emptied");
    save_screenshot(c, "29c-workflow-restore-kit.png").await;
}

/// Step 7: History: the import, the export, the receipt and the backup.
async fn step_history(w: &World) {
    let c = &w.client;
    click(c, "[data-testid=nav-history]").await;
    let table = wait_text(
        c,
        "[data-testid=history-table]",
        Duration::from_secs(10),
        |t| t.contains("Backup created"),
    )
    .await;
    let rows = texts(c, "[data-testid=history-row]").await;
    let row_with = |kind: &str| -> String {
        rows.iter()
            .find(|r| r.contains(kind))
            .unwrap_or_else(|| panic!("step 7: no history-row {kind:?}: {table}"))
            .clone()
    };
    let import = row_with("List imported");
    assert!(
        import.contains(LIST_NAME) && import.contains("36 new") && import.contains("1 rejected"),
        "step 7: the import's history-row: {import}"
    );
    let export = row_with("Bundles exported");
    assert!(
        export.contains("36 of 36 bundles written"),
        "step 7: the export's history-row: {export}"
    );
    let receipt = row_with("Receipt read");
    assert!(
        receipt.contains("Repaired"),
        "step 7: the receipt's history-row: {receipt}"
    );
    let backup = row_with("Backup created");
    assert!(
        backup.contains(&short_thumbprint(&w.sha1)),
        "step 7: the backup's history-row: {backup}"
    );
    // Newest first.
    let at = |kind: &str| rows.iter().position(|r| r.contains(kind)).unwrap();
    assert!(
        at("Backup created") < at("Receipt read")
            && at("Receipt read") < at("Bundles exported")
            && at("Bundles exported") < at("List imported"),
        "step 7: history newest first: {rows:#?}"
    );
    save_screenshot(c, "30-workflow-history.png").await;
}

/// Step 8: the window in Japanese, and back.
async fn step_japanese(w: &World) {
    let c = &w.client;
    assert_eq!(text_of(c, "#lang").await, "日本語");
    click(c, "#lang").await;
    wait_text(
        c,
        "[data-testid=nav-history]",
        Duration::from_secs(5),
        |t| t.contains("履歴"),
    )
    .await;
    for (testid, label) in [
        ("nav-server", "サーバー"),
        ("nav-agents", "エージェント"),
        ("nav-repair", "修復"),
        ("nav-receipts", "修復結果"),
        ("nav-keys", "キーペア"),
    ] {
        let text = text_of(c, &format!("[data-testid={testid}]")).await;
        assert!(text.contains(label), "step 8: {testid}: {text}");
    }
    let keys = text_of(c, "[data-testid=nav-keys]").await;
    assert!(keys.contains("バックアップ ✓"), "step 8: nav-keys: {keys}");
    assert_eq!(text_of(c, "#history-view h1").await, "履歴");
    let table = text_of(c, "[data-testid=history-table]").await;
    for kind in [
        "一覧の取り込み",
        "バンドルの出力",
        "修復結果の読み込み",
        "バックアップの作成",
        "日時",
    ] {
        assert!(
            table.contains(kind),
            "step 8: history-table lacks {kind}: {table}"
        );
    }
    assert_eq!(text_of(c, "#lang").await, "English");
    let lang = js(c, "return document.documentElement.lang;", vec![]).await;
    assert_eq!(lang, json!("ja"));
    save_screenshot(c, "31-workflow-history-ja.png").await;

    click(c, "[data-testid=nav-agents]").await;
    assert_eq!(text_of(c, "#agents-view h1").await, "エージェント");
    wait_text(
        c,
        "[data-testid=agent-count]",
        Duration::from_secs(5),
        |t| t == "エージェント 36 台",
    )
    .await;
    let chip = text_of(c, "[data-testid=chip-bundle_exported]").await;
    assert!(chip.contains("バンドル出力済み"), "step 8: chip: {chip}");
    let pills: Vec<String> = drawn_rows(c).await.into_iter().map(|r| r.0).collect();
    assert!(
        pills
            .iter()
            .all(|p| p == "バンドル出力済み" || p == "修復済み")
            && !pills.is_empty(),
        "step 8: status pills in Japanese: {pills:?}"
    );
    save_screenshot(c, "32-workflow-agents-ja.png").await;

    click(c, "#lang").await;
    wait_text(c, "[data-testid=nav-agents]", Duration::from_secs(5), |t| {
        t.contains("Agents")
    })
    .await;
    assert_eq!(text_of(c, "#agents-view h1").await, "Agents");
    assert_eq!(text_of(c, "[data-testid=agent-count]").await, "36 agents");
    assert_eq!(text_of(c, "#lang").await, "日本語");
    save_screenshot(c, "33-workflow-agents-en.png").await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_main_workflow_in_the_real_window() {
    let started = Instant::now();
    let data = tempfile::tempdir().unwrap();
    let empty_root = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start(&[
        ("CERTMEND_DATA_DIR", data.path()),
        ("CERTMEND_ROOT", empty_root.path()),
    ]);
    let client = driver.open_app().await;
    wait_until_ready(&client).await;

    let cert = certmend_core::cert::load(
        &data
            .path()
            .join(INSTALL)
            .join("PCCSRV/Pccnt/Common/OfcNTCer.dat"),
    )
    .expect("the app wrote the demo server into its data folder");
    let info = cert.info();
    let list = scratch.path().join(LIST_NAME);
    let agents = write_list(&data.path().join(DEMO_LIST), &list);
    let target = scratch.path().join("stick");
    std::fs::create_dir_all(&target).unwrap();
    let w = World {
        client,
        data: data.path().to_path_buf(),
        list,
        agents,
        target,
        sha1: hex_digits(&info.sha1_thumbprint),
        sha256: hex_digits(&info.sha256),
    };
    assert_eq!(w.sha1, info.sha1_thumbprint);

    let mut lap = Instant::now();
    let mut timed = |step: &str| {
        eprintln!("{step}: {:?}", lap.elapsed());
        lap = Instant::now();
    };
    step_demo_server(&w).await;
    timed("1 demo server");
    step_import(&w).await;
    timed("2 import");
    step_filter_and_search(&w).await;
    timed("3 filter and search");
    step_export(&w).await;
    timed("4 export");
    step_receipt(&w).await;
    timed("5 receipt");
    step_backup(&w).await;
    timed("6 backup");
    step_restore_kit(&w).await;
    timed("6b restore kit");
    step_history(&w).await;
    timed("7 history");
    step_share_export(&w).await;
    timed("7b share export");
    step_japanese(&w).await;
    timed("8 japanese");
    w.client.close().await.unwrap();
    eprintln!("workflow: {:?}", started.elapsed());
}
