//! Pictures of a workflow and of a run: `airtask graph` (text, dot, mermaid) on a workflow with
//! a nested task group, a mapped task and a non-default trigger rule; `airtask report` of a
//! real run (a retried, a mapped and a failed task) opened in headless Chromium, whose DOM
//! must show every task instance with its state and tries; `--version`, `completions` and
//! `man`.

use std::path::{Path, PathBuf};
use std::process::Command;

use airtask_tests::{TempDir, airtask, airtask_expect, workspace_root};

fn fixture(name: &str) -> String {
    workspace_root()
        .join("tests/fixtures/graph")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn graph_mermaid_draws_groups_mapping_and_trigger_rules() {
    let out = airtask_expect(
        &["graph", &fixture("grouped.yaml"), "--format", "mermaid"],
        0,
    );
    let expected = "\
flowchart LR
    t0[\"start<br/>EmptyOperator\"]
    t3[\"finish<br/>EmptyOperator<br/>trigger: all_done\"]
    subgraph g0[\"extract\"]
        t1[\"pull<br/>BashOperator\"]
        subgraph g1[\"clean\"]
            t2[[\"dedupe []<br/>BashOperator<br/>mapped: bash_command (2 values)\"]]
        end
    end
    t0 --> t1
    t1 --> t2
    t2 -. all_done .-> t3
";
    assert_eq!(out, expected);
}

#[test]
fn graph_text_and_dot() {
    let text = airtask_expect(&["graph", &fixture("grouped.yaml")], 0);
    assert_eq!(
        text,
        "\
grouped
  start  (EmptyOperator)
  finish  (EmptyOperator)  <- extract.clean.dedupe  [trigger_rule: all_done]
  extract/
    pull  (BashOperator)  <- start
    clean/
      dedupe []  (BashOperator)  <- extract.pull  [mapped: bash_command (2 values)]
"
    );
    let dot = airtask_expect(&["graph", &fixture("grouped.yaml"), "--format", "dot"], 0);
    for want in [
        "digraph \"grouped\" {",
        "subgraph \"cluster_extract\" {",
        "subgraph \"cluster_extract.clean\" {",
        "\"extract.clean.dedupe\" [label=\"dedupe []\\nBashOperator\\nmapped: bash_command (2 values)\", shape=box3d];",
        "\"extract.clean.dedupe\" -> \"finish\" [style=dashed, label=\"all_done\"];",
        "\"start\" -> \"extract.pull\";",
    ] {
        assert!(dot.contains(want), "{want:?} missing from:\n{dot}");
    }
    // Graphviz parses it, where it is installed.
    if let Ok(mut child) = Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(dot.as_bytes())
            .expect("write dot");
        let out = child.wait_with_output().expect("dot");
        assert!(
            out.status.success(),
            "dot rejected the graph: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
    } else {
        eprintln!(
            "graph_text_and_dot: Graphviz (dot) is not installed; the dot text was checked only"
        );
    }
}

#[test]
fn graph_of_an_invalid_definition_fails_with_code_1() {
    let dir = TempDir::new("graph-invalid");
    let wf = dir.write(
        "bad.yaml",
        "bad:\n  tasks:\n    a:\n      operator: nope.Nope\n",
    );
    let out = airtask(&["graph", &wf]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.Nope"));
}

#[test]
fn version_completions_and_man() {
    let v = airtask_expect(&["--version"], 0);
    assert!(v.starts_with("airtask 0.1.0\n"), "{v}");
    assert!(v.contains("revision: "), "{v}");
    assert!(
        v.contains("operator families: ") && v.contains(" s3") && v.contains(" standard"),
        "{v}"
    );
    let bash = airtask_expect(&["completions", "bash"], 0);
    assert!(
        bash.contains("_airtask()") && bash.contains("run-task"),
        "bash completion"
    );
    let zsh = airtask_expect(&["completions", "zsh"], 0);
    assert!(zsh.starts_with("#compdef airtask"));
    let man = airtask_expect(&["man"], 0);
    assert!(
        man.contains(".TH airtask 1") && man.contains("run\\-task"),
        "{man}"
    );
}

/// Debian's Chromium, where the test command installed it.
fn chromium() -> Option<PathBuf> {
    let from_env = std::env::var_os("AIRTASK_CHROMIUM").map(PathBuf::from);
    from_env
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|p| p.is_file())
}

/// The page's DOM after its script ran, as headless Chromium serialises it.
fn dump_dom(chromium: &Path, page: &Path, profile: &Path) -> String {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The opening tag of the element with class `class` and `data-task="task"` (and the map
/// index, for table rows) in `dom`.
fn tag<'a>(dom: &'a str, prefix: &str, task: &str, extra: &str) -> &'a str {
    let needle = format!("{prefix} data-task=\"{task}\"{extra}");
    let start = dom
        .find(&needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the DOM:\n{dom}"));
    let end = dom[start..].find('>').map_or(dom.len(), |e| start + e);
    &dom[start..end]
}

#[test]
fn report_of_a_real_run_shows_every_task_with_state_and_tries_in_chromium() {
    let dir = TempDir::new("report");
    let state = dir.path().join("state");
    let state_s = state.to_string_lossy().into_owned();
    let out = airtask(&[
        "run",
        &fixture("report_run.yaml"),
        "--state-dir",
        &state_s,
        "--run-id",
        "r1",
        "--no-cloudwatch",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let run_dir = state.join("report_run/r1");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("run.json")).expect("run.json"))
            .expect("run.json is JSON");
    assert_eq!(run["outcome"], "success");
    assert_eq!(run["tasks"][3]["task_id"], "broken");
    assert_eq!(run["tasks"][3]["state"], "failed");

    let page = dir.path().join("run.html");
    airtask_expect(
        &[
            "report",
            &run_dir.to_string_lossy(),
            "-o",
            &page.to_string_lossy(),
        ],
        0,
    );
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(
        !html.contains("<script src") && !html.contains("<link") && !html.contains("=\"http"),
        "the page must be self-contained"
    );

    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED report_of_a_real_run_...: Chromium is not installed and could not be \
             (scripts/test.sh installs Debian's chromium when it can)"
        );
        return;
    };
    let dom = dump_dom(&chromium, &page, &dir.path().join("profile"));
    let row = |task: &str, map: i64| {
        tag(
            &dom,
            "<tr class=\"ti\"",
            task,
            &format!(" data-map-index=\"{map}\""),
        )
    };
    assert!(row("start", -1).contains("data-state=\"success\""));
    let flaky = row("flaky", -1);
    assert!(
        flaky.contains("data-state=\"success\"") && flaky.contains("data-tries=\"2\""),
        "{flaky}"
    );
    let broken = row("broken", -1);
    assert!(
        broken.contains("data-state=\"failed\"") && broken.contains("data-tries=\"1\""),
        "{broken}"
    );
    for m in 0..3 {
        assert!(row("fan", m).contains("data-state=\"success\""), "fan[{m}]");
    }
    assert!(row("after", -1).contains("data-state=\"success\""));
    // The Gantt chart has a bar per try: flaky's first try is a retry, its second a success.
    let try1 = tag(
        &dom,
        "class=\"try\"",
        "flaky",
        " data-map-index=\"-1\" data-try=\"1\"",
    );
    assert!(try1.contains("data-state=\"up_for_retry\""), "{try1}");
    let try2 = tag(
        &dom,
        "class=\"try\"",
        "flaky",
        " data-map-index=\"-1\" data-try=\"2\"",
    );
    assert!(try2.contains("data-state=\"success\""), "{try2}");
    // The graph has every task, coloured by its state.
    let node = tag(&dom, "class=\"node\"", "broken", "");
    assert!(node.contains("data-state=\"failed\""), "{node}");
    assert_eq!(dom.matches("class=\"node\"").count(), 5);
    // The XCom of a mapped instance is shown.
    assert!(
        dom.contains(">\"two\"<"),
        "fan[1]'s XCom is missing:\n{dom}"
    );
}
