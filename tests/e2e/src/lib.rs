//! The harness of the end-to-end suites: tauri-driver in front of WebKitWebDriver,
//! the real certmend window under Xvfb, and small helpers to find text and save
//! screenshots for people (target/e2e/).
//!
//! Run by `cargo xtask test`, which builds the app, installs tauri-driver and wraps the
//! run in xvfb-run; it passes their paths in CERTMEND_APP and CERTMEND_TAURI_DRIVER.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

pub fn required_env(name: &str) -> PathBuf {
    let value = std::env::var_os(name)
        .unwrap_or_else(|| panic!("{name} is not set: run these tests through `cargo xtask test`"));
    let path = PathBuf::from(value);
    assert!(path.is_file(), "{name}={} does not exist", path.display());
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// tauri-driver with an isolated environment for the app: its own data, config and
/// cache folders (so no state leaks between tests) and the server root to open.
pub struct Driver {
    child: Child,
    port: u16,
    _home: tempfile::TempDir,
}

impl Driver {
    pub fn start(envs: &[(&str, &Path)]) -> Self {
        let home = tempfile::tempdir().unwrap();
        let port = free_port();
        let native_port = free_port();
        let mut cmd = Command::new(required_env("CERTMEND_TAURI_DRIVER"));
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env("LANG", "en_US.UTF-8")
        .env_remove("CERTMEND_ROOT")
        .env_remove("CERTMEND_DATA_DIR");
        for (name, value) in envs {
            cmd.env(name, value);
        }
        let child = cmd.spawn().expect("tauri-driver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            port,
            _home: home,
        }
    }

    pub async fn open_app(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("wry"));
        caps.insert(
            "tauri:options".into(),
            json!({ "application": required_env("CERTMEND_APP") }),
        );
        // tauri-driver listens before WebKitWebDriver behind it is ready: the first
        // session request can then end without an answer (hyper's IncompleteMessage).
        // A few tries, then the error.
        let mut last = None;
        for attempt in 0..4 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{}", self.port))
                .await
            {
                Ok(client) => return client,
                Err(e) => last = Some(e),
            }
        }
        panic!("a WebDriver session with the app: {last:?}")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: tauri-driver then stops WebKitWebDriver, which would
        // otherwise keep its port and hang the test run's output.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn wait_until_ready(client: &Client) {
    client
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("body[data-ready='true']"))
        .await
        .expect("the window shows the server");
}

pub async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// A screenshot for people: the app's X window as the X server shows it, after the
/// page has painted two frames. Not WebDriver's screenshot: WebKitGTK's snapshot hangs
/// with compositing off, which is how the app runs (see src-tauri/src/main.rs).
pub async fn save_screenshot(client: &Client, name: &str) {
    client
        .execute(
            "return new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));",
            vec![],
        )
        .await
        .unwrap();
    let window = app_window();
    let path = screenshot_dir().join(name);
    let status = Command::new("import")
        .args(["-window", &window])
        .arg(format!("png:{}", path.display()))
        .status()
        .expect("ImageMagick's import runs");
    assert!(
        status.success(),
        "import -window {window} {}",
        path.display()
    );
}

/// The X window id of the visible window titled "certmend" (one app runs at a time).
fn app_window() -> String {
    let out = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", "^certmend$"])
        .output()
        .expect("xdotool runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(str::to_string)
        .unwrap_or_else(|| {
            panic!(
                "no visible certmend window: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}
