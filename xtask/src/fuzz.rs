//! `cargo xtask fuzz [--seconds N] [TARGET...]`: runs the cargo-fuzz targets in `fuzz/`
//! (every one by default) for N seconds each (default 60) and reports, per target, the
//! seconds run and the executions; the same summary goes to `target/fuzz-report.txt`.
//! A crash, timeout or out-of-memory fails the command, naming the input libFuzzer kept
//! under `fuzz/artifacts/<target>/`.
//!
//! cargo-fuzz needs unstable compiler flags (`-Zsanitizer`, coverage instrumentation):
//! on a stable toolchain `RUSTC_BOOTSTRAP=1` allows them (see fuzz/README.md). Targets
//! build without a sanitizer (`-s none`): the code fuzzed is safe Rust, a panic is the
//! failure looked for, and the build stays as short as it can be for CI's smoke run.
//! New inputs libFuzzer finds go to `target/fuzz-corpus/<target>/`; the kept corpus in
//! `fuzz/corpus/<target>/` is only read (merge finds back with `cargo fuzz cmin`).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const DEFAULT_SECONDS: u64 = 60;
/// One input taking longer than this is a hang (libFuzzer's `-timeout`).
const INPUT_TIMEOUT_SECONDS: u64 = 10;
/// Memory a target may use before libFuzzer calls it out of memory.
const RSS_LIMIT_MB: u64 = 2048;

/// What one target's run came to.
struct Outcome {
    target: String,
    seconds: Option<u64>,
    executions: Option<u64>,
    wall: f64,
    /// `None` when it ran clean; otherwise what went wrong, naming the artifact.
    failure: Option<String>,
}

pub fn fuzz(args: &[String]) -> crate::Result {
    let Options {
        seconds,
        seed,
        targets: wanted,
    } = parse_args(args)?;
    let root = crate::workspace_root();
    let available = targets(&root.join("fuzz").join("fuzz_targets"))?;
    let chosen: Vec<String> = if wanted.is_empty() {
        available.clone()
    } else {
        for t in &wanted {
            if !available.contains(t) {
                return Err(format!(
                    "no fuzz target {t:?}; the targets are: {}",
                    available.join(", ")
                ));
            }
        }
        wanted
    };

    ensure_cargo_fuzz()?;

    let mut build = cargo_fuzz();
    build.args(["build", "-s", "none"]);
    if chosen.len() == 1 {
        build.arg(&chosen[0]);
    }
    crate::status(build, "cargo fuzz build (RUSTC_BOOTSTRAP=1, no sanitizer)")?;

    let mut outcomes = Vec::new();
    for target in &chosen {
        outcomes.push(run_target(&root, target, seconds, seed)?);
    }

    let report = summary(&outcomes, seconds);
    eprint!("\n{report}");
    let report_path = root.join("target").join("fuzz-report.txt");
    if let Some(dir) = report_path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::write(&report_path, &report).map_err(|e| format!("{}: {e}", report_path.display()))?;
    eprintln!("xtask: summary written to {}", report_path.display());

    let failures: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.failure.as_ref().map(|f| format!("{}: {f}", o.target)))
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzzing found {} problem(s):\n  {}\nreproduce with `RUSTC_BOOTSTRAP=1 cargo fuzz run -s none TARGET ARTIFACT`; \
             see fuzz/README.md for turning it into a regression test",
            failures.len(),
            failures.join("\n  ")
        ))
    }
}

/// What `cargo xtask fuzz` was asked for.
#[derive(Debug, PartialEq)]
struct Options {
    seconds: u64,
    /// libFuzzer's `-seed`: the same mutations on every run of the same code and corpus
    /// (CI's smoke run, so that it fails only when the code changed). Random without.
    seed: Option<u64>,
    targets: Vec<String>,
}

fn parse_args(args: &[String]) -> crate::Result<Options> {
    let usage = "usage: cargo xtask fuzz [--seconds N] [--seed N] [TARGET...]";
    let mut options = Options {
        seconds: DEFAULT_SECONDS,
        seed: None,
        targets: Vec::new(),
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (arg.as_str(), None),
        };
        if name == "--seconds" || name == "--seed" {
            let value = match inline {
                Some(v) => v,
                None => iter
                    .next()
                    .ok_or_else(|| format!("{name} needs a number\n{usage}"))?
                    .as_str(),
            };
            let number: u64 = value
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name} {value:?}: not a whole number above 0"))?;
            if name == "--seconds" {
                options.seconds = number;
            } else {
                options.seed = Some(number);
            }
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {arg}\n{usage}"));
        } else {
            options.targets.push(arg.clone());
        }
    }
    Ok(options)
}

/// The targets: `fuzz/fuzz_targets/*.rs`, sorted.
fn targets(dir: &Path) -> crate::Result<Vec<String>> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!("{}: no fuzz targets", dir.display()));
    }
    Ok(names)
}

fn cargo_fuzz() -> Command {
    let mut cmd = crate::cargo();
    cmd.arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
    cmd
}

const CARGO_FUZZ_VERSION: &str = "0.13.2";

fn ensure_cargo_fuzz() -> crate::Result {
    crate::ensure_cargo_tool("cargo-fuzz", CARGO_FUZZ_VERSION, "cargo-fuzz").map(|_| ())
}

/// Runs one target, echoing libFuzzer's output and reading its final numbers.
fn run_target(
    root: &Path,
    target: &str,
    seconds: u64,
    seed: Option<u64>,
) -> crate::Result<Outcome> {
    // New inputs go to a scratch folder (listed first); the kept corpus is only read.
    let scratch = root.join("target").join("fuzz-corpus").join(target);
    fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let kept: PathBuf = root.join("fuzz").join("corpus").join(target);
    let mut cmd = cargo_fuzz();
    cmd.args(["run", "-s", "none", target])
        .arg(&scratch)
        .arg(&kept)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg("-print_final_stats=1")
        .args(seed.map(|n| format!("-seed={n}")))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("fuzz {target} for {seconds} s");
    eprintln!("xtask: {what}");
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;

    // libFuzzer writes to stderr; cargo's and the target's stdout are echoed too.
    let stdout = child.stdout.take();
    let echo_stdout = std::thread::spawn(move || {
        if let Some(out) = stdout {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                println!("{line}");
            }
        }
    });
    let mut parsed = Parsed::default();
    if let Some(err) = child.stderr.take() {
        let mut echo = std::io::stderr();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = writeln!(echo, "{line}");
            parsed.line(&line);
        }
    }
    let _ = echo_stdout.join();
    let status = child
        .wait()
        .map_err(|e| format!("{what}: cannot wait: {e}"))?;
    let wall = started.elapsed().as_secs_f64();

    let failure = if status.success() {
        None
    } else {
        let kind = parsed.kind.clone().unwrap_or_else(|| format!("{status}"));
        Some(match &parsed.artifact {
            Some(artifact) => format!("{kind}; input kept in {artifact}"),
            None => format!("{kind}; no input was kept (did the build fail?)"),
        })
    };
    Ok(Outcome {
        target: target.to_string(),
        seconds: parsed.seconds,
        executions: parsed.executions,
        wall,
        failure,
    })
}

#[derive(Default)]
struct Parsed {
    seconds: Option<u64>,
    executions: Option<u64>,
    artifact: Option<String>,
    kind: Option<String>,
}

impl Parsed {
    fn line(&mut self, line: &str) {
        // "Done 123456 runs in 61 second(s)"
        if let Some(rest) = line.strip_prefix("Done ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            if let [runs, "runs", "in", secs, ..] = words.as_slice() {
                self.executions = runs.parse().ok().or(self.executions);
                self.seconds = secs.parse().ok().or(self.seconds);
            }
        }
        // "stat::number_of_executed_units: 123456" (-print_final_stats=1, also on a crash)
        if let Some(value) = line.strip_prefix("stat::number_of_executed_units:") {
            if let Ok(n) = value.trim().parse() {
                self.executions = Some(n);
            }
        }
        if let Some(value) = line.strip_prefix("stat::total_time:") {
            // Not printed by every libFuzzer; used when "Done" is not.
            if let (None, Ok(n)) = (self.seconds, value.trim().parse()) {
                self.seconds = Some(n);
            }
        }
        // "artifact_prefix='...'; Test unit written to fuzz/artifacts/x/crash-..."
        if let Some((_, path)) = line.split_once("Test unit written to ") {
            self.artifact = Some(path.trim().to_string());
        }
        if let Some((_, what)) = line.split_once("ERROR: libFuzzer: ") {
            self.kind.get_or_insert_with(|| what.trim().to_string());
        }
        if line.contains("panicked at") {
            self.kind = Some(format!("panic: {}", line.trim()));
        }
    }
}

fn summary(outcomes: &[Outcome], seconds: u64) -> String {
    let mut out = format!("cargo xtask fuzz: {seconds} s per target, no sanitizer\n");
    out.push_str(&format!(
        "{:<14} {:>8} {:>14}  {}\n",
        "target", "seconds", "executions", "result"
    ));
    for o in outcomes {
        let secs = o
            .seconds
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("~{:.0}", o.wall));
        let runs = o
            .executions
            .map(|n| n.to_string())
            .unwrap_or_else(|| "?".to_string());
        let result = o.failure.as_deref().unwrap_or("ok");
        out.push_str(&format!(
            "{:<14} {:>8} {:>14}  {}\n",
            o.target, secs, runs, result
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_final_lines() {
        let mut p = Parsed::default();
        p.line("#1234\tDONE   cov: 10 ft: 20 corp: 3/1b lim: 4 exec/s: 5 rss: 6Mb");
        p.line("Done 98765 runs in 61 second(s)");
        assert_eq!((p.executions, p.seconds), (Some(98765), Some(61)));
        p.line("stat::number_of_executed_units: 98770");
        assert_eq!(p.executions, Some(98770));
        p.line("==1== ERROR: libFuzzer: deadly signal");
        p.line("artifact_prefix='/w/fuzz/artifacts/list/'; Test unit written to /w/fuzz/artifacts/list/crash-ab12");
        assert_eq!(p.kind.as_deref(), Some("deadly signal"));
        assert_eq!(
            p.artifact.as_deref(),
            Some("/w/fuzz/artifacts/list/crash-ab12")
        );
    }

    #[test]
    fn arguments() {
        let args = |a: &[&str]| parse_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let options = |seconds, seed, targets: &[&str]| Options {
            seconds,
            seed,
            targets: targets.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(args(&[]).unwrap(), options(60, None, &[]));
        assert_eq!(
            args(&["--seconds", "5", "cert"]).unwrap(),
            options(5, None, &["cert"])
        );
        assert_eq!(
            args(&["--seconds=7", "--seed", "3"]).unwrap(),
            options(7, Some(3), &[])
        );
        assert!(args(&["--seconds", "0"]).is_err());
        assert!(args(&["--seed"]).is_err());
        assert!(args(&["--fast"]).is_err());
    }
}
