#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real certmend window (WebKitGTK under Xvfb), driven through WebDriver:
//! tauri-driver in front of WebKitWebDriver, as a user's clicks would.
//!
//! Run by `cargo xtask test`, which builds the app, installs tauri-driver and wraps the
//! run in xvfb-run; it passes their paths in CERTMEND_APP and CERTMEND_TAURI_DRIVER.
//! Screenshots for people land in target/e2e/.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

fn required_env(name: &str) -> PathBuf {
    let value = std::env::var_os(name)
        .unwrap_or_else(|| panic!("{name} is not set: run these tests through `cargo xtask test`"));
    let path = PathBuf::from(value);
    assert!(path.is_file(), "{name}={} does not exist", path.display());
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// tauri-driver with an isolated environment for the app: its own data, config and
/// cache folders (so no state leaks between tests) and the server root to open.
struct Driver {
    child: Child,
    port: u16,
    _home: tempfile::TempDir,
}

impl Driver {
    fn start(envs: &[(&str, &Path)]) -> Self {
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

    async fn open_app(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("wry"));
        caps.insert(
            "tauri:options".into(),
            json!({ "application": required_env("CERTMEND_APP") }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session with the app")
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

async fn wait_until_ready(client: &Client) {
    client
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("body[data-ready='true']"))
        .await
        .expect("the window shows the server");
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn save_screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(name), png).unwrap();
}

const DEMO_CERT: &str = "Program Files (x86)/Trend Micro/Apex One/PCCSRV/Pccnt/Common/OfcNTCer.dat";

#[tokio::test(flavor = "current_thread")]
async fn no_server_opens_the_demo_and_shows_its_certificate() {
    let data = tempfile::tempdir().unwrap();
    let empty_root = tempfile::tempdir().unwrap();
    let driver = Driver::start(&[
        ("CERTMEND_DATA_DIR", data.path()),
        ("CERTMEND_ROOT", empty_root.path()),
    ]);
    let client = driver.open_app().await;
    wait_until_ready(&client).await;

    // The certificate the window shows is the one the app wrote for its demo server.
    let cert = certmend_core::cert::load(&data.path().join("demo-server").join(DEMO_CERT))
        .expect("the app wrote the demo server into its data folder");
    let info = cert.info();
    assert_eq!(
        text_of(&client, "[data-testid=thumbprint]").await,
        info.sha1_thumbprint
    );
    assert_eq!(
        text_of(&client, "[data-testid=sha256]")
            .await
            .replace(' ', ""),
        info.sha256
    );
    assert_eq!(text_of(&client, "[data-testid=demo-badge]").await, "DEMO");
    assert!(text_of(&client, "[data-testid=demo-banner]")
        .await
        .contains("demo server"));
    assert_eq!(
        text_of(&client, "[data-testid=days-left]").await,
        format!("{} days left", info.days_left)
    );
    let header = text_of(&client, "[data-testid=context-server]").await;
    assert!(header.contains("Apex One"), "{header}");
    assert!(header.contains(&info.sha1_thumbprint[..8]), "{header}");
    let files = text_of(&client, "[data-testid=files]").await;
    // The demo has every known file, its key pair backup included.
    assert!(
        files.contains("OfficeScanAuth.dat") && !files.contains("Missing"),
        "{files}"
    );
    save_screenshot(&client, "01-demo-server-en.png").await;

    // Switch to Japanese.
    client
        .find(Locator::Id("lang"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let heading = text_of(&client, "#cert-heading").await;
    assert_eq!(heading, "サーバー証明書 (OfcNTCer.dat)");
    assert_eq!(text_of(&client, "[data-testid=demo-badge]").await, "デモ");
    assert_eq!(
        text_of(&client, "[data-testid=days-left]").await,
        format!("残り {} 日", info.days_left)
    );
    save_screenshot(&client, "02-demo-server-ja.png").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_given_drive_root_opens_that_server() {
    let root = tempfile::tempdir().unwrap();
    let drive = root.path().join("c");
    let summary = certmend_core::demo::write_demo(
        &drive,
        &certmend_core::demo::DemoOptions {
            seed: Some(11),
            force: false,
        },
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let driver = Driver::start(&[
        ("CERTMEND_DATA_DIR", data.path()),
        ("CERTMEND_ROOT", &drive),
    ]);
    let client = driver.open_app().await;
    wait_until_ready(&client).await;
    assert_eq!(
        text_of(&client, "[data-testid=thumbprint]").await,
        summary.current_sha1_thumbprint
    );
    // A server was found, so the app made no demo server of its own.
    assert!(!data.path().join("demo-server").exists());
    client.close().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_broken_certificate_is_explained_not_hidden() {
    let root = tempfile::tempdir().unwrap();
    let install = root.path().join("Program Files/Trend Micro/OfficeScan");
    let common = install.join("PCCSRV/Pccnt/Common");
    std::fs::create_dir_all(&common).unwrap();
    let key = certmend_core::demo::generate_key_pair(3).unwrap();
    let der = certmend_core::demo::self_signed_certificate(
        &key,
        &certmend_core::demo::CertSpec {
            common_name: "broken".into(),
            organization: None,
            serial: vec![1],
            not_before: std::time::SystemTime::now().into(),
            not_after: (std::time::SystemTime::now() + Duration::from_secs(86_400 * 30)).into(),
        },
    )
    .unwrap();
    std::fs::write(common.join("OfcNTCer.dat"), &der[..der.len() / 2]).unwrap();
    let data = tempfile::tempdir().unwrap();
    let driver = Driver::start(&[
        ("CERTMEND_DATA_DIR", data.path()),
        ("CERTMEND_ROOT", root.path()),
    ]);
    let client = driver.open_app().await;
    wait_until_ready(&client).await;
    let error = text_of(&client, "[data-testid=cert-error]").await;
    assert!(error.contains("truncated"), "{error}");
    assert!(client
        .find(Locator::Css("[data-testid=cert-card]"))
        .await
        .is_err());
    save_screenshot(&client, "03-broken-certificate-en.png").await;
    client.close().await.unwrap();
}
