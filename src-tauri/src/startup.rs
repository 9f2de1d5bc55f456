//! What happens before the window exists: the WebView2 check on Windows, and how a
//! start that fails is told to the admin.
//!
//! The window needs Microsoft's Edge WebView2 runtime. Windows 11 has it; Windows Server
//! 2016/2019/2022, where Apex One servers run, usually do not, and the isolated
//! networks our users carry sticks into cannot download it. Without it Tauri panics
//! ("failed to create window") and the process hangs — and a release build has no
//! console, so the admin would see nothing at all. So on Windows the app asks the
//! WebView2 loader for the runtime's version before it builds anything; when there is
//! none it shows a native message box (Japanese or English, from the OS's UI
//! language) saying what is missing, where the offline installer comes from and that
//! `certmend.exe` does every task from a command prompt, writes the same to its
//! start-up log, and exits with [`EXIT_WEBVIEW2_MISSING`].
//!
//! The start-up log is `certmend-app.log` in the data folder (`%LOCALAPPDATA%\certmend\
//! data` on Windows), next to the state database: the one place an admin can look
//! when a GUI app with no console did not open.

use std::io::Write;
use std::path::PathBuf;

/// Exit status when the WebView2 runtime is missing (README: "The desktop app").
pub const EXIT_WEBVIEW2_MISSING: i32 = 3;
/// Exit status when the app could not start for another reason (also logged).
pub const EXIT_START_FAILED: i32 = 1;
/// Set to 1 for scripted runs (and the Wine tests): the notice goes to the log and
/// stderr only, no message box waits for a click.
pub const NO_MESSAGE_BOX_ENV: &str = "CERTMEND_NO_MESSAGE_BOX";
/// The start-up log, in the data folder.
pub const LOG_FILE: &str = "certmend-app.log";
/// The log is cut back to nothing beyond this size: it holds start-up failures only.
const LOG_LIMIT: u64 = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Japanese,
}

impl Language {
    /// From a BCP 47 tag as the OS gives it (`ja-JP`, `ja`, `en-US`); English otherwise.
    pub fn from_tag(tag: Option<&str>) -> Self {
        match tag {
            Some(t) if t.to_ascii_lowercase().starts_with("ja") => Language::Japanese,
            _ => Language::English,
        }
    }

    /// The language of the OS's user interface.
    pub fn of_system() -> Self {
        Self::from_tag(sys_locale::get_locale().as_deref())
    }
}

/// What the admin is told, in a message box and in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Stable code, as in every certmend error (`app.webview2_missing`).
    pub code: &'static str,
    pub title: String,
    pub body: String,
}

/// Microsoft's page for the runtime and its "Evergreen Standalone Installer".
pub const WEBVIEW2_PAGE: &str = "https://developer.microsoft.com/microsoft-edge/webview2/";

pub fn webview2_missing(language: Language, detail: &str) -> Notice {
    let (title, body) = match language {
        Language::English => (
            "certmend: the WebView2 runtime is missing".to_string(),
            format!(
                "certmend cannot open its window: the Microsoft Edge WebView2 Runtime is not \
                 installed on this computer. Windows Server 2016, 2019 and 2022 usually do not \
                 include it (Windows 11 does).\n\n\
                 To install it without internet access: on a computer that has it, download the \
                 \"Evergreen Standalone Installer\" (x64) from Microsoft's WebView2 page\n{WEBVIEW2_PAGE}\n\
                 copy it to this computer and run it as administrator (or put it beside \
                 certmend's MSI before installing: the installer runs it). Then start certmend \
                 again.\n\n\
                 Meanwhile certmend.exe does every task from a command prompt: \
                 run \"certmend --help\".\n\n(WebView2 loader: {detail})"
            ),
        ),
        Language::Japanese => (
            "certmend: WebView2 ランタイムがありません".to_string(),
            format!(
                "certmend のウィンドウを開けません。このコンピューターには Microsoft Edge \
                 WebView2 ランタイムがインストールされていません。Windows Server 2016 / 2019 / \
                 2022 には通常含まれていません (Windows 11 には含まれています)。\n\n\
                 インターネットに接続できない環境では、接続できるコンピューターで Microsoft の \
                 WebView2 のページ\n{WEBVIEW2_PAGE}\nから「エバーグリーン スタンドアロン \
                 インストーラー」(x64) をダウンロードし、このコンピューターにコピーして管理者として\
                 実行してください (certmend の MSI と同じフォルダーに置いてからインストールすると、\
                 インストーラーが実行します)。その後、certmend をもう一度起動してください。\n\n\
                 それまでの間も、certmend.exe でコマンド プロンプトからすべての作業を行えます \
                 (\"certmend --help\" を実行してください)。\n\n(WebView2 ローダー: {detail})"
            ),
        ),
    };
    Notice {
        code: "app.webview2_missing",
        title,
        body,
    }
}

pub fn start_failed(language: Language, detail: &str) -> Notice {
    let (title, body) = match language {
        Language::English => (
            "certmend could not start".to_string(),
            format!(
                "certmend could not open its window:\n{detail}\n\ncertmend.exe does every task \
                 from a command prompt: run \"certmend --help\"."
            ),
        ),
        Language::Japanese => (
            "certmend を起動できませんでした".to_string(),
            format!(
                "certmend のウィンドウを開けませんでした:\n{detail}\n\ncertmend.exe でコマンド \
                 プロンプトからすべての作業を行えます (\"certmend --help\" を実行してください)。"
            ),
        ),
    };
    Notice {
        code: "app.start",
        title,
        body,
    }
}

/// Tells the admin: stderr (a console, when there is one), the start-up log, and a
/// message box unless [`NO_MESSAGE_BOX_ENV`] is set.
pub fn report(notice: &Notice) {
    let one_line = notice.body.replace('\n', " ");
    eprintln!("certmend-app: error[{}]: {one_line}", notice.code);
    append_to_log(&format!("error[{}]: {one_line}", notice.code));
    if std::env::var_os(NO_MESSAGE_BOX_ENV).is_none_or(|v| v.is_empty() || v == "0") {
        message_box(notice);
    }
}

pub fn log_path() -> Option<PathBuf> {
    certmend_core::paths::data_dir().map(|d| d.join(LOG_FILE))
}

/// Appends one timestamped line. Failing to log must not stop the notice itself.
fn append_to_log(line: &str) {
    let Some(path) = log_path() else {
        return;
    };
    if let Some(dir) = path.parent() {
        // The data folder: owner-only on Unix; under %LOCALAPPDATA% on Windows, whose
        // access list admits only the user, SYSTEM and Administrators.
        let _ = certmend_core::paths::create_private_dir(dir);
    }
    let too_big = std::fs::metadata(&path).is_ok_and(|m| m.len() > LOG_LIMIT);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(!too_big)
        .write(true)
        .truncate(too_big)
        .open(&path);
    if let Ok(mut file) = file {
        let when = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let _ = writeln!(
            file,
            "{when} certmend-app {}: {line}",
            env!("CARGO_PKG_VERSION")
        );
    }
}

#[cfg(windows)]
fn message_box(notice: &Notice) {
    let _ = rfd::MessageDialog::new()
        .set_level(rfd::MessageLevel::Error)
        .set_title(&notice.title)
        .set_description(&notice.body)
        .set_buttons(rfd::MessageButtons::Ok)
        .show();
}

/// Elsewhere the window toolkit (WebKitGTK) is a package dependency; stderr and the
/// log say enough.
#[cfg(not(windows))]
fn message_box(_notice: &Notice) {}

/// On Windows: the WebView2 runtime's version, or the notice to give when it is
/// missing. The loader looks the runtime up in the registry and on disk; it does not
/// start it.
#[cfg(windows)]
pub fn check_webview2() -> Result<String, Notice> {
    tauri::webview_version().map_err(|e| webview2_missing(Language::of_system(), &e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_follows_the_os_tag() {
        assert_eq!(Language::from_tag(Some("ja-JP")), Language::Japanese);
        assert_eq!(Language::from_tag(Some("JA")), Language::Japanese);
        assert_eq!(Language::from_tag(Some("en-US")), Language::English);
        assert_eq!(Language::from_tag(Some("de-DE")), Language::English);
        assert_eq!(Language::from_tag(None), Language::English);
    }

    /// Both languages name what is missing, where the offline installer comes from, and
    /// the CLI that works meanwhile, and keep the loader's own words for support.
    #[test]
    fn the_webview2_notice_says_what_is_missing_and_what_to_do() {
        for (language, must) in [
            (
                Language::English,
                [
                    "WebView2 Runtime",
                    "Evergreen Standalone Installer",
                    "certmend --help",
                ],
            ),
            (
                Language::Japanese,
                [
                    "WebView2 ランタイム",
                    "エバーグリーン スタンドアロン インストーラー",
                    "certmend --help",
                ],
            ),
        ] {
            let notice = webview2_missing(language, "0x80070002");
            assert_eq!(notice.code, "app.webview2_missing");
            for text in must.iter().chain([&WEBVIEW2_PAGE, &"0x80070002"]) {
                assert!(
                    notice.body.contains(text),
                    "{language:?}: {text}\n{}",
                    notice.body
                );
            }
        }
    }

    #[test]
    fn report_writes_one_line_to_the_start_up_log() {
        let tmp = tempfile::tempdir().unwrap();
        // The data folder comes from the environment; no other test in this crate's
        // unit tests reads it.
        std::env::set_var(certmend_core::paths::DATA_DIR_ENV, tmp.path());
        std::env::set_var(NO_MESSAGE_BOX_ENV, "1");
        report(&webview2_missing(Language::English, "not found"));
        report(&start_failed(Language::Japanese, "boom"));
        let log = std::fs::read_to_string(tmp.path().join(LOG_FILE)).unwrap();
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 2, "{log}");
        assert!(lines[0].contains("error[app.webview2_missing]: certmend cannot open"));
        assert!(
            lines[0].ends_with("(WebView2 loader: not found)"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains("error[app.start]: certmend のウィンドウを開けませんでした: boom")
        );
    }
}
