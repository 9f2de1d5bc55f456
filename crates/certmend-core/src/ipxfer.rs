//! Which IpXfer command line a server's version calls for, and why.
//!
//! Trend says "Ipxfer parameters vary among versions" (KA-0004099). What the public
//! sources document, each checked (nothing here is inferred beyond them):
//!
//! | Server_Version | product | documented command line | source |
//! |---|---|---|---|
//! | 11.x | OfficeScan 11.0 | `-s <server> -p <server port> -c <agent port> -e OfcNTCer.dat -p <unload password>`: `-p` twice, no `-sp`, no `-pwd` | Trend KB 1102851 |
//! | 12.x | OfficeScan XG | `-s <server> -p <HTTP port> -sp <HTTPS port> -c <agent port> -e OfcNTCer.dat -pw…` (the copy read is cut after `-pw`) | Trend KB 1102851 |
//! | 14.x | Apex One | `-s <server> -p <HTTP port> -sp <HTTPS port> -c <agent port> -e OfcNTCer.dat -pwd <unload password>` | KA-0004099 |
//!
//! Not documented anywhere found, and so never assumed:
//! - the `Server_Version` text each product writes: third-party scanners compare it
//!   with `"8.0"` (OfficeScan 8.0), so `<major>.<minor>` is read; XG's online help is
//!   published as version 12.0 (`officescan-120-server-online-help`); that Apex One
//!   writes 14.x is the value the issue names, unconfirmed by a Trend page;
//! - the seed form alone (`-e <cert> [-pwd <password>]`): no Trend page found gives it;
//! - OfficeScan 10.6 and older: server authentication (`OfcNTCer.dat`) began with 11.0
//!   (KB 1102851), so they have nothing to repair; Apex One as a Service has no
//!   on-premises server (no registry, no `PCCSRV`) and is not covered.
//!
//! Where the sources are silent the default stays the seed form and the reason says
//! so. OfficeScan 11.0 keeps it too: neither form certmend writes is the one KB 1102851
//! gives (its unload password goes under `-p`; certmend writes `-pwd`). The admin's
//! own choice always wins; a bundle records whether it followed the version.

use serde::{Deserialize, Serialize};

use crate::script::IpXferSyntax;
use crate::server::ServerVersion;

/// The two command lines certmend writes (see [`IpXferSyntax`] for their values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyntaxChoice {
    /// `-e <cert> [-pwd <password>]`.
    Seed,
    /// `-s <server> -p <port> -sp <https port> -c <agent port> -e <cert> [-pwd <password>]`.
    Xg,
}

impl SyntaxChoice {
    pub fn of(syntax: &IpXferSyntax) -> Self {
        match syntax {
            IpXferSyntax::Seed => SyntaxChoice::Seed,
            IpXferSyntax::Xg { .. } => SyntaxChoice::Xg,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SyntaxChoice::Seed => "seed",
            SyntaxChoice::Xg => "xg",
        }
    }
}

/// Why the version's default is what it is. A stable code (the window translates it)
/// with an English sentence naming the source ([`SyntaxReason::explanation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyntaxReason {
    /// No `Server_Version` was read: not on Windows, a copied or mounted folder, or a
    /// registry key without the value.
    #[serde(rename = "no_version")]
    NoVersion,
    /// `Server_Version` is not `<major>[.<minor>...]`.
    #[serde(rename = "unreadable_version")]
    UnreadableVersion,
    /// A version no source covers.
    #[serde(rename = "no_source")]
    NoSource,
    /// OfficeScan 11.0: documented, but with `-p` for the password (KB 1102851).
    #[serde(rename = "officescan_11")]
    OfficeScan11,
    /// OfficeScan XG: the XG form (KB 1102851).
    #[serde(rename = "officescan_xg")]
    OfficeScanXg,
    /// Apex One: the XG form (KA-0004099).
    #[serde(rename = "apex_one")]
    ApexOne,
}

impl SyntaxReason {
    pub const ALL: [SyntaxReason; 6] = [
        SyntaxReason::NoVersion,
        SyntaxReason::UnreadableVersion,
        SyntaxReason::NoSource,
        SyntaxReason::OfficeScan11,
        SyntaxReason::OfficeScanXg,
        SyntaxReason::ApexOne,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SyntaxReason::NoVersion => "no_version",
            SyntaxReason::UnreadableVersion => "unreadable_version",
            SyntaxReason::NoSource => "no_source",
            SyntaxReason::OfficeScan11 => "officescan_11",
            SyntaxReason::OfficeScanXg => "officescan_xg",
            SyntaxReason::ApexOne => "apex_one",
        }
    }

    /// The reason in English, with its source.
    pub fn explanation(self) -> &'static str {
        match self {
            SyntaxReason::NoVersion => {
                "the server's version is unknown (no Server_Version read from the registry): \
                 no source to choose by, so the seed form"
            }
            SyntaxReason::UnreadableVersion => {
                "Server_Version is not a version number certmend can read: no source to \
                 choose by, so the seed form"
            }
            SyntaxReason::NoSource => {
                "no source documents IpXfer's parameters for this version, so the seed form"
            }
            SyntaxReason::OfficeScan11 => {
                "OfficeScan 11.0: Trend KB 1102851 gives -s -p -c -e with the unload password \
                 also under -p, which neither form certmend writes matches (both pass -pwd), \
                 so the seed form; an agent with an unload password may need the command by hand"
            }
            SyntaxReason::OfficeScanXg => {
                "OfficeScan XG: Trend KB 1102851 documents -s -p -sp -c -e with the unload password"
            }
            SyntaxReason::ApexOne => {
                "Apex One: KA-0004099 documents -s -p -sp -c -e OfcNTCer.dat -pwd"
            }
        }
    }
}

/// One row per `Server_Version` major number a source covers; any other is `NoSource`.
const RULES: [(u32, SyntaxChoice, SyntaxReason); 3] = [
    (11, SyntaxChoice::Seed, SyntaxReason::OfficeScan11),
    (12, SyntaxChoice::Xg, SyntaxReason::OfficeScanXg),
    (14, SyntaxChoice::Xg, SyntaxReason::ApexOne),
];

/// The syntax a server's `Server_Version` calls for, and why.
pub fn default_syntax(server_version: Option<&str>) -> (SyntaxChoice, SyntaxReason) {
    let Some(text) = server_version.map(str::trim).filter(|t| !t.is_empty()) else {
        return (SyntaxChoice::Seed, SyntaxReason::NoVersion);
    };
    let Some(major) = major_of(text) else {
        return (SyntaxChoice::Seed, SyntaxReason::UnreadableVersion);
    };
    RULES
        .iter()
        .find(|(m, _, _)| *m == major)
        .map(|&(_, choice, reason)| (choice, reason))
        .unwrap_or((SyntaxChoice::Seed, SyntaxReason::NoSource))
}

/// `14` of `14.0` (or `14`, `14.0.1234`); none for anything else (`XG`, `14.x`, `.5`).
fn major_of(text: &str) -> Option<u32> {
    let mut parts = text.split('.');
    let major = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !parts.all(digits) {
        return None;
    }
    major.parse().ok()
}

/// Which syntax a bundle uses and why: what the server's version calls for, and whether
/// the admin's choice followed it. Written into every manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyntaxDecision {
    /// The syntax used.
    pub syntax: SyntaxChoice,
    /// What the server's version calls for.
    pub default: SyntaxChoice,
    /// Why the default is what it is.
    pub reason: SyntaxReason,
    /// `syntax == default`: when false, the admin chose another one.
    pub follows_version: bool,
    pub server_version: Option<String>,
    pub service_pack_build: Option<String>,
    /// The reason in English, with its source (and the admin's choice, when it differs).
    pub explanation: String,
}

impl SyntaxDecision {
    /// The version's default, used as it is.
    pub fn for_version(version: &ServerVersion) -> Self {
        let (default, reason) = default_syntax(version.server_version.as_deref());
        Self {
            syntax: default,
            default,
            reason,
            follows_version: true,
            server_version: version.server_version.clone(),
            service_pack_build: version.service_pack_build.clone(),
            explanation: reason.explanation().to_string(),
        }
    }

    /// The decision when `used` is what the bundle gets.
    pub fn with_syntax(mut self, used: SyntaxChoice) -> Self {
        self.syntax = used;
        self.follows_version = used == self.default;
        self.explanation = if self.follows_version {
            self.reason.explanation().to_string()
        } else {
            format!(
                "{} chosen by the admin; the server's version calls for {} ({})",
                used.as_str(),
                self.default.as_str(),
                self.reason.explanation()
            )
        };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_rule_table() {
        use SyntaxChoice::{Seed, Xg};
        use SyntaxReason::*;
        let cases: [(Option<&str>, SyntaxChoice, SyntaxReason); 17] = [
            (None, Seed, NoVersion),
            (Some(""), Seed, NoVersion),
            (Some("   "), Seed, NoVersion),
            (Some("14.0"), Xg, ApexOne),
            (Some(" 14.0 "), Xg, ApexOne),
            (Some("14"), Xg, ApexOne),
            (Some("14.0.9999"), Xg, ApexOne),
            (Some("12.0"), Xg, OfficeScanXg),
            (Some("11.0"), Seed, OfficeScan11),
            (Some("10.6"), Seed, NoSource),
            (Some("8.0"), Seed, NoSource),
            (Some("13.0"), Seed, NoSource),
            (Some("2019"), Seed, NoSource),
            (Some("XG"), Seed, UnreadableVersion),
            (Some("14.x"), Seed, UnreadableVersion),
            (Some(".5"), Seed, UnreadableVersion),
            (Some("99999999999.0"), Seed, UnreadableVersion),
        ];
        for (version, choice, reason) in cases {
            assert_eq!(default_syntax(version), (choice, reason), "{version:?}");
        }
    }

    #[test]
    fn every_reason_has_a_code_matching_its_serde_name_and_an_explanation() {
        for reason in SyntaxReason::ALL {
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::json!(reason.code())
            );
            assert!(!reason.explanation().is_empty());
        }
        // Only the XG-form rows name a source that documents what certmend writes.
        for (_, choice, reason) in RULES {
            assert_eq!(
                choice == SyntaxChoice::Xg,
                reason.explanation().contains("documents"),
                "{reason:?}"
            );
        }
    }

    #[test]
    fn a_decision_says_whether_the_admin_followed_the_version() {
        let apex = ServerVersion {
            server_version: Some("14.0".into()),
            service_pack_build: Some("8378".into()),
            registry_key: None,
        };
        let auto = SyntaxDecision::for_version(&apex);
        assert_eq!(
            (auto.syntax, auto.default, auto.reason),
            (SyntaxChoice::Xg, SyntaxChoice::Xg, SyntaxReason::ApexOne)
        );
        assert!(auto.follows_version);
        assert_eq!(auto.service_pack_build.as_deref(), Some("8378"));
        assert!(auto.explanation.contains("KA-0004099"));

        let manual = auto.clone().with_syntax(SyntaxChoice::Seed);
        assert!(!manual.follows_version);
        assert_eq!(manual.syntax, SyntaxChoice::Seed);
        assert!(
            manual
                .explanation
                .starts_with("seed chosen by the admin; the server's version calls for xg"),
            "{}",
            manual.explanation
        );
        assert_eq!(manual.clone().with_syntax(SyntaxChoice::Xg), auto);

        let unknown = SyntaxDecision::for_version(&ServerVersion::default());
        assert_eq!(
            (unknown.syntax, unknown.reason),
            (SyntaxChoice::Seed, SyntaxReason::NoVersion)
        );
        assert_eq!(unknown.server_version, None);
        // As a manifest holds it.
        let json = serde_json::to_string(&manual).unwrap();
        assert_eq!(
            serde_json::from_str::<SyntaxDecision>(&json).unwrap(),
            manual
        );
    }
}
