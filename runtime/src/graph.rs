//! `airtask graph`: the task graph of a workflow as text, Graphviz dot or Mermaid.
//!
//! Task groups (dotted task ids, `group.sub.task`) become nested clusters (dot) or subgraphs
//! (Mermaid); a mapped task is drawn as a stack (`[]` after its name in text, a `box3d` node
//! in dot, a subroutine node in Mermaid); an edge into a task whose trigger rule is not
//! `all_success` is dashed and labelled with the rule.

use std::fmt::Write as _;

use airtask_workflow::{MapSource, Task, TriggerRule, Workflow};

use crate::cli::{GraphArgs, GraphFormat};
use crate::definition::load_valid;
use crate::exit::{CliError, EXIT_INVALID, EXIT_OK};

/// `airtask graph`.
pub(crate) fn graph(args: &GraphArgs) -> Result<u8, CliError> {
    let (_, wf) = load_valid(&args.file, args.source.version_id.as_deref(), EXIT_INVALID)?;
    let out = match args.format {
        GraphFormat::Text => text(&wf),
        GraphFormat::Dot => dot(&wf),
        GraphFormat::Mermaid => mermaid(&wf),
    };
    use std::io::Write as _;
    let _ = write!(std::io::stdout(), "{out}");
    Ok(EXIT_OK)
}

/// The short name of an operator class path (`BashOperator`).
fn short_class(t: &Task) -> &str {
    let path = t.implementation.as_deref().unwrap_or(&t.operator);
    path.rsplit('.').next().unwrap_or(path)
}

/// The groups a task id sits in (`a.b.task` -> `["a", "a.b"]`) and its own last segment.
fn split_id(task_id: &str) -> (Vec<&str>, &str) {
    let mut groups = Vec::new();
    for (i, c) in task_id.char_indices() {
        if c == '.' {
            groups.push(&task_id[..i]);
        }
    }
    let name = task_id.rsplit('.').next().unwrap_or(task_id);
    (groups, name)
}

/// What a mapped task expands over, for its label (`over files, n`).
fn mapping_text(t: &Task) -> Option<String> {
    let m = t.mapping.as_ref()?;
    let parts: Vec<String> = m
        .expand
        .iter()
        .map(|(arg, src)| match src {
            MapSource::Values(v) => format!("{arg} ({} values)", v.len()),
            MapSource::Xcom { task_id } => format!("{arg} <- {task_id}"),
        })
        .collect();
    Some(parts.join(", "))
}

/// The node label: the task's own name, its operator, a non-default trigger rule and what a
/// mapped task expands over.
fn label_lines(t: &Task) -> Vec<String> {
    let (_, name) = split_id(&t.task_id);
    let mut lines = vec![
        if t.mapping.is_some() {
            format!("{name} []")
        } else {
            name.to_owned()
        },
        short_class(t).to_owned(),
    ];
    if t.trigger_rule != TriggerRule::AllSuccess {
        lines.push(format!("trigger: {}", t.trigger_rule.as_str()));
    }
    if let Some(m) = mapping_text(t) {
        lines.push(format!("mapped: {m}"));
    }
    lines
}

/// A tree of task groups: the tasks directly in a group and its subgroups, in definition
/// (topological) order.
#[derive(Default)]
struct Group<'a> {
    name: &'a str,
    tasks: Vec<(usize, &'a Task)>,
    children: Vec<Group<'a>>,
}

impl<'a> Group<'a> {
    fn child(&mut self, name: &'a str) -> &mut Group<'a> {
        let pos = match self.children.iter().position(|g| g.name == name) {
            Some(p) => p,
            None => {
                self.children.push(Group {
                    name,
                    ..Group::default()
                });
                self.children.len() - 1
            }
        };
        &mut self.children[pos]
    }

    fn of(wf: &'a Workflow) -> Group<'a> {
        let mut root = Group::default();
        for (i, t) in wf.tasks.iter().enumerate() {
            let (groups, _) = split_id(&t.task_id);
            let mut g = &mut root;
            for name in groups {
                g = g.child(name);
            }
            g.tasks.push((i, t));
        }
        root
    }
}

/// The plain-text drawing: one line per task, indented under its groups, with its upstream
/// tasks.
pub(crate) fn text(wf: &Workflow) -> String {
    fn walk(g: &Group<'_>, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        for (_, t) in &g.tasks {
            let mut line = format!("{pad}{}", label_lines(t)[0]);
            let _ = write!(line, "  ({})", short_class(t));
            if !t.upstream.is_empty() {
                let _ = write!(line, "  <- {}", t.upstream.join(", "));
            }
            if t.trigger_rule != TriggerRule::AllSuccess {
                let _ = write!(line, "  [trigger_rule: {}]", t.trigger_rule.as_str());
            }
            if let Some(m) = mapping_text(t) {
                let _ = write!(line, "  [mapped: {m}]");
            }
            let _ = writeln!(out, "{line}");
        }
        for c in &g.children {
            let short = c.name.rsplit('.').next().unwrap_or(c.name);
            let _ = writeln!(out, "{pad}{short}/");
            walk(c, depth + 1, out);
        }
    }
    let mut out = format!("{}\n", wf.workflow_id);
    walk(&Group::of(wf), 1, &mut out);
    out
}

/// A string as a dot double-quoted id or label.
fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The Graphviz drawing.
pub(crate) fn dot(wf: &Workflow) -> String {
    fn walk(g: &Group<'_>, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        for (_, t) in &g.tasks {
            let shape = if t.mapping.is_some() { "box3d" } else { "box" };
            let label = label_lines(t).join("\\n").replace('"', "\\\"");
            let _ = writeln!(
                out,
                "{pad}{} [label=\"{label}\", shape={shape}];",
                dot_quote(&t.task_id)
            );
        }
        for c in &g.children {
            let short = c.name.rsplit('.').next().unwrap_or(c.name);
            let _ = writeln!(
                out,
                "{pad}subgraph {} {{",
                dot_quote(&format!("cluster_{}", c.name))
            );
            let _ = writeln!(out, "{pad}  label={};", dot_quote(short));
            walk(c, depth + 1, out);
            let _ = writeln!(out, "{pad}}}");
        }
    }
    let mut out = format!("digraph {} {{\n", dot_quote(&wf.workflow_id));
    out.push_str("  rankdir=LR;\n  node [fontname=\"Helvetica\", style=rounded];\n");
    walk(&Group::of(wf), 1, &mut out);
    for t in &wf.tasks {
        for up in &t.upstream {
            let style = if t.trigger_rule == TriggerRule::AllSuccess {
                String::new()
            } else {
                format!(
                    " [style=dashed, label={}]",
                    dot_quote(t.trigger_rule.as_str())
                )
            };
            let _ = writeln!(
                out,
                "  {} -> {}{style};",
                dot_quote(up),
                dot_quote(&t.task_id)
            );
        }
    }
    out.push_str("}\n");
    out
}

/// A label as Mermaid node text: quoted, with `"` as its entity.
fn mermaid_text(lines: &[String]) -> String {
    format!("\"{}\"", lines.join("<br/>").replace('"', "#quot;"))
}

/// The Mermaid drawing (a `flowchart`; node ids are `t<N>` in definition order because task
/// ids may hold characters Mermaid does not take in ids).
pub(crate) fn mermaid(wf: &Workflow) -> String {
    fn walk(g: &Group<'_>, depth: usize, out: &mut String, groups: &mut usize) {
        let pad = "    ".repeat(depth);
        for (i, t) in &g.tasks {
            let text = mermaid_text(&label_lines(t));
            if t.mapping.is_some() {
                let _ = writeln!(out, "{pad}t{i}[[{text}]]");
            } else {
                let _ = writeln!(out, "{pad}t{i}[{text}]");
            }
        }
        for c in &g.children {
            let short = c.name.rsplit('.').next().unwrap_or(c.name);
            let _ = writeln!(
                out,
                "{pad}subgraph g{groups}[{}]",
                mermaid_text(&[short.to_owned()])
            );
            *groups += 1;
            walk(c, depth + 1, out, groups);
            let _ = writeln!(out, "{pad}end");
        }
    }
    let mut out = String::from("flowchart LR\n");
    let mut groups = 0;
    walk(&Group::of(wf), 1, &mut out, &mut groups);
    let index = |id: &str| wf.tasks.iter().position(|t| t.task_id == id);
    for (i, t) in wf.tasks.iter().enumerate() {
        for up in &t.upstream {
            let Some(u) = index(up) else { continue };
            if t.trigger_rule == TriggerRule::AllSuccess {
                let _ = writeln!(out, "    t{u} --> t{i}");
            } else {
                let _ = writeln!(out, "    t{u} -. {} .-> t{i}", t.trigger_rule.as_str());
            }
        }
    }
    out
}
