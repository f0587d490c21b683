//! Repository hygiene, checked by ordinary tests (`cargo test -p xtask`): every crate has
//! crate docs, no test is marked as expected to panic (tests assert on `Err` instead), no source
//! or doc file has trailing whitespace or tabs, every crate denies warnings in its
//! doctests, no library code writes a file except through `gradwell_nn::io`, the facade
//! without its default features depends on no plotting, progress-bar or TOML crate, no two
//! documented targets share a name (`cargo doc` would publish one over the other), and
//! every page of `docs/` (and section) that the code cites exists.

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};

    use crate::root;

    fn files(dir: &Path, ext: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                if !["target", ".git", ".venv", "corpus", "fixtures", "report"].contains(&name)
                    && !name.starts_with('.')
                {
                    files(&p, ext, out);
                }
            } else if ext.iter().any(|x| name.ends_with(x)) {
                out.push(p);
            }
        }
    }

    fn sources() -> Vec<PathBuf> {
        let mut v = Vec::new();
        for d in ["crates", "xtask", "benches", "fuzz"] {
            files(&root().join(d), &[".rs"], &mut v);
        }
        v
    }

    #[test]
    fn every_crate_has_crate_docs_and_denies_doctest_warnings() {
        let mut missing = Vec::new();
        for entry in fs::read_dir(root().join("crates")).unwrap().flatten() {
            let src = entry.path().join("src");
            let root_file = ["lib.rs", "main.rs"]
                .iter()
                .map(|f| src.join(f))
                .find(|p| p.exists());
            let Some(path) = root_file else { continue };
            let text = fs::read_to_string(&path).unwrap();
            let is_lib = path.ends_with("lib.rs");
            if !text.trim_start().starts_with("//!")
                || (is_lib && !text.contains("#![doc(test(attr(deny(warnings))))]"))
            {
                missing.push(path.display().to_string());
            }
        }
        assert!(
            missing.is_empty(),
            "crate roots without `//!` docs or the doctest deny: {missing:?}"
        );
    }

    #[test]
    fn no_should_panic_tests() {
        let needle = ["should", "_panic"].concat();
        let hits: Vec<_> = sources()
            .into_iter()
            .filter(|p| fs::read_to_string(p).is_ok_and(|t| t.contains(&format!("#[{needle}"))))
            .collect();
        assert!(
            hits.is_empty(),
            "tests must assert on Err, not panic: {hits:?}"
        );
    }

    #[test]
    fn files_are_written_only_through_the_atomic_writer() {
        let writer = root().join("crates/gradwell-nn/src/io.rs");
        let needles = [["fs::", "write("].concat(), ["File::", "create("].concat()];
        let mut all = Vec::new();
        files(&root().join("crates"), &[".rs"], &mut all);
        let hits: Vec<_> = all
            .into_iter()
            .filter(|p| p.components().any(|c| c.as_os_str() == "src") && *p != writer)
            .filter(|p| {
                fs::read_to_string(p).is_ok_and(|t| needles.iter().any(|n| t.contains(n.as_str())))
            })
            .collect();
        assert!(
            hits.is_empty(),
            "write files with gradwell_nn::io (atomically), not directly: {hits:?}"
        );
    }

    #[test]
    fn no_trailing_whitespace_or_tabs() {
        let mut all = sources();
        files(&root(), &[".md", ".toml"], &mut all);
        let mut bad = Vec::new();
        for p in all {
            let Ok(text) = fs::read_to_string(&p) else {
                continue;
            };
            for (i, line) in text.lines().enumerate() {
                if line.ends_with(' ')
                    || line.ends_with('\t')
                    || (p.extension().is_some_and(|e| e == "rs") && line.contains('\t'))
                {
                    bad.push(format!("{}:{}", p.display(), i + 1));
                }
            }
        }
        assert!(bad.is_empty(), "trailing whitespace or tabs at {bad:?}");
    }

    /// `cargo tree` of the facade's normal dependencies, `args` added; one crate a line.
    fn facade_tree(args: &[&str]) -> String {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = std::process::Command::new(cargo)
            .args(["tree", "-e", "normal", "--prefix", "none", "-p", "gradwell"])
            .args(args)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn the_facade_without_default_features_leaves_out_plots_progress_bars_toml_and_the_svd() {
        let has = |tree: &str, dep: &str| {
            tree.lines()
                .any(|l| l.split_whitespace().next() == Some(dep))
        };
        let light = facade_tree(&["--no-default-features"]);
        let full = facade_tree(&[]);
        for (feature, dep) in [
            ("plots", "plotters"),
            ("progress", "indicatif"),
            ("toml", "toml"),
            ("svd", "nalgebra"),
        ] {
            assert!(has(&full, dep), "the default build lacks {dep}");
            assert!(!has(&light, dep), "--no-default-features still pulls {dep}");
            let one = facade_tree(&["--no-default-features", "--features", feature]);
            assert!(has(&one, dep), "feature {feature} does not bring {dep}");
        }
    }

    /// `cargo doc` writes each documented target to `target/doc/<name>/`: two targets of
    /// one name (the `gradwell` binary and the facade crate `gradwell`) overwrite each
    /// other's page, with only a warning.
    #[test]
    fn no_two_documented_targets_share_a_name() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = std::process::Command::new(cargo)
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut seen = std::collections::BTreeMap::<String, String>::new();
        for package in meta["packages"].as_array().unwrap() {
            for target in package["targets"].as_array().unwrap() {
                let kinds = target["kind"].as_array().unwrap();
                let documented = target["doc"].as_bool().unwrap()
                    && kinds.iter().any(|k| k == "lib" || k == "bin");
                if !documented {
                    continue;
                }
                let name = target["name"].as_str().unwrap().replace('-', "_");
                let owner = format!(
                    "{} ({})",
                    package["name"].as_str().unwrap(),
                    kinds[0].as_str().unwrap()
                );
                if let Some(first) = seen.insert(name.clone(), owner.clone()) {
                    panic!(
                        "`cargo doc` writes both {first} and {owner} to target/doc/{name}/; set `doc = false` on one"
                    );
                }
            }
        }
    }

    /// GitHub's anchor of a Markdown heading: lower case, spaces to `-`, punctuation other
    /// than `-` and `_` dropped.
    fn slug(heading: &str) -> String {
        heading
            .trim()
            .chars()
            .filter_map(|c| match c {
                ' ' | '-' => Some('-'),
                '_' => Some('_'),
                c if c.is_alphanumeric() => Some(c.to_ascii_lowercase()),
                _ => None,
            })
            .collect()
    }

    /// Every `docs/<page>.md` and `docs/<page>.md#<section>` that the sources cite, and
    /// every `(#<section>)` link inside a page, names a page of `docs/` and one of its
    /// headings.
    #[test]
    fn cited_docs_pages_and_sections_exist() {
        let anchors = |page: &Path| -> Option<Vec<String>> {
            let text = fs::read_to_string(page).ok()?;
            Some(
                text.lines()
                    .filter_map(|l| l.strip_prefix('#'))
                    .map(|l| slug(l.trim_start_matches('#')))
                    .collect(),
            )
        };
        let mut cites: Vec<(String, String, Option<String>)> = Vec::new();
        for p in sources() {
            let text = fs::read_to_string(&p).unwrap_or_default();
            for (at, _) in text.match_indices("docs/") {
                let rest = &text[at + 5..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                    .collect();
                // A citation ending a sentence.
                let name = name.strip_suffix('.').unwrap_or(&name);
                if !name.ends_with(".md") {
                    continue;
                }
                let anchor = rest[name.len()..].strip_prefix('#').map(|a| {
                    a.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
                        .collect::<String>()
                });
                cites.push((p.display().to_string(), name.to_string(), anchor));
            }
        }
        let mut bad = Vec::new();
        for (from, name, anchor) in &cites {
            match (anchors(&root().join("docs").join(name)), anchor) {
                (None, _) => bad.push(format!("{from}: docs/{name} does not exist")),
                (Some(found), Some(a)) if !found.contains(a) => {
                    bad.push(format!("{from}: docs/{name} has no section #{a}"))
                }
                _ => {}
            }
        }
        // Links inside the pages themselves.
        for entry in fs::read_dir(root().join("docs")).unwrap().flatten() {
            let page = entry.path();
            if page.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let text = fs::read_to_string(&page).unwrap();
            let found = anchors(&page).unwrap_or_default();
            for (at, _) in text.match_indices("](#") {
                let a: String = text[at + 3..].chars().take_while(|&c| c != ')').collect();
                if !found.contains(&a) {
                    bad.push(format!("{}: no section #{a}", page.display()));
                }
            }
        }
        assert!(bad.is_empty(), "{bad:#?}");
        // The crates once cited a page that was never in the repository.
        let old = ["REFERENCE", ".md"].concat();
        let stale: Vec<_> = sources()
            .into_iter()
            .filter(|p| fs::read_to_string(p).is_ok_and(|t| t.contains(&old)))
            .collect();
        assert!(
            stale.is_empty(),
            "{old} is not in the repository: {stale:?}"
        );
        assert!(cites.len() >= 10, "only {} citations found", cites.len());
    }
}
