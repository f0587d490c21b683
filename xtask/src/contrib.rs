//! `cargo xtask contrib`: follows every recipe of CONTRIBUTING.md in a scratch copy of the
//! workspace and shows what it cost.
//!
//! A recipe is written in CONTRIBUTING.md itself, so the text a contributor reads is the
//! text that is executed:
//!
//! ````text
//! <!-- recipe squareplus max-files=2 -->
//! ```rust file=crates/gradwell-activations/src/elementwise/squareplus.rs
//! …the whole new file…
//! ```
//! ```rust file=crates/gradwell-activations/src/elementwise/mod.rs after=hardtanh::Hardtanh,
//!     squareplus::Squareplus,
//! ```
//! ```sh check
//! cargo test -q -p gradwell-activations
//! ```
//! ````
//!
//! - A block with `file=PATH` alone creates that file, which must not exist yet. With
//!   `after=ANCHOR` (the rest of the info string) its lines go after the one line of
//!   `PATH` whose text, trimmed, is `ANCHOR`; no match or two matches is an error.
//! - A block fenced with more backticks may hold shorter fences (a new file's doc
//!   examples); it ends at a line of exactly its own fence.
//! - `sh check` lines run in order, in the copy, each with `sh -c`; all must succeed.
//! - A recipe lasts until the next recipe marker or the next `## ` heading.
//!
//! Each recipe starts from the same clean copy (`target/contrib/ws`, files as `git
//! ls-files` lists them, with the working tree's contents), in which git counts the files
//! and lines the recipe changed. The copy always has the same path and its own target
//! directory (`target/contrib/target`), so after the first recipe each build is
//! incremental. (It cannot share the workspace's: cargo hashes a path package by its
//! place in the workspace, so the copy's crates and the workspace's would take each
//! other's build results.) A recipe that changes more than `max-files` files fails, as does any
//! failing check. Output, one line per recipe:
//! `recipe <name>: <N> files, <M> lines changed, tests pass`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// What a recipe does to one file.
#[derive(Debug, Clone, PartialEq)]
enum Edit {
    /// Creates the file with this text.
    Create { path: String, text: String },
    /// Inserts the text after the one line whose trimmed text is `anchor`.
    InsertAfter {
        path: String,
        anchor: String,
        text: String,
    },
}

/// One recipe of CONTRIBUTING.md.
#[derive(Debug, Clone, PartialEq)]
struct Recipe {
    name: String,
    max_files: usize,
    edits: Vec<Edit>,
    checks: Vec<String>,
}

/// Reads the recipes out of the markdown text.
fn parse(markdown: &str) -> Result<Vec<Recipe>, String> {
    let mut recipes: Vec<Recipe> = Vec::new();
    let mut open = false;
    let mut lines = markdown.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let at = |why: String| format!("CONTRIBUTING.md line {}: {why}", n + 1);
        if let Some(rest) = line
            .trim()
            .strip_prefix("<!-- recipe ")
            .and_then(|r| r.strip_suffix("-->"))
        {
            let mut words = rest.split_whitespace();
            let name = words
                .next()
                .ok_or_else(|| at("a recipe needs a name".into()))?;
            let mut max_files = None;
            for w in words {
                match w.strip_prefix("max-files=").map(str::parse::<usize>) {
                    Some(Ok(m)) => max_files = Some(m),
                    _ => return Err(at(format!("unknown recipe setting `{w}`"))),
                }
            }
            recipes.push(Recipe {
                name: name.to_string(),
                max_files: max_files
                    .ok_or_else(|| at(format!("recipe {name} needs max-files=N")))?,
                edits: Vec::new(),
                checks: Vec::new(),
            });
            open = true;
            continue;
        }
        if line.starts_with("## ") {
            open = false;
            continue;
        }
        let fence_len = line.len() - line.trim_start_matches('`').len();
        if fence_len < 3 {
            continue;
        }
        // A code block: read it whole, recipe block or not, so that a fence inside it is
        // not taken for the start of another.
        let fence = &line[..fence_len];
        let info = line[fence_len..].trim();
        let mut body = String::new();
        let mut closed = false;
        for (_, l) in lines.by_ref() {
            if l.trim_end() == fence {
                closed = true;
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        if !closed {
            return Err(at(format!(
                "the code block opened with {fence} is not closed"
            )));
        }
        let Some(recipe) = recipes.last_mut().filter(|_| open) else {
            continue;
        };
        let mut words = info.splitn(2, ' ');
        let _language = words.next();
        let rest = words.next().unwrap_or("").trim();
        if rest == "check" {
            recipe.checks.extend(
                body.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from),
            );
        } else if let Some(spec) = rest.strip_prefix("file=") {
            let (path, anchor) = match spec.split_once(" after=") {
                Some((p, a)) => (p.trim(), Some(a.trim())),
                None => (spec.trim(), None),
            };
            if path.is_empty() || path.starts_with('/') || path.contains("..") {
                return Err(at(format!("`{path}` is not a path inside the workspace")));
            }
            recipe.edits.push(match anchor {
                None => Edit::Create {
                    path: path.to_string(),
                    text: body,
                },
                Some(anchor) => Edit::InsertAfter {
                    path: path.to_string(),
                    anchor: anchor.to_string(),
                    text: body,
                },
            });
        }
    }
    for r in &recipes {
        if r.edits.is_empty() || r.checks.is_empty() {
            return Err(format!(
                "CONTRIBUTING.md: recipe {} needs at least one `file=` block and one `sh check` block",
                r.name
            ));
        }
    }
    Ok(recipes)
}

/// Applies one edit inside `dir`.
fn apply(dir: &Path, edit: &Edit) -> Result<(), String> {
    match edit {
        Edit::Create { path, text } => {
            let target = dir.join(path);
            if target.exists() {
                return Err(format!(
                    "{path} already exists; a recipe creates new files only"
                ));
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("{path}: {e}"))?;
            }
            std::fs::write(&target, text).map_err(|e| format!("{path}: {e}"))
        }
        Edit::InsertAfter { path, anchor, text } => {
            let target = dir.join(path);
            let old = std::fs::read_to_string(&target).map_err(|e| format!("{path}: {e}"))?;
            let new = insert_after(&old, anchor, text).map_err(|why| format!("{path}: {why}"))?;
            std::fs::write(&target, new).map_err(|e| format!("{path}: {e}"))
        }
    }
}

/// `old` with `text` inserted after its one line whose trimmed text is `anchor`.
fn insert_after(old: &str, anchor: &str, text: &str) -> Result<String, String> {
    let hits: Vec<usize> = old
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == anchor)
        .map(|(i, _)| i)
        .collect();
    let [at] = hits[..] else {
        return Err(format!(
            "the anchor `{anchor}` must match exactly one line, it matches {}",
            hits.len()
        ));
    };
    let mut out = String::with_capacity(old.len() + text.len());
    for (i, l) in old.lines().enumerate() {
        out.push_str(l);
        out.push('\n');
        if i == at {
            out.push_str(text);
        }
    }
    Ok(out)
}

/// Runs `program args` in `dir`; its output is returned on failure.
fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &Path)]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let tail: Vec<&str> = text.lines().rev().take(80).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!(
            "`{program} {}` failed ({}):\n{}",
            args.join(" "),
            out.status,
            tail.join("\n")
        ))
    }
}

/// Makes `ws` a fresh copy of the workspace's files (as `git ls-files` lists them), under
/// git so that changes can be counted.
fn fresh_copy(root: &Path, ws: &Path) -> Result<(), String> {
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not run git: {e}"))?;
    if !listed.status.success() {
        return Err("`git ls-files` failed: the workspace must be a git checkout".into());
    }
    if ws.exists() {
        std::fs::remove_dir_all(ws).map_err(|e| format!("{}: {e}", ws.display()))?;
    }
    for name in listed.stdout.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name);
        let from = root.join(&*name);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = ws.join(&*name);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::copy(&from, &to).map_err(|e| format!("{name}: {e}"))?;
    }
    let git = |args: &[&str]| run(ws, "git", args, &[]);
    git(&["init", "-q"])?;
    git(&["add", "-A"])?;
    git(&[
        "-c",
        "user.name=contrib",
        "-c",
        "user.email=contrib@localhost",
        "commit",
        "-q",
        "--no-verify",
        "-m",
        "base",
    ])
}

/// Files and lines the recipe changed in `ws` (added plus removed lines).
fn count_changes(ws: &Path) -> Result<(usize, usize), String> {
    run(ws, "git", &["add", "-A"], &[])?;
    let out = Command::new("git")
        .args(["diff", "--cached", "--numstat"])
        .current_dir(ws)
        .output()
        .map_err(|e| format!("could not run git: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut files = 0;
    let mut lines = 0;
    for row in text.lines() {
        let mut cols = row.split('\t');
        let added = cols
            .next()
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(0);
        let removed = cols
            .next()
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(0);
        files += 1;
        lines += added + removed;
    }
    Ok((files, lines))
}

/// Follows one recipe in a fresh copy; the line to print on success.
fn follow(root: &Path, recipe: &Recipe) -> Result<String, String> {
    let base = root.join("target").join("contrib");
    let ws = base.join("ws");
    let target = base.join("target");
    fresh_copy(root, &ws)?;
    for edit in &recipe.edits {
        apply(&ws, edit)?;
    }
    let (files, lines) = count_changes(&ws)?;
    if files > recipe.max_files {
        return Err(format!(
            "changes {files} files, more than the {} it may",
            recipe.max_files
        ));
    }
    for check in &recipe.checks {
        eprintln!("xtask contrib: {}: {check}", recipe.name);
        run(&ws, "sh", &["-c", check], &[("CARGO_TARGET_DIR", &target)])?;
    }
    Ok(format!(
        "recipe {}: {files} files, {lines} lines changed, tests pass",
        recipe.name
    ))
}

/// `cargo xtask contrib [--list] [--only NAME]`.
pub fn main(args: &[String]) -> ExitCode {
    let root: PathBuf = crate::root();
    let mut only: Option<&str> = None;
    let mut list = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--list" => list = true,
            "--only" => match it.next() {
                Some(name) => only = Some(name),
                None => {
                    eprintln!("xtask contrib: --only needs a recipe name");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!(
                    "xtask contrib: unknown argument `{other}`; usage: contrib [--list] [--only NAME]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let text = match std::fs::read_to_string(root.join("CONTRIBUTING.md")) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("xtask contrib: CONTRIBUTING.md: {e}");
            return ExitCode::FAILURE;
        }
    };
    let recipes = match parse(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("xtask contrib: {e}");
            return ExitCode::FAILURE;
        }
    };
    if list {
        for r in &recipes {
            println!("{} (at most {} files)", r.name, r.max_files);
        }
        return ExitCode::SUCCESS;
    }
    let chosen: Vec<&Recipe> = recipes
        .iter()
        .filter(|r| only.is_none_or(|o| o == r.name))
        .collect();
    if chosen.is_empty() {
        eprintln!(
            "xtask contrib: no recipe {}; CONTRIBUTING.md has: {}",
            only.unwrap_or(""),
            recipes
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return ExitCode::FAILURE;
    }
    let mut ok = true;
    for r in chosen {
        match follow(&root, r) {
            Ok(line) => println!("{line}"),
            Err(why) => {
                println!("recipe {}: FAILED: {why}", r.name);
                ok = false;
            }
        }
    }
    crate::status_code(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Contributing\n\
## Add a thing\n\
Prose.\n\
```rust\nnot a recipe block\n```\n\
<!-- recipe thing max-files=2 -->\n\
````rust file=crates/a/src/thing.rs\n//! ```\n//! doc example\n//! ```\npub struct Thing;\n````\n\
```rust file=crates/a/src/lib.rs after=mod other;\nmod thing;\n```\n\
```sh check\n# a comment\ncargo test -p a\n```\n\
## Next section\n\
```rust file=crates/a/src/ignored.rs\n```\n";

    #[test]
    fn a_recipe_is_read_with_its_nested_fences_and_ends_at_the_next_heading() {
        let recipes = parse(DOC).expect("parses");
        assert_eq!(recipes.len(), 1);
        let r = &recipes[0];
        assert_eq!((r.name.as_str(), r.max_files), ("thing", 2));
        assert_eq!(
            r.edits,
            vec![
                Edit::Create {
                    path: "crates/a/src/thing.rs".into(),
                    text: "//! ```\n//! doc example\n//! ```\npub struct Thing;\n".into(),
                },
                Edit::InsertAfter {
                    path: "crates/a/src/lib.rs".into(),
                    anchor: "mod other;".into(),
                    text: "mod thing;\n".into(),
                },
            ]
        );
        assert_eq!(r.checks, vec!["cargo test -p a".to_string()]);
    }

    #[test]
    fn bad_recipes_are_refused_with_the_reason() {
        let no_max = DOC.replace(" max-files=2", "");
        assert!(parse(&no_max).unwrap_err().contains("max-files"));
        let no_check = DOC.replace("```sh check", "```sh");
        assert!(parse(&no_check).unwrap_err().contains("`sh check`"));
        let unclosed = "<!-- recipe x max-files=1 -->\n```rust file=a.rs\nfn f() {}\n";
        assert!(parse(unclosed).unwrap_err().contains("not closed"));
        let escape = DOC.replace("file=crates/a/src/thing.rs", "file=../outside.rs");
        assert!(parse(&escape).unwrap_err().contains("not a path inside"));
    }

    #[test]
    fn the_anchor_must_match_exactly_one_line() {
        let src = "mod a;\n    mod other;\nmod b;\n";
        assert_eq!(
            insert_after(src, "mod other;", "mod thing;\n").unwrap(),
            "mod a;\n    mod other;\nmod thing;\nmod b;\n"
        );
        assert!(
            insert_after(src, "mod none;", "x\n")
                .unwrap_err()
                .contains("matches 0")
        );
        let twice = "mod other;\nmod other;\n";
        assert!(
            insert_after(twice, "mod other;", "x\n")
                .unwrap_err()
                .contains("matches 2")
        );
    }

    #[test]
    fn contributing_md_recipes_parse_and_cover_every_kind_of_component() {
        let text = std::fs::read_to_string(crate::root().join("CONTRIBUTING.md")).unwrap();
        let recipes = parse(&text).expect("CONTRIBUTING.md's recipes parse");
        // The issue's targets: one new file plus one registered line for an activation, an
        // initializer, an optimizer and a schedule; at most three files for a layer.
        let targets = [
            ("squareplus", 2),
            ("initializer", 2),
            ("lion", 2),
            ("polynomial", 2),
            ("scale", 3),
        ];
        for (name, most) in targets {
            let r = recipes.iter().find(|r| r.name == name);
            let r = r.unwrap_or_else(|| panic!("CONTRIBUTING.md has no recipe {name}"));
            assert!(
                r.max_files <= most,
                "recipe {name} may change {} files",
                r.max_files
            );
        }
        for r in &recipes {
            for e in &r.edits {
                let path = match e {
                    Edit::Create { path, .. } | Edit::InsertAfter { path, .. } => path,
                };
                let exists = crate::root().join(path).exists();
                match e {
                    Edit::Create { .. } => assert!(!exists, "recipe {}: {path} exists", r.name),
                    Edit::InsertAfter { anchor, text, .. } => {
                        assert!(exists, "recipe {}: {path} is missing", r.name);
                        let old = std::fs::read_to_string(crate::root().join(path)).unwrap();
                        insert_after(&old, anchor, text)
                            .unwrap_or_else(|e| panic!("recipe {}: {path}: {e}", r.name));
                    }
                }
            }
        }
    }
}
