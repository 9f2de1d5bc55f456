#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One real drag and drop (the smoke test of the drop handler): a list file dragged
//! from a small GTK window onto the app window with xdotool lands in the agent table.
//! Every other test imports through the command the drop handler calls.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use certmend_e2e::{save_screenshot, wait_until_ready, Driver, Locator};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn xdotool(args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .args(args)
        .output()
        .expect("xdotool (installed by cargo xtask test)");
    assert!(out.status.success(), "xdotool {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The first window whose title matches, waiting for it to appear.
fn window_named(name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = Command::new("xdotool")
            .args(["search", "--name", name])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(id) = text.lines().next() {
            return id.to_string();
        }
        assert!(Instant::now() < deadline, "no window named {name}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The centre of a window, in screen coordinates.
fn centre(window: &str) -> (i64, i64) {
    let geometry = xdotool(&["getwindowgeometry", "--shell", window]);
    let value = |key: &str| -> i64 {
        geometry
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {geometry}"))
    };
    (
        value("X") + value("WIDTH") / 2,
        value("Y") + value("HEIGHT") / 2,
    )
}

#[tokio::test(flavor = "current_thread")]
async fn a_list_dropped_on_the_window_is_imported() {
    let data = tempfile::tempdir().unwrap();
    let empty_root = tempfile::tempdir().unwrap();
    let driver = Driver::start(&[
        ("CERTMEND_DATA_DIR", data.path()),
        ("CERTMEND_ROOT", empty_root.path()),
    ]);
    let client = driver.open_app().await;
    wait_until_ready(&client).await;
    let list = data
        .path()
        .join("demo-server/agents/CertificateManager-mismatched.csv");
    assert!(list.is_file());

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("drag_source.py");
    let _source = Killed(
        // The system Python: it has python3-gi (a python3 earlier on PATH may not).
        Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(&list)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with python3-gi"),
    );
    let source = window_named("certmend-drag-source");
    let app = window_named("^certmend$");
    let (sx, sy) = centre(&source);
    let (ax, ay) = centre(&app);
    // Press on the source, move across in steps (GTK starts a drag after a few pixels
    // of motion), release over the app.
    xdotool(&["mousemove", &sx.to_string(), &sy.to_string()]);
    xdotool(&["mousedown", "1"]);
    for step in 1..=20 {
        let x = sx + (ax - sx) * step / 20;
        let y = sy + (ay - sy) * step / 20;
        xdotool(&["mousemove", &x.to_string(), &y.to_string()]);
        std::thread::sleep(Duration::from_millis(30));
    }
    std::thread::sleep(Duration::from_millis(300));
    xdotool(&["mouseup", "1"]);

    // The import report for the dropped file, and the agents in the table.
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("[data-testid=import-report]"))
        .await
        .expect("an import report after the drop");
    let report = client
        .find(Locator::Css("[data-testid=import-report]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        report.contains("CertificateManager-mismatched.csv"),
        "{report}"
    );
    assert!(report.contains("36"), "{report}");
    let count = client
        .find(Locator::Css("[data-testid=nav-agents]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(count.contains("36"), "{count}");
    save_screenshot(&client, "10-dropped-list.png").await;
    client.close().await.unwrap();
}
