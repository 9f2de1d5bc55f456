use std::path::PathBuf;

use certmend_core::ops::agents::ListRequest;
use certmend_core::store::AgentStatus;
use certmend_core::{ops, CodedMessage};

use super::{Ctx, Outcome};
use crate::render;

#[derive(clap::Args)]
pub struct Args {
    /// Only this server's agents (its install folder).
    #[arg(long, value_name = "DIR")]
    server: Option<PathBuf>,
    /// Only agents with this status.
    #[arg(long, value_parser = parse_status)]
    status: Option<AgentStatus>,
    /// Only agents whose name, IP, domain or GUID contains TEXT (any case).
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
}

fn parse_status(text: &str) -> Result<AgentStatus, String> {
    AgentStatus::parse(text).ok_or_else(|| {
        let all: Vec<&str> = AgentStatus::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown status; one of: {}", all.join(", "))
    })
}

pub fn exec(args: Args, ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    let store = ctx.open_store()?;
    let agents = ops::agents::list(
        &store,
        ListRequest {
            server: args.server,
            status: args.status,
            search: args.search,
        },
    )?;
    if ctx.json {
        render::json(&serde_json::json!({ "count": agents.len(), "agents": agents }));
    } else {
        render::agents(&agents);
    }
    Ok(Outcome::Ok)
}
