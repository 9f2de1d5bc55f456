//! Running the server's `CertificateManager.exe -l <csv>` so an admin on the server needs
//! no terminal. The process runner is a seam: tests drive it with a stand-in program.
//!
//! Trend documents the command (KA-0004099) but not its exit code nor what it does when
//! no agent is mismatched. Exit 0 with no list written is therefore its own outcome,
//! [`ListOutcome::NothingListed`], reported with the tool's output: it may well mean
//! that no agent is mismatched, and it is not a failure.

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
}

impl ErrorCode for CertificateManagerError {
    fn code(&self) -> &'static str {
        match self {
            CertificateManagerError::Missing { .. } => "certificate_manager.missing",
            CertificateManagerError::Start { .. } => "certificate_manager.start",
            CertificateManagerError::Failed { .. } => "certificate_manager.failed",
        }
    }
}

/// What certmend says when `-l` exits with 0 and writes no list.
pub const NOTHING_LISTED: &str = "CertificateManager wrote no list: it may mean no agent is \
                                  mismatched (Trend does not document this case)";

/// What a successful `-l` run (exit code 0) produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ListOutcome {
    /// The list was written to `csv`.
    Listed { program: PathBuf, csv: PathBuf },
    /// Exit code 0 and no file at `csv`. Undocumented by Trend: it may mean that no
    /// agent is mismatched. `output` is what the tool printed (decoded, shortened).
    NothingListed {
        program: PathBuf,
        csv: PathBuf,
        output: String,
    },
}

impl ListOutcome {
    /// A stable code for front ends to translate.
    pub fn code(&self) -> &'static str {
        match self {
            ListOutcome::Listed { .. } => "certificate_manager.listed",
            ListOutcome::NothingListed { .. } => "certificate_manager.nothing_listed",
        }
    }

    /// What happened, in English, with the tool's output.
    pub fn message(&self) -> String {
        match self {
            ListOutcome::Listed { program, csv } => {
                format!("{}: wrote {}", program.display(), csv.display())
            }
            ListOutcome::NothingListed {
                program, output, ..
            } => format!(
                "{}: {NOTHING_LISTED}{}",
                program.display(),
                in_parentheses(output)
            ),
        }
    }
}

/// Stdout and stderr, decoded from the console's code page (CP932 on a Japanese
/// server), trimmed, joined with " / " and cut at 500 characters.
fn console_output(output: &Output) -> String {
    let code_page = crate::console::oem_code_page();
    let text = [&output.stdout, &output.stderr]
        .iter()
        .map(|b| crate::console::decode(b, code_page).trim().to_string())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    text.chars().take(500).collect()
}

/// " (output: ...)" for a message, or nothing when the tool printed nothing.
fn in_parentheses(output: &str) -> String {
    if output.is_empty() {
        String::new()
    } else {
        format!(" (output: {output})")
    }
}

/// Runs `CertificateManager.exe -l <csv>` for `server`, writing the list to `csv`.
/// A non-zero exit code is an error; exit 0 is [`ListOutcome::Listed`] when the file
/// is there and [`ListOutcome::NothingListed`] when it is not.
pub fn list_mismatched(
    runner: &dyn ProcessRunner,
    server: &ServerInstall,
    csv: &Path,
) -> Result<ListOutcome, CertificateManagerError> {
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
            output: in_parentheses(&console_output(&output)),
        });
    }
    if !csv.is_file() {
        return Ok(ListOutcome::NothingListed {
            program,
            csv,
            output: console_output(&output),
        });
    }
    Ok(ListOutcome::Listed { program, csv })
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
        let outcome = list_mismatched(&runner, &server, &csv).unwrap();
        assert!(
            matches!(&outcome, ListOutcome::Listed { csv: written, .. } if *written == csv),
            "{outcome:?}"
        );
        assert_eq!(outcome.code(), "certificate_manager.listed");
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
    }

    /// Exit 0 and no file: not an error, its own outcome, with what the tool printed.
    #[test]
    fn exit_0_without_a_list_is_nothing_listed_not_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let server = server_with_tool(tmp.path());
        let runner = Scripted {
            calls: RefCell::new(vec![]),
            exit: 0,
            writes: None,
        };
        let csv = tmp.path().join("out.csv");
        let outcome = list_mismatched(&runner, &server, &csv).unwrap();
        let ListOutcome::NothingListed {
            csv: named, output, ..
        } = &outcome
        else {
            panic!("{outcome:?}");
        };
        assert_eq!(named, &csv);
        assert_eq!(output, "Access is denied.");
        assert_eq!(outcome.code(), "certificate_manager.nothing_listed");
        let message = outcome.message();
        assert!(
            message.contains("CertificateManager wrote no list: it may mean no agent is mismatched (Trend does not document this case) (output: Access is denied.)"),
            "{message}"
        );
        let doc = serde_json::to_value(&outcome).unwrap();
        assert_eq!(doc["outcome"], "nothing_listed");
        assert_eq!(doc["output"], "Access is denied.");
    }
}
