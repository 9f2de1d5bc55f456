#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The shell's commands through Tauri's IPC on the mock runtime, with the real
//! tauri.conf.json and capability file: arguments as the window sends them, results
//! and `{code, message}` errors as the window receives them, and what the capability
//! refuses. (The real window walks the same commands in tests/e2e.)

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Listener, Manager, WebviewWindow};

fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

fn code(error: Value) -> String {
    assert!(error["message"].is_string(), "{error}");
    error["code"].as_str().unwrap_or_default().to_string()
}

// One test: the app reads its folders from the environment, which is per process.
#[test]
fn commands_through_the_ipc() {
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    std::env::set_var("CERTMEND_DATA_DIR", data.path());
    std::env::set_var("CERTMEND_ROOT", root.path());
    std::env::set_var("CERTMEND_DB", data.path().join("app.sqlite3"));

    let mut app = certmend_app_lib::builder(mock_builder())
        .build(certmend_app_lib::context())
        .unwrap();
    // One turn of the (mock) event loop runs the app's setup and opens the window
    // tauri.conf.json declares; `run` would block.
    #[allow(deprecated)]
    app.run_iteration(|_, _| {});
    let window = app
        .get_webview_window("main")
        .expect("the configured window");

    // No server on this machine: the demo, labelled as such, with the certificate
    // the core reads from the same file.
    let server = invoke(&window, "open_server", json!({})).unwrap();
    assert_eq!(server["fell_back_to_demo"], json!(true));
    let install = Path::new(
        server["report"]["server"]["install_folder"]
            .as_str()
            .unwrap(),
    );
    assert!(install.starts_with(data.path()), "{}", install.display());
    let cert =
        certmend_core::cert::load(&install.join("PCCSRV/Pccnt/Common/OfcNTCer.dat")).unwrap();
    assert_eq!(
        server["report"]["certificate"]["sha1_thumbprint"],
        json!(cert.info().sha1_thumbprint)
    );

    // What the capability file does not grant is refused before any code runs: the
    // window has no dialog, fs or shell permission (dialogs are opened from Rust).
    let refused = invoke(&window, "plugin:dialog|open", json!({ "options": {} })).unwrap_err();
    assert!(refused.to_string().contains("not allowed"), "{refused}");
    assert!(invoke(&window, "no_such_command", json!({})).is_err());

    // Paths from the window must be absolute; errors cross as {code, message}.
    let bad = invoke(&window, "choose_server", json!({ "path": "../etc" })).unwrap_err();
    assert_eq!(code(bad), "app.bad_path");
    let bad = invoke(&window, "start_import", json!({ "paths": ["list.csv"] })).unwrap_err();
    assert_eq!(code(bad), "app.bad_path");
    // open_folder opens only folders the app wrote.
    let bad = invoke(&window, "open_folder", json!({ "path": "/etc" })).unwrap_err();
    assert!(code(bad).starts_with("app."));

    // A dropped list is recognised; importing it is a job that ends in job-done.
    let list = data
        .path()
        .join("demo-server")
        .join(certmend_core::demo::LIST_FILE);
    let dropped = invoke(&window, "classify_drop", json!({ "paths": [list] })).unwrap();
    assert_eq!(dropped[0]["kind"]["kind"], json!("list"), "{dropped}");
    let (tx, rx) = mpsc::channel();
    app.listen_any("job-done", move |event| {
        let _ = tx.send(event.payload().to_string());
    });
    let job = invoke(&window, "start_import", json!({ "paths": [list] })).unwrap();
    let done: Value =
        serde_json::from_str(&rx.recv_timeout(Duration::from_secs(60)).unwrap()).unwrap();
    assert_eq!(done["job"], job);
    assert_eq!(done["error"], Value::Null, "{done}");
    let report = &done["result"][0]["report"];
    assert_eq!(report["agents"], json!(36), "{done}");

    // The table's pages: counted once, then rows only.
    let page = invoke(
        &window,
        "agents_page",
        json!({ "request": { "offset": 0, "limit": 10, "sort": "name" } }),
    )
    .unwrap();
    assert_eq!(page["total"], json!(36));
    assert_eq!(page["counts"], json!([["mismatched", 36]]));
    assert_eq!(page["rows"].as_array().unwrap().len(), 10);
    let rows_only = invoke(
        &window,
        "agents_page",
        json!({ "request": { "offset": 10, "limit": 10, "skip_counts": true } }),
    )
    .unwrap();
    assert_eq!(
        (&rows_only["total"], &rows_only["counts"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(rows_only["rows"].as_array().unwrap().len(), 10);
    assert_ne!(rows_only["rows"][0]["id"], page["rows"][0]["id"]);

    // Bundles on a stick that a PC changed: Verify bundles names the file; a receipt
    // forged on another computer changes no status; a genuine one shows its source.
    let stick = root.path().join("stick");
    let job = invoke(
        &window,
        "start_export",
        json!({ "request": { "out_dir": stick, "agents": ["PC-ACCT-017", "PC-DEV-024"], "syntax": "seed" } }),
    )
    .unwrap();
    let done: Value =
        serde_json::from_str(&rx.recv_timeout(Duration::from_secs(60)).unwrap()).unwrap();
    assert_eq!(done["job"], job);
    assert_eq!(done["error"], Value::Null, "{done}");
    assert_eq!(
        done["result"]["bundle_check"],
        Value::Null,
        "a new folder: {done}"
    );
    let clean = invoke(&window, "verify_bundles", json!({ "dir": stick })).unwrap();
    assert_eq!(clean["findings"], json!([]), "{clean}");
    assert_eq!(clean["bundles"], json!(2));
    std::fs::write(stick.join("PC-ACCT-017").join("IpXfer.exe"), b"MZ swapped").unwrap();
    let check = invoke(&window, "verify_bundles", json!({ "dir": stick })).unwrap();
    assert_eq!(
        check["findings"][0]["code"],
        json!("bundle_check.changed"),
        "{check}"
    );
    assert_eq!(check["findings"][0]["agent"], json!("PC-ACCT-017"));
    let bad = invoke(&window, "verify_bundles", json!({ "dir": "stick" })).unwrap_err();
    assert_eq!(code(bad), "app.bad_path");
    let ids: std::collections::BTreeMap<String, String> = done["result"]["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["agent"]["name"].as_str().unwrap().to_string(),
                b["bundle_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let line = |computer: &str, agent: &str| {
        format!(
            "certmend-receipt=1;computer={computer};bundle={};run=77;date=d;time=t;mode=repair;ipxfer=IpXfer_x64.exe;ipxfer_exit=0;before=AA;after={};result=REPAIRED\r\n",
            ids[agent], server["report"]["certificate"]["sha256"].as_str().unwrap()
        )
    };
    std::fs::create_dir(stick.join("receipts")).unwrap();
    std::fs::write(
        stick.join("receipts").join("PC-ACCT-017.txt"),
        line("PC-ACCT-017", "PC-DEV-024") + &line("PC-ACCT-017", "PC-ACCT-017"),
    )
    .unwrap();
    let report = invoke(&window, "read_receipts", json!({ "dir": stick })).unwrap();
    assert_eq!(
        report["disagreeing"][0]["code"],
        json!("receipts.wrong_computer"),
        "{report}"
    );
    assert_eq!(report["applied"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(
        report["bundle_check"]["findings"][0]["code"],
        json!("bundle_check.changed")
    );
    let repaired = invoke(
        &window,
        "agents_page",
        json!({ "request": { "offset": 0, "limit": 100, "status": "repaired" } }),
    )
    .unwrap();
    assert_eq!(repaired["rows"].as_array().unwrap().len(), 1, "{repaired}");
    let row = &repaired["rows"][0];
    assert_eq!(row["name"], json!("PC-ACCT-017"));
    assert_eq!(row["status_receipt"]["line"], json!(2), "{row}");
    assert_eq!(row["status_receipt"]["run_id"], json!("77"));

    // The server's own key pair: a wrong password has its own code; the right one
    // shows the pair and its relation to the server.
    let wrong = invoke(
        &window,
        "keypair_show",
        json!({ "file": { "password": "not-the-password" } }),
    )
    .unwrap_err();
    assert_eq!(code(wrong), "keypair.wrong_password");
    let pair = invoke(
        &window,
        "keypair_show",
        json!({ "file": { "password": certmend_core::demo::DEMO_KEY_PAIR_PASSWORD } }),
    )
    .unwrap();
    let checks = &pair["checks"];
    assert_eq!(
        checks["equals_server_certificate"]["relation"],
        json!("current"),
        "{pair}"
    );
    assert_eq!(checks["key_matches_certificate"], json!(true), "{pair}");

    // The history holds what happened.
    let events = invoke(&window, "events", json!({ "limit": 50 })).unwrap();
    assert!(!events.as_array().unwrap().is_empty());
}
