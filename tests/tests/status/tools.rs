//! The outside tools the status page is checked with: Debian's headless `chromium` and
//! `chromedriver` driven by Python Selenium (`browser.py`), the W3C HTML checker
//! (npm `vnu-jar`, on the system's Java) and `axe-core` (npm), both installed at test
//! time into `target/status-npm` by `npm` from the registry, without their install
//! scripts (vnu-jar's would download a JDK).

use std::path::{Path, PathBuf};
use std::process::Command;

use flext_observability_tests::servers::which;

/// The npm packages, pinned.
const VNU: &str = "vnu-jar@26.9.27";
const AXE: &str = "axe-core@4.14.1";

/// Cargo's target directory, from this test binary's path (`<target>/<profile>/deps`).
pub(crate) fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("a test binary lives in <target>/<profile>/deps")
        .to_path_buf()
}

/// What `npm` installed.
pub(crate) struct Npm {
    pub(crate) vnu_jar: PathBuf,
    pub(crate) axe_js: PathBuf,
}

/// The npm packages, installed when missing; `Err` says why they are not there.
pub(crate) fn npm_packages() -> Result<Npm, String> {
    let dir = target_dir().join("status-npm");
    let modules = dir.join("node_modules");
    let npm = Npm {
        vnu_jar: modules.join("vnu-jar/build/dist/vnu.jar"),
        axe_js: modules.join("axe-core/axe.min.js"),
    };
    if npm.vnu_jar.is_file() && npm.axe_js.is_file() {
        return Ok(npm);
    }
    let exe = which("npm").ok_or("npm is not on PATH (apt-get install npm)")?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let out = Command::new(exe)
        .args([
            "install",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(&dir)
        .args([VNU, AXE])
        .output()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if !out.status.success() || !npm.vnu_jar.is_file() || !npm.axe_js.is_file() {
        return Err(format!(
            "npm install {VNU} {AXE} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(npm)
}

/// Whether chromium, chromedriver and Python Selenium are there; `Err` says what is not.
pub(crate) fn browser_available() -> Result<(), String> {
    for exe in ["chromium", "chromedriver"] {
        which(exe).ok_or(format!(
            "{exe} is not on PATH (apt-get install chromium chromium-driver)"
        ))?;
    }
    let python = which("python3").ok_or("python3 is not on PATH")?;
    let probe = Command::new(python)
        .args(["-c", "import selenium"])
        .output()
        .map_err(|e| e.to_string())?;
    if !probe.status.success() {
        return Err("Python selenium is not installed (pip install selenium)".into());
    }
    Ok(())
}

/// Loads `url` in the browser; the JSON report of `browser.py`.
pub(crate) fn browse(url: &str, screenshot: &Path, axe_js: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/status/browser.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(url)
        .arg(screenshot)
        .arg(axe_js)
        .output()
        .expect("run browser.py");
    assert!(
        out.status.success(),
        "browser.py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("browser.py prints JSON")
}

/// The W3C checker's errors on `html` (empty when valid); `Err` without Java.
pub(crate) fn html_errors(vnu_jar: &Path, html: &Path) -> Result<String, String> {
    let java = which("java").ok_or("java is not on PATH (apt-get install default-jre-headless)")?;
    let out = Command::new(java)
        .arg("-jar")
        .arg(vnu_jar)
        .args(["--errors-only", "--stdout"])
        .arg(html)
        .output()
        .map_err(|e| format!("cannot run the checker: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(if out.status.success() {
        String::new()
    } else {
        text
    })
}
