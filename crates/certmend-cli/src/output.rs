//! Standard output that a reader may close early (`certmend agents | more`, `| head`).
//!
//! `println!` panics when stdout is gone ("failed printing to stdout", exit 101 with a
//! backtrace). A closed pipe means the reader has what it wanted: end quietly with
//! status 0, as ripgrep and the coreutils do. Any other write failure (a full disk
//! behind a redirection) is an error worth a line and status 2.
//!
//! Ending the process here skips destructors; every command prints after its work is
//! done and committed (the store's transactions and the bundles' renames are already
//! durable), so nothing is left half-written by stopping at a print.

use std::io::{self, Write};

/// `println!` for stdout that may close: see the module comment.
macro_rules! outln {
    () => { $crate::output::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use outln;

pub fn write_out(text: std::fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    if let Err(error) = stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        stdout_failed(&error);
    }
}

fn stdout_failed(error: &io::Error) -> ! {
    if is_closed_pipe(error) {
        std::process::exit(0);
    }
    // stderr may be gone too: nothing more can be said then.
    let _ = writeln!(
        io::stderr(),
        "certmend: error[output.write]: cannot write to standard output: {error}"
    );
    std::process::exit(2);
}

/// A reader that went away. On Windows: ERROR_BROKEN_PIPE (109) and ERROR_NO_DATA (232,
/// "the pipe is being closed") map to BrokenPipe in std; ERROR_PIPE_NOT_CONNECTED (233,
/// "Pipe not connected", what `certmend agents | more` met when `more` quit, and what
/// Wine gives) maps to another kind, so the raw codes are checked too.
fn is_closed_pipe(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::BrokenPipe
        || (cfg!(windows) && matches!(error.raw_os_error(), Some(109 | 232 | 233)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_told_from_other_write_failures() {
        assert!(is_closed_pipe(&io::Error::from(io::ErrorKind::BrokenPipe)));
        assert!(!is_closed_pipe(&io::Error::from(
            io::ErrorKind::StorageFull
        )));
        assert!(!is_closed_pipe(&io::Error::other("disk on fire")));
        assert_eq!(
            is_closed_pipe(&io::Error::from_raw_os_error(233)),
            cfg!(windows),
            "ERROR_PIPE_NOT_CONNECTED on Windows; an unrelated errno elsewhere"
        );
    }
}
