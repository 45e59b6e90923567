//! Records what `airtask --version` prints beside the version: the git revision the binary was
//! built from and the operator families (Cargo features `op-*`) compiled in.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn main() {
    let rev = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    // Rebuild when HEAD moves: HEAD itself and the branch it points to.
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &branch])
    {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    let mut families: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| {
            k.strip_prefix("CARGO_FEATURE_OP_")
                .map(|f| f.to_ascii_lowercase().replace('_', "-"))
        })
        .collect();
    families.sort();
    println!("cargo:rustc-env=AIRTASK_GIT_REV={rev}");
    println!("cargo:rustc-env=AIRTASK_FAMILIES={}", families.join(" "));
}
