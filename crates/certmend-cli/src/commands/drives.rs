use certmend_core::{drives, CodedMessage};

use super::{Ctx, Outcome};
use crate::render;

pub fn exec(ctx: &Ctx) -> Result<Outcome, CodedMessage> {
    let drives = drives::removable_drives();
    if ctx.json {
        render::json(&serde_json::json!({ "drives": drives }));
    } else {
        render::drives(&drives);
    }
    Ok(Outcome::Ok)
}
