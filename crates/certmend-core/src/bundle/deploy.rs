//! An export for a network share: `DEPLOY.txt` (the steps, English and Japanese) and
//! `set-permissions.cmd` (the `icacls` lines) at the export's root, naming this
//! export's exact paths.
//!
//! Everything here is made from what certmend itself holds: the export folder, the share
//! path the admin gave (checked by [`share_target`]) and the agents' names from the
//! store. Agent names are untrusted text (a list file wrote them): a name gets a
//! `schtasks` line only when it is a plain NetBIOS name ([`crate::script::netbios_name`]);
//! any other is listed as skipped, escaped onto one line, and never reaches a command.
//!
//! The documented forms the files use (checked December 2026):
//! - GPO computer startup scripts, "Computer Configuration\Policies\Windows
//!   Settings\Scripts (Startup/Shutdown)" > Startup > Add (Script Name, Script
//!   Parameters): <https://go.microsoft.com/fwlink/p/?LinkId=614844> ("Using Startup,
//!   Shutdown, Logon, and Logoff Scripts in Group Policy").
//! - Startup scripts "run as Local System"
//!   (<https://technet.microsoft.com/en-us/library/cc739783(v=ws.10).aspx>); on the
//!   network that is the computer account (DOMAIN\computer$), a member of Domain
//!   Computers, so share and NTFS permissions are given to that group.
//! - Domain Computers has no fixed SID: it is the domain's SID plus the relative id 515
//!   (DOMAIN_GROUP_RID_COMPUTERS,
//!   <https://microsoft.github.io/windows-docs-rs/doc/windows/Win32/System/SystemServices/constant.DOMAIN_GROUP_RID_COMPUTERS.html>),
//!   so it is named by name (`DOMAIN\Domain Computers`); Administrators (S-1-5-32-544)
//!   and SYSTEM (S-1-5-18) are fixed well-known SIDs, given as `*SID` (icacls: "If a
//!   numerical SID is used, add an asterisk").
//! - icacls `/grant[:r] <sid>:<perm>`, `(OI)(CI)`, `RX`, `M`, `F`, `/inheritance:r`,
//!   `/reset /t /c`:
//!   <https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-server-2012-r2-and-2012/cc753525(v=ws.11)>.
//! - schtasks `/create /s <system> /ru SYSTEM /sc once /st <time> /tn /tr /f` and
//!   `/run`: <https://learn.microsoft.com/ja-jp/windows/win32/TaskSchd/schtasks> and
//!   <https://github.com/MicrosoftDocs/windowsserverdocs/blob/main/WindowsServerDocs/administration/windows-commands/schtasks.md>.
//! - `New-SmbShare -Name -Path -FullAccess -ChangeAccess`:
//!   <https://learn.microsoft.com/powershell/module/smbshare/new-smbshare>; `net share
//!   name=path /GRANT:user,[READ | CHANGE | FULL]` (the syntax `net share /?` prints,
//!   as quoted at <https://cnblogs.com/runliuv/p/10931745.html>).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{write_err, BundleError, RECEIPTS_DIR, SCRIPT};
use crate::script::{netbios_name, normalise_guid};

/// The steps, at the export's root.
pub const DEPLOY_TXT: &str = "DEPLOY.txt";
/// The `icacls` lines for the export folder, at its root.
pub const SET_PERMISSIONS: &str = "set-permissions.cmd";
/// The files a share export writes at the root besides the bundles: certmend's own,
/// never a bundle (`bundle verify` knows them).
pub const ROOT_FILES: [&str; 2] = [DEPLOY_TXT, SET_PERMISSIONS];
/// The name of the one-shot scheduled task on each computer.
pub const TASK_NAME: &str = "certmend-repair";

/// Where an export goes: a stick carried to each PC (the default), or a folder the
/// agents reach over the network, with the path they use (`\\server\share\certmend`;
/// none: the export folder itself, when it is a UNC path).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Destination {
    #[default]
    Stick,
    Share {
        share_path: Option<String>,
    },
}

/// A share export's paths, checked: the path agents use, and the folder the
/// permissions are set on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareTarget {
    /// `\\server\share[\folder...]`, without a trailing backslash.
    pub share_path: String,
    /// The export folder as written (icacls sets the permissions there).
    pub folder: PathBuf,
}

/// What a share export wrote besides the bundles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployReport {
    pub share_path: String,
    /// The command the GPO startup script and the scheduled tasks run.
    pub entry: String,
    pub files: Vec<PathBuf>,
    /// The computers that got a `schtasks` line (NetBIOS names, upper case).
    pub scheduled: Vec<String>,
    /// Agent names that are no plain NetBIOS name (or a GUID): no line; run by GPO or by hand.
    pub skipped: Vec<String>,
}

/// Characters no share path may hold: what Windows forbids in paths, and what cmd.exe
/// would read as its own in the `schtasks` lines (`/tr` leaves the path outside cmd's
/// quotes) or expands (`%`).
const REFUSED: &[char] = &[
    '"', '<', '>', '|', '?', '*', '/', '%', '&', '^', '(', ')', '!', ';', ',', '=', '\'', '`',
];

/// Why `path` is not a UNC path the deployment commands can carry, or None.
fn unc_problem(path: &str) -> Option<&'static str> {
    let Some(rest) = path.strip_prefix("\\\\") else {
        return Some("it is not a UNC path (\\\\server\\share\\folder)");
    };
    if path.chars().any(char::is_control) {
        return Some("it holds a control character (a line break, a tab)");
    }
    if path.chars().any(|c| REFUSED.contains(&c)) {
        return Some("it holds a character cmd.exe or Windows paths cannot carry here (\" < > | ? * / % & ^ ( ) ! ; , = ' `)");
    }
    let parts: Vec<&str> = rest.split('\\').collect();
    if parts.len() < 2 || parts.iter().any(|p| p.trim().is_empty()) {
        return Some("it needs a server and a share name (\\\\server\\share), without empty parts");
    }
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return Some("it holds . or .. parts");
    }
    None
}

/// Whether `path` is a UNC path (`\\server\...`).
pub fn is_unc(path: &Path) -> bool {
    path.to_string_lossy().starts_with("\\\\")
}

/// The paths of a share export to `out_dir`: `share_path` (default: `out_dir` when it
/// is a UNC path) checked, so that it can go into the commands of DEPLOY.txt.
pub fn share_target(out_dir: &Path, share_path: Option<&str>) -> Result<ShareTarget, BundleError> {
    let given = match share_path {
        Some(p) => p.trim().to_string(),
        None if is_unc(out_dir) => out_dir.to_string_lossy().into_owned(),
        None => {
            return Err(BundleError::SharePathMissing {
                out_dir: out_dir.to_path_buf(),
            })
        }
    };
    let share_path = given.trim_end_matches('\\').to_string();
    if let Some(reason) = unc_problem(&share_path) {
        return Err(BundleError::SharePathInvalid {
            path: given,
            reason,
        });
    }
    let folder = std::path::absolute(out_dir).unwrap_or_else(|_| out_dir.to_path_buf());
    let text = folder.to_string_lossy();
    if text.contains('"') || text.chars().any(char::is_control) {
        return Err(BundleError::SharePathInvalid {
            path: text.into_owned(),
            reason: "the export folder holds a double quote or a control character, which set-permissions.cmd cannot carry",
        });
    }
    Ok(ShareTarget { share_path, folder })
}

/// The computers of `agents` that get a `schtasks` line (NetBIOS names, sorted, once
/// each), and the names that do not (as given).
fn split_computers(agents: &[String]) -> (Vec<String>, Vec<String>) {
    let mut scheduled = Vec::new();
    let mut skipped = Vec::new();
    for name in agents {
        match netbios_name(name).filter(|_| normalise_guid(name).is_none()) {
            Some(n) => scheduled.push(n),
            None => skipped.push(name.clone()),
        }
    }
    scheduled.sort();
    scheduled.dedup();
    skipped.sort();
    skipped.dedup();
    (scheduled, skipped)
}

/// The one `schtasks` line for `computer` (a checked NetBIOS name): a one-shot task as
/// SYSTEM that runs `entry` with /quiet, started at once. `/tr` carries the path in
/// `\"...\"` (schtasks' own quoting); [`unc_problem`] keeps cmd's characters out of it.
pub fn schtasks_line(computer: &str, entry: &str) -> String {
    format!(
        "schtasks /create /s {computer} /ru SYSTEM /sc once /st 23:59 /tn {TASK_NAME} \
         /tr \"\\\"{entry}\\\" /quiet\" /f && schtasks /run /s {computer} /tn {TASK_NAME}"
    )
}

/// A name as it may appear in a text file: one line, quotes and control characters
/// escaped (Rust's debug form), so that it can pass for no command.
fn shown(name: &str) -> String {
    format!("{name:?}")
}

/// The text for PowerShell's single quotes (every kind of single quote doubled).
fn ps_quoted(text: &str) -> String {
    let mut out = String::from("'");
    for c in text.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The share's name when `share_path` is exactly `\\server\share`.
fn share_name(share_path: &str) -> Option<&str> {
    let rest = share_path.strip_prefix("\\\\")?;
    let (_, share) = rest.split_once('\\')?;
    (!share.contains('\\')).then_some(share)
}

/// Writes DEPLOY.txt and set-permissions.cmd at the root of `out_dir` for a share
/// export whose bundles are for `agents`.
pub fn write_deploy_files(
    out_dir: &Path,
    target: &ShareTarget,
    agents: &[String],
) -> Result<DeployReport, BundleError> {
    let (scheduled, skipped) = split_computers(agents);
    let paths = Paths::of(target);
    let files = [
        (DEPLOY_TXT, deploy_txt(&paths, &scheduled, &skipped)),
        (SET_PERMISSIONS, set_permissions(&paths)),
    ];
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = out_dir.join(name);
        crate::durable::write_atomic(&path, &bytes, false).map_err(write_err(&path))?;
        written.push(path);
    }
    Ok(DeployReport {
        share_path: target.share_path.clone(),
        entry: format!("{} /quiet", paths.entry),
        files: written,
        scheduled,
        skipped,
    })
}

/// The paths the files name.
struct Paths {
    share: String,
    entry: String,
    receipts: String,
    folder: String,
    /// The New-SmbShare and net share lines, when the export folder is local and the
    /// share path is `\\server\share` (the folder is the share).
    new_share: Option<(String, String)>,
}

impl Paths {
    fn of(target: &ShareTarget) -> Self {
        let share = target.share_path.clone();
        let folder = target.folder.to_string_lossy().into_owned();
        let new_share = share_name(&share)
            .filter(|_| !is_unc(&target.folder))
            .map(|name| {
                (
                    format!(
                        "New-SmbShare -Name {} -Path {} -FullAccess 'BUILTIN\\Administrators' -ChangeAccess \"$env:USERDOMAIN\\Domain Computers\"",
                        ps_quoted(name),
                        ps_quoted(&folder)
                    ),
                    // net share's own syntax; the name cannot hold cmd's characters.
                    format!(
                        "net share {name}=\"{}\" /GRANT:Administrators,FULL \"/GRANT:%USERDOMAIN%\\Domain Computers,CHANGE\"",
                        folder.replace('%', "%%")
                    ),
                )
            });
        Paths {
            entry: format!("{share}\\{SCRIPT}"),
            receipts: format!("{share}\\{RECEIPTS_DIR}"),
            share,
            folder,
            new_share,
        }
    }
}

/// set-permissions.cmd: ASCII, but for the folder's path; a path outside ASCII makes the
/// file UTF-8 after a `chcp 65001` (cmd reads a batch file in the console's code page,
/// line by line, so the switch comes before the first line that needs it).
fn set_permissions(p: &Paths) -> Vec<u8> {
    let mut t = String::new();
    let mut line = |s: &str| {
        t.push_str(s);
        t.push_str("\r\n");
    };
    line("@echo off");
    line("rem certmend: NTFS permissions for a repair export on a network share.");
    line("rem Written by certmend; run it as an administrator on a computer of the domain,");
    line("rem before the computers use the share (see DEPLOY.txt).");
    line("setlocal DisableDelayedExpansion");
    if !p.folder.is_ascii() {
        line("chcp 65001 >nul");
    }
    line("rem Domain Computers has no fixed SID (the domain's SID plus the RID 515): it is");
    line("rem named by name. USERDOMAIN is the domain of the admin running this; set");
    line("rem CM_DOMAIN to the computers' domain (NetBIOS name) if that is another one.");
    line("set \"CM_DOMAIN=%USERDOMAIN%\"");
    line(&format!("set \"CM_ROOT={}\"", p.folder.replace('%', "%%")));
    line("if not exist \"%CM_ROOT%\\\" (echo certmend: \"%CM_ROOT%\" not found & exit /b 1)");
    line(&format!(
        "if not exist \"%CM_ROOT%\\{RECEIPTS_DIR}\\\" mkdir \"%CM_ROOT%\\{RECEIPTS_DIR}\" || goto failed"
    ));
    line("rem 1. The export folder: nothing inherited from above; Administrators");
    line("rem    (S-1-5-32-544) and SYSTEM (S-1-5-18) full control, the only ones who may");
    line("rem    change anything; Domain Computers read and execute (the bundles, repair.cmd).");
    line("icacls \"%CM_ROOT%\" /inheritance:r /grant:r *S-1-5-32-544:(OI)(CI)F *S-1-5-18:(OI)(CI)F \"%CM_DOMAIN%\\Domain Computers:(OI)(CI)RX\" || goto failed");
    line("rem 2. Everything below takes exactly that (any rule set on a file or folder");
    line("rem    there is replaced by the inherited ones).");
    line("icacls \"%CM_ROOT%\\*\" /reset /t /c /q || goto failed");
    line(&format!("rem 3. {RECEIPTS_DIR}\\: Domain Computers modify, so that repair.cmd can write its receipt."));
    line("rem    Trade-off: any computer of the domain can then change or delete any receipt");
    line("rem    there, another computer's too. certmend treats every receipt as a claim: it");
    line("rem    changes a status only when the receipt agrees with its bundle (computer name,");
    line("rem    GUID, certificate hash), and a deleted receipt shows as a computer still silent.");
    line("rem    Stricter (each computer may add files, read all, and change only the files");
    line("rem    it created: CREATOR OWNER, S-1-3-0), instead of the line below:");
    line(&format!("rem      icacls \"%CM_ROOT%\\{RECEIPTS_DIR}\" /grant:r \"%CM_DOMAIN%\\Domain Computers:(WD)\" *S-1-3-0:(OI)(IO)M"));
    line("rem    whose cost: a computer that creates a receipt file under another computer's");
    line("rem    name first keeps that computer from writing its own (it looks silent).");
    line(&format!(
        "icacls \"%CM_ROOT%\\{RECEIPTS_DIR}\" /grant:r \"%CM_DOMAIN%\\Domain Computers:(OI)(CI)M\" || goto failed"
    ));
    line("icacls \"%CM_ROOT%\"");
    line(&format!("icacls \"%CM_ROOT%\\{RECEIPTS_DIR}\""));
    line("echo certmend: permissions set.");
    line("exit /b 0");
    line(":failed");
    line("echo certmend: icacls failed; the permissions are NOT as DEPLOY.txt says. 1>&2");
    line("exit /b 1");
    t.into_bytes()
}

/// DEPLOY.txt: UTF-8 with a BOM (Notepad shows both languages), CRLF.
fn deploy_txt(p: &Paths, scheduled: &[String], skipped: &[String]) -> Vec<u8> {
    let mut t = String::from("\u{FEFF}");
    deploy_en(&mut t, p, scheduled, skipped);
    t.push_str("\r\n");
    deploy_ja(&mut t, p, scheduled, skipped);
    t.into_bytes()
}

fn push_lines(t: &mut String, lines: &[String]) {
    for l in lines {
        t.push_str(l);
        t.push_str("\r\n");
    }
}

/// The schtasks lines, and the skipped names (escaped), indented.
fn task_lines(
    p: &Paths,
    scheduled: &[String],
    skipped: &[String],
    skipped_label: &str,
) -> Vec<String> {
    let mut out: Vec<String> = scheduled
        .iter()
        .map(|c| format!("    {}", schtasks_line(c, &p.entry)))
        .collect();
    if scheduled.is_empty() {
        out.push("    (-)".into());
    }
    if !skipped.is_empty() {
        out.push(String::new());
        out.push(format!("  {skipped_label}"));
        out.extend(skipped.iter().map(|n| format!("    {}", shown(n))));
    }
    out
}

fn share_lines(p: &Paths, lead: &str) -> Vec<String> {
    match &p.new_share {
        Some((ps, net)) => vec![lead.to_string(), format!("    {ps}"), format!("    {net}")],
        None => Vec::new(),
    }
}

/// The English half (a linear template).
fn deploy_en(t: &mut String, p: &Paths, scheduled: &[String], skipped: &[String]) {
    let mut l: Vec<String> = vec![
        "certmend: repairing agents from a network share".into(),
        "=================================================".into(),
        format!("Export folder (as written):  {}", p.folder),
        format!("Share path the computers use: {}", p.share),
        format!("Entry script:                 {} /quiet", p.entry),
        format!("Receipts:                     {}\\", p.receipts),
        String::new(),
        "Every computer runs the same entry script. It finds its own bundle (computer name,".into(),
        "agent GUID), checks the bundle's files against their SHA-256 before anything runs".into(),
        "as administrator, repairs, and writes a receipt. A computer with no bundle changes".into(),
        "nothing. Running it again (every boot) repeats nothing once the agent holds the".into(),
        "server's certificate.".into(),
        String::new(),
        "1. Permissions (once, before the computers use the share)".into(),
        "   GPO startup scripts and scheduled tasks run as Local System, which reaches the".into(),
        "   network as the computer account (DOMAIN\\COMPUTER$): the permissions are for the"
            .into(),
        "   group Domain Computers. It has no fixed SID (the domain's SID plus RID 515), so".into(),
        "   it is named DOMAIN\\Domain Computers.".into(),
        "   Share permissions: Administrators Full Control; Domain Computers Change (NTFS".into(),
        "   below narrows writing to receipts\\).".into(),
    ];
    l.extend(share_lines(
        p,
        "   To share the export folder (PowerShell, or cmd), as administrator:",
    ));
    l.extend([
        "   NTFS permissions: Domain Computers read & execute on the bundles, modify on".into(),
        "   receipts\\ only; Administrators and SYSTEM alone may change the rest. As".into(),
        "   administrator, run the file certmend wrote with this export:".into(),
        format!("    \"{}\\{SET_PERMISSIONS}\"", p.folder),
        "   (it explains the trade-off of modify on receipts\\). Run it right after the".into(),
        "   export; if others could write to the folder meanwhile, export again first.".into(),
        String::new(),
        "2a. Group Policy computer startup script (every computer the GPO applies to)".into(),
        "   Group Policy Management: edit a GPO linked to the computers' OU, then".into(),
        "   Computer Configuration > Policies > Windows Settings > Scripts (Startup/Shutdown)"
            .into(),
        "   > Startup > Add:".into(),
        format!("     Script Name:       {}", p.entry),
        "     Script Parameters: /quiet".into(),
        "   Leave the script on the share (it finds the bundles beside it). It runs at the".into(),
        "   next start of each computer (gpupdate /force, then restart, to hurry one).".into(),
        String::new(),
        "2b. One-shot scheduled task as SYSTEM (the listed computers, from an admin prompt)".into(),
        "   One line per computer: it creates the task and starts it now.".into(),
    ]);
    l.extend(task_lines(
        p,
        scheduled,
        skipped,
        "Skipped (not a plain computer name; use 2a or 2c):",
    ));
    l.extend([
        "   Afterwards: schtasks /delete /s <computer> /tn certmend-repair /f".into(),
        String::new(),
        "2c. By hand, on one computer, in a command prompt run as administrator:".into(),
        format!("    \"{}\"", p.entry),
        "   (add /quiet to ask nothing).".into(),
        String::new(),
        "3. Receipts: certmend reads them from the share (the app watches it):".into(),
        format!("    certmend receipts \"{}\"", p.share),
        "   Check the bundles on the share any time: certmend bundle verify <export folder>".into(),
    ]);
    push_lines(t, &l);
}

/// The Japanese half (a linear template; the same steps).
fn deploy_ja(t: &mut String, p: &Paths, scheduled: &[String], skipped: &[String]) {
    let mut l: Vec<String> = vec![
        "certmend: ネットワーク共有からのエージェント修復".into(),
        "=================================================".into(),
        format!("出力フォルダ (書き込み先):         {}", p.folder),
        format!("コンピュータが使う共有パス:        {}", p.share),
        format!("入口スクリプト:                    {} /quiet", p.entry),
        format!("受領書 (レシート):                 {}\\", p.receipts),
        String::new(),
        "すべてのコンピュータが同じ入口スクリプトを実行します。スクリプトは自分のバンドルを".into(),
        "(コンピュータ名とエージェント GUID で) 探し、管理者として何かを実行する前にバンドルの"
            .into(),
        "ファイルを SHA-256 で確認してから修復し、受領書を書きます。バンドルのないコンピュータでは"
            .into(),
        "何も変更しません。エージェントがサーバー証明書を持っていれば、再実行 (起動のたび) しても"
            .into(),
        "何も繰り返しません。".into(),
        String::new(),
        "1. アクセス許可 (一度だけ、コンピュータが共有を使う前に)".into(),
        "   GPO のスタートアップスクリプトとスケジュールされたタスクは Local System で動き、"
            .into(),
        "   ネットワークにはコンピュータアカウント (DOMAIN\\COMPUTER$) として接続します。そのため"
            .into(),
        "   アクセス許可はグループ Domain Computers に与えます。このグループの SID は固定ではない"
            .into(),
        "   (ドメインの SID + RID 515) ので、DOMAIN\\Domain Computers と名前で指定します。".into(),
        "   共有のアクセス許可: Administrators フルコントロール、Domain Computers 変更".into(),
        "   (書き込みは下の NTFS で receipts\\ だけに絞ります)。".into(),
    ];
    l.extend(share_lines(
        p,
        "   出力フォルダを共有するには、管理者として (PowerShell または cmd):",
    ));
    l.extend([
        "   NTFS アクセス許可: Domain Computers はバンドルに読み取りと実行、receipts\\ だけに変更。".into(),
        "   それ以外を変更できるのは Administrators と SYSTEM だけです。この出力で certmend が".into(),
        "   書いたファイルを管理者として実行してください:".into(),
        format!("    \"{}\\{SET_PERMISSIONS}\"", p.folder),
        "   (receipts\\ に変更を許すことの得失はファイル内に説明があります)。出力の直後に実行し、".into(),
        "   その間に他の人がフォルダに書き込めた場合は、先にもう一度出力してください。".into(),
        String::new(),
        "2a. グループポリシーのコンピュータのスタートアップスクリプト (GPO の対象の全コンピュータ)".into(),
        "   グループ ポリシーの管理で、コンピュータの OU にリンクした GPO を編集し、".into(),
        "   コンピューターの構成 > ポリシー > Windows の設定 > スクリプト (スタートアップ/シャットダウン)".into(),
        "   > スタートアップ > 追加:".into(),
        format!("     スクリプト名:         {}", p.entry),
        "     スクリプトのパラメーター: /quiet".into(),
        "   スクリプトは共有に置いたままにします (横のバンドルを探すため)。各コンピュータの次回".into(),
        "   起動時に動きます (急ぐときは gpupdate /force の後に再起動)。".into(),
        String::new(),
        "2b. SYSTEM で一度だけ動くスケジュールされたタスク (一覧のコンピュータ、管理者のプロンプトで)".into(),
        "   コンピュータごとに 1 行: タスクを作り、すぐに開始します。".into(),
    ]);
    l.extend(task_lines(
        p,
        scheduled,
        skipped,
        "対象外 (通常のコンピュータ名ではない名前。2a か 2c で):",
    ));
    l.extend([
        "   終わったら: schtasks /delete /s <コンピュータ> /tn certmend-repair /f".into(),
        String::new(),
        "2c. 手作業で 1 台ずつ、管理者として実行したコマンド プロンプトで:".into(),
        format!("    \"{}\"", p.entry),
        "   (/quiet を付けると何も尋ねません)。".into(),
        String::new(),
        "3. 受領書: certmend が共有から読みます (アプリは共有を監視します):".into(),
        format!("    certmend receipts \"{}\"", p.share),
        "   共有上のバンドルの確認はいつでも: certmend bundle verify <出力フォルダ>".into(),
    ]);
    push_lines(t, &l);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(share: &str) -> ShareTarget {
        share_target(Path::new("/srv/exports/certmend"), Some(share)).unwrap()
    }

    #[test]
    fn share_paths_are_checked_before_anything_is_written() {
        let err = share_target(Path::new("/tmp/out"), None).unwrap_err();
        assert_eq!(crate::ErrorCode::code(&err), "bundle.share_path_missing");
        assert!(err.to_string().contains("--share-path"), "{err}");
        for bad in [
            "C:\\certmend",
            "\\\\server",
            "\\\\server\\\\x",
            "\\\\srv\\a&calc",
            "\\\\srv\\a%PATH%",
            "\\\\srv\\a\"b",
            "\\\\srv\\a\r\nb",
            "\\\\srv\\..\\x",
        ] {
            let err = share_target(Path::new("/tmp/out"), Some(bad)).unwrap_err();
            assert_eq!(
                crate::ErrorCode::code(&err),
                "bundle.share_path_invalid",
                "{bad:?}"
            );
        }
        let t = target("\\\\fs01\\IT Share\\修復 2026\\");
        assert_eq!(t.share_path, "\\\\fs01\\IT Share\\修復 2026");
        // A UNC export folder is its own share path.
        let unc = share_target(Path::new("\\\\fs01\\ofc\\certmend"), None).unwrap();
        assert_eq!(unc.share_path, "\\\\fs01\\ofc\\certmend");
    }

    #[test]
    fn only_plain_computer_names_get_a_schtasks_line() {
        let agents: Vec<String> = [
            "pc-acct-017",
            "PC-ACCT-017",
            "EVIL\" & calc & \"",
            "PC%COMSPEC%",
            "PC-1\r\nschtasks /delete /tn x",
            "経理PC",
            "8f3a1c2e-1111-2222-3333-444455556666",
        ]
        .map(String::from)
        .to_vec();
        let (scheduled, skipped) = split_computers(&agents);
        assert_eq!(scheduled, ["PC-ACCT-017"]);
        assert_eq!(skipped.len(), 5, "{skipped:?}");
    }

    /// A skipped name is shown escaped on one line: a line break in it cannot start a
    /// line of its own that passes for a command.
    #[test]
    fn skipped_names_stay_on_their_line() {
        let agents = vec![
            "PC-01".to_string(),
            "PC-2\r\nschtasks /create /s VICTIM /tr evil.exe".to_string(),
        ];
        let (scheduled, skipped) = split_computers(&agents);
        let text = String::from_utf8(deploy_txt(
            &Paths::of(&target("\\\\fs01\\certmend")),
            &scheduled,
            &skipped,
        ))
        .unwrap();
        let commands: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("schtasks /create"))
            .collect();
        assert_eq!(commands.len(), 2, "{commands:#?}");
        assert!(commands.iter().all(|l| l.contains(" /s PC-01 ")));
        assert!(text.contains("    \"PC-2\\r\\nschtasks /create /s VICTIM /tr evil.exe\"\r\n"));
        assert!(!text.contains("VICTIM /ru"));
    }

    #[test]
    fn the_schtasks_line_quotes_the_entry_for_schtasks() {
        let t = target("\\\\fs01\\IT Share\\修復");
        let line = schtasks_line("PC-01", &Paths::of(&t).entry);
        assert_eq!(
            line,
            "schtasks /create /s PC-01 /ru SYSTEM /sc once /st 23:59 /tn certmend-repair /tr \"\\\"\\\\fs01\\IT Share\\修復\\repair.cmd\\\" /quiet\" /f && schtasks /run /s PC-01 /tn certmend-repair"
        );
    }

    #[test]
    fn set_permissions_names_the_folder_and_doubles_percent_signs() {
        let t = ShareTarget {
            share_path: "\\\\fs01\\certmend".into(),
            folder: PathBuf::from("D:\\exports\\100% 修復"),
        };
        let text = String::from_utf8(set_permissions(&Paths::of(&t))).unwrap();
        assert!(text.contains("chcp 65001 >nul\r\n"), "{text}");
        assert!(
            text.contains("set \"CM_ROOT=D:\\exports\\100%% 修復\"\r\n"),
            "{text}"
        );
        let chcp = text.find("chcp").unwrap();
        assert!(text[..chcp].is_ascii());
        assert!(text.contains("icacls \"%CM_ROOT%\" /inheritance:r /grant:r *S-1-5-32-544:(OI)(CI)F *S-1-5-18:(OI)(CI)F \"%CM_DOMAIN%\\Domain Computers:(OI)(CI)RX\""));
        assert!(text.contains(
            "icacls \"%CM_ROOT%\\receipts\" /grant:r \"%CM_DOMAIN%\\Domain Computers:(OI)(CI)M\""
        ));
        // An ASCII folder keeps the file ASCII.
        let ascii = ShareTarget {
            folder: PathBuf::from("D:\\exports\\certmend"),
            ..t
        };
        let text = set_permissions(&Paths::of(&ascii));
        assert!(text.is_ascii());
        assert!(!String::from_utf8(text).unwrap().contains("chcp"));
    }

    #[test]
    fn a_local_folder_shared_as_the_share_gets_the_share_commands() {
        let t = ShareTarget {
            share_path: "\\\\fs01\\certmend$".into(),
            folder: PathBuf::from("D:\\it's\\certmend"),
        };
        let (ps, net) = Paths::of(&t).new_share.unwrap();
        assert_eq!(
            ps,
            "New-SmbShare -Name 'certmend$' -Path 'D:\\it''s\\certmend' -FullAccess 'BUILTIN\\Administrators' -ChangeAccess \"$env:USERDOMAIN\\Domain Computers\""
        );
        assert!(
            net.starts_with("net share certmend$=\"D:\\it's\\certmend\" "),
            "{net}"
        );
        // A folder deeper in a share: the share exists already.
        let deeper = ShareTarget {
            share_path: "\\\\fs01\\data\\certmend".into(),
            ..t
        };
        assert!(Paths::of(&deeper).new_share.is_none());
    }
}
