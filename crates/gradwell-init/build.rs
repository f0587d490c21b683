//! Lists the initializers for the registry: every file `src/kinds/NAME.rs` (but `mod.rs`)
//! holds one, the type `Name` (the file name in upper camel case), and becomes one line
//! `NAME::Name,` of the `initializers!` list that `src/kinds/mod.rs` includes. Adding an
//! initializer is therefore adding its file and its `mod NAME;` line in `src/kinds/mod.rs`
//! (which rustfmt, cargo-mutants and the compiler read); the list follows.

use std::path::Path;
use std::{env, fs};

fn main() {
    let dir = Path::new("src/kinds");
    println!("cargo::rerun-if-changed=src/kinds");
    let mut modules: Vec<String> = fs::read_dir(dir)
        .expect("src/kinds can be read")
        .map(|entry| entry.expect("src/kinds can be listed").file_name())
        .filter_map(|name| name.to_str()?.strip_suffix(".rs").map(str::to_owned))
        .filter(|name| name != "mod" && is_module_name(name))
        .collect();
    modules.sort();
    let mut list = String::from("initializers! {\n");
    for module in &modules {
        list.push_str(&format!("    {module}::{},\n", upper_camel(module)));
    }
    list.push_str("}\n");
    let out = Path::new(&env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("kinds.rs");
    fs::write(out, list).expect("OUT_DIR is writable");
}

/// A snake-case Rust identifier (editor backups such as `.#x.rs` or `x.rs~` are skipped).
fn is_module_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `keras_he_normal` → `KerasHeNormal`.
fn upper_camel(module: &str) -> String {
    module
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
