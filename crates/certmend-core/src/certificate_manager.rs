//! Running the server's `CertificateManager.exe -l <csv>` so an admin on the server needs
//! no terminal. The process runner is a seam: tests drive it with a stand-in program.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::server::{ServerInstall, CERTIFICATE_MANAGER};
use crate::ErrorCode;

/// Runs a program in `working_dir` and collects its exit status and output.
pub trait ProcessRunner {
    fn run(&self, program: &Path, args: &[OsString], working_dir: &Path) -> io::Result<Output>;
}

/// Runs real processes.
pub struct SystemRunner;

impl ProcessRunner for SystemRunner {
    fn run(&self, program: &Path, args: &[OsString], working_dir: &Path) -> io::Result<Output> {
        std::process::Command::new(program)
            .args(args)
            .current_dir(working_dir)
            .stdin(std::process::Stdio::null())
            .output()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CertificateManagerError {
    #[error("{}: CertificateManager.exe not found (expected PCCSRV\\Admin\\Utility\\CertificateManager\\CertificateManager.exe)", install.display())]
    Missing { install: PathBuf },
    #[error("{}: cannot be started: {source} (run certmend as administrator on the server)", program.display())]
    Start {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: `-l` failed with exit code {code}{output}", program.display())]
    Failed {
        program: PathBuf,
        code: String,
        output: String,
    },
    #[error("{}: `-l` exited with 0 but wrote no list at {}{output}", program.display(), csv.display())]
    NoList {
        program: PathBuf,
        csv: PathBuf,
        output: String,
    },
}

impl ErrorCode for CertificateManagerError {
    fn code(&self) -> &'static str {
        match self {
            CertificateManagerError::Missing { .. } => "certificate_manager.missing",
            CertificateManagerError::Start { .. } => "certificate_manager.start",
            CertificateManagerError::Failed { .. } => "certificate_manager.failed",
            CertificateManagerError::NoList { .. } => "certificate_manager.no_list",
        }
    }
}

/// Stdout and stderr, trimmed, as " (output: ...)" for an error message; decoded
/// from the console's code page (CP932 on a Japanese server).
fn describe_output(output: &Output) -> String {
    let code_page = crate::console::oem_code_page();
    let text = [&output.stdout, &output.stderr]
        .iter()
        .map(|b| crate::console::decode(b, code_page).trim().to_string())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    if text.is_empty() {
        String::new()
    } else {
        let short: String = text.chars().take(500).collect();
        format!(" (output: {short})")
    }
}

/// Runs `CertificateManager.exe -l <csv>` for `server`, writing the list to `csv`.
pub fn list_mismatched(
    runner: &dyn ProcessRunner,
    server: &ServerInstall,
    csv: &Path,
) -> Result<(), CertificateManagerError> {
    let program = server
        .file(CERTIFICATE_MANAGER)
        .and_then(|f| f.path.clone())
        .ok_or_else(|| CertificateManagerError::Missing {
            install: server.install_folder.clone(),
        })?;
    // The tool wants a full path.
    let csv = std::path::absolute(csv).unwrap_or_else(|_| csv.to_path_buf());
    let args = [OsString::from("-l"), csv.clone().into_os_string()];
    // Trend's KB (KA-0004099) changes into the tool's folder first; it may look for
    // files beside itself.
    let folder = program.parent().unwrap_or(Path::new("."));
    let output =
        runner
            .run(&program, &args, folder)
            .map_err(|source| CertificateManagerError::Start {
                program: program.clone(),
                source,
            })?;
    if !output.status.success() {
        return Err(CertificateManagerError::Failed {
            program,
            code: output
                .status
                .code()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "none (killed)".into()),
            output: describe_output(&output),
        });
    }
    if !csv.is_file() {
        return Err(CertificateManagerError::NoList {
            program,
            csv,
            output: describe_output(&output),
        });
    }
    Ok(())
}

// ExitStatus::from_raw differs by OS; the process seam is exercised for real by the CLI tests.
#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::os::unix::process::ExitStatusExt;

    /// Records the call and plays a scripted result.
    struct Scripted {
        calls: RefCell<Vec<(PathBuf, Vec<OsString>, PathBuf)>>,
        exit: i32,
        writes: Option<&'static str>,
    }

    impl ProcessRunner for Scripted {
        fn run(&self, program: &Path, args: &[OsString], dir: &Path) -> io::Result<Output> {
            self.calls
                .borrow_mut()
                .push((program.to_path_buf(), args.to_vec(), dir.to_path_buf()));
            if let Some(text) = self.writes {
                std::fs::write(&args[1], text)?;
            }
            Ok(Output {
                status: std::process::ExitStatus::from_raw(self.exit << 8),
                stdout: b"Access is denied.".to_vec(),
                stderr: Vec::new(),
            })
        }
    }

    fn server_with_tool(tmp: &Path) -> ServerInstall {
        let tool = tmp.join("PCCSRV/Admin/Utility/CertificateManager/CertificateManager.exe");
        std::fs::create_dir_all(tool.parent().unwrap()).unwrap();
        std::fs::create_dir_all(tmp.join("PCCSRV/Pccnt/Common")).unwrap();
        std::fs::write(&tool, b"stand-in").unwrap();
        crate::server::open(tmp).unwrap()
    }

    #[test]
    fn passes_l_and_a_full_path() {
        let tmp = tempfile::tempdir().unwrap();
        let server = server_with_tool(tmp.path());
        let runner = Scripted {
            calls: RefCell::new(vec![]),
            exit: 0,
            writes: Some("Computer Name\nPC1\n"),
        };
        let csv = tmp.path().join("out.csv");
        list_mismatched(&runner, &server, &csv).unwrap();
        let calls = runner.calls.borrow();
        assert_eq!(calls[0].1[0], "-l");
        assert!(Path::new(&calls[0].1[1]).is_absolute());
        assert!(calls[0].0.ends_with("CertificateManager.exe"));
        assert_eq!(
            calls[0].2,
            calls[0].0.parent().unwrap(),
            "run from its own folder"
        );
    }

    #[test]
    fn failures_carry_the_exit_code_and_output() {
        let tmp = tempfile::tempdir().unwrap();
        let server = server_with_tool(tmp.path());
        let runner = Scripted {
            calls: RefCell::new(vec![]),
            exit: 5,
            writes: None,
        };
        let err = list_mismatched(&runner, &server, &tmp.path().join("out.csv")).unwrap_err();
        assert_eq!(err.code(), "certificate_manager.failed");
        let text = err.to_string();
        assert!(
            text.contains("exit code 5") && text.contains("Access is denied."),
            "{text}"
        );

        let runner = Scripted {
            calls: RefCell::new(vec![]),
            exit: 0,
            writes: None,
        };
        let err = list_mismatched(&runner, &server, &tmp.path().join("out.csv")).unwrap_err();
        assert_eq!(err.code(), "certificate_manager.no_list");
    }
}
