//! Where an agent is in the repair workflow, and what moves it on: the whole lifecycle
//! in one place.
//!
//! An agent enters the store when a CertificateManager list names it (it holds a
//! certificate the server no longer uses). After that, four kinds of event move it:
//! a list naming it again, a newer list of the same server no longer naming it, a
//! bundle exported for it, and a receipt repair.cmd wrote on it. [`next`] is the one
//! rule for all of them; the store's bulk SQL is generated from it
//! (`store::lifecycle`), and tests check the two agree.

use serde::{Deserialize, Serialize};

/// Where an agent is in the repair workflow. Stored and shown as the snake_case name
/// (`mismatched`, `bundle_exported`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// On a CertificateManager list: holds a certificate the server no longer uses.
    Mismatched,
    BundleExported,
    Repaired,
    RepairFailed,
    ReinstallRecommended,
    /// Absent from a newer list of the same server.
    Resolved,
}

impl AgentStatus {
    pub const ALL: [AgentStatus; 6] = [
        AgentStatus::Mismatched,
        AgentStatus::BundleExported,
        AgentStatus::Repaired,
        AgentStatus::RepairFailed,
        AgentStatus::ReinstallRecommended,
        AgentStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Mismatched => "mismatched",
            AgentStatus::BundleExported => "bundle_exported",
            AgentStatus::Repaired => "repaired",
            AgentStatus::RepairFailed => "repair_failed",
            AgentStatus::ReinstallRecommended => "reinstall_recommended",
            AgentStatus::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for AgentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so that `{:<22}` in a table lines up.
        f.pad(self.as_str())
    }
}

/// What repair.cmd reported (the `result=` word of a receipt line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReceiptResult {
    Repaired,
    IpxferFailed,
    CertStillDifferent,
    NotAdmin,
    AgentNotFound,
    BundleBroken,
    Matches,
    Differs,
    /// IpXfer or the certificate on the stick was not what certmend wrote (or no safe
    /// folder could be made to run it from): repair.cmd ran nothing (`tampered=`).
    BundleTampered,
    /// repair.cmd ran on another computer than the bundle's agent (name or GUID) and
    /// changed nothing (`name_check=`, `guid_check=`).
    WrongComputer,
    /// `repair.cmd /quiet` needed the agent unload password and had none (no embedded
    /// value, no password file on the PC): it changed nothing.
    PasswordNeeded,
    /// The export's entry script ran on a computer none of its bundles is for: it
    /// changed nothing. Such a receipt names no bundle, so it concerns no agent.
    NotListed,
}

impl ReceiptResult {
    pub const ALL: [ReceiptResult; 12] = [
        ReceiptResult::Repaired,
        ReceiptResult::IpxferFailed,
        ReceiptResult::CertStillDifferent,
        ReceiptResult::NotAdmin,
        ReceiptResult::AgentNotFound,
        ReceiptResult::BundleBroken,
        ReceiptResult::Matches,
        ReceiptResult::Differs,
        ReceiptResult::BundleTampered,
        ReceiptResult::WrongComputer,
        ReceiptResult::PasswordNeeded,
        ReceiptResult::NotListed,
    ];

    pub(crate) fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "REPAIRED" => Self::Repaired,
            "IPXFER_FAILED" => Self::IpxferFailed,
            "CERT_STILL_DIFFERENT" => Self::CertStillDifferent,
            "NOT_ADMIN" => Self::NotAdmin,
            "AGENT_NOT_FOUND" => Self::AgentNotFound,
            "BUNDLE_BROKEN" => Self::BundleBroken,
            "MATCHES" => Self::Matches,
            "DIFFERS" => Self::Differs,
            "BUNDLE_TAMPERED" => Self::BundleTampered,
            "WRONG_COMPUTER" => Self::WrongComputer,
            "PASSWORD_NEEDED" => Self::PasswordNeeded,
            "NOT_LISTED" => Self::NotListed,
            _ => return None,
        })
    }

    pub fn is_failure(self) -> bool {
        !matches!(self, Self::Repaired | Self::Matches)
    }
}

/// What happens to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A list being imported names the agent.
    Listed,
    /// A newer list of the same server was imported and does not name the agent.
    AbsentFromNewerList,
    /// A repair bundle was written for the agent.
    BundleExported,
    /// A receipt of the agent's current bundle was read, agreeing with its bundle (a
    /// receipt that does not, or one for a certificate the server no longer uses, is
    /// no event: it changes nothing).
    Receipt(ReceiptResult),
}

impl Event {
    /// Every event, each receipt result once.
    pub fn all() -> impl Iterator<Item = Event> {
        [
            Event::Listed,
            Event::AbsentFromNewerList,
            Event::BundleExported,
        ]
        .into_iter()
        .chain(ReceiptResult::ALL.into_iter().map(Event::Receipt))
    }
}

/// The status of an agent a list names for the first time: the list is of agents
/// whose certificate the server no longer uses.
pub const FIRST_LISTED: AgentStatus = AgentStatus::Mismatched;

/// The agent's status after `event`.
///
/// - A list naming an agent that was `repaired` or `resolved` makes it `mismatched`
///   again: the server's own list, read after the receipt, overrides what repair.cmd
///   claimed. Any other status is kept (the agent is still being worked on).
/// - A newer list of the same server that does not name the agent replaces the earlier
///   one: the agent is `resolved`, whatever it was.
/// - Exporting a bundle makes it `bundle_exported`, whatever it was.
/// - A receipt: `REPAIRED` or `MATCHES` make it `repaired`. A failed IpXfer run may be
///   a wrong password: `repair_failed`, and a second failure `reinstall_recommended`.
///   IpXfer running but the certificate not changing (`CERT_STILL_DIFFERENT`) is the
///   seed procedure's cue to reinstall at once: `reinstall_recommended`. `DIFFERS` on a
///   `repaired` agent makes it `mismatched` again (its certificate changed back);
///   otherwise it, `NOT_ADMIN`, `AGENT_NOT_FOUND`, `BUNDLE_BROKEN` and the refusals
///   `BUNDLE_TAMPERED` and `WRONG_COMPUTER`, and `PASSWORD_NEEDED` (an unattended run
///   without the unload password) leave the status as it is (nothing was changed on
///   the agent). `NOT_LISTED` names no bundle and so no agent: it moves nothing.
pub fn next(current: AgentStatus, event: Event) -> AgentStatus {
    use AgentStatus as S;
    match event {
        Event::Listed => match current {
            S::Repaired | S::Resolved => S::Mismatched,
            other => other,
        },
        Event::AbsentFromNewerList => S::Resolved,
        Event::BundleExported => S::BundleExported,
        Event::Receipt(result) => after_receipt(current, result),
    }
}

fn after_receipt(current: AgentStatus, result: ReceiptResult) -> AgentStatus {
    use AgentStatus as S;
    match result {
        ReceiptResult::Repaired | ReceiptResult::Matches => S::Repaired,
        ReceiptResult::IpxferFailed => match current {
            S::RepairFailed | S::ReinstallRecommended => S::ReinstallRecommended,
            _ => S::RepairFailed,
        },
        ReceiptResult::CertStillDifferent => S::ReinstallRecommended,
        ReceiptResult::Differs => match current {
            S::Repaired => S::Mismatched,
            other => other,
        },
        ReceiptResult::NotAdmin
        | ReceiptResult::AgentNotFound
        | ReceiptResult::BundleBroken
        | ReceiptResult::BundleTampered
        | ReceiptResult::WrongComputer
        | ReceiptResult::PasswordNeeded
        | ReceiptResult::NotListed => current,
    }
}

/// Whether a receipt becomes the recorded source of the agent's status (shown as "by
/// receipt FILE:LINE"): when its result states where the agent is (`REPAIRED`,
/// `MATCHES`, `IPXFER_FAILED`, `CERT_STILL_DIFFERENT`) — also when the status stays
/// the same, the newer receipt then being its source — or when it changed the status.
/// A receipt that left the status alone and states nothing leaves the source as it was.
pub fn receipt_is_source(current: AgentStatus, result: ReceiptResult) -> bool {
    let states_status = matches!(
        result,
        ReceiptResult::Repaired
            | ReceiptResult::Matches
            | ReceiptResult::IpxferFailed
            | ReceiptResult::CertStillDifferent
    );
    states_status || next(current, Event::Receipt(result)) != current
}

/// Whether "export every agent not yet repaired" includes an agent: all but the
/// `repaired` (a receipt says it holds the server's certificate) and the `resolved`
/// (a newer list no longer names it).
pub fn exportable(status: AgentStatus) -> bool {
    !matches!(status, AgentStatus::Repaired | AgentStatus::Resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AgentStatus::*;

    #[test]
    fn statuses_round_trip() {
        for s in AgentStatus::ALL {
            assert_eq!(AgentStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::from(s.as_str())
            );
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(AgentStatus::parse("bogus"), None);
        assert_eq!(format!("{:<12}|", Repaired), "repaired    |");
    }

    /// The events in the order of the columns of [`MATRIX`].
    const EVENTS: [Event; 15] = [
        Event::Listed,
        Event::AbsentFromNewerList,
        Event::BundleExported,
        Event::Receipt(ReceiptResult::Repaired),
        Event::Receipt(ReceiptResult::IpxferFailed),
        Event::Receipt(ReceiptResult::CertStillDifferent),
        Event::Receipt(ReceiptResult::NotAdmin),
        Event::Receipt(ReceiptResult::AgentNotFound),
        Event::Receipt(ReceiptResult::BundleBroken),
        Event::Receipt(ReceiptResult::Matches),
        Event::Receipt(ReceiptResult::Differs),
        Event::Receipt(ReceiptResult::BundleTampered),
        Event::Receipt(ReceiptResult::WrongComputer),
        Event::Receipt(ReceiptResult::PasswordNeeded),
        Event::Receipt(ReceiptResult::NotListed),
    ];

    // Short names, so that the table reads as a table.
    const MIS: AgentStatus = Mismatched;
    const EXP: AgentStatus = BundleExported;
    const REP: AgentStatus = Repaired;
    const FAIL: AgentStatus = RepairFailed;
    const REIN: AgentStatus = ReinstallRecommended;
    const RES: AgentStatus = Resolved;

    /// Each status, and its next status after each event of [`EVENTS`], written out.
    #[rustfmt::skip]
    const MATRIX: [(AgentStatus, [AgentStatus; 15]); 6] = [
        //          Listed absent export  REPAIRED IPXFER_F CERT_STI NOT_ADM AG_N_FND BROKEN  MATCHES DIFFERS TAMPER  WRONG_PC PWD_NEED NOT_LISTED
        (MIS,  [MIS,  RES,  EXP,    REP,     FAIL,    REIN,    MIS,    MIS,     MIS,    REP,    MIS,    MIS,    MIS,     MIS,     MIS ]),
        (EXP,  [EXP,  RES,  EXP,    REP,     FAIL,    REIN,    EXP,    EXP,     EXP,    REP,    EXP,    EXP,    EXP,     EXP,     EXP ]),
        (REP,  [MIS,  RES,  EXP,    REP,     FAIL,    REIN,    REP,    REP,     REP,    REP,    MIS,    REP,    REP,     REP,     REP ]),
        (FAIL, [FAIL, RES,  EXP,    REP,     REIN,    REIN,    FAIL,   FAIL,    FAIL,   REP,    FAIL,   FAIL,   FAIL,    FAIL,    FAIL]),
        (REIN, [REIN, RES,  EXP,    REP,     REIN,    REIN,    REIN,   REIN,    REIN,   REP,    REIN,   REIN,   REIN,    REIN,    REIN]),
        (RES,  [MIS,  RES,  EXP,    REP,     FAIL,    REIN,    RES,    RES,     RES,    REP,    RES,    RES,    RES,     RES,     RES ]),
    ];

    #[test]
    fn every_status_after_every_event() {
        // The table covers every status and every event exactly once.
        assert_eq!(
            MATRIX.map(|(s, _)| s),
            AgentStatus::ALL,
            "one row per status, in ALL's order"
        );
        assert_eq!(EVENTS.to_vec(), Event::all().collect::<Vec<_>>());
        for (current, row) in MATRIX {
            for (event, expected) in EVENTS.into_iter().zip(row) {
                assert_eq!(next(current, event), expected, "{current} after {event:?}");
            }
        }
    }

    #[test]
    fn a_receipt_is_the_source_when_it_states_or_changes_the_status() {
        use ReceiptResult as R;
        // Per result, per status in ALL's order (MIS EXP REP FAIL REIN RES).
        #[rustfmt::skip]
        let table: [(ReceiptResult, [bool; 6]); 12] = [
            (R::Repaired,           [true,  true,  true,  true,  true,  true ]),
            (R::IpxferFailed,       [true,  true,  true,  true,  true,  true ]),
            (R::CertStillDifferent, [true,  true,  true,  true,  true,  true ]),
            (R::NotAdmin,           [false, false, false, false, false, false]),
            (R::AgentNotFound,      [false, false, false, false, false, false]),
            (R::BundleBroken,       [false, false, false, false, false, false]),
            (R::Matches,            [true,  true,  true,  true,  true,  true ]),
            (R::Differs,            [false, false, true,  false, false, false]),
            (R::BundleTampered,     [false, false, false, false, false, false]),
            (R::WrongComputer,      [false, false, false, false, false, false]),
            (R::PasswordNeeded,     [false, false, false, false, false, false]),
            (R::NotListed,          [false, false, false, false, false, false]),
        ];
        assert_eq!(table.map(|(r, _)| r), ReceiptResult::ALL);
        for (result, row) in table {
            for (current, expected) in AgentStatus::ALL.into_iter().zip(row) {
                assert_eq!(
                    receipt_is_source(current, result),
                    expected,
                    "{result:?} on {current}"
                );
            }
        }
    }

    #[test]
    fn exportable_is_everything_not_repaired_or_resolved() {
        let exportable_ones: Vec<_> = AgentStatus::ALL
            .into_iter()
            .filter(|s| exportable(*s))
            .collect();
        assert_eq!(exportable_ones, [MIS, EXP, FAIL, REIN]);
    }

    #[test]
    fn receipt_words_parse() {
        for (word, result) in [
            ("REPAIRED", ReceiptResult::Repaired),
            ("WRONG_COMPUTER", ReceiptResult::WrongComputer),
        ] {
            assert_eq!(ReceiptResult::parse(word), Some(result));
        }
        for r in ReceiptResult::ALL {
            let word = serde_json::to_value(r).unwrap();
            assert_eq!(ReceiptResult::parse(word.as_str().unwrap()), Some(r));
        }
        assert_eq!(ReceiptResult::parse("repaired"), None);
    }
}
