//! The layers README's "How it works" draws hold: no top-level module of the crate reaches,
//! through `crate::` paths in its non-test code, a module that reaches back to it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its non-test code names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut pending = vec![src.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let module = relative
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_owned();
            if module == "lib" || module == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (at, _) in line.match_indices("crate::") {
                    let named: String = line[at + 7..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !named.is_empty() && named != module {
                        graph.entry(module.clone()).or_default().insert(named);
                    }
                }
            }
        }
    }
    graph
}

/// The modules `from` reaches, itself excluded unless a cycle leads back.
fn reachable(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut pending: Vec<&str> = graph
        .get(from)
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    while let Some(module) = pending.pop() {
        if seen.insert(module.to_owned()) {
            pending.extend(graph.get(module).into_iter().flatten().map(String::as_str));
        }
    }
    seen
}

#[test]
fn no_module_reaches_back_to_itself() {
    let graph = imports();
    assert!(
        graph.contains_key("commands") && graph.contains_key("entries"),
        "{graph:?}"
    );
    let cyclic: Vec<(&String, Vec<&String>)> = graph
        .keys()
        .filter(|module| reachable(&graph, module).contains(*module))
        .map(|module| {
            (
                module,
                graph[module]
                    .iter()
                    .filter(|n| reachable(&graph, n).contains(module))
                    .collect(),
            )
        })
        .collect();
    assert!(
        cyclic.is_empty(),
        "import cycles (module, through): {cyclic:?}"
    );
}

#[test]
fn only_the_commands_and_the_action_pick_exit_codes() {
    let graph = imports();
    let pickers: Vec<&String> = graph
        .keys()
        .filter(|module| !matches!(module.as_str(), "commands" | "action" | "cli"))
        .filter(|module| graph[*module].contains("commands"))
        .collect();
    assert!(
        pickers.is_empty(),
        "below the commands, yet naming them: {pickers:?}"
    );
}
