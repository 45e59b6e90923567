//! Helpers for the end-to-end tests: build and run the real `airtask` binary, temporary
//! directories, and the local AWS endpoint's address.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The path of the `airtask` binary, built once per test run (in the same profile and target
/// directory as the tests) so a test never runs a stale binary.
pub fn airtask_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        // target/<profile>/deps/e2e-<hash> -> target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile> directory")
            .to_path_buf();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        // Prefer what cargo sets when it runs the tests: a test binary can outlive the checkout
        // it was built from when target directories are shared.
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--quiet", "-p", "airtask", "--bin", "airtask"])
            .current_dir(workspace_root());
        if release {
            build.arg("--release");
        }
        let status = build
            .status()
            .expect("run cargo build for the airtask binary");
        assert!(status.success(), "cargo build -p airtask failed");
        let bin = profile_dir.join("airtask");
        assert!(bin.exists(), "no airtask binary at {}", bin.display());
        bin
    })
}

/// The workspace root (where Cargo.toml and examples/ are).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir.parent().expect("workspace root").to_path_buf()
}

/// `../shared/corpus`, beside the project.
///
/// # Panics
/// When it is missing: the corpus tests need the shared folder beside the clone (they are never
/// skipped).
pub fn corpus_dir() -> PathBuf {
    let dir = workspace_root().join("../shared/corpus");
    assert!(
        dir.is_dir(),
        "{} is missing: the corpus tests read ../shared/corpus beside the project",
        dir.display()
    );
    dir
}

/// Runs `airtask` with `args` and returns its output. The environment is the test's, so the
/// local AWS endpoint that the test command started is used.
pub fn airtask(args: &[&str]) -> Output {
    Command::new(airtask_bin())
        .args(args)
        .output()
        .expect("run airtask")
}

/// The local AWS endpoint that the test command started (`AWS_ENDPOINT_URL`).
///
/// # Panics
/// When it is not set: the AWS tests run through `scripts/test.sh`, which starts the endpoint;
/// they are never skipped.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the tests through scripts/test.sh, which starts the \
         local AWS endpoint",
    )
}

/// A temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh directory named after `name` under the system temp dir.
    pub fn new(name: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("airtask-e2e-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// Writes `contents` to `name` inside the directory and returns its path as a string.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, contents).expect("write temp file");
        p.to_string_lossy().into_owned()
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Parses stdout as JSON.
pub fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Runs `airtask` with `args`, asserts the exit code, and returns stdout as text.
pub fn airtask_expect(args: &[&str], code: i32) -> String {
    let out = airtask(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "airtask {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `airtask` with `args`, asserts success, and parses stdout as JSON.
pub fn airtask_json(args: &[&str]) -> serde_json::Value {
    let stdout = airtask_expect(args, 0);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"))
}

/// A local AWS endpoint of a test's own (for settings that must not leak into other tests,
/// such as IAM auth mode), started with `scripts/aws-endpoint.sh` and stopped on drop.
pub struct OwnEndpoint {
    dir: TempDir,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl OwnEndpoint {
    /// Starts an endpoint with `env` set for the server (e.g. `INITIAL_NO_AUTH_ACTION_COUNT`).
    ///
    /// # Panics
    /// When it cannot start: the venv is installed by the test command, so this is a broken
    /// set-up, never a reason to skip.
    pub fn start(name: &str, env: &[(&str, &str)]) -> OwnEndpoint {
        let dir = TempDir::new(&format!("endpoint-{name}"));
        let out = Command::new(workspace_root().join("scripts/aws-endpoint.sh"))
            .arg("start")
            .arg(dir.path())
            .envs(env.iter().copied())
            .output()
            .expect("run scripts/aws-endpoint.sh");
        assert!(
            out.status.success(),
            "cannot start a local AWS endpoint: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        OwnEndpoint { dir, url }
    }

    /// moto's dump of its state (`/moto-api/data.json`).
    pub fn data(&self) -> serde_json::Value {
        let body = http_get(&format!("{}/moto-api/data.json", self.url));
        serde_json::from_str(&body).expect("data.json is JSON")
    }
}

impl Drop for OwnEndpoint {
    fn drop(&mut self) {
        let _ = Command::new(workspace_root().join("scripts/aws-endpoint.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

/// A plain HTTP GET of `url` (`http://host:port/path`), returning the body.
pub fn http_get(url: &str) -> String {
    http("GET", url, "")
}

/// A plain HTTP POST of `body` to `url` (`http://host:port/path`), returning the answer's body.
pub fn http_post(url: &str, body: &str) -> String {
    http("POST", url, body)
}

fn http(method: &str, url: &str, body: &str) -> String {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut conn = std::net::TcpStream::connect(host).expect("connect to the endpoint");
    write!(
        conn,
        "{method} /{path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    let mut response = String::new();
    conn.read_to_string(&mut response)
        .expect("read the response");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.contains(" 200 "), "{method} {url}: {head}");
    body.to_owned()
}

/// An SDK configuration for the endpoint at `url`, with `credentials` (access key id, secret)
/// or, without them, the test command's dummy ones from the environment.
pub async fn aws_config_for(url: &str, credentials: Option<(&str, &str)>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url(url);
    if let Some((id, secret)) = credentials {
        loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
            id, secret, None, None, "test",
        ));
    }
    loader.load().await
}

/// An S3 client of `config`, path-style (the local endpoint has no DNS for buckets).
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

/// Sends SIGTERM to `child` (as an orchestrator stopping a container does).
///
/// # Panics
/// When `kill` cannot signal it.
pub fn terminate(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM {} failed", child.id());
}

/// The last line of `text` parsed as JSON: the task record `--output json` prints at the end.
pub fn last_json_line(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text.lines().last()?).ok()
}
