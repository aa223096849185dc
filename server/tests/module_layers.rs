//! The server's modules depend on each other in one direction only
//! (docs/architecture.md): the compiler accepts cycles between modules of a
//! crate, so this test is what keeps them out. It reads `crate::<module>`
//! paths in each top-level module's non-test code and fails on any cycle,
//! naming the files that close it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module -> the modules its code names, with one file for each edge.
type Graph = BTreeMap<String, BTreeMap<String, PathBuf>>;

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("readable source dir")
            .map(|entry| entry.expect("dir entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            rust_files(&entry, out);
        }
    } else if path.is_file() && path.extension().is_some_and(|ext| ext == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The code of a file that is not a test: test files and `mod tests` blocks
/// may reach anywhere, and comments name modules without depending on them.
fn production_code(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "tests.rs" || name.ends_with("_tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).expect("readable source file");
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn named_modules(code: &str) -> BTreeSet<String> {
    code.match_indices("crate::")
        .map(|(at, _)| {
            code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: BTreeSet<String> = std::fs::read_dir(&src)
        .expect("server/src")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let stem = path.file_stem()?.to_str()?.to_string();
            (stem != "lib" && stem != "main").then_some(stem)
        })
        .collect();
    let mut graph = Graph::new();
    for module in &modules {
        let mut files = Vec::new();
        rust_files(&src.join(module), &mut files);
        rust_files(&src.join(format!("{module}.rs")), &mut files);
        let edges = graph.entry(module.clone()).or_default();
        for file in files {
            for named in named_modules(&production_code(&file)) {
                if named != *module && modules.contains(&named) {
                    edges.entry(named).or_insert_with(|| file.clone());
                }
            }
        }
    }
    graph
}

/// A path from `from` back to `to` through the graph, if there is one.
fn path_between(graph: &Graph, from: &str, to: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().expect("non-empty path").clone();
        if last == to {
            return Some(path);
        }
        if !seen.insert(last.clone()) {
            continue;
        }
        for next in graph.get(&last).into_iter().flat_map(|edges| edges.keys()) {
            let mut longer = path.clone();
            longer.push(next.clone());
            stack.push(longer);
        }
    }
    None
}

#[test]
fn no_module_depends_on_one_that_depends_on_it() {
    let graph = graph();
    assert!(
        graph.contains_key("state") && graph.contains_key("check"),
        "the module list was not read: {:?}",
        graph.keys()
    );
    let mut cycles = Vec::new();
    for (module, edges) in &graph {
        for (target, file) in edges {
            if let Some(back) = path_between(&graph, target, module) {
                cycles.push(format!(
                    "{module} -> {} ({} names {target})",
                    back.join(" -> "),
                    file.display()
                ));
            }
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_lowest_layer_names_no_other_module() {
    let graph = graph();
    for module in ["times", "metrics", "detector_choice", "events"] {
        let edges = &graph[module];
        assert!(edges.is_empty(), "{module} depends on {edges:?}");
    }
}
