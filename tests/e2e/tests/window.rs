#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real certmend window (WebKitGTK under Xvfb), driven through WebDriver:
//! tauri-driver in front of WebKitWebDriver, as a user's clicks would.
//!
//! Run by `cargo xtask test`, which builds the app, installs tauri-driver and wraps the
//! run in xvfb-run; it passes their paths in CERTMEND_APP and CERTMEND_TAURI_DRIVER.
//! Screenshots for people land in target/e2e/.

use std::time::Duration;

use certmend_e2e::{save_screenshot, text_of, wait_until_ready, Driver, Locator};

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

    // The page's hardening (tauri.conf.json): Object.prototype is frozen, and the CSP
    // keeps an inline script from running and a <base> element from moving the page.
    let hardening = client
        .execute(
            r#"
            const script = document.createElement("script");
            script.textContent = "window.__inlineRan = true;";
            document.head.append(script);
            const base = document.createElement("base");
            base.href = "https://example.invalid/";
            document.head.append(base);
            const moved = document.baseURI.startsWith("https://example.invalid");
            base.remove();
            script.remove();
            return [Object.isFrozen(Object.prototype), window.__inlineRan === true, moved];
            "#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(hardening, serde_json::json!([true, false, false]));
    // The data folder the app made its database in is the user's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(data.path()), 0o700);
        assert_eq!(mode(&data.path().join("certmend.sqlite3")), 0o600);
    }

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
