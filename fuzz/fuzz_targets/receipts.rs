//! Receipt files (`receipts\<COMPUTERNAME>.txt` on a stick, written by repair.cmd on
//! agents: untrusted) through what `receipts::read_receipts` does before the store:
//! `receipts::decode` (UTF-8, else CP932) and `receipts::parse_line` on every line,
//! and `receipts::next_status` on each result.
#![no_main]

use certmend_core::receipts::{self, ReceiptResult};
use certmend_core::store::AgentStatus;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = receipts::decode(data);
    if let Ok(utf8) = std::str::from_utf8(data) {
        assert_eq!(text, utf8);
    }
    // The whole file as one line too: parse_line gets whatever `lines()` yields.
    let _ = receipts::parse_line(&text);
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        match receipts::parse_line(line) {
            Ok(r) => {
                assert!(!r.bundle_id.is_empty());
                assert!(r
                    .bundle_id
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
                let failure = !matches!(r.result, ReceiptResult::Repaired | ReceiptResult::Matches);
                assert_eq!(r.result.is_failure(), failure);
                for current in AgentStatus::ALL {
                    let _ = receipts::next_status(current, r.result);
                }
            }
            Err(problem) => {
                assert!(problem.code.starts_with("receipts."));
                assert!(!problem.reason.is_empty());
            }
        }
    }
});
