//! Which IpXfer syntax an export's scripts use: the seed syntax, or XG / Apex One with
//! its values (given, or read from the server's `PCCSRV\ofcscan.ini`).

use std::fs;

use serde::{Deserialize, Serialize};

use super::BundleError;
use crate::fsutil::find_child_ci;
use crate::inventory::RecordedServer;
use crate::ipxfer::{SyntaxChoice, SyntaxDecision};
use crate::script::IpXferSyntax;
use crate::server::ServerInstall;

/// The ofcscan.ini key read for the HTTPS port (`-sp`); see `key_note` in the error's text.
pub const HTTPS_PORT_KEY: &str = "Master_DomainSSLPort";

/// Values for IpXfer's XG / Apex One syntax; missing ones come from the server's
/// `PCCSRV\ofcscan.ini`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XgValues {
    pub server: Option<String>,
    pub http_port: Option<u16>,
    pub https_port: Option<u16>,
    pub agent_port: Option<u16>,
}

/// What the server's `PCCSRV\ofcscan.ini` holds for the XG syntax: Master_DomainName
/// (`-s`), Master_DomainPort (`-p`), Master_DomainSSLPort (`-sp`, undocumented: see
/// [`HTTPS_PORT_KEY`]) and Client_LocalServer_Port (`-c`). A value that is missing or
/// unreadable stays `None`, to be asked for: never guessed.
pub fn xg_values_from_ini(server: &ServerInstall) -> XgValues {
    let ini = server
        .pccsrv_folder
        .as_ref()
        .and_then(|p| find_child_ci(p, "ofcscan.ini"))
        .and_then(|p| fs::read(p).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let ini_value = |key: &str| {
        ini.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(key)
                .then(|| v.trim().to_string())
                .filter(|v| !v.is_empty())
        })
    };
    let port = |key: &str| {
        ini_value(key)
            .and_then(|v| v.parse::<u16>().ok())
            .filter(|p| *p != 0)
    };
    XgValues {
        server: ini_value("Master_DomainName"),
        http_port: port("Master_DomainPort"),
        https_port: port(HTTPS_PORT_KEY),
        agent_port: port("Client_LocalServer_Port"),
    }
}

/// Completes `given` from the server's ofcscan.ini ([`xg_values_from_ini`]); a value
/// found in neither is refused with the option that gives it.
pub fn xg_syntax(server: &RecordedServer, given: &XgValues) -> Result<IpXferSyntax, BundleError> {
    let ini = xg_values_from_ini(&server.report.server);
    let missing =
        |what: &'static str, option: &'static str, key: &'static str| BundleError::XgValueMissing {
            what,
            option,
            key,
            by_version: None,
        };
    Ok(IpXferSyntax::Xg {
        server: given
            .server
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or(ini.server)
            .ok_or(missing(
                "the server name",
                "--ipxfer-server",
                "Master_DomainName",
            ))?,
        http_port: given.http_port.or(ini.http_port).ok_or(missing(
            "the HTTP port",
            "--http-port",
            "Master_DomainPort",
        ))?,
        https_port: given.https_port.or(ini.https_port).ok_or(missing(
            "the HTTPS port",
            "--https-port",
            HTTPS_PORT_KEY,
        ))?,
        agent_port: given.agent_port.or(ini.agent_port).ok_or(missing(
            "the agent port",
            "--agent-port",
            "Client_LocalServer_Port",
        ))?,
    })
}

/// The syntax a front end asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyntaxRequest {
    /// What the server's version calls for ([`crate::ipxfer::default_syntax`]).
    #[default]
    Auto,
    Seed,
    Xg,
}

impl SyntaxRequest {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "auto" => Some(SyntaxRequest::Auto),
            "seed" => Some(SyntaxRequest::Seed),
            "xg" => Some(SyntaxRequest::Xg),
            _ => None,
        }
    }
}

/// The IpXfer syntax for an export: the admin's, or under `Auto` the server version's;
/// the XG values completed as [`xg_syntax`] does. Under `Auto`, a missing value's error
/// also says why the XG syntax was the default.
pub fn choose_syntax(
    server: &RecordedServer,
    request: SyntaxRequest,
    given: &XgValues,
) -> Result<IpXferSyntax, BundleError> {
    let decision = SyntaxDecision::for_version(&server.report.server.version);
    let xg = match request {
        SyntaxRequest::Xg => true,
        SyntaxRequest::Seed => false,
        SyntaxRequest::Auto => decision.syntax == SyntaxChoice::Xg,
    };
    if !xg {
        return Ok(IpXferSyntax::Seed);
    }
    xg_syntax(server, given).map_err(|e| match e {
        BundleError::XgValueMissing {
            what, option, key, ..
        } if request == SyntaxRequest::Auto => BundleError::XgValueMissing {
            what,
            option,
            key,
            by_version: Some(decision.reason.explanation()),
        },
        e => e,
    })
}

/// What an export dialog starts from: the syntax the server's version calls for (and
/// why), and the XG values its ofcscan.ini holds (missing ones to be asked for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpXferDefaults {
    pub decision: SyntaxDecision,
    pub from_ini: XgValues,
    /// The ofcscan.ini key `from_ini.https_port` comes from, which no public source
    /// documents: the window says so next to the value.
    pub https_port_key: &'static str,
}

pub fn ipxfer_defaults(server: &ServerInstall) -> IpXferDefaults {
    IpXferDefaults {
        decision: SyntaxDecision::for_version(&server.version),
        from_ini: xg_values_from_ini(server),
        https_port_key: HTTPS_PORT_KEY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::tests::server_with_version;
    use crate::ErrorCode;

    /// A value ofcscan.ini lacks is asked for (the error names the option), never
    /// guessed; the undocumented HTTPS key is named as such; a given value completes it.
    #[test]
    fn xg_values_missing_from_ofcscan_ini_are_asked_for() {
        let crate::testutil::DemoWorld {
            tmp: _tmp, server, ..
        } = crate::testutil::demo_world(9, false);
        let ini = server
            .report
            .server
            .pccsrv_folder
            .as_ref()
            .unwrap()
            .join("ofcscan.ini");
        fs::write(
            &ini,
            "[INI_SERVER_SECTION]\r\nmaster_domainname = srv.example\r\nMaster_DomainPort=8080\r\n\
             Master_DomainSSLPort=\r\nClient_LocalServer_Port=0\r\n",
        )
        .unwrap();
        assert_eq!(
            xg_values_from_ini(&server.report.server),
            XgValues {
                server: Some("srv.example".into()),
                http_port: Some(8080),
                https_port: None,
                agent_port: None,
            }
        );
        let err = xg_syntax(&server, &XgValues::default()).unwrap_err();
        assert_eq!(err.code(), "bundle.xg_value_missing");
        assert_eq!(
            err.to_string(),
            "the XG syntax needs the HTTPS port: give --https-port, or the server's \
             PCCSRV\\ofcscan.ini must have Master_DomainSSLPort (a key no public Trend \
             source documents)"
        );
        let err = xg_syntax(
            &server,
            &XgValues {
                https_port: Some(4343),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("must have Client_LocalServer_Port"),
            "{err}"
        );
        let given = XgValues {
            server: Some("  ".into()),
            https_port: Some(4343),
            agent_port: Some(21112),
            ..Default::default()
        };
        assert_eq!(
            xg_syntax(&server, &given).unwrap(),
            IpXferSyntax::Xg {
                server: "srv.example".into(),
                http_port: 8080,
                https_port: 4343,
                agent_port: 21112,
            }
        );
        // Under auto, an Apex One server's missing value says why XG was the default;
        // seed needs no value; the demo (no version) stays seed.
        let apex = server_with_version(&server, "14.0");
        let err = choose_syntax(&apex, SyntaxRequest::Auto, &XgValues::default()).unwrap_err();
        assert_eq!(err.code(), "bundle.xg_value_missing");
        assert!(
            err.to_string().ends_with(
                "; the XG syntax is the default here because Apex One: KA-0004099 documents \
                 -s -p -sp -c -e OfcNTCer.dat -pwd; or choose the seed syntax"
            ),
            "{err}"
        );
        assert!(
            !choose_syntax(&apex, SyntaxRequest::Xg, &XgValues::default())
                .unwrap_err()
                .to_string()
                .contains("default here")
        );
        for request in [SyntaxRequest::Seed, SyntaxRequest::Auto] {
            let server = if request == SyntaxRequest::Seed {
                &apex
            } else {
                &server
            };
            assert_eq!(
                choose_syntax(server, request, &XgValues::default()).unwrap(),
                IpXferSyntax::Seed
            );
        }
        assert_eq!(SyntaxRequest::parse("auto"), Some(SyntaxRequest::Auto));
        assert_eq!(SyntaxRequest::parse("XG"), None);

        // No ofcscan.ini at all: every value is asked for, the first one named.
        fs::remove_file(&ini).unwrap();
        assert_eq!(
            xg_values_from_ini(&server.report.server),
            XgValues::default()
        );
        assert!(xg_syntax(&server, &XgValues::default())
            .unwrap_err()
            .to_string()
            .contains("--ipxfer-server"));
    }
}
