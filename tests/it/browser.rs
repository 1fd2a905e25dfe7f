//! The report pages in a real browser: headless Chromium driven through chromedriver (WebDriver).
//!
//! `sweep.rs` parses the pages as a browser would; this opens them in one. Each page must load with no console
//! error (the browser's own log, which also holds failed resource loads and uncaught exceptions), every chart must
//! be drawn at a non-zero size, and every table must have rows. A PNG screenshot of each page is written to
//! `target/browser-screenshots/`.
//!
//! Without chromedriver on `PATH` the tests print "skipped: chromedriver not found" and pass, so
//! `cargo test --workspace` works on a machine without a browser; with `RAFTSIM_BROWSER_TEST=1` (set by `.ci/run`,
//! which installs Debian's `chromium` and `chromium-driver`) a missing driver fails them instead.

use assert_cmd::Command;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// Writes past the test harness's output capture, so a skip or a screenshot path shows in every run.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A chromedriver process on a free local port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver, or returns `None` (after saying so) when it is not installed and not required.
fn start_driver() -> Option<Driver> {
    let required = std::env::var("RAFTSIM_BROWSER_TEST").is_ok_and(|v| v == "1");
    let Some(chromedriver) = on_path("chromedriver") else {
        assert!(
            !required,
            "RAFTSIM_BROWSER_TEST=1 but chromedriver is not on PATH: install Debian's chromium and \
             chromium-driver (`apt-get install chromium chromium-driver`, as .ci/run does)"
        );
        say("skipped: chromedriver not found");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free local port")
        .port();
    let child = std::process::Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", chromedriver.display()));
    let driver = Driver { child, port };
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(driver);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chromedriver did not listen on port {port} within 20 s");
}

/// A headless Chromium session that keeps the browser's console log.
async fn session(driver: &Driver) -> Client {
    let mut chrome = json!({
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1000", "--hide-scrollbars"],
    });
    if let Some(binary) = on_path("chromium") {
        chrome["binary"] = json!(binary);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), chrome);
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a chromedriver session (is chromium installed?)")
}

/// chromedriver's log endpoint: every console message, failed load and uncaught exception since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "type": "browser" }).to_string()))
    }
}

async fn browser_log(client: &Client) -> Vec<Value> {
    match client.issue_cmd(BrowserLog).await.expect("the browser log") {
        Value::Array(entries) => entries,
        other => panic!("browser log is not a list: {other}"),
    }
}

/// What a page showed: each chart's id and drawn size, each table's data rows.
#[derive(Debug)]
struct Rendered {
    charts: Vec<(String, f64, f64)>,
    tables: Vec<u64>,
}

/// Measures, in the page: every `figure`'s chart (inline `svg` or `img`), or the document itself when it is an
/// SVG file; and the number of data rows of every table.
const MEASURE: &str = r#"
const size = el => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
const out = { charts: [], tables: [], broken: [] };
if (document.documentElement.tagName.toLowerCase() === 'svg') {
  out.charts.push(['document', ...size(document.documentElement)]);
}
for (const fig of document.querySelectorAll('figure')) {
  const chart = fig.querySelector('svg, img');
  const id = fig.id || '(figure without id)';
  if (!chart) { out.charts.push([id, 0, 0]); continue; }
  if (chart.tagName.toLowerCase() === 'img' && !(chart.complete && chart.naturalWidth > 0)) out.broken.push(id);
  out.charts.push([id, ...size(chart)]);
}
for (const t of document.querySelectorAll('table')) {
  out.tables.push([...t.querySelectorAll('tr')].filter(tr => tr.querySelector('td')).length);
}
out.overflow = document.documentElement.tagName.toLowerCase() === 'html'
  ? document.documentElement.scrollWidth - window.innerWidth : 0;
return out;
"#;

/// Opens `page` and returns what it drew, or every problem found: a console error, an expected chart that is
/// missing, a chart drawn at zero size or not loaded, a table without rows, no table at all when one is wanted,
/// or an HTML page wider than the window.
async fn check_page(
    client: &Client,
    page: &Path,
    expected_charts: &[&str],
    want_table: bool,
) -> Result<Rendered, Vec<String>> {
    browser_log(client).await; // drop whatever an earlier page left
    let url = url::Url::from_file_path(page.canonicalize().expect("page exists")).unwrap();
    client.goto(url.as_str()).await.expect("page loads");
    let mut problems = Vec::new();
    for entry in browser_log(client).await {
        if entry["level"] == "SEVERE" {
            problems.push(format!("console error: {}", entry["message"]));
        }
    }
    let m = client.execute(MEASURE, vec![]).await.expect("measure script");
    let charts: Vec<(String, f64, f64)> = serde_json::from_value(m["charts"].clone()).unwrap();
    let tables: Vec<u64> = serde_json::from_value(m["tables"].clone()).unwrap();
    for id in m["broken"].as_array().unwrap() {
        problems.push(format!("chart {id}: image did not load"));
    }
    for (id, w, h) in &charts {
        if *w < 1.0 || *h < 1.0 {
            problems.push(format!("chart {id}: drawn at {w}x{h}"));
        }
    }
    for id in expected_charts {
        if !charts.iter().any(|(c, _, _)| c == id) {
            problems.push(format!("chart {id}: missing"));
        }
    }
    // A report page fits the window's width: nothing (a long replay command) pushes it sideways.
    let overflow = m["overflow"].as_f64().unwrap_or(0.0);
    if overflow > 0.0 {
        problems.push(format!("the page is {overflow} px wider than the window"));
    }
    if want_table && tables.is_empty() {
        problems.push("no table".into());
    }
    for (i, rows) in tables.iter().enumerate() {
        if *rows == 0 {
            problems.push(format!("table {i}: no rows"));
        }
    }
    if problems.is_empty() {
        Ok(Rendered { charts, tables })
    } else {
        Err(problems)
    }
}

/// Screenshots the whole page (the window grown to the document's height) to `target/browser-screenshots/`.
async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let height = client
        .execute(
            "return Math.ceil(document.documentElement.scrollHeight || document.documentElement.getBoundingClientRect().height);",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap_or(1000.0);
    let width = client
        .execute(
            "return Math.ceil(Math.max(document.documentElement.scrollWidth, 1280));",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap_or(1280.0);
    client
        .set_window_size(width.min(4000.0) as u32, (height + 100.0).min(12000.0) as u32)
        .await
        .unwrap();
    let png = client.screenshot().await.expect("screenshot");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    client.set_window_size(1280, 1000).await.unwrap();
    path
}

fn screenshot_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is target/tmp; the screenshots go beside it.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("browser-screenshots")
}

fn raftsim(args: &[&str]) {
    Command::cargo_bin("raftsim")
        .expect("binary builds")
        .args(args)
        .args(["--no-progress"].iter().filter(|_| args[0] != "replay"))
        .assert()
        .success();
}

#[tokio::test(flavor = "current_thread")]
async fn report_pages_render_in_chromium() {
    let Some(driver) = start_driver() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    raftsim(&[
        "run",
        "scenarios/partition.yaml",
        "--trials",
        "200",
        "--out",
        &out("run"),
    ]);
    raftsim(&[
        "sweep",
        "scenarios/sweeps/paper-min-timeout.yaml",
        "--trials",
        "50",
        "--out",
        &out("sweep"),
    ]);
    raftsim(&[
        "replay",
        "scenarios/partition.yaml",
        "--trial",
        "1",
        "--out",
        &out("replay"),
    ]);
    let pages: [(&str, PathBuf, &[&str], bool); 3] = [
        (
            "run-partition",
            tmp.path().join("run/report.html"),
            &["election_ms", "election_ms_cdf"],
            true,
        ),
        (
            "sweep-paper-min-timeout",
            tmp.path().join("sweep/report.html"),
            &["cdf", "percentiles", "tradeoff"],
            true,
        ),
        (
            "replay-partition-trial-1",
            tmp.path().join("replay/diagram.svg"),
            &["document"],
            false,
        ),
    ];
    let client = session(&driver).await;
    let mut failures = Vec::new();
    for (name, page, charts, want_table) in pages {
        match check_page(&client, &page, charts, want_table).await {
            Ok(r) => say(&format!("{name}: charts {:?}, table rows {:?}", r.charts, r.tables)),
            Err(problems) => failures.push(format!("{}: {problems:?}", page.display())),
        }
        say(&format!("screenshot: {}", screenshot(&client, name).await.display()));
    }
    client.close().await.unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The check itself: a hand-made page passes, and each way of breaking it is caught.
#[tokio::test(flavor = "current_thread")]
async fn browser_check_rejects_broken_pages() {
    let Some(driver) = start_driver() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let chart = r#"<svg width="200" height="100"><rect width="200" height="100" fill="teal"/></svg>"#;
    let table = "<table><tr><th>a</th></tr><tr><td>1</td></tr></table>";
    let page = |name: &str, body: &str| {
        let path = tmp.path().join(format!("{name}.html"));
        std::fs::write(
            &path,
            format!("<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>"),
        )
        .unwrap();
        path
    };
    let cases = [
        ("good", format!("<figure id=\"c\">{chart}</figure>{table}"), None),
        ("missing chart", table.to_string(), Some("chart c: missing")),
        (
            "zero-size chart",
            format!("<figure id=\"c\"><svg width=\"0\" height=\"0\"></svg></figure>{table}"),
            Some("chart c: drawn at 0x0"),
        ),
        (
            "hidden chart",
            format!("<figure id=\"c\" style=\"display:none\">{chart}</figure>{table}"),
            Some("chart c: drawn at 0x0"),
        ),
        (
            "broken image",
            format!("<figure id=\"c\"><img src=\"missing.png\" width=\"200\" height=\"100\"></figure>{table}"),
            Some("image did not load"),
        ),
        (
            "empty table",
            format!("<figure id=\"c\">{chart}</figure><table><tr><th>a</th></tr></table>"),
            Some("table 0: no rows"),
        ),
        (
            "console error",
            format!("<figure id=\"c\">{chart}</figure>{table}<script>console.error('boom')</script>"),
            Some("boom"),
        ),
        (
            "script error",
            format!("<figure id=\"c\">{chart}</figure>{table}<script>undefinedFunction()</script>"),
            Some("undefinedFunction"),
        ),
    ];
    let client = session(&driver).await;
    for (name, body, expected) in cases {
        let path = page(&name.replace(' ', "-"), &body);
        let result = check_page(&client, &path, &["c"], true).await;
        match (expected, result) {
            (None, Ok(_)) => {}
            (None, Err(problems)) => panic!("{name}: a good page was rejected: {problems:?}"),
            (Some(want), Ok(r)) => panic!("{name}: accepted ({r:?}), expected {want:?}"),
            (Some(want), Err(problems)) => assert!(
                problems.iter().any(|p| p.contains(want)),
                "{name}: expected {want:?} among {problems:?}"
            ),
        }
    }
    client.close().await.unwrap();
}
