#!/usr/bin/env python3
"""Loads the status page in headless Debian chromium through chromedriver (Selenium,
no driver download: both paths are given) and prints one JSON report on stdout:

  - every browser log entry (console errors, CSP violations as source "security",
    failed loads as source "network"),
  - the text of each table row, by table caption,
  - the computed style of a badge (the hashed inline stylesheet applied),
  - axe-core's violations (id, impact, nodes), injected through WebDriver, which the
    page's CSP does not apply to,
  - the size of the screenshot it wrote.

The Rust test (`tests/tests/status.rs`) decides what passes.

  browser.py URL SCREENSHOT AXE_JS
"""
import json
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = os.environ.get("FLEXT_OBS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("FLEXT_OBS_CHROMEDRIVER", "/usr/bin/chromedriver")

ROWS_JS = """
const out = {};
for (const table of document.querySelectorAll('table')) {
  const caption = table.caption ? table.caption.textContent.trim() : '';
  out[caption] = Array.from(table.tBodies[0].rows, r => r.innerText.replace(/\\s+/g, ' ').trim());
}
return out;
"""

STYLE_JS = """
const badge = document.querySelector('.badge');
if (!badge) return null;
const s = getComputedStyle(badge);
return {background: s.backgroundColor, weight: s.fontWeight, radius: s.borderRadius};
"""

AXE_JS = """
const done = arguments[arguments.length - 1];
axe.run(document).then(
  r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length, v.help])),
  e => done('axe failed: ' + e));
"""


def main():
    url, screenshot, axe_path = sys.argv[1], sys.argv[2], sys.argv[3]
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.set_script_timeout(60)
        driver.get(url)
        report = {
            "title": driver.title,
            "url": driver.current_url,
            "rows": driver.execute_script(ROWS_JS),
            "badge_style": driver.execute_script(STYLE_JS),
            "svg_count": len(driver.find_elements(By.CSS_SELECTOR, "svg.spark")),
            # Read before axe runs: what the page itself logged.
            "logs": [{"level": e.get("level"), "source": e.get("source"),
                      "message": e.get("message")} for e in driver.get_log("browser")],
        }
        driver.save_screenshot(screenshot)
        report["screenshot_bytes"] = os.path.getsize(screenshot)
        with open(axe_path, encoding="utf-8") as f:
            driver.execute_script(f.read())
        report["axe"] = driver.execute_async_script(AXE_JS)
    finally:
        driver.quit()
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
