//! The text of `repair.cmd`, the script an admin runs on each agent.
//!
//! It refuses to run without administrator rights, picks IpXfer for the processor, runs
//! it with the bundled certificate, then checks the result itself (IpXfer's exit codes
//! are undocumented). IpXfer stops the agent service and starts it again (KA-0006149),
//! so the script first waits, at most about 60 s, until `sc query ntrtscan` says
//! RUNNING. The agent holds the server's certificate when its own `OfcNTCer.dat` has
//! the bundled file's SHA-256, or else the same SHA-1 thumbprint (`certutil -dump`):
//! Trend's documented check is the serial number / thumbprint (KA-0010504,
//! KA-0010478), not the file's bytes, and the thumbprint is over the DER, so a copy
//! kept as PEM is the same certificate. With the XG syntax it also reads the agent's
//! registry value `Server` and warns when it does not name the server given to `-s`.
//! Every run, failed or not, appends a receipt line, which says which check matched.
//!
//! How it stays safe: no agent-supplied text is ever written into it (agents are named
//! by the bundle id); the values it does hold are validated and escaped for cmd.exe;
//! delayed expansion stays off (it would eat `!` in passwords); control flow uses
//! `goto`, never parenthesised blocks, so paths with `(x86)` cannot break it. Text read
//! on the agent (certutil's dump, which prints the certificate's names, and the
//! registry) is compared as `for` variables, which cmd.exe never parses again, or has
//! its double quotes removed and is checked to be hex before it is used anywhere else.
//! The text is ASCII, or CP932 for Japanese messages (the code page Japanese cmd.exe
//! runs in), never UTF-8. Line ends are CRLF.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::ErrorCode;

/// Exit codes of repair.cmd (also written in the receipt as words).
pub mod exit {
    pub const OK: u8 = 0;
    pub const DIFFERS: u8 = 1;
    pub const CERT_STILL_DIFFERENT: u8 = 2;
    pub const IPXFER_FAILED: u8 = 3;
    pub const AGENT_NOT_FOUND: u8 = 4;
    pub const NOT_ADMIN: u8 = 5;
    pub const BUNDLE_BROKEN: u8 = 6;
}

/// How long repair.cmd waits for the agent service after IpXfer: this many polls of
/// `sc query ntrtscan`, one second apart (about a minute). Public field scripts wait
/// 10 s or until the service runs again; a slow agent gets more.
pub const SERVICE_WAIT_POLLS: u32 = 60;

/// Which command line IpXfer gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "form")]
pub enum IpXferSyntax {
    /// `-e <cert> [-pwd <password>]`: Trend's seed procedure.
    Seed,
    /// XG / Apex One: `-s <server> -p <port> -sp <https port> -c <agent port> -e ... [-pwd ...]`.
    Xg {
        server: String,
        http_port: u16,
        https_port: u16,
        agent_port: u16,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptLanguage {
    /// English messages, ASCII.
    En,
    /// Japanese messages, CP932.
    Ja,
}

/// Where the IpXfer executables are, relative to the bundle folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolsLocation {
    /// In the bundle folder itself.
    InBundle,
    /// Once for the whole stick, in `tools\` at the output root.
    Shared,
}

/// The agent unload password (`-pwd`).
#[derive(Debug, Clone)]
pub enum Password {
    /// Asked for when the script runs (empty = none). The default.
    Prompt,
    /// Written into the script: only when the admin asks for it.
    Embedded(Zeroizing<String>),
}

#[derive(Debug, Clone)]
pub struct ScriptOptions {
    /// Lower-case hex; names the bundle in receipts.
    pub bundle_id: String,
    /// SHA-256 of the bundled OfcNTCer.dat, upper-case hex.
    pub certificate_sha256: String,
    /// SHA-1 thumbprint of the bundled certificate (over its DER), 40 hex digits.
    pub certificate_sha1_thumbprint: String,
    pub syntax: IpXferSyntax,
    pub language: ScriptLanguage,
    pub tools: ToolsLocation,
    pub password: Password,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("the password contains a double quote (\"), which cannot be passed through cmd.exe safely; choose another, or let the script ask for it")]
    PasswordHasQuote,
    #[error("the password contains a line break or control character, which a script cannot hold")]
    PasswordHasControl,
    #[error("the password has characters that the {0} script cannot encode (English scripts are ASCII; Japanese ones CP932)")]
    PasswordNotEncodable(&'static str),
    #[error("the server name {0:?} is not a host name or IP address")]
    BadServerName(String),
    #[error("port 0 is not a port")]
    BadPort,
    #[error("internal: {0}")]
    Internal(String),
}

impl ErrorCode for ScriptError {
    fn code(&self) -> &'static str {
        match self {
            ScriptError::PasswordHasQuote => "script.password_quote",
            ScriptError::PasswordHasControl => "script.password_control",
            ScriptError::PasswordNotEncodable(_) => "script.password_encoding",
            ScriptError::BadServerName(_) => "script.bad_server",
            ScriptError::BadPort => "script.bad_port",
            ScriptError::Internal(_) => "script.internal",
        }
    }
}

/// Escapes a value for `set "NAME=value"` in a batch file with delayed expansion off:
/// inside the quotes `& | < > ^ ( ) !` are literal; `%` must be doubled. A `"` or a
/// control character cannot be held at all.
pub fn escape_set_value(value: &str) -> Result<String, ScriptError> {
    if value.contains('"') {
        return Err(ScriptError::PasswordHasQuote);
    }
    if value.chars().any(char::is_control) {
        return Err(ScriptError::PasswordHasControl);
    }
    Ok(value.replace('%', "%%"))
}

/// A password as IpXfer must receive it inside `"..."`: the Windows C runtime reads
/// backslashes before a closing quote as escapes, so trailing ones are doubled.
fn argv_quoted_form(value: &str) -> String {
    let trailing = value.len() - value.trim_end_matches('\\').len();
    let mut out = value.to_string();
    out.push_str(&"\\".repeat(trailing));
    out
}

/// Escapes text for `echo` (outside quotes): cmd's specials get a caret, `%` doubles.
fn echo_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '^' | '&' | '|' | '<' | '>' | '(' | ')' => {
                out.push('^');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            _ => out.push(c),
        }
    }
    out
}

fn valid_server_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
}

struct Messages {
    not_admin: &'static str,
    agent_not_found: &'static str,
    tool_missing: &'static str,
    prompt: &'static str,
    bad_password: &'static str,
    running: &'static str,
    waiting_service: &'static str,
    service_late: &'static str,
    same_certificate: &'static str,
    server_differs: &'static str,
    repaired: &'static str,
    ipxfer_failed: &'static str,
    still_different: &'static str,
    next_step: &'static str,
    matches: &'static str,
    differs: &'static str,
    receipt: &'static str,
}

const EN: Messages = Messages {
    not_admin: "This script must run as administrator: right-click repair.cmd and choose \"Run as administrator\". Nothing was changed.",
    agent_not_found: "No Apex One / OfficeScan agent was found on this computer (registry PC-cillinNTCorp). Nothing was changed.",
    tool_missing: "The IpXfer program is missing from this bundle. Export the bundle again. Nothing was changed.",
    prompt: "Agent unload password (press Enter if none; must not contain a double quote or end with a backslash): ",
    bad_password: "That password cannot be passed safely (double quote, or backslash at the end). Type it again.",
    running: "Putting the server certificate on this agent with IpXfer...",
    waiting_service: "Waiting for the agent service (ntrtscan) to run again, at most about a minute...",
    service_late: "The agent service (ntrtscan) did not report RUNNING within about a minute; checking the certificate anyway.",
    same_certificate: "The agent's OfcNTCer.dat is encoded differently from the bundled file, but it is the same certificate (same SHA-1 thumbprint).",
    server_differs: "WARNING: the agent's registry value Server does not name the server given to IpXfer (-s). Check it on this computer.",
    repaired: "REPAIRED: this agent now holds the server certificate.",
    ipxfer_failed: "FAILED: IpXfer reported an error and the agent certificate did not change.",
    still_different: "FAILED: the agent certificate still differs from the server certificate.",
    next_step: "Next step: reinstall the agent on this computer.",
    matches: "MATCHES: this agent holds the server certificate.",
    differs: "DIFFERS: this agent does not hold the server certificate. Run repair.cmd as administrator.",
    receipt: "A receipt was written to the receipts folder of this stick. Bring the stick back to certmend.",
};

const JA: Messages = Messages {
    not_admin: "このスクリプトは管理者として実行してください: repair.cmd を右クリックして「管理者として実行」を選びます。何も変更していません。",
    agent_not_found: "このコンピューターに Apex One / ウイルスバスター Corp. のエージェントが見つかりません (レジストリ PC-cillinNTCorp)。何も変更していません。",
    tool_missing: "このバンドルに IpXfer がありません。バンドルを作り直してください。何も変更していません。",
    prompt: "エージェントのアンロードパスワード (なければ Enter。ダブルクォートを含まず、末尾が円記号でないこと): ",
    bad_password: "このパスワードは安全に渡せません (ダブルクォート、または末尾の円記号)。もう一度入力してください。",
    running: "IpXfer でサーバー証明書をこのエージェントに配置しています...",
    waiting_service: "エージェントのサービス (ntrtscan) が再び実行されるのを待っています (最大約 1 分)...",
    service_late: "エージェントのサービス (ntrtscan) が約 1 分以内に RUNNING になりませんでした。このまま証明書を確認します。",
    same_certificate: "エージェントの OfcNTCer.dat はバンドルのファイルと符号化が異なりますが、同じ証明書です (SHA-1 拇印が一致)。",
    server_differs: "警告: エージェントのレジストリ値 Server が IpXfer に渡したサーバー (-s) を指していません。このコンピューターで確認してください。",
    repaired: "修復完了: このエージェントはサーバー証明書を保持しています。",
    ipxfer_failed: "失敗: IpXfer がエラーを返し、エージェントの証明書は変わりませんでした。",
    still_different: "失敗: エージェントの証明書がまだサーバー証明書と異なります。",
    next_step: "次の手順: このコンピューターのエージェントを再インストールしてください。",
    matches: "一致: このエージェントはサーバー証明書を保持しています。",
    differs: "不一致: このエージェントはサーバー証明書を保持していません。repair.cmd を管理者として実行してください。",
    receipt: "このメモリの receipts フォルダに受領記録を書きました。メモリを certmend に戻してください。",
};

/// Builds repair.cmd: CRLF line ends, ASCII (English) or CP932 (Japanese).
pub fn render(options: &ScriptOptions) -> Result<Zeroizing<Vec<u8>>, ScriptError> {
    let text = render_text(options)?;
    let bytes = match options.language {
        ScriptLanguage::En => {
            if !text.is_ascii() {
                return Err(match options.password {
                    Password::Embedded(_) => ScriptError::PasswordNotEncodable("English"),
                    Password::Prompt => ScriptError::Internal("non-ASCII English script".into()),
                });
            }
            text.as_bytes().to_vec()
        }
        ScriptLanguage::Ja => {
            let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
            if unmappable {
                return Err(ScriptError::PasswordNotEncodable("Japanese"));
            }
            bytes.into_owned()
        }
    };
    Ok(Zeroizing::new(bytes))
}

fn render_text(o: &ScriptOptions) -> Result<Zeroizing<String>, ScriptError> {
    let is_hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    if !is_hex(&o.bundle_id)
        || !is_hex(&o.certificate_sha256)
        || !is_hex(&o.certificate_sha1_thumbprint)
        || o.certificate_sha1_thumbprint.len() != 40
    {
        return Err(ScriptError::Internal("ids must be hex".into()));
    }
    let sha1 = o.certificate_sha1_thumbprint.to_ascii_uppercase();
    // Older Windows prints hashes as bytes with spaces between them.
    let sha1_spaced = sha1
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let m = match o.language {
        ScriptLanguage::En => &EN,
        ScriptLanguage::Ja => &JA,
    };
    let (xg_args, target_server) = match &o.syntax {
        IpXferSyntax::Seed => (String::new(), None),
        IpXferSyntax::Xg {
            server,
            http_port,
            https_port,
            agent_port,
        } => {
            if !valid_server_name(server) {
                return Err(ScriptError::BadServerName(server.clone()));
            }
            if [*http_port, *https_port, *agent_port].contains(&0) {
                return Err(ScriptError::BadPort);
            }
            (
                format!("-s \"{server}\" -p {http_port} -sp {https_port} -c {agent_port} "),
                Some(server.as_str()),
            )
        }
    };
    let tools = match o.tools {
        ToolsLocation::InBundle => "%~dp0",
        ToolsLocation::Shared => "%~dp0..\\tools\\",
    };
    let mut s = Zeroizing::new(String::with_capacity(12 * 1024));
    let mut line = |text: &str| {
        s.push_str(text);
        s.push_str("\r\n");
    };
    let echo = |text: &str| format!("echo {}", echo_text(text));

    line("@echo off");
    line("rem certmend repair script. Generated by certmend; do not edit.");
    line("rem   repair.cmd          put the server certificate on this agent (as administrator)");
    line("rem   repair.cmd /check   only compare this agent's certificate; changes nothing");
    line("setlocal EnableExtensions DisableDelayedExpansion");
    line(&format!("set \"BUNDLE_ID={}\"", o.bundle_id));
    line(&format!("set \"EXPECTED={}\"", o.certificate_sha256));
    line(&format!("set \"EXPECTED_SHA1={sha1}\""));
    line(&format!("set \"EXPECTED_SHA1_SPACED={sha1_spaced}\""));
    match target_server {
        Some(server) => line(&format!("set \"TARGET_SERVER={server}\"")),
        None => line("set \"TARGET_SERVER=\""),
    }
    line("set \"BUNDLE=%~dp0\"");
    line(&format!("set \"TOOLS={tools}\""));
    line("set \"RECEIPTS=%~dp0..\\receipts\"");
    line("set \"RUN_ID=%RANDOM%%RANDOM%%RANDOM%\"");
    line("set \"MODE=repair\"");
    line("if /i \"%~1\"==\"/check\" set \"MODE=check\"");
    line("set \"IPXFER=\"");
    line("set \"IPX_EXIT=\"");
    line("set \"BEFORE=\"");
    line("set \"AFTER=\"");
    line("set \"CHECK=\"");
    line("set \"THUMB=\"");
    line("set \"SERVICE=\"");
    line("set \"WAITED=\"");
    line("set \"SERVER_CHECK=\"");
    line("set \"RESULT=\"");
    line("");
    line("call :find_agent");
    line("if not defined AGENT_DIR goto agent_not_found");
    line("call :hash \"%AGENT_DIR%OfcNTCer.dat\"");
    line("set \"BEFORE=%HASH%\"");
    line("if \"%MODE%\"==\"check\" goto check");
    line("");
    line("rem Administrator rights. net session fails when the Server service is stopped,");
    line("rem so fltmc (which also needs administrator rights) is asked too.");
    line("net session >nul 2>&1");
    line("if not errorlevel 1 goto is_admin");
    line("fltmc >nul 2>&1");
    line("if not errorlevel 1 goto is_admin");
    line("set \"RESULT=NOT_ADMIN\"");
    line(&echo(m.not_admin));
    line("call :receipt");
    line(&format!("exit /b {}", exit::NOT_ADMIN));
    line(":is_admin");
    line("");
    line("rem IpXfer for this processor (a 32-bit cmd on 64-bit Windows sets PROCESSOR_ARCHITEW6432).");
    line("set \"IPXFER=IpXfer.exe\"");
    line("if /i \"%PROCESSOR_ARCHITECTURE%\"==\"AMD64\" set \"IPXFER=IpXfer_x64.exe\"");
    line("if /i \"%PROCESSOR_ARCHITECTURE%\"==\"ARM64\" set \"IPXFER=IpXfer_x64.exe\"");
    line("if defined PROCESSOR_ARCHITEW6432 set \"IPXFER=IpXfer_x64.exe\"");
    line("if not exist \"%TOOLS%%IPXFER%\" goto tool_missing");
    line("if not exist \"%BUNDLE%OfcNTCer.dat\" goto tool_missing");
    line("");
    match &o.password {
        Password::Prompt => {
            line(":ask_password");
            line("set \"AGENT_PWD=\"");
            line(&format!("set /p \"AGENT_PWD={}\"", prompt_text(m.prompt)));
            line("call :check_password");
            line(&format!("if \"%PWD_OK%\"==\"0\" {}", echo(m.bad_password)));
            line("if \"%PWD_OK%\"==\"0\" goto ask_password");
        }
        Password::Embedded(password) => {
            let value = escape_set_value(password)?;
            line("rem The agent unload password was written here at the admin's request.");
            line(&format!("set \"AGENT_PWD={}\"", argv_quoted_form(&value)));
        }
    }
    line("");
    line(&echo(m.running));
    line("if defined AGENT_PWD goto run_with_password");
    line(&format!(
        "\"%TOOLS%%IPXFER%\" {xg_args}-e \"%BUNDLE%OfcNTCer.dat\""
    ));
    line("set \"IPX_EXIT=%ERRORLEVEL%\"");
    line("goto after_run");
    line(":run_with_password");
    line(&format!(
        "\"%TOOLS%%IPXFER%\" {xg_args}-e \"%BUNDLE%OfcNTCer.dat\" -pwd \"%AGENT_PWD%\""
    ));
    line("set \"IPX_EXIT=%ERRORLEVEL%\"");
    line(":after_run");
    line("set \"AGENT_PWD=\"");
    line("");
    line("rem IpXfer stops the agent service and starts it again (KA-0006149): wait until");
    line("rem ntrtscan runs, polling once a second, at most about a minute. A service that");
    line("rem cannot be queried (not installed, or sc failed) is not waited for.");
    line("set \"SERVICE=absent\"");
    line("set \"WAITED=0\"");
    line("sc query ntrtscan >nul 2>&1");
    line("if errorlevel 1 goto service_done");
    line(":wait_service");
    line("call :service_state");
    line("if \"%SERVICE%\"==\"running\" goto service_done");
    line(&format!(
        "if %WAITED% geq {SERVICE_WAIT_POLLS} goto service_late"
    ));
    line(&format!(
        "if \"%WAITED%\"==\"0\" {}",
        echo(m.waiting_service)
    ));
    line("set /a WAITED+=1");
    line("ping -n 2 127.0.0.1 >nul 2>&1");
    line("goto wait_service");
    line(":service_late");
    line("set \"SERVICE=not_running\"");
    line(&echo(m.service_late));
    line(":service_done");
    line("");
    line("rem Check the result, not IpXfer's (undocumented) exit code: look again a few");
    line("rem times before calling it a failure.");
    line("set \"TRIES=0\"");
    line(":verify");
    line("call :judge \"%AGENT_DIR%OfcNTCer.dat\"");
    line("set \"AFTER=%HASH%\"");
    line("if not \"%CHECK%\"==\"none\" goto repaired");
    line("set /a TRIES+=1");
    line("if %TRIES% geq 5 goto not_repaired");
    line("ping -n 2 127.0.0.1 >nul 2>&1");
    line("goto verify");
    line("");
    line(":repaired");
    line("set \"RESULT=REPAIRED\"");
    line(&format!(
        "if \"%CHECK%\"==\"thumbprint\" {}",
        echo(m.same_certificate)
    ));
    line("call :server_check");
    line(&echo(m.repaired));
    line("call :receipt");
    line(&format!("exit /b {}", exit::OK));
    line("");
    line(":not_repaired");
    line("if not \"%IPX_EXIT%\"==\"0\" goto ipxfer_failed");
    line("set \"RESULT=CERT_STILL_DIFFERENT\"");
    line(&echo(m.still_different));
    line(&echo(m.next_step));
    line("call :receipt");
    line(&format!("exit /b {}", exit::CERT_STILL_DIFFERENT));
    line(":ipxfer_failed");
    line("set \"RESULT=IPXFER_FAILED\"");
    line(&echo(m.ipxfer_failed));
    line(&echo(m.next_step));
    line("call :receipt");
    line(&format!("exit /b {}", exit::IPXFER_FAILED));
    line("");
    line(":check");
    line("call :judge \"%AGENT_DIR%OfcNTCer.dat\"");
    line("if not \"%CHECK%\"==\"none\" goto check_matches");
    line("set \"RESULT=DIFFERS\"");
    line(&echo(m.differs));
    line("call :receipt");
    line(&format!("exit /b {}", exit::DIFFERS));
    line(":check_matches");
    line("set \"RESULT=MATCHES\"");
    line(&format!(
        "if \"%CHECK%\"==\"thumbprint\" {}",
        echo(m.same_certificate)
    ));
    line("call :server_check");
    line(&echo(m.matches));
    line("call :receipt");
    line(&format!("exit /b {}", exit::OK));
    line("");
    line(":agent_not_found");
    line("set \"RESULT=AGENT_NOT_FOUND\"");
    line(&echo(m.agent_not_found));
    line("call :receipt");
    line(&format!("exit /b {}", exit::AGENT_NOT_FOUND));
    line("");
    line(":tool_missing");
    line("set \"RESULT=BUNDLE_BROKEN\"");
    line(&echo(m.tool_missing));
    line("call :receipt");
    line(&format!("exit /b {}", exit::BUNDLE_BROKEN));
    line("");
    line("rem ---- subroutines ----");
    line("");
    line("rem The agent folder from the registry (64-bit view, then 32-bit), with a final backslash.");
    line(":find_agent");
    line("set \"AGENT_DIR=\"");
    line("for %%V in (64 32) do if not defined AGENT_DIR call :query_agent %%V");
    line("if not defined AGENT_DIR goto :eof");
    line("if not \"%AGENT_DIR:~-1%\"==\"\\\" set \"AGENT_DIR=%AGENT_DIR%\\\"");
    line("goto :eof");
    line(":query_agent");
    line(&format!("for /f \"tokens=1-3,*\" %%A in ('reg query \"{AGENT_KEY}\" /v \"Application Path\" /reg:%1 2^>nul') do if /i \"%%C\"==\"REG_SZ\" set \"AGENT_DIR=%%D\""));
    line("goto :eof");
    line("");
    line("rem CHECK=sha256 when the file has the bundled file's bytes, thumbprint when it holds");
    line("rem the same certificate in another encoding (PEM), else none. THUMB is the SHA-1");
    line("rem thumbprint found in it (recorded in the receipt either way).");
    line(":judge");
    line("set \"CHECK=none\"");
    line("call :hash \"%~1\"");
    line("call :thumbprint \"%~1\"");
    line("if defined HASH if /i \"%HASH%\"==\"%EXPECTED%\" set \"CHECK=sha256\"");
    line("if not \"%CHECK%\"==\"none\" goto :eof");
    line("if defined THUMB if /i \"%THUMB%\"==\"%EXPECTED_SHA1%\" set \"CHECK=thumbprint\"");
    line("goto :eof");
    line("");
    line("rem SHA-256 of a file (64 hex digits, spaces removed), or empty.");
    line(":hash");
    line("set \"HASH=\"");
    line("if not exist \"%~1\" goto :eof");
    line("for /f \"skip=1 delims=\" %%H in ('certutil -hashfile \"%~1\" SHA256 2^>nul') do if not defined HASH set \"HASH=%%H\"");
    line("if not defined HASH goto :eof");
    line("set \"HASH=%HASH: =%\"");
    line("if not \"%HASH:~64%\"==\"\" set \"HASH=\"");
    line("if \"%HASH:~63,1%\"==\"\" set \"HASH=\"");
    line("goto :eof");
    line("");
    line("rem The SHA-1 thumbprint of the certificate in a file (40 hex digits), or empty, from");
    line("rem certutil -dump: the value of the last line whose label ends in (sha1), which is");
    line("rem \"Cert Hash(sha1)\" in English (Windows 10 and later print the hex without spaces,");
    line("rem older Windows with a space between bytes). No public source shows the Japanese");
    line("rem label; should it not end in (sha1), a line whose whole value is the server's");
    line("rem thumbprint still counts. The dump prints the certificate's names, so its lines");
    line("rem are only compared or copied as for variables, then stripped of double quotes");
    line("rem and checked to be hex before anything else uses them.");
    line(":thumbprint");
    line("set \"THUMB=\"");
    line("if not exist \"%~1\" goto :eof");
    line("for /f \"tokens=1,2,* delims=():\" %%A in ('certutil -dump \"%~1\" 2^>nul') do if /i \"%%B\"==\"sha1\" set \"THUMB=%%C\"");
    line("if not defined THUMB goto thumbprint_by_value");
    line("set \"THUMB=%THUMB:\"=%\"");
    line("if not defined THUMB goto thumbprint_by_value");
    line("set \"THUMB=%THUMB: =%\"");
    line("if not defined THUMB goto thumbprint_by_value");
    line("set \"NOT_HEX=%THUMB%\"");
    for digit in "0123456789ABCDEF".chars() {
        // Replacement in %V:x=y% ignores letter case: a-f go too.
        line(&format!(
            "if defined NOT_HEX set \"NOT_HEX=%NOT_HEX:{digit}=%\""
        ));
    }
    line("if defined NOT_HEX set \"THUMB=\"");
    line("if not defined THUMB goto thumbprint_by_value");
    line("if not \"%THUMB:~40%\"==\"\" set \"THUMB=\"");
    line("if not defined THUMB goto thumbprint_by_value");
    line("if \"%THUMB:~39,1%\"==\"\" set \"THUMB=\"");
    line("if defined THUMB goto :eof");
    line(":thumbprint_by_value");
    line("for /f \"tokens=1,* delims=:\" %%A in ('certutil -dump \"%~1\" 2^>nul') do if /i \"%%B\"==\" %EXPECTED_SHA1%\" set \"THUMB=%EXPECTED_SHA1%\"");
    line("if defined THUMB goto :eof");
    line("for /f \"tokens=1,* delims=:\" %%A in ('certutil -dump \"%~1\" 2^>nul') do if /i \"%%B\"==\" %EXPECTED_SHA1_SPACED%\" set \"THUMB=%EXPECTED_SHA1%\"");
    line("goto :eof");
    line("");
    line("rem SERVICE=running when sc query ntrtscan shows state 4 RUNNING, else waiting. Only");
    line("rem the state's number and word are read, not the labels (another language).");
    line(":service_state");
    line("set \"SERVICE=waiting\"");
    line("for /f \"tokens=1-3 delims=: \" %%A in ('sc query ntrtscan 2^>nul') do if /i \"%%B %%C\"==\"4 RUNNING\" set \"SERVICE=running\"");
    line("goto :eof");
    line("");
    line("rem XG syntax only: SERVER_CHECK=match when the agent's registry value Server (either");
    line("rem view) is the server given to -s, differs when it names another, missing when there");
    line("rem is none. Its form (name as given, FQDN or IP) is not documented, so a mismatch is");
    line("rem a warning in the receipt, not a failed repair. The value is only compared as a for");
    line("rem variable, never expanded into the script or the receipt.");
    line(":server_check");
    line("if not defined TARGET_SERVER goto :eof");
    line("set \"SERVER_SEEN=\"");
    line("set \"SERVER_MATCH=\"");
    line("for %%V in (64 32) do call :query_server %%V");
    line("set \"SERVER_CHECK=missing\"");
    line("if defined SERVER_SEEN set \"SERVER_CHECK=differs\"");
    line("if defined SERVER_MATCH set \"SERVER_CHECK=match\"");
    line(&format!(
        "if not \"%SERVER_CHECK%\"==\"match\" {}",
        echo(m.server_differs)
    ));
    line("goto :eof");
    line(":query_server");
    line(&format!("for /f \"tokens=1,2,*\" %%A in ('reg query \"{AGENT_KEY}\" /v \"Server\" /reg:%1 2^>nul') do if /i \"%%A %%B\"==\"Server REG_SZ\" set \"SERVER_SEEN=1\""));
    line(&format!("for /f \"tokens=1,2,*\" %%A in ('reg query \"{AGENT_KEY}\" /v \"Server\" /reg:%1 2^>nul') do if /i \"%%A %%B %%C\"==\"Server REG_SZ %TARGET_SERVER%\" set \"SERVER_MATCH=1\""));
    line("goto :eof");
    line("");
    if matches!(o.password, Password::Prompt) {
        line("rem PWD_OK=0 when the typed password holds a double quote or ends with a backslash.");
        line("rem An empty answer leaves AGENT_PWD undefined (some cmd.exe versions keep it");
        line("rem defined but empty, which would pass -pwd \"\").");
        line("rem Delayed expansion only here, where values are expanded, never parsed.");
        line(":check_password");
        line("set \"PWD_OK=1\"");
        line("if not defined AGENT_PWD goto :eof");
        line("setlocal EnableDelayedExpansion");
        line("set \"NOQUOTE=!AGENT_PWD:\"=!\"");
        line("set \"OK=1\"");
        line("if not \"!NOQUOTE!\"==\"!AGENT_PWD!\" set \"OK=0\"");
        line("rem The last character, deleted if it is a backslash: no comparison with a value.");
        line("set \"LAST=!AGENT_PWD:~-1!\"");
        line("set \"LAST=!LAST:\\=!\"");
        line("if not defined LAST set \"OK=0\"");
        line("set \"ANY=!AGENT_PWD!\"");
        line("if not defined ANY set \"OK=empty\"");
        line("endlocal & set \"PWD_OK=%OK%\"");
        line("if \"%PWD_OK%\"==\"empty\" set \"AGENT_PWD=\"");
        line("goto :eof");
        line("");
    }
    line("rem One receipt line per run, in the stick's receipts folder, whatever the result.");
    line(":receipt");
    line("if not exist \"%RECEIPTS%\\\" mkdir \"%RECEIPTS%\" >nul 2>&1");
    line(&format!(
        ">>\"%RECEIPTS%\\%COMPUTERNAME%.txt\" echo {RECEIPT_MAGIC};computer=%COMPUTERNAME%;bundle=%BUNDLE_ID%;run=%RUN_ID%;date=%DATE%;time=%TIME%;mode=%MODE%;ipxfer=%IPXFER%;ipxfer_exit=%IPX_EXIT%;before=%BEFORE%;after=%AFTER%;check=%CHECK%;thumbprint=%THUMB%;service=%SERVICE%;waited=%WAITED%;server=%SERVER_CHECK%;result=%RESULT%"
    ));
    line(&echo(m.receipt));
    line("goto :eof");
    Ok(s)
}

/// The agent's registry key (64-bit view; `/reg:32` reads the WOW6432Node copy).
const AGENT_KEY: &str = r"HKLM\SOFTWARE\TrendMicro\PC-cillinNTCorp\CurrentVersion";

/// The first field of every receipt line (and its format version).
pub const RECEIPT_MAGIC: &str = "certmend-receipt=1";

/// Prompt text for `set /p "V=..."`: inside quotes only `%` and `"` matter.
fn prompt_text(text: &str) -> String {
    text.replace('%', "%%").replace('"', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ScriptOptions {
        ScriptOptions {
            bundle_id: "0123abcd".into(),
            certificate_sha256: "AB".repeat(32),
            certificate_sha1_thumbprint: "0123456789abcdef0123456789ABCDEF01234567".into(),
            syntax: IpXferSyntax::Seed,
            language: ScriptLanguage::En,
            tools: ToolsLocation::InBundle,
            password: Password::Prompt,
        }
    }

    fn text(o: &ScriptOptions) -> String {
        String::from_utf8(render(o).unwrap().to_vec()).unwrap()
    }

    #[test]
    fn crlf_and_ascii() {
        let bytes = render(&options()).unwrap();
        assert!(bytes.is_ascii());
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.ends_with("\r\n"));
        assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
        assert!(text.contains("set \"BUNDLE_ID=0123abcd\"\r\n"));
        assert!(text.contains("set /p \"AGENT_PWD="));
        assert!(text.contains("-e \"%BUNDLE%OfcNTCer.dat\"\r\n"));
        assert!(!text.contains("-s \""));
        // Delayed expansion is on only inside the password check.
        assert_eq!(text.matches("EnableDelayedExpansion").count(), 1);
    }

    /// What Wine cannot run (its cmd.exe lacks `!V:~n!` and `!V:a=b!`), checked as text:
    /// a typed password with `"` or a final `\` is refused and asked again, an empty
    /// answer means no `-pwd`, and the typed value is only ever expanded, never parsed.
    #[test]
    fn typed_password_checks() {
        let t = text(&options());
        let check = &t[t.find("\r\n:check_password\r\n").unwrap()..];
        let check = &check[..check.find("\r\ngoto :eof").unwrap()];
        assert!(check.contains("setlocal EnableDelayedExpansion\r\n"));
        assert!(check.contains("set \"NOQUOTE=!AGENT_PWD:\"=!\"\r\n"));
        assert!(check.contains("if not \"!NOQUOTE!\"==\"!AGENT_PWD!\" set \"OK=0\"\r\n"));
        assert!(check.contains("set \"LAST=!AGENT_PWD:~-1!\"\r\nset \"LAST=!LAST:\\=!\"\r\nif not defined LAST set \"OK=0\"\r\n"));
        assert!(check.contains("if not defined ANY set \"OK=empty\"\r\n"));
        assert!(check.ends_with("\r\nif \"%PWD_OK%\"==\"empty\" set \"AGENT_PWD=\""));
        // Outside the check the password appears only as "%AGENT_PWD%" after -pwd.
        let outside = t.replace(check, "");
        assert_eq!(outside.matches("%AGENT_PWD%").count(), 1);
        assert!(outside.contains("-pwd \"%AGENT_PWD%\"\r\n"));
        assert!(!outside.contains("!AGENT_PWD"));
        assert!(t.contains("if \"%PWD_OK%\"==\"0\" goto ask_password\r\n"));
    }

    #[test]
    fn japanese_is_cp932() {
        let mut o = options();
        o.language = ScriptLanguage::Ja;
        let bytes = render(&o).unwrap();
        assert!(std::str::from_utf8(&bytes).is_err(), "must not be UTF-8");
        let (decoded, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
        assert!(!bad);
        assert!(decoded.contains("管理者として実行"));
        assert!(decoded.contains("\r\n"));
    }

    #[test]
    fn embedded_passwords_are_escaped() {
        let mut o = options();
        o.password = Password::Embedded(Zeroizing::new(r#"p%a^s&s|w<o>r(d)!; \"#.replace('"', "")));
        let t = text(&o);
        assert!(
            t.contains("set \"AGENT_PWD=p%%a^s&s|w<o>r(d)!; \\\\\"\r\n"),
            "{t}"
        );
        assert!(!t.contains("set /p"));
        assert!(!t.contains(":check_password"));
        for bad in ["a\"b", "a\r\nb", "tab\tx"] {
            o.password = Password::Embedded(Zeroizing::new(bad.into()));
            assert!(render(&o).is_err(), "{bad:?}");
        }
        o.password = Password::Embedded(Zeroizing::new("パス".into()));
        assert_eq!(render(&o).unwrap_err().code(), "script.password_encoding");
        o.language = ScriptLanguage::Ja;
        assert!(render(&o).is_ok());
    }

    #[test]
    fn echo_lines_escape_cmd_specials() {
        assert_eq!(
            echo_text("a & b (c) | d > e < f ^ 50%"),
            "a ^& b ^(c^) ^| d ^> e ^< f ^^ 50%%"
        );
    }

    #[test]
    fn xg_syntax_and_shared_tools() {
        let mut o = options();
        o.syntax = IpXferSyntax::Xg {
            server: "apex.example.local".into(),
            http_port: 8080,
            https_port: 4343,
            agent_port: 21112,
        };
        o.tools = ToolsLocation::Shared;
        let t = text(&o);
        assert!(t.contains(
            "-s \"apex.example.local\" -p 8080 -sp 4343 -c 21112 -e \"%BUNDLE%OfcNTCer.dat\""
        ));
        assert!(t.contains("set \"TOOLS=%~dp0..\\tools\\\""));
        o.syntax = IpXferSyntax::Xg {
            server: "evil&calc".into(),
            http_port: 1,
            https_port: 1,
            agent_port: 1,
        };
        assert_eq!(render(&o).unwrap_err().code(), "script.bad_server");
    }

    /// The lines between `:label` and the next `goto :eof`.
    fn routine<'a>(t: &'a str, label: &str) -> &'a str {
        let start = t
            .find(&format!("\r\n:{label}\r\n"))
            .unwrap_or_else(|| panic!(":{label} missing"));
        let rest = &t[start + 2..];
        &rest[..rest.find("\r\ngoto :eof").unwrap()]
    }

    #[test]
    fn the_receipt_says_which_check_matched() {
        let t = text(&options());
        assert!(t.contains("set \"EXPECTED_SHA1=0123456789ABCDEF0123456789ABCDEF01234567\"\r\n"));
        assert!(t.contains(
            "set \"EXPECTED_SHA1_SPACED=01 23 45 67 89 AB CD EF 01 23 45 67 89 AB CD EF 01 23 45 67\"\r\n"
        ));
        let receipt = routine(&t, "receipt");
        assert!(receipt.contains(
            ";before=%BEFORE%;after=%AFTER%;check=%CHECK%;thumbprint=%THUMB%;service=%SERVICE%;waited=%WAITED%;server=%SERVER_CHECK%;result=%RESULT%\r\n"
        ));
        // Either check makes a repair; the SHA-256 one is tried first.
        let judge = routine(&t, "judge");
        assert!(judge
            .contains("if defined HASH if /i \"%HASH%\"==\"%EXPECTED%\" set \"CHECK=sha256\"\r\n"));
        assert!(judge.ends_with("if not \"%CHECK%\"==\"none\" goto :eof\r\nif defined THUMB if /i \"%THUMB%\"==\"%EXPECTED_SHA1%\" set \"CHECK=thumbprint\""));
        assert!(t.contains(":verify\r\ncall :judge \"%AGENT_DIR%OfcNTCer.dat\"\r\nset \"AFTER=%HASH%\"\r\nif not \"%CHECK%\"==\"none\" goto repaired\r\n"));
        assert!(t.contains(":check\r\ncall :judge \"%AGENT_DIR%OfcNTCer.dat\"\r\nif not \"%CHECK%\"==\"none\" goto check_matches\r\n"));
        // A thumbprint that is not 40 hex digits is a bug in the caller.
        let mut o = options();
        o.certificate_sha1_thumbprint = "ABCD".into();
        assert_eq!(render(&o).unwrap_err().code(), "script.internal");
        o.certificate_sha1_thumbprint = "G".repeat(40);
        assert_eq!(render(&o).unwrap_err().code(), "script.internal");
    }

    /// certutil's dump prints the certificate's names: nothing of it may reach the
    /// script's parser. Lines are compared or copied only as for variables; the copy
    /// loses its double quotes before it is expanded, then must be 40 hex digits.
    #[test]
    fn the_dump_is_read_as_data() {
        let t = text(&options());
        let thumb = routine(&t, "thumbprint");
        let lines: Vec<&str> = thumb.lines().collect();
        let for_line = lines.iter().position(|l| l.contains("delims=():")).unwrap();
        assert!(lines[for_line].ends_with("do if /i \"%%B\"==\"sha1\" set \"THUMB=%%C\""));
        // The first expansion of THUMB removes its double quotes.
        let first_use = lines[for_line + 1..]
            .iter()
            .find(|l| l.contains("%THUMB"))
            .unwrap();
        assert_eq!(*first_use, "set \"THUMB=%THUMB:\"=%\"");
        // Every hex digit is removed from a copy; anything left clears THUMB.
        for digit in "0123456789ABCDEF".chars() {
            assert!(thumb.contains(&format!(
                "if defined NOT_HEX set \"NOT_HEX=%NOT_HEX:{digit}=%\"\r\n"
            )));
        }
        assert!(thumb.contains("if defined NOT_HEX set \"THUMB=\"\r\n"));
        assert!(thumb.contains("if not \"%THUMB:~40%\"==\"\" set \"THUMB=\"\r\n"));
        // The fallback compares whole values with the expected thumbprint, both forms.
        assert!(
            thumb.contains("do if /i \"%%B\"==\" %EXPECTED_SHA1%\" set \"THUMB=%EXPECTED_SHA1%\"")
        );
        assert!(thumb.contains(
            "do if /i \"%%B\"==\" %EXPECTED_SHA1_SPACED%\" set \"THUMB=%EXPECTED_SHA1%\""
        ));
        // Nowhere else is a for variable of the dump expanded by %...%.
        for line in t.lines().filter(|l| l.contains("certutil -dump")) {
            assert!(
                !line.contains("%%C\"==") && !line.contains("call "),
                "{line}"
            );
        }
    }

    #[test]
    fn the_agent_service_is_waited_for_about_a_minute() {
        let t = text(&options());
        let after_run = &t[t.find(":after_run\r\n").unwrap()..t.find(":verify\r\n").unwrap()];
        assert!(after_run
            .contains("sc query ntrtscan >nul 2>&1\r\nif errorlevel 1 goto service_done\r\n"));
        assert!(after_run.contains(&format!(
            "if %WAITED% geq {SERVICE_WAIT_POLLS} goto service_late\r\n"
        )));
        assert_eq!(SERVICE_WAIT_POLLS, 60);
        assert!(after_run.contains(
            "set /a WAITED+=1\r\nping -n 2 127.0.0.1 >nul 2>&1\r\ngoto wait_service\r\n"
        ));
        assert!(after_run.contains(":service_late\r\nset \"SERVICE=not_running\"\r\n"));
        // State 4 RUNNING, by number and word: labels may be translated.
        assert!(routine(&t, "service_state").contains(
            "('sc query ntrtscan 2^>nul') do if /i \"%%B %%C\"==\"4 RUNNING\" set \"SERVICE=running\""
        ));
        // /check changes nothing and so waits for nothing.
        let check = &t[t.find("\r\n:check\r\n").unwrap()..t.find("\r\n:agent_not_found").unwrap()];
        assert!(!check.contains("sc query") && !check.contains("ping"));
    }

    #[test]
    fn the_xg_syntax_checks_the_server_named_in_the_registry() {
        let seed = text(&options());
        assert!(seed.contains("set \"TARGET_SERVER=\"\r\n"));
        assert!(routine(&seed, "server_check").contains("if not defined TARGET_SERVER goto :eof"));
        let mut o = options();
        o.syntax = IpXferSyntax::Xg {
            server: "apex.example.local".into(),
            http_port: 8080,
            https_port: 4343,
            agent_port: 21112,
        };
        let t = text(&o);
        assert!(t.contains("set \"TARGET_SERVER=apex.example.local\"\r\n"));
        let query = routine(&t, "query_server");
        assert!(query.contains(
            r#"reg query "HKLM\SOFTWARE\TrendMicro\PC-cillinNTCorp\CurrentVersion" /v "Server" /reg:%1 2^>nul"#
        ));
        // The registry text is only ever a for variable.
        assert!(query.contains(
            "do if /i \"%%A %%B %%C\"==\"Server REG_SZ %TARGET_SERVER%\" set \"SERVER_MATCH=1\""
        ));
        assert!(!query.contains("=%%C\""));
        let check = routine(&t, "server_check");
        assert!(check.contains("set \"SERVER_CHECK=missing\"\r\nif defined SERVER_SEEN set \"SERVER_CHECK=differs\"\r\nif defined SERVER_MATCH set \"SERVER_CHECK=match\"\r\n"));
        assert!(t.contains(":repaired\r\nset \"RESULT=REPAIRED\"\r\n"));
        let repaired = &t[t.find(":repaired\r\n").unwrap()..t.find(":not_repaired").unwrap()];
        assert!(repaired.contains("call :server_check\r\n"));
        assert!(routine(&t, "server_check").contains("WARNING: the agent's registry value Server"));
    }

    /// `if "a"=="b" if ...` is valid on Windows, but Wine's cmd.exe says "Syntax error":
    /// the script never nests an `if` after a comparison, so that the Wine suites run
    /// the very text agents get (after `if defined X` and `if errorlevel N` it may).
    #[test]
    fn no_if_after_a_comparison() {
        for o in [options(), {
            let mut o = options();
            o.syntax = IpXferSyntax::Xg {
                server: "apex.example.local".into(),
                http_port: 8080,
                https_port: 4343,
                agent_port: 21112,
            };
            o
        }] {
            for line in text(&o)
                .lines()
                .filter(|l| !l.trim_start().starts_with("rem "))
            {
                for (at, _) in line.match_indices("\"==\"") {
                    let rest = &line[at + 4..];
                    let after = rest.find('"').map(|end| rest[end + 1..].trim_start());
                    assert!(!after.is_some_and(|a| a.starts_with("if ")), "{line}");
                }
            }
        }
    }

    #[test]
    fn no_parenthesised_blocks() {
        // Paths such as "C:\Program Files (x86)\" must never meet a ( ... ) block.
        let t = text(&options());
        for line in t.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("echo")
                || trimmed.starts_with("rem")
                || trimmed.starts_with("for ")
            {
                continue;
            }
            assert!(!trimmed.ends_with('('), "block opened: {line}");
        }
    }
}
