//! The MSI: wixl builds packaging/windows/certmend.wxs, msibuild adds what wixl cannot
//! express ([`msi_fixups`]), and [`check_msi`] reads the tables and files back.

use std::path::Path;
use std::process::Command;

use super::PAYLOAD;
use crate::{status, Result};

/// Microsoft's offline WebView2 runtime installer ("Evergreen Standalone Installer", x64):
/// when an admin puts it beside the MSI, the MSI runs it if the runtime is missing.
const WEBVIEW2_INSTALLER: &str = "MicrosoftEdgeWebView2RuntimeInstallerX64.exe";

/// The MSI's fixed UpgradeCode (packaging/windows/certmend.wxs); checked in the built table.
const UPGRADE_CODE: &str = "{D49B9C9C-5172-418C-BABF-94AE2B956ED9}";

/// wixl, run in the staging folder (the .wxs names its files relative to it), then the
/// additions of [`msi_fixups`].
pub(super) fn build_msi(root: &Path, stage: &Path, built: &Path, version: &str) -> Result {
    let wxs = root.join("packaging/windows/certmend.wxs");
    let mut wixl = Command::new("wixl");
    wixl.current_dir(stage)
        .args(["-a", "x64", "-D"])
        .arg(format!("Version={version}"))
        .arg("-o")
        .arg(built)
        .arg(&wxs);
    status(wixl, "wixl (packaging/windows/certmend.wxs)")?;

    let secure = msi_table(built, "Property")?
        .into_iter()
        .find(|row| row[0] == "SecureCustomProperties")
        .map(|row| row[1].clone())
        .unwrap_or_default();
    let mut msibuild = Command::new("msibuild");
    msibuild.arg(built);
    for query in msi_fixups(version, &secure) {
        msibuild.arg("-q").arg(query);
    }
    status(msibuild, "msibuild (PATH, upgrades, WebView2)")
}

/// What wixl 0.101 cannot express, as SQL on the built database.
fn msi_fixups(version: &str, secure: &str) -> Vec<String> {
    // Runs only on a first install (not on repair, uninstall or when the runtime is there).
    let webview2_missing =
        r#"NOT Installed AND (NOT WEBVIEW2_VERSION OR WEBVIEW2_VERSION = "0.0.0.0")"#;
    let secure = [secure, "WINDOWSBUILDNUMBER", "WEBVIEW2_VERSION"]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(";");
    vec![
        // System PATH: WiX's <Environment Name="PATH" Value="[INSTALLDIR]" Part="last"
        // System="yes" Action="set"> is this row. "=" sets the variable on install, "-"
        // removes the value again when the component is removed, "*" means the system
        // environment; "[~];" appends to the existing value instead of replacing it.
        // Component Cli is certmend.exe's: the entry comes and goes with it.
        "CREATE TABLE `Environment` (`Environment` CHAR(72) NOT NULL, \
         `Name` CHAR(255) NOT NULL LOCALIZABLE, `Value` CHAR(255) LOCALIZABLE, \
         `Component_` CHAR(72) NOT NULL PRIMARY KEY `Environment`)"
            .into(),
        "INSERT INTO `Environment` (`Environment`, `Name`, `Value`, `Component_`) \
         VALUES ('CertmendPath', '=-*PATH', '[~];[INSTALLDIR]', 'Cli')"
            .into(),
        // The standard actions that apply the table, at their standard sequence numbers.
        "INSERT INTO `InstallExecuteSequence` (`Action`, `Sequence`) \
         VALUES ('RemoveEnvironmentStrings', 3300)"
            .into(),
        "INSERT INTO `InstallExecuteSequence` (`Action`, `Sequence`) \
         VALUES ('WriteEnvironmentStrings', 5200)"
            .into(),
        // WiX's AllowSameVersionUpgrades: the removal row's VersionMax becomes inclusive
        // (msidbUpgradeAttributesVersionMaxInclusive 0x200, with MigrateFeatures 0x1). The
        // key columns cannot be UPDATEd, so the row is replaced.
        "DELETE FROM `Upgrade` WHERE `ActionProperty` = 'WIX_UPGRADE_DETECTED'".into(),
        format!(
            "INSERT INTO `Upgrade` (`UpgradeCode`, `VersionMax`, `Attributes`, \
             `ActionProperty`) VALUES ('{UPGRADE_CODE}', '{version}', 513, \
             'WIX_UPGRADE_DETECTED')"
        ),
        // wixl ignores Property/@Secure: the searches' results must reach the server side
        // when AppSearch ran in the UI sequence (the launch condition runs again there).
        format!(
            "UPDATE `Property` SET `Value` = '{secure}' \
             WHERE `Property` = 'SecureCustomProperties'"
        ),
        // The WebView2 runtime, from Microsoft's offline installer placed beside the MSI.
        // SourceDir (the MSI's folder) is only defined after ResolveSource; the file's
        // presence is tested by cmd.exe's `if exist` (an AppSearch file search would run
        // before the source is resolved). Type 3170 = 34 (exe, working directory from the
        // Directory table) + 1024 (deferred) + 2048 (no impersonation: runs as LocalSystem,
        // so the runtime is installed per machine) + 64 (exit code ignored: a failed runtime
        // install must not take certmend.exe away; the app reports a missing runtime).
        format!(
            "INSERT INTO `CustomAction` (`Action`, `Type`, `Source`, `Target`) VALUES \
             ('InstallWebView2Runtime', 3170, 'INSTALLDIR', '\"[System64Folder]cmd.exe\" /d /c \
             if exist \"[SourceDir]{WEBVIEW2_INSTALLER}\" \"[SourceDir]{WEBVIEW2_INSTALLER}\" \
             /silent /install')"
        ),
        format!(
            "INSERT INTO `InstallExecuteSequence` (`Action`, `Condition`, `Sequence`) \
             VALUES ('ResolveSource', '{webview2_missing}', 850)"
        ),
        format!(
            "INSERT INTO `InstallExecuteSequence` (`Action`, `Condition`, `Sequence`) \
             VALUES ('InstallWebView2Runtime', '{webview2_missing}', 6500)"
        ),
    ]
}

/// A table of the MSI as `msiinfo export` writes it (.idt: names, types, keys, then rows).
fn msi_table(msi: &Path, table: &str) -> Result<Vec<Vec<String>>> {
    let out = Command::new("msiinfo")
        .arg("export")
        .arg(msi)
        .arg(table)
        .output()
        .map_err(|e| format!("msiinfo: cannot start: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "msiinfo export {} {table}: {}",
            msi.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(3)
        .map(|l| {
            l.trim_end_matches('\r')
                .split('\t')
                .map(String::from)
                .collect()
        })
        .collect())
}

/// Reads the MSI back: the tables that make the install what the README promises, and
/// the files in its cabinet, byte for byte the staged ones.
pub(super) fn check_msi(msi: &Path, stage: &Path, work: &Path, version: &str) -> Result {
    let fail = |what: String| Err(format!("{}: {what}", msi.display()));
    let table = |name: &str| msi_table(msi, name);
    let has_row = |rows: &[Vec<String>], want: &[&str]| {
        rows.iter().any(|r| {
            want.iter()
                .enumerate()
                .all(|(i, w)| r.get(i).map(String::as_str) == Some(*w))
        })
    };

    let properties = table("Property")?;
    for want in [
        ["ProductVersion", version],
        ["UpgradeCode", UPGRADE_CODE],
        ["ALLUSERS", "1"],
        ["ProductName", "certmend"],
    ] {
        if !has_row(&properties, &want) {
            return fail(format!("Property {} is not {}", want[0], want[1]));
        }
    }
    let secure = properties
        .iter()
        .find(|r| r[0] == "SecureCustomProperties")
        .map(|r| r[1].split(';').map(String::from).collect::<Vec<_>>())
        .unwrap_or_default();
    for want in [
        "WIX_UPGRADE_DETECTED",
        "WIX_DOWNGRADE_DETECTED",
        "WINDOWSBUILDNUMBER",
        "WEBVIEW2_VERSION",
    ] {
        if !secure.iter().any(|s| s == want) {
            return fail(format!("{want} missing from SecureCustomProperties"));
        }
    }

    let directories = table("Directory")?;
    if !has_row(
        &directories,
        &["INSTALLDIR", "ProgramFiles64Folder", "certmend"],
    ) {
        return fail("INSTALLDIR is not ProgramFiles64Folder\\certmend".into());
    }
    let files = table("File")?;
    for name in PAYLOAD {
        if !files
            .iter()
            .any(|r| r.get(2).map(String::as_str) == Some(name))
        {
            return fail(format!("no {name} in the File table"));
        }
    }
    if files.len() != PAYLOAD.len() {
        return fail(format!("{} files, expected {}", files.len(), PAYLOAD.len()));
    }
    // 256 = msidbComponentAttributes64bit: 64-bit components of an x64 package.
    if let Some(row) = table("Component")?.iter().find(|r| r[3] != "256") {
        return fail(format!("component {} is not 64-bit", row[0]));
    }
    if !has_row(
        &table("Shortcut")?,
        &[
            "AppStartMenuShortcut",
            "ProgramMenuFolder",
            "certmend",
            "App",
            "[#CertmendAppExe]",
        ],
    ) {
        return fail("no Start menu shortcut to certmend-app.exe".into());
    }
    if !has_row(
        &table("Environment")?,
        &["CertmendPath", "=-*PATH", "[~];[INSTALLDIR]", "Cli"],
    ) {
        return fail("no system PATH entry for INSTALLDIR".into());
    }
    let upgrades = table("Upgrade")?;
    if !has_row(
        &upgrades,
        &[
            UPGRADE_CODE,
            "",
            version,
            "",
            "513",
            "",
            "WIX_UPGRADE_DETECTED",
        ],
    ) || !has_row(
        &upgrades,
        &[
            UPGRADE_CODE,
            version,
            "",
            "",
            "2",
            "",
            "WIX_DOWNGRADE_DETECTED",
        ],
    ) {
        return fail("the Upgrade table does not make a major upgrade".into());
    }
    let launch = table("LaunchCondition")?;
    if !launch
        .iter()
        .any(|r| r[0].contains("WINDOWSBUILDNUMBER >= 10240"))
    {
        return fail("no Windows 10 / Server 2016 launch condition".into());
    }
    let actions = table("CustomAction")?;
    if !actions.iter().any(|r| {
        r[0] == "InstallWebView2Runtime" && r[1] == "3170" && r[3].contains(WEBVIEW2_INSTALLER)
    }) {
        return fail("no WebView2 runtime custom action".into());
    }
    let sequence = table("InstallExecuteSequence")?;
    let position = |action: &str| {
        sequence
            .iter()
            .find(|r| r[0] == action)
            .and_then(|r| r.get(2)?.parse::<u32>().ok())
    };
    for (action, after, before) in [
        (
            "RemoveEnvironmentStrings",
            "InstallInitialize",
            "InstallFiles",
        ),
        ("WriteEnvironmentStrings", "InstallFiles", "InstallFinalize"),
        ("ResolveSource", "CostInitialize", "CostFinalize"),
        ("InstallWebView2Runtime", "InstallFiles", "InstallFinalize"),
        (
            "RemoveExistingProducts",
            "InstallValidate",
            "InstallFinalize",
        ),
    ] {
        match (position(after), position(action), position(before)) {
            (Some(a), Some(x), Some(b)) if a < x && x < b => {}
            _ => {
                return fail(format!(
                    "{action} is not sequenced between {after} and {before}"
                ))
            }
        }
    }

    // Both WebView2 steps run only on a first install, and only without the runtime.
    for action in ["ResolveSource", "InstallWebView2Runtime"] {
        let condition = sequence
            .iter()
            .find(|r| r[0] == action)
            .map(|r| r[1].as_str())
            .unwrap_or_default();
        if !(condition.contains("NOT Installed") && condition.contains("NOT WEBVIEW2_VERSION")) {
            return fail(format!("{action} runs under condition {condition:?}"));
        }
    }
    let summary = Command::new("msiinfo")
        .arg("suminfo")
        .arg(msi)
        .output()
        .map_err(|e| format!("msiinfo: cannot start: {e}"))?;
    if !String::from_utf8_lossy(&summary.stdout).contains("Template: x64;1033") {
        return fail("the summary information does not say x64".into());
    }

    let extracted = work.join("msi-extract");
    let mut extract = Command::new("msiextract");
    extract.arg("-C").arg(&extracted).arg(msi);
    extract.stdout(std::process::Stdio::null());
    status(extract, "msiextract (the MSI's files)")?;
    for name in PAYLOAD {
        same_bytes(&extracted.join("certmend").join(name), &stage.join(name))?;
    }
    println!(
        "xtask: MSI checked: {} files into ProgramFiles64Folder\\certmend, Start menu \
         shortcut, PATH entry, major upgrade {UPGRADE_CODE}, Windows 10 condition, WebView2",
        PAYLOAD.len()
    );
    Ok(())
}

fn same_bytes(a: &Path, b: &Path) -> Result {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    if read(a)? == read(b)? {
        Ok(())
    } else {
        Err(format!("{} differs from {}", a.display(), b.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixups_keep_wixl_secure_properties_and_name_the_version() {
        let queries = msi_fixups("1.2.3", "A;B").join("\n");
        assert!(queries.contains("'A;B;WINDOWSBUILDNUMBER;WEBVIEW2_VERSION'"));
        assert!(queries.contains("'1.2.3', 513, 'WIX_UPGRADE_DETECTED'"));
        assert!(queries.contains(WEBVIEW2_INSTALLER));
    }
}
