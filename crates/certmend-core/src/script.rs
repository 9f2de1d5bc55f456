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
//! How it stays safe: no text from a list is written into it but the agent's name and
//! GUID, and only when they are a plain computer name and a GUID (receipts name the
//! bundle by its id); the values it holds are validated and escaped for cmd.exe;
//! delayed expansion stays off (it would eat `!` in passwords); control flow uses
//! `goto`, never parenthesised blocks, so paths with `(x86)` cannot break it. Text read
//! on the agent (certutil's dump, which prints the certificate's names, and the
//! registry) is compared as `for` variables, which cmd.exe never parses again, or has
//! its double quotes removed and is checked to be hex before it is used anywhere else.
//! The text is ASCII, or CP932 for Japanese messages (the code page Japanese cmd.exe
//! runs in), never UTF-8. Line ends are CRLF.
//!
//! # A stick every agent PC can write to
//!
//! The stick visits exactly the PCs whose antivirus no longer obeys its server, and
//! each of them writes its receipt there, so any of them can change what the next PC
//! runs as administrator. What the script does about it:
//!
//! - It holds the SHA-256 of `IpXfer.exe`, `IpXfer_x64.exe` (in the bundle, or in
//!   `..\tools\` with shared tools) and `OfcNTCer.dat` as certmend wrote them. Before
//!   running anything it makes a new folder `%SystemRoot%\Temp\certmend-<random>`
//!   (`mkdir` fails when the name exists, so a folder or junction someone planted is
//!   never used), removes the inherited access list (`C:\Windows\Temp` lets every user
//!   add files and folders, which a subfolder would inherit) and grants only
//!   Administrators and SYSTEM (`icacls /inheritance:r /grant:r *S-1-5-32-544 *S-1-5-18`,
//!   SIDs, so any Windows language works; icacls' output is localized and never read,
//!   only its exit code), checks that the folder is still empty and not a reparse point,
//!   copies the IpXfer for this processor and the certificate into it and hashes the
//!   copies there (and checks that nothing else appeared). Only when both match does
//!   IpXfer run, from that folder, with that folder as the current directory and the
//!   copy of the certificate: a file swapped on the stick after the check is never the
//!   one run, and a DLL dropped beside the stick's IpXfer is not in its search path (the
//!   application's folder comes first). On any
//!   mismatch, or a failed mkdir, icacls or copy, nothing runs: the receipt says
//!   `BUNDLE_TAMPERED` with `tampered=` naming the file (`work_folder` for the folder),
//!   exit 7. The folder is removed on every path after it was made.
//! - Windows' own programs are called by full path (`%SystemRoot%\System32\certutil.exe`,
//!   `reg.exe`, `sc.exe`, `net.exe`, `fltmc.exe`, `ping.exe`, `icacls.exe`), and the
//!   script first changes to `%SystemRoot%\System32`, so the stick is never the current
//!   folder (searched for programs and DLLs). Inside `for /f` the path is written
//!   unquoted (`cmd /c` strips the outer quotes of a command with more than two), which
//!   holds because `%SystemRoot%` has no spaces; were it otherwise, the hashes would
//!   come out empty and the script would refuse, not run something else.
//! - It checks it runs on the bundle's agent: `%COMPUTERNAME%` against the agent's name
//!   cut to 15 characters (NetBIOS; letter case ignored), only when that name is plain
//!   `[A-Za-z0-9-]` (other text from a list is never written into a script; the receipt
//!   then says `name_check=skipped`), and the registry value `GUID` of the agent's key
//!   (either view; braces and letter case ignored) against the list's GUID, when the
//!   list had a valid one and the registry has one. When either differs it changes
//!   nothing, also with `/check`, and writes `WRONG_COMPUTER` (exit 8): a survey run
//!   from the wrong folder cannot mark another agent.
//! - Every value in the receipt line is quoted (`computer="..."`), with double quotes
//!   removed from the values the system supplies (`%COMPUTERNAME%`, `%DATE%`,
//!   `%TIME%`), so a value with `;`, `=` or cmd metacharacters can neither add a field
//!   nor run anything.
//!
//! What stays possible: a `.cmd` file on a writable stick can never be made
//! tamper-proof, because the script itself (and its embedded hashes) can be swapped, and
//! cmd.exe reads a batch file from disk while it runs it. The admin should therefore
//! keep the stick write-protected between rounds where it has a switch (receipts then
//! cannot be written: unlock it only on PCs being repaired), check it with `certmend
//! bundle verify` on the certmend PC before each round, and where possible run
//! `repair.cmd` from a copy of the verified bundle folder (with `tools\` when shared) in
//! a local folder only administrators can write, rather than from the stick. A PC that is already compromised can also lie in its receipt or
//! fake the agent's files; certmend treats receipts as claims (see `receipts`).
//! `%RANDOM%` is seeded from the clock when cmd.exe starts, so the folder name is
//! guessable in principle: a guessed name makes `mkdir` fail and the script refuse
//! (users cannot list `C:\Windows\Temp`, nor delete what an admin made there).

pub mod entry;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::receipts::format::{self as receipt, field, ReceiptResult};
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
    /// IpXfer or the certificate on the stick is not what certmend wrote (or the safe
    /// folder to run it from could not be made): nothing ran.
    pub const BUNDLE_TAMPERED: u8 = 7;
    /// This computer is not the bundle's agent (name or GUID): nothing changed.
    pub const WRONG_COMPUTER: u8 = 8;
    /// Another run holds this PC's lock and did not let go within the bound: nothing
    /// ran, and no receipt is written (the other run writes its own).
    pub const LOCKED: u8 = 9;
    /// `/quiet` needed the agent unload password and had none: nothing changed.
    pub const PASSWORD_NEEDED: u8 = 10;
    /// The entry script found no bundle for this computer: nothing changed.
    pub const NOT_LISTED: u8 = 11;
}

/// How long a run waits for another run's lock (`%SystemRoot%\Temp\certmend.lock`):
/// this many polls, about a second apart. A run takes at most about
/// [`SERVICE_WAIT_POLLS`] seconds of waiting for the service plus a few for IpXfer and
/// the checks, so a lock still there after this bound belongs to no live run (a run
/// killed or a PC switched off mid-run) and is taken over.
pub const LOCK_WAIT_POLLS: u32 = 150;

/// The lock folder, made with `mkdir` (atomic: it fails when the folder exists).
pub const LOCK_DIR: &str = r"%SystemRoot%\Temp\certmend.lock";
/// The local log every run appends to on the PC.
pub const LOCAL_LOG: &str = r"%SystemRoot%\Temp\certmend.log";
/// Where a PC remembers the bundles it wrote a final receipt for (`REPAIRED`,
/// `MATCHES`; value name the bundle id) and the exports it was not listed in (value
/// name `export-<id>`): HKLM, which only administrators can write.
pub const DONE_KEY: &str = r"HKLM\SOFTWARE\certmend\Receipts";

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
    /// The first line of a file on the agent PC, read when the script runs: the path
    /// (absolute, `C:\...` or `\\server\share\...`) is written by certmend, checked by
    /// [`valid_agent_path`], never taken from a stick. Missing or empty: an interactive
    /// run asks, `/quiet` writes `PASSWORD_NEEDED`.
    File(String),
}

#[derive(Debug, Clone)]
pub struct ScriptOptions {
    /// Lower-case hex; names the bundle in receipts.
    pub bundle_id: String,
    /// SHA-256 of the bundled OfcNTCer.dat, upper-case hex.
    pub certificate_sha256: String,
    /// SHA-1 thumbprint of the bundled certificate (over its DER), 40 hex digits.
    pub certificate_sha1_thumbprint: String,
    /// SHA-256 of the `IpXfer.exe` the bundle holds (or `..\tools\`), 64 hex digits.
    pub ipxfer_sha256: String,
    /// SHA-256 of the `IpXfer_x64.exe` the bundle holds, 64 hex digits.
    pub ipxfer_x64_sha256: String,
    /// The agent's name as the list gives it: compared with `%COMPUTERNAME%` through
    /// [`netbios_name`], or not at all when that gives nothing.
    pub agent_name: String,
    /// The agent's GUID from the list, if it had one: compared with the registry value
    /// `GUID` when [`normalise_guid`] accepts it.
    pub agent_guid: Option<String>,
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
    #[error("the password file {0:?} is not an absolute Windows path (C:\\... or \\\\server\\share\\...) of plain characters (letters, digits, space, . _ - $ ~ and backslashes)")]
    BadPasswordFile(String),
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
            ScriptError::BadPasswordFile(_) => "script.password_file",
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

/// Whether `path` may be written into a script as the agents' password file: an
/// absolute Windows path (`X:\...`, or `\\server\share\...`) of ASCII letters, digits,
/// space, `. _ - $ ~` and backslashes, at most 200 characters, no `..`: nothing cmd.exe
/// could expand or split, nothing a stick supplies.
pub fn valid_agent_path(path: &str) -> bool {
    let b = path.as_bytes();
    let drive = b.len() > 3 && b[0].is_ascii_alphabetic() && &b[1..3] == b":\\";
    let unc = path.starts_with("\\\\") && path.len() > 4;
    let after_drive = if drive { &path[2..] } else { path };
    let plain = after_drive
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " ._-$~\\".contains(c));
    (drive || unc)
        && plain
        && path.len() <= 200
        && !path.ends_with('\\')
        && !path.split('\\').any(|part| part == "..")
}

/// The computer name repair.cmd compares `%COMPUTERNAME%` with: the agent's name cut to
/// 15 characters (a NetBIOS name has at most 15; MS Learn "Computer Names"), in upper
/// case, when it is then plain `[A-Za-z0-9-]`. `None` for anything else (a Japanese or
/// FQDN-style name, an empty one): such text never goes into a script, and the name
/// check is skipped.
pub fn netbios_name(name: &str) -> Option<String> {
    let cut: String = name.trim().chars().take(15).collect();
    let plain = !cut.is_empty() && cut.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    plain.then(|| cut.to_ascii_uppercase())
}

/// A GUID as 8-4-4-4-12 hex digits, with or without braces, normalised to upper case
/// without braces; `None` when it is not one. Trend does not document the form of the
/// agent's registry value `GUID`, so repair.cmd compares without braces and ignores
/// letter case.
pub fn normalise_guid(guid: &str) -> Option<String> {
    let trimmed = guid.trim();
    let bare = match trimmed.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}')?,
        None => trimmed,
    };
    let groups: Vec<&str> = bare.split('-').collect();
    let shape_ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()));
    shape_ok.then(|| bare.to_ascii_uppercase())
}

/// The name repair.cmd checks for the agent: none when the list named the agent by its
/// GUID (the name is then the GUID, not a computer name).
fn agent_computer_name(o: &ScriptOptions) -> Option<String> {
    agent_computer_name_of(&o.agent_name, o.agent_guid.as_deref())
}

/// [`agent_computer_name`] of an agent's name and GUID (also the entry script's rule).
fn agent_computer_name_of(agent_name: &str, agent_guid: Option<&str>) -> Option<String> {
    if normalise_guid(agent_name).is_some() {
        return None;
    }
    let named_by_guid = agent_guid.is_some_and(|guid| {
        crate::agents::guid_key(Some(guid)) == crate::agents::guid_key(Some(agent_name))
    });
    if named_by_guid {
        return None;
    }
    netbios_name(agent_name)
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
    /// Printed after the file's name (`IpXfer_x64.exe: ...`).
    tampered: &'static str,
    work_failed: &'static str,
    wrong_computer: &'static str,
    name_not_checked: &'static str,
    locked: &'static str,
    already_final: &'static str,
    password_needed: &'static str,
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
    tampered: "STOPPED: this file is not the one certmend wrote into the bundle (its SHA-256 differs), or it could not be copied. Nothing was run and nothing was changed. Another computer may have changed this stick: check it with certmend bundle verify and export the bundles again.",
    work_failed: "STOPPED: could not make a folder only administrators can write in the Windows Temp folder to run IpXfer from. Nothing was run and nothing was changed.",
    wrong_computer: "STOPPED: this bundle is for another computer (its name or agent GUID differs from this one). Nothing was changed. Run the repair.cmd in the folder named after this computer.",
    name_not_checked: "Note: the agent's name in the list is not a plain Windows computer name, so it is not compared with this computer's name.",
    locked: "STOPPED: another certmend repair is running on this computer. Nothing was changed.",
    already_final: "This computer already reported this bundle as repaired or matching: nothing to do.",
    password_needed: "STOPPED: the agent unload password is needed and none was given (unattended run: no password file on this computer). Nothing was changed.",
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
    tampered: "中止: このファイルは certmend がバンドルに書いたものではありません (SHA-256 が異なる)、またはコピーできませんでした。何も実行せず、何も変更していません。ほかのコンピューターがこのメモリを書き換えた可能性があります。certmend bundle verify で確認し、バンドルを作り直してください。",
    work_failed: "中止: IpXfer を実行するための、管理者だけが書き込めるフォルダを Windows の Temp フォルダに作れませんでした。何も実行せず、何も変更していません。",
    wrong_computer: "中止: このバンドルは別のコンピューター用です (コンピューター名またはエージェント GUID がこのコンピューターと異なる)。何も変更していません。このコンピューターの名前のフォルダにある repair.cmd を実行してください。",
    name_not_checked: "注意: 一覧のエージェント名が Windows の通常のコンピューター名ではないため、このコンピューターの名前とは照合しません。",
    locked: "中止: このコンピューターでは別の certmend の修復が実行中です。何も変更していません。",
    already_final: "このコンピューターはこのバンドルの修復完了または一致を報告済みです: 何もしません。",
    password_needed: "中止: エージェントのアンロードパスワードが必要ですが、ありません (無人実行: このコンピューターにパスワードファイルがない)。何も変更していません。",
};

/// Builds repair.cmd: CRLF line ends, ASCII (English) or CP932 (Japanese).
pub fn render(options: &ScriptOptions) -> Result<Zeroizing<Vec<u8>>, ScriptError> {
    let text = render_text(options)?;
    let bytes = match options.language {
        ScriptLanguage::En => {
            if !text.is_ascii() {
                return Err(match options.password {
                    Password::Embedded(_) => ScriptError::PasswordNotEncodable("English"),
                    Password::Prompt | Password::File(_) => {
                        ScriptError::Internal("non-ASCII English script".into())
                    }
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

/// repair.cmd section by section: the main flow from the top down to the `exit /b` of
/// every outcome, then the subroutines it `call`s.
fn render_text(o: &ScriptOptions) -> Result<Zeroizing<String>, ScriptError> {
    let p = Parts::of(o)?;
    let mut s = Script(Zeroizing::new(String::with_capacity(16 * 1024)));
    variables(&mut s, &p);
    run_variables(&mut s, &p);
    lock_and_main(&mut s, &p);
    identity_and_admin(&mut s, &p);
    ipxfer_and_password(&mut s, &p)?;
    run_ipxfer(&mut s, &p);
    wait_for_service(&mut s, &p);
    repair_result(&mut s, &p);
    check_result(&mut s, &p);
    stopped(&mut s, &p);
    s.line("rem ---- subroutines ----");
    s.line("");
    identity_subroutine(&mut s);
    work_folder_subroutines(&mut s);
    agent_file_subroutines(&mut s);
    thumbprint_subroutine(&mut s);
    service_and_server_subroutines(&mut s, &p);
    if !matches!(o.password, Password::Embedded(_)) {
        password_subroutine(&mut s);
    }
    lock_subroutines(&mut s);
    receipt_subroutine(&mut s, &p);
    Ok(s.0)
}

/// repair.cmd as it is written: CRLF line ends.
struct Script(Zeroizing<String>);

impl Script {
    fn line(&mut self, text: &str) {
        self.0.push_str(text);
        self.0.push_str("\r\n");
    }
}

/// An `echo` command for a message.
fn echo(text: &str) -> String {
    format!("echo {}", echo_text(text))
}

/// What the sections of repair.cmd are made of, checked.
struct Parts<'a> {
    o: &'a ScriptOptions,
    m: &'static Messages,
    sha1: String,
    sha1_spaced: String,
    /// The agent's computer name to compare, when plain.
    agent_name: Option<String>,
    agent_guid: Option<String>,
    /// IpXfer's XG arguments (`-s ... -c ... `), empty for the seed syntax.
    xg_args: String,
    target_server: Option<&'a str>,
    tools: &'static str,
}

impl<'a> Parts<'a> {
    fn of(o: &'a ScriptOptions) -> Result<Self, ScriptError> {
        let is_hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
        let is_sha256 = |s: &str| s.len() == 64 && is_hex(s);
        if let Password::File(path) = &o.password {
            if !valid_agent_path(path) {
                return Err(ScriptError::BadPasswordFile(path.clone()));
            }
        }
        if !is_hex(&o.bundle_id)
            || !is_sha256(&o.certificate_sha256)
            || !is_sha256(&o.ipxfer_sha256)
            || !is_sha256(&o.ipxfer_x64_sha256)
            || !is_hex(&o.certificate_sha1_thumbprint)
            || o.certificate_sha1_thumbprint.len() != 40
        {
            return Err(ScriptError::Internal("ids must be hex".into()));
        }
        let sha1 = o.certificate_sha1_thumbprint.to_ascii_uppercase();
        // Older Windows prints hashes as bytes with spaces between them.
        let sha1_spaced = crate::hexfmt::byte_pairs(&sha1);
        let agent_name = agent_computer_name(o);
        let agent_guid = o.agent_guid.as_deref().and_then(normalise_guid);
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
        Ok(Parts {
            o,
            m,
            sha1,
            sha1_spaced,
            agent_name,
            agent_guid,
            xg_args,
            target_server,
            tools,
        })
    }
}

/// The header and every variable the script uses, set before anything runs.
fn variables(s: &mut Script, p: &Parts) {
    let o = p.o;
    let sha1 = &p.sha1;
    let sha1_spaced = &p.sha1_spaced;
    let agent_name = &p.agent_name;
    let agent_guid = &p.agent_guid;
    let target_server = p.target_server;
    let tools = p.tools;
    s.line("@echo off");
    s.line("rem certmend repair script. Generated by certmend; do not edit.");
    s.line("rem   repair.cmd          put the server certificate on this agent (as administrator)");
    s.line("rem   repair.cmd /check   only compare this agent's certificate; changes nothing");
    s.line("rem   repair.cmd /quiet   unattended (startup script, scheduled task): asks nothing");
    s.line("setlocal EnableExtensions DisableDelayedExpansion");
    s.line(&format!("set \"BUNDLE_ID={}\"", o.bundle_id));
    s.line(&format!("set \"EXPECTED={}\"", o.certificate_sha256));
    s.line(&format!("set \"EXPECTED_SHA1={sha1}\""));
    s.line(&format!("set \"EXPECTED_SHA1_SPACED={sha1_spaced}\""));
    s.line("rem SHA-256 of IpXfer.exe and IpXfer_x64.exe as certmend wrote them.");
    s.line(&format!(
        "set \"EXPECTED_IPXFER={}\"",
        o.ipxfer_sha256.to_ascii_uppercase()
    ));
    s.line(&format!(
        "set \"EXPECTED_IPXFER_X64={}\"",
        o.ipxfer_x64_sha256.to_ascii_uppercase()
    ));
    s.line("rem The bundle's agent: its computer name (NetBIOS, 15 characters at most) and GUID.");
    s.line(&format!(
        "set \"AGENT_NAME={}\"",
        agent_name.as_deref().unwrap_or("")
    ));
    s.line(&format!(
        "set \"AGENT_GUID={}\"",
        agent_guid.as_deref().unwrap_or("")
    ));
    match target_server {
        Some(server) => s.line(&format!("set \"TARGET_SERVER={server}\"")),
        None => s.line("set \"TARGET_SERVER=\""),
    }
    s.line("set \"BUNDLE=%~dp0\"");
    s.line(&format!("set \"TOOLS={tools}\""));
    s.line("set \"RECEIPTS=%~dp0..\\receipts\"");
    s.line(
        "rem Never the stick as the current folder: it would be searched for programs and DLLs.",
    );
    s.line("cd /d \"%SystemRoot%\\System32\"");
    s.line("set \"RUN_ID=%RANDOM%%RANDOM%%RANDOM%\"");
    s.line("set \"MODE=repair\"");
    s.line("if /i \"%~1\"==\"/check\" set \"MODE=check\"");
    s.line("set \"IPXFER=\"");
    s.line("set \"IPX_EXIT=\"");
    s.line("set \"BEFORE=\"");
    s.line("set \"AFTER=\"");
    s.line("set \"CHECK=\"");
    s.line("set \"THUMB=\"");
    s.line("set \"SERVICE=\"");
    s.line("set \"WAITED=\"");
    s.line("set \"SERVER_CHECK=\"");
    s.line("set \"NAME_CHECK=\"");
    s.line("set \"GUID_CHECK=\"");
    s.line("set \"TAMPERED=\"");
    s.line("set \"WORK=\"");
    s.line("set \"RESULT=\"");
    s.line("rem This computer's name without double quotes: only ever expanded inside quotes.");
    s.line("set \"R_COMPUTER=\"");
    s.line("if defined COMPUTERNAME set \"R_COMPUTER=%COMPUTERNAME:\"=%\"");
    s.line("");
}

/// What `/quiet`, the lock, the local log and the password file need.
fn run_variables(s: &mut Script, p: &Parts) {
    s.line("set \"QUIET=\"");
    s.line("if /i \"%~1\"==\"/quiet\" set \"QUIET=1\"");
    s.line("if /i \"%~2\"==\"/quiet\" set \"QUIET=1\"");
    s.line(&format!("set \"LOCK={LOCK_DIR}\""));
    s.line(&format!("set \"LOG={LOCAL_LOG}\""));
    s.line("set \"LOCKED=\"");
    s.line("set \"FINAL=\"");
    s.line("set \"AGENT_PWD=\"");
    if let Password::File(path) = &p.o.password {
        s.line("rem The agent unload password is the first line of this file on the PC.");
        s.line(&format!("set \"PASSWORD_FILE={path}\""));
    }
    s.line("");
}

/// One run at a time on a PC: the whole flow runs inside the lock, which every way
/// out of it releases.
fn lock_and_main(s: &mut Script, p: &Parts) {
    s.line("rem One run at a time on this PC (a startup script and a scheduled task may meet):");
    s.line("rem the lock is a folder mkdir makes atomically; see :lock for a stale one.");
    s.line("call :lock");
    s.line("if not defined LOCKED goto locked");
    s.line("call :main");
    s.line("set \"RC=%ERRORLEVEL%\"");
    s.line("call :unlock");
    s.line("exit /b %RC%");
    s.line(":locked");
    s.line(">>\"%LOG%\" echo certmend bundle=\"%BUNDLE_ID%\" run=\"%RUN_ID%\" locked: another run holds %LOCK%");
    s.line(&echo(p.m.locked));
    s.line(&format!("exit /b {}", exit::LOCKED));
    s.line("");
    s.line(":main");
}

/// Is this the bundle's agent, is the agent there, is this a check only, and are we an administrator.
fn identity_and_admin(s: &mut Script, p: &Parts) {
    let m = p.m;
    let agent_name = &p.agent_name;
    s.line("rem Is this the bundle's agent? Also with /check: a survey from the wrong folder");
    s.line("rem must not report another agent.");
    if agent_name.is_none() {
        s.line(&echo(m.name_not_checked));
    }
    s.line("call :identity");
    s.line("if \"%NAME_CHECK%\"==\"differs\" goto wrong_computer");
    s.line("if \"%GUID_CHECK%\"==\"differs\" goto wrong_computer");
    s.line("");
    s.line("call :find_agent");
    s.line("if not defined AGENT_DIR goto agent_not_found");
    s.line("call :hash \"%AGENT_DIR%OfcNTCer.dat\"");
    s.line("set \"BEFORE=%HASH%\"");
    s.line("if \"%MODE%\"==\"check\" goto check");
    s.line("rem Unattended: once a final receipt was written for this bundle, nothing more;");
    s.line("rem an agent that already holds the certificate is not touched.");
    s.line("if not defined QUIET goto admin_check");
    s.line("call :find_final");
    s.line("if defined FINAL goto already_final");
    s.line("call :judge \"%AGENT_DIR%OfcNTCer.dat\"");
    s.line("if not \"%CHECK%\"==\"none\" goto check_matches");
    s.line(":admin_check");
    s.line("");
    s.line("rem Administrator rights. net session fails when the Server service is stopped,");
    s.line("rem so fltmc (which also needs administrator rights) is asked too.");
    s.line("\"%SystemRoot%\\System32\\net.exe\" session >nul 2>&1");
    s.line("if not errorlevel 1 goto is_admin");
    s.line("\"%SystemRoot%\\System32\\fltmc.exe\" >nul 2>&1");
    s.line("if not errorlevel 1 goto is_admin");
    s.line(&result_line(ReceiptResult::NotAdmin));
    s.line(&echo(m.not_admin));
    s.line("call :receipt");
    s.line(&format!("exit /b {}", exit::NOT_ADMIN));
    s.line(":is_admin");
    s.line("");
}

/// IpXfer for this processor, and the agent unload password (asked for or embedded).
fn ipxfer_and_password(s: &mut Script, p: &Parts) -> Result<(), ScriptError> {
    let o = p.o;
    let m = p.m;
    s.line("rem IpXfer for this processor (a 32-bit cmd on 64-bit Windows sets PROCESSOR_ARCHITEW6432).");
    s.line("set \"IPXFER=IpXfer.exe\"");
    s.line("if /i \"%PROCESSOR_ARCHITECTURE%\"==\"AMD64\" set \"IPXFER=IpXfer_x64.exe\"");
    s.line("if /i \"%PROCESSOR_ARCHITECTURE%\"==\"ARM64\" set \"IPXFER=IpXfer_x64.exe\"");
    s.line("if defined PROCESSOR_ARCHITEW6432 set \"IPXFER=IpXfer_x64.exe\"");
    s.line("set \"EXPECTED_TOOL=%EXPECTED_IPXFER%\"");
    s.line("if \"%IPXFER%\"==\"IpXfer_x64.exe\" set \"EXPECTED_TOOL=%EXPECTED_IPXFER_X64%\"");
    s.line("if not exist \"%TOOLS%%IPXFER%\" goto tool_missing");
    s.line("if not exist \"%BUNDLE%OfcNTCer.dat\" goto tool_missing");
    s.line("");
    match &o.password {
        Password::Prompt => {
            s.line("rem Nobody can type in an unattended run.");
            s.line("if defined QUIET goto password_needed");
            s.line(":ask_password");
            s.line("set \"AGENT_PWD=\"");
            s.line(&format!("set /p \"AGENT_PWD={}\"", prompt_text(m.prompt)));
            s.line("call :check_password");
            s.line(&format!("if \"%PWD_OK%\"==\"0\" {}", echo(m.bad_password)));
            s.line("if \"%PWD_OK%\"==\"0\" goto ask_password");
        }
        Password::File(_) => password_from_file(s, m),
        Password::Embedded(password) => {
            let value = escape_set_value(password)?;
            s.line("rem The agent unload password was written here at the admin's request.");
            s.line(&format!("set \"AGENT_PWD={}\"", argv_quoted_form(&value)));
        }
    }
    s.line("");
    Ok(())
}

/// The password from the file the export named: its first line, checked like a typed
/// one; missing, empty or unusable, an interactive run asks and `/quiet` stops.
fn password_from_file(s: &mut Script, m: &Messages) {
    s.line("set \"AGENT_PWD=\"");
    s.line("if exist \"%PASSWORD_FILE%\" set /p \"AGENT_PWD=\" <\"%PASSWORD_FILE%\"");
    s.line("call :check_password");
    s.line("if \"%PWD_OK%\"==\"0\" set \"AGENT_PWD=\"");
    s.line("if defined AGENT_PWD goto password_done");
    s.line("if defined QUIET goto password_needed");
    s.line(":ask_password");
    s.line("set \"AGENT_PWD=\"");
    s.line(&format!("set /p \"AGENT_PWD={}\"", prompt_text(m.prompt)));
    s.line("call :check_password");
    s.line(&format!("if \"%PWD_OK%\"==\"0\" {}", echo(m.bad_password)));
    s.line("if \"%PWD_OK%\"==\"0\" goto ask_password");
    s.line(":password_done");
}

/// IpXfer run from checked copies in a folder only administrators can write.
fn run_ipxfer(s: &mut Script, p: &Parts) {
    let m = p.m;
    let xg_args = &p.xg_args;
    s.line("rem IpXfer and the certificate are copied into a new folder only administrators can");
    s.line("rem write and checked there; only those copies are used.");
    s.line("call :prepare_work");
    s.line("if defined TAMPERED goto tampered");
    s.line(&echo(m.running));
    s.line("cd /d \"%WORK%\"");
    s.line("if defined AGENT_PWD goto run_with_password");
    s.line(&format!(
        "\"%WORK%\\%IPXFER%\" {xg_args}-e \"%WORK%\\OfcNTCer.dat\""
    ));
    s.line("set \"IPX_EXIT=%ERRORLEVEL%\"");
    s.line("goto after_run");
    s.line(":run_with_password");
    s.line(&format!(
        "\"%WORK%\\%IPXFER%\" {xg_args}-e \"%WORK%\\OfcNTCer.dat\" -pwd \"%AGENT_PWD%\""
    ));
    s.line("set \"IPX_EXIT=%ERRORLEVEL%\"");
    s.line(":after_run");
    s.line("set \"AGENT_PWD=\"");
    s.line("call :remove_work");
    s.line("");
}

/// Waiting for the agent service IpXfer restarts.
fn wait_for_service(s: &mut Script, p: &Parts) {
    let m = p.m;
    s.line("rem IpXfer stops the agent service and starts it again (KA-0006149): wait until");
    s.line("rem ntrtscan runs, polling once a second, at most about a minute. A service that");
    s.line("rem cannot be queried (not installed, or sc failed) is not waited for.");
    s.line("set \"SERVICE=absent\"");
    s.line("set \"WAITED=0\"");
    s.line("\"%SystemRoot%\\System32\\sc.exe\" query ntrtscan >nul 2>&1");
    s.line("if errorlevel 1 goto service_done");
    s.line(":wait_service");
    s.line("call :service_state");
    s.line("if \"%SERVICE%\"==\"running\" goto service_done");
    s.line(&format!(
        "if %WAITED% geq {SERVICE_WAIT_POLLS} goto service_late"
    ));
    s.line(&format!(
        "if \"%WAITED%\"==\"0\" {}",
        echo(m.waiting_service)
    ));
    s.line("set /a WAITED+=1");
    s.line("\"%SystemRoot%\\System32\\ping.exe\" -n 2 127.0.0.1 >nul 2>&1");
    s.line("goto wait_service");
    s.line(":service_late");
    s.line("set \"SERVICE=not_running\"");
    s.line(&echo(m.service_late));
    s.line(":service_done");
    s.line("");
}

/// The repair's result, judged by the agent's certificate, with its receipt and exit code.
fn repair_result(s: &mut Script, p: &Parts) {
    let m = p.m;
    s.line("rem Check the result, not IpXfer's (undocumented) exit code: look again a few");
    s.line("rem times before calling it a failure.");
    s.line("set \"TRIES=0\"");
    s.line(":verify");
    s.line("call :judge \"%AGENT_DIR%OfcNTCer.dat\"");
    s.line("set \"AFTER=%HASH%\"");
    s.line("if not \"%CHECK%\"==\"none\" goto repaired");
    s.line("set /a TRIES+=1");
    s.line("if %TRIES% geq 5 goto not_repaired");
    s.line("\"%SystemRoot%\\System32\\ping.exe\" -n 2 127.0.0.1 >nul 2>&1");
    s.line("goto verify");
    s.line("");
    s.line(":repaired");
    s.line(&result_line(ReceiptResult::Repaired));
    s.line(&format!(
        "if \"%CHECK%\"==\"thumbprint\" {}",
        echo(m.same_certificate)
    ));
    s.line("call :server_check");
    s.line(&echo(m.repaired));
    s.line("call :receipt");
    s.line(&format!("exit /b {}", exit::OK));
    s.line("");
    s.line(":not_repaired");
    s.line("if not \"%IPX_EXIT%\"==\"0\" goto ipxfer_failed");
    s.line(&result_line(ReceiptResult::CertStillDifferent));
    s.line(&echo(m.still_different));
    s.line(&echo(m.next_step));
    s.line("call :receipt");
    s.line(&format!("exit /b {}", exit::CERT_STILL_DIFFERENT));
    s.line(":ipxfer_failed");
    s.line(&result_line(ReceiptResult::IpxferFailed));
    s.line(&echo(m.ipxfer_failed));
    s.line(&echo(m.next_step));
    s.line("call :receipt");
    s.line(&format!("exit /b {}", exit::IPXFER_FAILED));
    s.line("");
}

/// `/check`: the agent's certificate judged, nothing changed.
fn check_result(s: &mut Script, p: &Parts) {
    let m = p.m;
    s.line(":check");
    s.line("call :judge \"%AGENT_DIR%OfcNTCer.dat\"");
    s.line("if not \"%CHECK%\"==\"none\" goto check_matches");
    s.line(&result_line(ReceiptResult::Differs));
    s.line(&echo(m.differs));
    s.line("call :receipt");
    s.line(&format!("exit /b {}", exit::DIFFERS));
    s.line(":check_matches");
    s.line(&result_line(ReceiptResult::Matches));
    s.line(&format!(
        "if \"%CHECK%\"==\"thumbprint\" {}",
        echo(m.same_certificate)
    ));
    s.line("call :server_check");
    s.line(&echo(m.matches));
    s.line("call :receipt");
    s.line(&format!("exit /b {}", exit::OK));
    s.line("");
}

/// Every way the script stops without running IpXfer.
fn stopped(s: &mut Script, p: &Parts) {
    let m = p.m;
    quiet_stops(s, m);
    s.line(":agent_not_found");
    s.line(&result_line(ReceiptResult::AgentNotFound));
    s.line(&echo(m.agent_not_found));
    s.line("call :receipt");
    s.line(&format!("exit /b {}", exit::AGENT_NOT_FOUND));
    s.line("");
    s.line(":tool_missing");
    s.line(&result_line(ReceiptResult::BundleBroken));
    s.line(&echo(m.tool_missing));
    s.line("call :receipt");
    s.line(&format!("exit /b {}", exit::BUNDLE_BROKEN));
    s.line("");
    s.line(":tampered");
    s.line("set \"AGENT_PWD=\"");
    s.line("call :remove_work");
    s.line(&result_line(ReceiptResult::BundleTampered));
    s.line(&format!(
        "if \"%TAMPERED%\"==\"work_folder\" {}",
        echo(m.work_failed)
    ));
    // TAMPERED holds one of the script's own words (a file name or work_folder).
    s.line(&format!(
        "if not \"%TAMPERED%\"==\"work_folder\" echo %TAMPERED%: {}",
        echo_text(m.tampered)
    ));
    s.line("call :receipt");
    s.line(&format!("exit /b {}", exit::BUNDLE_TAMPERED));
    s.line("");
    s.line(":wrong_computer");
    s.line(&result_line(ReceiptResult::WrongComputer));
    s.line(&echo(m.wrong_computer));
    s.line("call :receipt");
    s.line(&format!("exit /b {}", exit::WRONG_COMPUTER));
    s.line("");
}

/// The ways an unattended run stops: done before, or no password.
fn quiet_stops(s: &mut Script, m: &Messages) {
    s.line(":already_final");
    s.line(">>\"%LOG%\" echo certmend bundle=\"%BUNDLE_ID%\" run=\"%RUN_ID%\" already reported: nothing done");
    s.line(&echo(m.already_final));
    s.line(&format!("exit /b {}", exit::OK));
    s.line("");
    s.line(":password_needed");
    s.line(&result_line(ReceiptResult::PasswordNeeded));
    s.line(&echo(m.password_needed));
    s.line("call :receipt");
    s.line(&format!("exit /b {}", exit::PASSWORD_NEEDED));
    s.line("");
}

/// Subroutine: the computer's name and the agent's GUID against the bundle's.
fn identity_subroutine(s: &mut Script) {
    s.line("rem NAME_CHECK: this computer's name against the agent's (skipped when the list's");
    s.line("rem name is not a plain computer name). GUID_CHECK: the registry value GUID of the");
    s.line("rem agent's key (either view, braces and letter case ignored) against the list's:");
    s.line("rem absent when the registry has none, skipped when the list had none. The registry");
    s.line("rem text is only compared as a for variable, never expanded into the script.");
    s.line(":identity");
    s.line("set \"NAME_CHECK=skipped\"");
    s.line("if not defined AGENT_NAME goto identity_guid");
    s.line("set \"NAME_CHECK=differs\"");
    s.line("if /i \"%R_COMPUTER%\"==\"%AGENT_NAME%\" set \"NAME_CHECK=match\"");
    s.line(":identity_guid");
    s.line("set \"GUID_CHECK=skipped\"");
    s.line("if not defined AGENT_GUID goto :eof");
    s.line("set \"GUID_SEEN=\"");
    s.line("set \"GUID_MATCH=\"");
    s.line("for %%V in (64 32) do call :query_guid %%V");
    s.line("set \"GUID_CHECK=absent\"");
    s.line("if defined GUID_SEEN set \"GUID_CHECK=differs\"");
    s.line("if defined GUID_MATCH set \"GUID_CHECK=match\"");
    s.line("goto :eof");
    s.line(":query_guid");
    s.line(&format!("for /f \"tokens=1-3 delims={{}} \" %%A in ('{REG} query \"{AGENT_KEY}\" /v \"GUID\" /reg:%1 2^>nul') do if /i \"%%A %%B\"==\"GUID REG_SZ\" set \"GUID_SEEN=1\""));
    s.line(&format!("for /f \"tokens=1-3 delims={{}} \" %%A in ('{REG} query \"{AGENT_KEY}\" /v \"GUID\" /reg:%1 2^>nul') do if /i \"%%A %%B %%C\"==\"GUID REG_SZ %AGENT_GUID%\" set \"GUID_MATCH=1\""));
    s.line("goto :eof");
    s.line("");
}

/// Subroutines: the admin-only work folder, made and removed.
fn work_folder_subroutines(s: &mut Script) {
    s.line("rem TAMPERED is empty when WORK is a new folder only Administrators and SYSTEM can");
    s.line("rem write, holding copies of IpXfer and the certificate with the SHA-256 certmend");
    s.line("rem wrote; else it names what failed. mkdir fails on a name that exists (a folder or");
    s.line("rem junction planted there is never used, nor removed). Until icacls has run, the");
    s.line("rem folder inherits the Temp folder's right for users to add files: it must then");
    s.line("rem still be empty, and a folder, not a reparse point (attribute l).");
    s.line(":prepare_work");
    s.line("set \"TAMPERED=work_folder\"");
    s.line("set \"WORK=%SystemRoot%\\Temp\\certmend-%RANDOM%%RANDOM%%RANDOM%%RANDOM%\"");
    s.line("mkdir \"%WORK%\" >nul 2>&1");
    s.line("if errorlevel 1 set \"WORK=\"");
    s.line("if not defined WORK goto :eof");
    s.line(&format!("{ICACLS_LINE} >nul 2>&1"));
    s.line("if errorlevel 1 goto :eof");
    s.line("set \"WORK_ATTR=\"");
    s.line("for %%F in (\"%WORK%\") do set \"WORK_ATTR=%%~aF\"");
    s.line("if not defined WORK_ATTR goto :eof");
    s.line("if not \"%WORK_ATTR:l=%\"==\"%WORK_ATTR%\" goto :eof");
    s.line("if /i not \"%WORK_ATTR:~0,1%\"==\"d\" goto :eof");
    s.line("set \"WORK_ENTRY=\"");
    s.line("for /f \"delims=\" %%E in ('dir /a /b \"%WORK%\" 2^>nul') do set \"WORK_ENTRY=1\"");
    s.line("if defined WORK_ENTRY goto :eof");
    s.line("set \"TAMPERED=%IPXFER%\"");
    s.line("copy /b /y \"%TOOLS%%IPXFER%\" \"%WORK%\\%IPXFER%\" >nul 2>&1");
    s.line("if errorlevel 1 goto :eof");
    s.line("call :hash \"%WORK%\\%IPXFER%\"");
    s.line("if not defined HASH goto :eof");
    s.line("if /i not \"%HASH%\"==\"%EXPECTED_TOOL%\" goto :eof");
    s.line("set \"TAMPERED=OfcNTCer.dat\"");
    s.line("copy /b /y \"%BUNDLE%OfcNTCer.dat\" \"%WORK%\\OfcNTCer.dat\" >nul 2>&1");
    s.line("if errorlevel 1 goto :eof");
    s.line("call :hash \"%WORK%\\OfcNTCer.dat\"");
    s.line("if not defined HASH goto :eof");
    s.line("if /i not \"%HASH%\"==\"%EXPECTED%\" goto :eof");
    s.line("rem Nothing but the two copies (should icacls have failed yet said it succeeded).");
    s.line("set \"TAMPERED=work_folder\"");
    s.line("set \"WORK_COUNT=0\"");
    s.line("for /f \"delims=\" %%E in ('dir /a /b \"%WORK%\" 2^>nul') do set /a WORK_COUNT+=1");
    s.line("if not \"%WORK_COUNT%\"==\"2\" goto :eof");
    s.line("set \"TAMPERED=\"");
    s.line("goto :eof");
    s.line("");
    s.line("rem Removes the folder prepare_work made (never one it did not make).");
    s.line(":remove_work");
    s.line("if not defined WORK goto :eof");
    s.line("cd /d \"%SystemRoot%\\System32\"");
    s.line("rd /s /q \"%WORK%\" >nul 2>&1");
    s.line("set \"WORK=\"");
    s.line("goto :eof");
    s.line("");
}

/// Subroutines: the agent's folder, and judging and hashing its certificate.
fn agent_file_subroutines(s: &mut Script) {
    s.line("rem The agent folder from the registry (64-bit view, then 32-bit), with a final backslash.");
    s.line(":find_agent");
    s.line("set \"AGENT_DIR=\"");
    s.line("for %%V in (64 32) do if not defined AGENT_DIR call :query_agent %%V");
    s.line("if not defined AGENT_DIR goto :eof");
    s.line("if not \"%AGENT_DIR:~-1%\"==\"\\\" set \"AGENT_DIR=%AGENT_DIR%\\\"");
    s.line("goto :eof");
    s.line(":query_agent");
    s.line(&format!("for /f \"tokens=1-3,*\" %%A in ('{REG} query \"{AGENT_KEY}\" /v \"Application Path\" /reg:%1 2^>nul') do if /i \"%%C\"==\"REG_SZ\" set \"AGENT_DIR=%%D\""));
    s.line("goto :eof");
    s.line("");
    s.line("rem CHECK=sha256 when the file has the bundled file's bytes, thumbprint when it holds");
    s.line("rem the same certificate in another encoding (PEM), else none. THUMB is the SHA-1");
    s.line("rem thumbprint found in it (recorded in the receipt either way).");
    s.line(":judge");
    s.line("set \"CHECK=none\"");
    s.line("call :hash \"%~1\"");
    s.line("call :thumbprint \"%~1\"");
    s.line("if defined HASH if /i \"%HASH%\"==\"%EXPECTED%\" set \"CHECK=sha256\"");
    s.line("if not \"%CHECK%\"==\"none\" goto :eof");
    s.line("if defined THUMB if /i \"%THUMB%\"==\"%EXPECTED_SHA1%\" set \"CHECK=thumbprint\"");
    s.line("goto :eof");
    s.line("");
    hash_subroutine(s);
}

/// Subroutine: a file's SHA-256 by certutil (also the entry script's).
fn hash_subroutine(s: &mut Script) {
    s.line("rem SHA-256 of a file (64 hex digits, spaces removed), or empty. certutil's second");
    s.line("rem line is the hash (Windows 10 and later without spaces, older with spaces");
    s.line("rem between bytes); its labels are localized and never read.");
    s.line(":hash");
    s.line("set \"HASH=\"");
    s.line("if not exist \"%~1\" goto :eof");
    s.line(&format!("for /f \"skip=1 delims=\" %%H in ('{CERTUTIL} -hashfile \"%~1\" SHA256 2^>nul') do if not defined HASH set \"HASH=%%H\""));
    s.line("if not defined HASH goto :eof");
    s.line("set \"HASH=%HASH: =%\"");
    s.line("if not \"%HASH:~64%\"==\"\" set \"HASH=\"");
    s.line("if \"%HASH:~63,1%\"==\"\" set \"HASH=\"");
    s.line("goto :eof");
    s.line("");
}

/// Subroutine: the SHA-1 thumbprint of a certificate file, read as data.
fn thumbprint_subroutine(s: &mut Script) {
    s.line("rem The SHA-1 thumbprint of the certificate in a file (40 hex digits), or empty, from");
    s.line("rem certutil -dump: the value of the last line whose label ends in (sha1), which is");
    s.line(
        "rem \"Cert Hash(sha1)\" in English (Windows 10 and later print the hex without spaces,",
    );
    s.line("rem older Windows with a space between bytes). No public source shows the Japanese");
    s.line("rem label; should it not end in (sha1), a line whose whole value is the server's");
    s.line("rem thumbprint still counts. The dump prints the certificate's names, so its lines");
    s.line("rem are only compared or copied as for variables, then stripped of double quotes");
    s.line("rem and checked to be hex before anything else uses them.");
    s.line(":thumbprint");
    s.line("set \"THUMB=\"");
    s.line("if not exist \"%~1\" goto :eof");
    s.line(&format!("for /f \"tokens=1,2,* delims=():\" %%A in ('{CERTUTIL} -dump \"%~1\" 2^>nul') do if /i \"%%B\"==\"sha1\" set \"THUMB=%%C\""));
    s.line("if not defined THUMB goto thumbprint_by_value");
    s.line("set \"THUMB=%THUMB:\"=%\"");
    s.line("if not defined THUMB goto thumbprint_by_value");
    s.line("set \"THUMB=%THUMB: =%\"");
    s.line("if not defined THUMB goto thumbprint_by_value");
    s.line("set \"NOT_HEX=%THUMB%\"");
    for digit in "0123456789ABCDEF".chars() {
        // Replacement in %V:x=y% ignores letter case: a-f go too.
        s.line(&format!(
            "if defined NOT_HEX set \"NOT_HEX=%NOT_HEX:{digit}=%\""
        ));
    }
    s.line("if defined NOT_HEX set \"THUMB=\"");
    s.line("if not defined THUMB goto thumbprint_by_value");
    s.line("if not \"%THUMB:~40%\"==\"\" set \"THUMB=\"");
    s.line("if not defined THUMB goto thumbprint_by_value");
    s.line("if \"%THUMB:~39,1%\"==\"\" set \"THUMB=\"");
    s.line("if defined THUMB goto :eof");
    s.line(":thumbprint_by_value");
    s.line(&format!("for /f \"tokens=1,* delims=:\" %%A in ('{CERTUTIL} -dump \"%~1\" 2^>nul') do if /i \"%%B\"==\" %EXPECTED_SHA1%\" set \"THUMB=%EXPECTED_SHA1%\""));
    s.line("if defined THUMB goto :eof");
    s.line(&format!("for /f \"tokens=1,* delims=:\" %%A in ('{CERTUTIL} -dump \"%~1\" 2^>nul') do if /i \"%%B\"==\" %EXPECTED_SHA1_SPACED%\" set \"THUMB=%EXPECTED_SHA1%\""));
    s.line("goto :eof");
    s.line("");
}

/// Subroutines: the agent service's state, and the agent's registered server.
fn service_and_server_subroutines(s: &mut Script, p: &Parts) {
    let m = p.m;
    s.line("rem SERVICE=running when sc query ntrtscan shows state 4 RUNNING, else waiting. Only");
    s.line("rem the state's number and word are read, not the labels (another language).");
    s.line(":service_state");
    s.line("set \"SERVICE=waiting\"");
    s.line(&format!("for /f \"tokens=1-3 delims=: \" %%A in ('{SC} query ntrtscan 2^>nul') do if /i \"%%B %%C\"==\"4 RUNNING\" set \"SERVICE=running\""));
    s.line("goto :eof");
    s.line("");
    s.line("rem XG syntax only: SERVER_CHECK=match when the agent's registry value Server (either");
    s.line(
        "rem view) is the server given to -s, differs when it names another, missing when there",
    );
    s.line("rem is none. Its form (name as given, FQDN or IP) is not documented, so a mismatch is");
    s.line(
        "rem a warning in the receipt, not a failed repair. The value is only compared as a for",
    );
    s.line("rem variable, never expanded into the script or the receipt.");
    s.line(":server_check");
    s.line("if not defined TARGET_SERVER goto :eof");
    s.line("set \"SERVER_SEEN=\"");
    s.line("set \"SERVER_MATCH=\"");
    s.line("for %%V in (64 32) do call :query_server %%V");
    s.line("set \"SERVER_CHECK=missing\"");
    s.line("if defined SERVER_SEEN set \"SERVER_CHECK=differs\"");
    s.line("if defined SERVER_MATCH set \"SERVER_CHECK=match\"");
    s.line(&format!(
        "if not \"%SERVER_CHECK%\"==\"match\" {}",
        echo(m.server_differs)
    ));
    s.line("goto :eof");
    s.line(":query_server");
    s.line(&format!("for /f \"tokens=1,2,*\" %%A in ('{REG} query \"{AGENT_KEY}\" /v \"Server\" /reg:%1 2^>nul') do if /i \"%%A %%B\"==\"Server REG_SZ\" set \"SERVER_SEEN=1\""));
    s.line(&format!("for /f \"tokens=1,2,*\" %%A in ('{REG} query \"{AGENT_KEY}\" /v \"Server\" /reg:%1 2^>nul') do if /i \"%%A %%B %%C\"==\"Server REG_SZ %TARGET_SERVER%\" set \"SERVER_MATCH=1\""));
    s.line("goto :eof");
    s.line("");
}

/// Subroutine (typed passwords only): checks the password typed.
fn password_subroutine(s: &mut Script) {
    s.line("rem PWD_OK=0 when the typed password holds a double quote or ends with a backslash.");
    s.line("rem An empty answer leaves AGENT_PWD undefined (some cmd.exe versions keep it");
    s.line("rem defined but empty, which would pass -pwd \"\").");
    s.line("rem Delayed expansion only here, where values are expanded, never parsed.");
    s.line(":check_password");
    s.line("set \"PWD_OK=1\"");
    s.line("if not defined AGENT_PWD goto :eof");
    s.line("setlocal EnableDelayedExpansion");
    s.line("set \"NOQUOTE=!AGENT_PWD:\"=!\"");
    s.line("set \"OK=1\"");
    s.line("if not \"!NOQUOTE!\"==\"!AGENT_PWD!\" set \"OK=0\"");
    s.line("rem The last character, deleted if it is a backslash: no comparison with a value.");
    s.line("set \"LAST=!AGENT_PWD:~-1!\"");
    s.line("set \"LAST=!LAST:\\=!\"");
    s.line("if not defined LAST set \"OK=0\"");
    s.line("set \"ANY=!AGENT_PWD!\"");
    s.line("if not defined ANY set \"OK=empty\"");
    s.line("endlocal & set \"PWD_OK=%OK%\"");
    s.line("if \"%PWD_OK%\"==\"empty\" set \"AGENT_PWD=\"");
    s.line("goto :eof");
    s.line("");
}

/// Subroutine: the receipt line.
fn receipt_subroutine(s: &mut Script, p: &Parts) {
    let m = p.m;
    s.line("rem One receipt line per run, in the stick's receipts folder, whatever the result.");
    s.line("rem Every value is quoted; the system's (computer name, date, time) lose their double");
    s.line("rem quotes first, so that none can add a field or end the quotes.");
    s.line(":receipt");
    s.line("set \"R_DATE=%DATE:\"=%\"");
    s.line("set \"R_TIME=%TIME:\"=%\"");
    s.line("if not exist \"%RECEIPTS%\\\" mkdir \"%RECEIPTS%\" >nul 2>&1");
    let line = receipt::line(
        RECEIPT_FIELDS
            .iter()
            .map(|(key, var)| (*key, format!("%{var}%"))),
    );
    s.line(&format!(">>\"%RECEIPTS%\\%R_COMPUTER%.txt\" echo {line}"));
    s.line(&format!(">>\"%LOG%\" echo {line}"));
    s.line("rem A final result is remembered once its receipt file is there (see :find_final).");
    s.line("if not exist \"%RECEIPTS%\\%R_COMPUTER%.txt\" goto receipt_told");
    s.line("if \"%RESULT%\"==\"REPAIRED\" call :mark_final");
    s.line("if \"%RESULT%\"==\"MATCHES\" call :mark_final");
    s.line(":receipt_told");
    s.line(&echo(m.receipt));
    s.line("goto :eof");
}

/// Subroutines: the PC's lock, and what it remembers of final receipts.
fn lock_subroutines(s: &mut Script) {
    s.line("rem LOCKED=1 once this run made the lock folder. Held by another run, it is tried");
    s.line(&format!("rem once a second; still there after {LOCK_WAIT_POLLS} tries, longer than any run takes, it"));
    s.line("rem belongs to a run that died (killed, power lost) and is taken over: removed (rd");
    s.line("rem without /s: only an empty folder) and made again.");
    s.line(":lock");
    s.line("set \"LOCK_TRIES=0\"");
    s.line(":lock_try");
    s.line("rem (call ) sets ERRORLEVEL to 0: a mkdir that succeeds may leave it as it was.");
    s.line("(call )");
    s.line("mkdir \"%LOCK%\" >nul 2>&1");
    s.line("if not errorlevel 1 goto lock_taken");
    s.line(&format!(
        "if %LOCK_TRIES% geq {LOCK_WAIT_POLLS} goto lock_stale"
    ));
    s.line("set /a LOCK_TRIES+=1");
    s.line("\"%SystemRoot%\\System32\\ping.exe\" -n 2 127.0.0.1 >nul 2>&1");
    s.line("goto lock_try");
    s.line(":lock_stale");
    s.line(">>\"%LOG%\" echo certmend bundle=\"%BUNDLE_ID%\" run=\"%RUN_ID%\" stale lock taken over: %LOCK%");
    s.line("rd \"%LOCK%\" >nul 2>&1");
    s.line("(call )");
    s.line("mkdir \"%LOCK%\" >nul 2>&1");
    s.line("if errorlevel 1 goto :eof");
    s.line(":lock_taken");
    s.line("set \"LOCKED=1\"");
    s.line("goto :eof");
    s.line(":unlock");
    s.line("rd \"%LOCK%\" >nul 2>&1");
    s.line("goto :eof");
    s.line("");
    s.line("rem FINAL=1 when this PC already wrote a final receipt (REPAIRED or MATCHES) for this");
    s.line("rem bundle: remembered in HKLM, which only administrators can write.");
    s.line(":find_final");
    s.line("set \"FINAL=\"");
    s.line(&format!(
        "{REG} query \"{DONE_KEY}\" /v \"%BUNDLE_ID%\" /reg:64 >nul 2>&1"
    ));
    s.line("if not errorlevel 1 set \"FINAL=1\"");
    s.line("goto :eof");
    s.line(":mark_final");
    s.line(&format!("{REG} add \"{DONE_KEY}\" /v \"%BUNDLE_ID%\" /t REG_SZ /d \"%RESULT%\" /f /reg:64 >nul 2>&1"));
    s.line("goto :eof");
    s.line("");
}

/// The receipt's fields after the magic, in the format's order ([`receipt::FIELDS`]), and
/// the variables that fill them.
const RECEIPT_FIELDS: [(&str, &str); receipt::FIELDS.len()] = [
    (field::COMPUTER, "R_COMPUTER"),
    (field::BUNDLE, "BUNDLE_ID"),
    (field::RUN, "RUN_ID"),
    (field::DATE, "R_DATE"),
    (field::TIME, "R_TIME"),
    (field::MODE, "MODE"),
    (field::IPXFER, "IPXFER"),
    (field::IPXFER_EXIT, "IPX_EXIT"),
    (field::BEFORE, "BEFORE"),
    (field::AFTER, "AFTER"),
    (field::CHECK, "CHECK"),
    (field::THUMBPRINT, "THUMB"),
    (field::SERVICE, "SERVICE"),
    (field::WAITED, "WAITED"),
    (field::SERVER, "SERVER_CHECK"),
    (field::NAME_CHECK, "NAME_CHECK"),
    (field::GUID_CHECK, "GUID_CHECK"),
    (field::TAMPERED, "TAMPERED"),
    (field::RESULT, "RESULT"),
];

/// Windows' own programs, by full path. Unquoted: inside `for /f ('...')` a command with
/// more than two double quotes loses its first and last one (`cmd /c`), and
/// `%SystemRoot%` has no spaces.
const CERTUTIL: &str = r"%SystemRoot%\System32\certutil.exe";
const REG: &str = r"%SystemRoot%\System32\reg.exe";
const SC: &str = r"%SystemRoot%\System32\sc.exe";

/// Only Administrators (S-1-5-32-544) and SYSTEM (S-1-5-18), nothing inherited; SIDs,
/// since group names are translated (MS Learn, icacls: `*SID`).
const ICACLS_LINE: &str = r#""%SystemRoot%\System32\icacls.exe" "%WORK%" /inheritance:r /grant:r "*S-1-5-32-544:(OI)(CI)F" "*S-1-5-18:(OI)(CI)F" /q"#;

/// The agent's registry key (64-bit view; `/reg:32` reads the WOW6432Node copy).
const AGENT_KEY: &str = r"HKLM\SOFTWARE\TrendMicro\PC-cillinNTCorp\CurrentVersion";

/// `set "RESULT=<word>"`: the receipt's result word for how the run ends.
fn result_line(result: ReceiptResult) -> String {
    format!("set \"RESULT={}\"", receipt::result_word(result))
}

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
            ipxfer_sha256: "11".repeat(32),
            ipxfer_x64_sha256: "2a".repeat(32),
            agent_name: "pc-acct-017".into(),
            agent_guid: Some("{6f1c2a9e-0001-4c1d-9a55-000000000001}".into()),
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
    fn password_files_are_plain_absolute_windows_paths() {
        for good in [
            r"C:\certmend\unload.txt",
            r"D:\Program Files\x.txt",
            r"\\server\share$\certmend\pw.txt",
        ] {
            assert!(valid_agent_path(good), "{good}");
        }
        for bad in [
            "",
            "unload.txt",
            r"C:unload.txt",
            r"C:\a:b",
            r"C:\%TEMP%\x",
            r"C:\a&calc",
            r"C:\a\..\b",
            r"C:\dir\",
            "C:\\a\"b",
            r"E:\経理\pw.txt",
            "/etc/passwd",
        ] {
            assert!(!valid_agent_path(bad), "{bad}");
        }
        let mut o = options();
        o.password = Password::File(r"C:\x & calc".into());
        assert_eq!(render(&o).unwrap_err().code(), "script.password_file");
        o.password = Password::File(r"C:\certmend\unload.txt".into());
        let t = text(&o);
        assert!(t.contains("set \"PASSWORD_FILE=C:\\certmend\\unload.txt\"\r\n"));
        assert!(t.contains(
            "if exist \"%PASSWORD_FILE%\" set /p \"AGENT_PWD=\" <\"%PASSWORD_FILE%\"\r\n"
        ));
        // Unattended without the file's password: nothing runs.
        let file = block(&t, "set /p \"AGENT_PWD=\" <", ":password_done\r\n");
        assert!(file.contains(
            "if defined AGENT_PWD goto password_done\r\nif defined QUIET goto password_needed\r\n"
        ));
        let needed = block(&t, "\r\n:password_needed\r\n", "exit /b 10\r\n");
        assert!(needed.contains("set \"RESULT=PASSWORD_NEEDED\"\r\n"));
        assert!(!needed.contains("prepare_work"));
        // A prompting script in /quiet has nobody to ask.
        assert!(
            text(&options()).contains("if defined QUIET goto password_needed\r\n:ask_password\r\n")
        );
    }

    /// /quiet: a PC's lock around the whole run, and no repeat after a final receipt.
    #[test]
    fn quiet_runs_are_locked_and_not_repeated() {
        let t = text(&options());
        assert!(t.contains("call :lock\r\nif not defined LOCKED goto locked\r\ncall :main\r\nset \"RC=%ERRORLEVEL%\"\r\ncall :unlock\r\nexit /b %RC%\r\n"));
        assert!(t.find("call :lock").unwrap() < t.find("call :identity").unwrap());
        let lock = routine(&t, "lock");
        assert!(
            lock.contains("mkdir \"%LOCK%\" >nul 2>&1\r\nif not errorlevel 1 goto lock_taken\r\n")
        );
        assert!(lock.contains(&format!(
            "if %LOCK_TRIES% geq {LOCK_WAIT_POLLS} goto lock_stale"
        )));
        assert!(t.contains(":lock_stale\r\n"));
        assert!(t.contains("set \"LOCK=%SystemRoot%\\Temp\\certmend.lock\"\r\n"));
        let quiet = block(
            &t,
            "if not defined QUIET goto admin_check\r\n",
            ":admin_check\r\n",
        );
        assert_eq!(quiet, "if not defined QUIET goto admin_check\r\ncall :find_final\r\nif defined FINAL goto already_final\r\ncall :judge \"%AGENT_DIR%OfcNTCer.dat\"\r\nif not \"%CHECK%\"==\"none\" goto check_matches\r\n");
        // Only final results are remembered, and in HKLM.
        let receipt = routine(&t, "receipt");
        assert!(receipt.contains("if \"%RESULT%\"==\"REPAIRED\" call :mark_final\r\nif \"%RESULT%\"==\"MATCHES\" call :mark_final\r\n"));
        assert!(receipt.contains(">>\"%LOG%\" echo certmend-receipt=1;"));
        assert!(routine(&t, "mark_final")
            .contains("reg.exe add \"HKLM\\SOFTWARE\\certmend\\Receipts\" /v \"%BUNDLE_ID%\""));
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
        assert!(text.contains("\"%WORK%\\%IPXFER%\" -e \"%WORK%\\OfcNTCer.dat\"\r\n"));
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
            "-s \"apex.example.local\" -p 8080 -sp 4343 -c 21112 -e \"%WORK%\\OfcNTCer.dat\""
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
            ";before=\"%BEFORE%\";after=\"%AFTER%\";check=\"%CHECK%\";thumbprint=\"%THUMB%\";service=\"%SERVICE%\";waited=\"%WAITED%\";server=\"%SERVER_CHECK%\";name_check=\"%NAME_CHECK%\";guid_check=\"%GUID_CHECK%\";tampered=\"%TAMPERED%\";result=\"%RESULT%\"\r\n"
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
        for line in t.lines().filter(|l| l.contains("certutil.exe -dump")) {
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
        assert!(after_run.contains(
            "\"%SystemRoot%\\System32\\sc.exe\" query ntrtscan >nul 2>&1\r\nif errorlevel 1 goto service_done\r\n"
        ));
        assert!(after_run.contains(&format!(
            "if %WAITED% geq {SERVICE_WAIT_POLLS} goto service_late\r\n"
        )));
        assert_eq!(SERVICE_WAIT_POLLS, 60);
        assert!(after_run.contains(
            "set /a WAITED+=1\r\n\"%SystemRoot%\\System32\\ping.exe\" -n 2 127.0.0.1 >nul 2>&1\r\ngoto wait_service\r\n"
        ));
        assert!(after_run.contains(":service_late\r\nset \"SERVICE=not_running\"\r\n"));
        // State 4 RUNNING, by number and word: labels may be translated.
        assert!(routine(&t, "service_state").contains(
            "('%SystemRoot%\\System32\\sc.exe query ntrtscan 2^>nul') do if /i \"%%B %%C\"==\"4 RUNNING\" set \"SERVICE=running\""
        ));
        // /check changes nothing and so waits for nothing.
        let check = &t[t.find("\r\n:check\r\n").unwrap()..t.find("\r\n:agent_not_found").unwrap()];
        assert!(!check.contains("sc.exe") && !check.contains("ping.exe"));
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
            r#"('%SystemRoot%\System32\reg.exe query "HKLM\SOFTWARE\TrendMicro\PC-cillinNTCorp\CurrentVersion" /v "Server" /reg:%1 2^>nul')"#
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

    /// The text from the first `from` up to the next `to` after it.
    fn block<'a>(t: &'a str, from: &str, to: &str) -> &'a str {
        let start = t.find(from).unwrap_or_else(|| panic!("{from} missing"));
        let end = start
            + t[start..]
                .find(to)
                .unwrap_or_else(|| panic!("{to} missing"));
        &t[start..end]
    }

    /// IpXfer and the certificate are hashed in a folder only administrators can
    /// write, and only those copies are used: never a file on the stick.
    #[test]
    fn ipxfer_runs_only_from_a_checked_copy_in_an_admin_only_folder() {
        let mut o = options();
        o.tools = ToolsLocation::Shared;
        let t = text(&o);
        assert!(t.contains(&format!("set \"EXPECTED_IPXFER={}\"\r\n", "11".repeat(32))));
        assert!(t.contains(&format!(
            "set \"EXPECTED_IPXFER_X64={}\"\r\n",
            "2A".repeat(32)
        )));
        assert!(t.contains(
            "set \"EXPECTED_TOOL=%EXPECTED_IPXFER%\"\r\nif \"%IPXFER%\"==\"IpXfer_x64.exe\" set \"EXPECTED_TOOL=%EXPECTED_IPXFER_X64%\"\r\n"
        ));
        let prepare = routine(&t, "prepare_work");
        let steps = [
            "set \"TAMPERED=work_folder\"\r\n",
            "set \"WORK=%SystemRoot%\\Temp\\certmend-%RANDOM%%RANDOM%%RANDOM%%RANDOM%\"\r\n",
            // A name that exists (planted) is never used, nor removed later.
            "mkdir \"%WORK%\" >nul 2>&1\r\nif errorlevel 1 set \"WORK=\"\r\nif not defined WORK goto :eof\r\n",
            "\"%SystemRoot%\\System32\\icacls.exe\" \"%WORK%\" /inheritance:r /grant:r \"*S-1-5-32-544:(OI)(CI)F\" \"*S-1-5-18:(OI)(CI)F\" /q >nul 2>&1\r\nif errorlevel 1 goto :eof\r\n",
            "for %%F in (\"%WORK%\") do set \"WORK_ATTR=%%~aF\"\r\nif not defined WORK_ATTR goto :eof\r\nif not \"%WORK_ATTR:l=%\"==\"%WORK_ATTR%\" goto :eof\r\n",
            "for /f \"delims=\" %%E in ('dir /a /b \"%WORK%\" 2^>nul') do set \"WORK_ENTRY=1\"\r\nif defined WORK_ENTRY goto :eof\r\n",
            "set \"TAMPERED=%IPXFER%\"\r\ncopy /b /y \"%TOOLS%%IPXFER%\" \"%WORK%\\%IPXFER%\" >nul 2>&1\r\nif errorlevel 1 goto :eof\r\ncall :hash \"%WORK%\\%IPXFER%\"\r\nif not defined HASH goto :eof\r\nif /i not \"%HASH%\"==\"%EXPECTED_TOOL%\" goto :eof\r\n",
            "set \"TAMPERED=OfcNTCer.dat\"\r\ncopy /b /y \"%BUNDLE%OfcNTCer.dat\" \"%WORK%\\OfcNTCer.dat\" >nul 2>&1\r\nif errorlevel 1 goto :eof\r\ncall :hash \"%WORK%\\OfcNTCer.dat\"\r\nif not defined HASH goto :eof\r\nif /i not \"%HASH%\"==\"%EXPECTED%\" goto :eof\r\n",
        ];
        let mut at = 0;
        for step in steps {
            let found = prepare[at..]
                .find(step)
                .unwrap_or_else(|| panic!("in order: {step}\n{prepare}"));
            at += found + step.len();
        }
        // Only after every check, the last that the folder holds the two copies and
        // nothing else, does TAMPERED become empty.
        assert!(prepare.ends_with("set \"TAMPERED=work_folder\"\r\nset \"WORK_COUNT=0\"\r\nfor /f \"delims=\" %%E in ('dir /a /b \"%WORK%\" 2^>nul') do set /a WORK_COUNT+=1\r\nif not \"%WORK_COUNT%\"==\"2\" goto :eof\r\nset \"TAMPERED=\""), "{prepare}");
        assert_eq!(prepare.matches("set \"TAMPERED=\"").count(), 1);

        // Between the check and the run, nothing but the run: from the folder, with
        // the folder as the current directory and its copy of the certificate.
        let run = block(&t, "call :prepare_work\r\n", ":after_run\r\n");
        assert!(run.starts_with("call :prepare_work\r\nif defined TAMPERED goto tampered\r\n"));
        assert!(run.contains("cd /d \"%WORK%\"\r\n"));
        for l in run.lines().filter(|l| l.contains("%IPXFER%\"")) {
            assert!(
                l.starts_with("\"%WORK%\\%IPXFER%\" -e \"%WORK%\\OfcNTCer.dat\""),
                "{l}"
            );
        }
        assert!(!run.contains("exit /b") && !run.contains("%TOOLS%") && !run.contains("%BUNDLE%"));
        // Outside prepare_work the stick's files are only looked for, never used.
        let outside = t.replace(prepare, "");
        let uses: Vec<&str> = outside
            .lines()
            .filter(|l| l.contains("%TOOLS%") || l.contains("%BUNDLE%"))
            .collect();
        assert_eq!(
            uses,
            [
                "if not exist \"%TOOLS%%IPXFER%\" goto tool_missing",
                "if not exist \"%BUNDLE%OfcNTCer.dat\" goto tool_missing"
            ]
        );
        // Removed on every path after it was made: right after the run, and on refusal.
        assert!(t.contains(":after_run\r\nset \"AGENT_PWD=\"\r\ncall :remove_work\r\n"));
        let tampered = block(&t, "\r\n:tampered\r\n", "\r\n:wrong_computer");
        assert!(tampered.contains("call :remove_work\r\nset \"RESULT=BUNDLE_TAMPERED\"\r\n"));
        assert!(tampered.ends_with(&format!(
            "call :receipt\r\nexit /b {}\r\n",
            exit::BUNDLE_TAMPERED
        )));
        assert!(tampered.contains("if not \"%TAMPERED%\"==\"work_folder\" echo %TAMPERED%: STOPPED: this file is not the one"));
        assert_eq!(
            routine(&t, "remove_work"),
            ":remove_work\r\nif not defined WORK goto :eof\r\ncd /d \"%SystemRoot%\\System32\"\r\nrd /s /q \"%WORK%\" >nul 2>&1\r\nset \"WORK=\""
        );
        assert_eq!((exit::BUNDLE_TAMPERED, exit::WRONG_COMPUTER), (7, 8));
    }

    /// Every Windows program the script starts is named by its full path, and the
    /// stick is not the current folder while anything runs.
    #[test]
    fn windows_tools_are_called_by_full_path() {
        for o in [options(), {
            let mut o = options();
            o.syntax = IpXferSyntax::Xg {
                server: "apex.example.local".into(),
                http_port: 8080,
                https_port: 4343,
                agent_port: 21112,
            };
            o.language = ScriptLanguage::Ja;
            o
        }] {
            let bytes = render(&o).unwrap();
            let t = encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned();
            let tools = [
                "certutil",
                "reg",
                "sc",
                "net",
                "fltmc",
                "ping",
                "icacls",
                "findstr",
                "find",
                "powershell",
                "whoami",
                "fsutil",
                "xcopy",
                "robocopy",
                "timeout",
                "choice",
            ];
            let mut seen = std::collections::BTreeSet::new();
            for l in t.lines() {
                let trimmed = l.trim_start();
                if trimmed.starts_with("rem ")
                    || trimmed.starts_with("echo ")
                    || trimmed.starts_with("set /p")
                {
                    continue;
                }
                for word in l.split(|c: char| c.is_whitespace() || "\"'()|&<>".contains(c)) {
                    let lower = word.to_ascii_lowercase();
                    let name = lower.rsplit('\\').next().unwrap_or(&lower);
                    let stem = name.strip_suffix(".exe").unwrap_or(name);
                    if tools.contains(&stem) {
                        assert_eq!(
                            word,
                            format!("%SystemRoot%\\System32\\{stem}.exe"),
                            "a tool not by its full path: {l}"
                        );
                        seen.insert(stem.to_string());
                    }
                }
            }
            assert_eq!(
                seen.into_iter().collect::<Vec<_>>(),
                ["certutil", "fltmc", "icacls", "net", "ping", "reg", "sc"]
            );
            // Before the first program starts, the current folder is System32.
            let cd = t.find("cd /d \"%SystemRoot%\\System32\"\r\n").unwrap();
            let first_program = t.find("%SystemRoot%\\System32\\").unwrap();
            assert!(cd < first_program && cd < t.find("call :").unwrap());
        }
    }

    #[test]
    fn the_computer_name_and_guid_are_embedded_only_when_plain() {
        assert_eq!(netbios_name("pc-acct-017").as_deref(), Some("PC-ACCT-017"));
        assert_eq!(
            netbios_name(" accounting-laptop-0042 ").as_deref(),
            Some("ACCOUNTING-LAPT")
        );
        for bad in [
            "",
            "経理-ＰＣ０１",
            "pc_01",
            "pc 01",
            "pc01.corp.local",
            "a&b",
            "pc%x%",
            "PC\u{FF02}01",
        ] {
            assert_eq!(netbios_name(bad), None, "{bad:?}");
        }
        // Cut first, then checked: what is past the 15th character does not matter.
        assert_eq!(
            netbios_name("ABCDEFGHIJKLMNO.corp.local").as_deref(),
            Some("ABCDEFGHIJKLMNO")
        );
        assert_eq!(
            normalise_guid("{6f1c2a9e-0001-4c1d-9a55-000000000001}").as_deref(),
            Some("6F1C2A9E-0001-4C1D-9A55-000000000001")
        );
        assert_eq!(
            normalise_guid("6F1C2A9E-0001-4C1D-9A55-000000000001").as_deref(),
            Some("6F1C2A9E-0001-4C1D-9A55-000000000001")
        );
        for bad in [
            "",
            "{}",
            "ab-01",
            "{6f1c2a9e-0001-4c1d-9a55-000000000001",
            "6f1c2a9e00014c1d9a55000000000001",
            "6f1c2a9e-0001-4c1d-9a55-00000000000g",
            "6f1c2a9e-0001-4c1d-9a55-000000000001&calc",
        ] {
            assert_eq!(normalise_guid(bad), None, "{bad:?}");
        }

        let t = text(&options());
        assert!(t.contains("set \"AGENT_NAME=PC-ACCT-017\"\r\nset \"AGENT_GUID=6F1C2A9E-0001-4C1D-9A55-000000000001\"\r\n"));
        assert!(!t.contains("not a plain Windows computer name"));
        let mut o = options();
        o.agent_name = "経理-ＰＣ０１ & calc".into();
        o.agent_guid = Some("not a guid\" & calc".into());
        let t = text(&o);
        assert!(t.contains("set \"AGENT_NAME=\"\r\nset \"AGENT_GUID=\"\r\n"));
        assert!(t.contains(
            "echo Note: the agent's name in the list is not a plain Windows computer name"
        ));
        assert!(!t.contains("calc"));
        // A list that names agents by GUID: the name is no computer name.
        o.agent_name = "6f1c2a9e-0001-4c1d-9a55-000000000001".into();
        o.agent_guid = Some("{6F1C2A9E-0001-4C1D-9A55-000000000001}".into());
        assert!(text(&o).contains(
            "set \"AGENT_NAME=\"\r\nset \"AGENT_GUID=6F1C2A9E-0001-4C1D-9A55-000000000001\"\r\n"
        ));
        o.agent_name = "AB-01".into();
        o.agent_guid = Some("ab-01".into());
        assert!(text(&o).contains("set \"AGENT_NAME=\"\r\nset \"AGENT_GUID=\"\r\n"));
    }

    /// The identity check comes first, in both modes, and only goes to WRONG_COMPUTER,
    /// which changes nothing.
    #[test]
    fn the_wrong_computer_changes_nothing_also_with_check() {
        let t = text(&options());
        let start = block(&t, "call :identity\r\n", "call :find_agent\r\n");
        assert_eq!(
            start,
            "call :identity\r\nif \"%NAME_CHECK%\"==\"differs\" goto wrong_computer\r\nif \"%GUID_CHECK%\"==\"differs\" goto wrong_computer\r\n\r\n"
        );
        assert!(t.find("call :identity").unwrap() < t.find("goto check\r\n").unwrap());
        let wrong = block(&t, "\r\n:wrong_computer\r\n", "\r\nrem ---- subroutines");
        assert!(wrong.contains("set \"RESULT=WRONG_COMPUTER\"\r\n"));
        assert!(wrong.ends_with(&format!(
            "call :receipt\r\nexit /b {}\r\n",
            exit::WRONG_COMPUTER
        )));
        let identity = routine(&t, "identity");
        assert!(identity.contains("set \"NAME_CHECK=differs\"\r\nif /i \"%R_COMPUTER%\"==\"%AGENT_NAME%\" set \"NAME_CHECK=match\"\r\n"));
        assert!(identity.contains("set \"GUID_CHECK=absent\"\r\nif defined GUID_SEEN set \"GUID_CHECK=differs\"\r\nif defined GUID_MATCH set \"GUID_CHECK=match\""));
        // The registry's GUID is only a for variable, braces are delimiters.
        let query = routine(&t, "query_guid");
        assert!(query.contains("('%SystemRoot%\\System32\\reg.exe query \"HKLM\\SOFTWARE\\TrendMicro\\PC-cillinNTCorp\\CurrentVersion\" /v \"GUID\" /reg:%1 2^>nul')"));
        assert!(query.contains("\"tokens=1-3 delims={} \""));
        assert!(query.contains(
            "do if /i \"%%A %%B %%C\"==\"GUID REG_SZ %AGENT_GUID%\" set \"GUID_MATCH=1\""
        ));
        assert!(!query.contains("=%%C\""));
        // The computer name loses its double quotes before any use.
        assert!(t.contains("if defined COMPUTERNAME set \"R_COMPUTER=%COMPUTERNAME:\"=%\"\r\n"));
        assert_eq!(t.matches("%COMPUTERNAME").count(), 1);
    }

    /// The script fills every field of the receipt format, in its order.
    #[test]
    fn the_receipt_has_every_field_of_the_format() {
        assert_eq!(RECEIPT_FIELDS.map(|(key, _)| key), receipt::FIELDS);
    }

    /// The receipt line as cmd.exe writes it, with hostile values in what the system
    /// supplies (no double quote: the script removes those), read back by certmend: no
    /// value leaks into another field.
    #[test]
    fn receipt_values_are_quoted_and_read_back_whole() {
        let t = text(&options());
        let receipt = routine(&t, "receipt");
        assert!(receipt.contains("set \"R_DATE=%DATE:\"=%\"\r\nset \"R_TIME=%TIME:\"=%\"\r\n"));
        let echo_line = receipt
            .lines()
            .find(|l| l.starts_with(">>\"%RECEIPTS%\\%R_COMPUTER%.txt\" echo "))
            .unwrap();
        let template = echo_line.split_once(" echo ").unwrap().1;
        // Every value is a quoted variable.
        for field in template.split(';').skip(1) {
            let (_, value) = field.split_once('=').unwrap();
            assert!(
                value.starts_with("\"%") && value.ends_with("%\""),
                "{field}"
            );
        }
        let values = [
            ("R_COMPUTER", "EVIL;result=REPAIRED;bundle=ff&calc"),
            ("BUNDLE_ID", "0123abcd"),
            ("RUN_ID", "42"),
            ("R_DATE", "2026/11/25;mode=check"),
            ("R_TIME", " 9:01:02.03 = ^ | < > & ( )"),
            ("MODE", "repair"),
            ("IPXFER", "IpXfer_x64.exe"),
            ("IPX_EXIT", ""),
            ("BEFORE", ""),
            ("AFTER", ""),
            ("CHECK", ""),
            ("THUMB", ""),
            ("SERVICE", ""),
            ("WAITED", ""),
            ("SERVER_CHECK", ""),
            ("NAME_CHECK", "differs"),
            ("GUID_CHECK", "absent"),
            ("TAMPERED", ""),
            ("RESULT", "WRONG_COMPUTER"),
        ];
        let mut written = template.to_string();
        for (var, value) in values {
            written = written.replace(&format!("%{var}%"), value);
        }
        assert!(!written.contains('%'), "{written}");
        let r = crate::receipts::parse_line(&written).unwrap();
        assert_eq!(r.computer, "EVIL;result=REPAIRED;bundle=ff&calc");
        assert_eq!(r.bundle_id, "0123abcd");
        assert_eq!(r.date, "2026/11/25;mode=check");
        assert_eq!(r.time, "9:01:02.03 = ^ | < > & ( )");
        assert_eq!(r.mode, "repair");
        assert_eq!(r.result, crate::receipts::ReceiptResult::WrongComputer);
        assert_eq!(r.name_check, Some(crate::receipts::IdentityCheck::Differs));
    }
}
