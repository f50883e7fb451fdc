"""Shared pytest configuration: small simulated data, headless plotting, quiet threads.

The ``browser`` fixture drives headless Chromium (Debian's ``chromium`` and
``chromium-driver``, which ``.ci/run`` installs) through selenium. Without them the browser
tests skip with the reason; with ``CI`` set (the CI run) they fail instead, so a missing
browser never passes silently.
"""

import os
import shutil
import tempfile

import pytest

# Figures in tests never open a window.
os.environ.setdefault("MPLBACKEND", "Agg")

CHROMIUM = ("/usr/bin/chromium", "chromium", "chromium-browser")
DRIVER = ("/usr/bin/chromedriver", "chromedriver")
#: Flags that let Chromium run headless as root in a container, with no network chatter.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1100,1400")


def _which(names):
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing(reason):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the browser tests must run)")
    pytest.skip(reason)


def chrome():
    """A headless Chromium webdriver that records the browser's console."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (pip install 'specstate[test]')")
    binary, driver = _which(CHROMIUM), _which(DRIVER)
    if binary is None or driver is None:
        _missing("Chromium or chromedriver is missing (apt-get install chromium "
                 "chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="specstate-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(driver), options=options)
    drv._specstate_profile = profile
    return drv


def quit_chrome(drv):
    drv.quit()
    shutil.rmtree(drv._specstate_profile, ignore_errors=True)


def js_errors(drv):
    """Console messages of level SEVERE (uncaught errors, failed loads)."""
    return [e for e in drv.get_log("browser") if e.get("level") == "SEVERE"]


def wait_for(drv, script, timeout=10.0):
    """Wait until the JavaScript expression `script` is truthy; return its value."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(drv, timeout, poll_frequency=0.1).until(
        lambda d: d.execute_script(f"return {script}"))


class Browser:
    """A headless Chromium for one test: the driver and what the tests ask of it."""

    def __init__(self):
        self.driver = chrome()

    def js_errors(self):
        return js_errors(self.driver)

    def wait_for(self, script, timeout=10.0):
        return wait_for(self.driver, script, timeout)

    def close(self):
        quit_chrome(self.driver)


@pytest.fixture
def browser():
    """Headless Chromium (Debian's chromium + chromium-driver, through selenium).

    Skips with the reason when either is missing; with ``CI`` set it fails instead.
    """
    b = Browser()
    try:
        yield b
    finally:
        b.close()
