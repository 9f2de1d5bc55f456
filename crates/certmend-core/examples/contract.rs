//! Prints `ui/contract.js` (see certmend_core::contract); `cargo xtask contract` writes
//! it, and `cargo xtask contract --check` fails when the file differs.

fn main() {
    print!("{}", certmend_core::contract::javascript());
}
