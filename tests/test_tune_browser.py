"""`producer tune` in a real browser: headless Chromium (Debian ``chromium``) driven by Selenium
through the system chromedriver (Debian ``chromium-driver``); nothing is downloaded.

The page loads, both players load their audio, the buttons send answers, the favourite changes,
and "save" writes the project folder.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from producer.project import load_project
from test_tune_api import tune_with, write_project

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()),
                                reason="needs the Debian packages chromium and chromium-driver")


def _browser(monkeypatch):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common import selenium_manager

    def no_manager(*args, **kwargs):
        raise AssertionError("Selenium Manager was invoked (it would try to download a driver)")

    monkeypatch.setattr(selenium_manager.SeleniumManager, "binary_paths", no_manager)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--mute-audio", "--window-size=1200,1600"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def test_page_plays_answers_and_saves(tmp_path, monkeypatch):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    song = write_project(tmp_path)
    out = tmp_path / "tuned"
    driver = _browser(monkeypatch)

    def players_ready(d):
        return d.execute_script(
            "const a = document.getElementById('player-a'), b = document.getElementById('player-b');"
            "return a.dataset.loaded === '1' && b.dataset.loaded === '1' && a.readyState >= 2 && b.readyState >= 2"
            " && a.duration > 2 && b.duration > 2 && a.dataset.version !== b.dataset.version;")

    def client(run):
        try:
            wait = WebDriverWait(driver, 60)
            driver.get(run.server.url)
            wait.until(players_ready)
            assert driver.find_element(By.ID, "favourite").text == "v0000"
            assert "0 of 4 answers" in driver.find_element(By.ID, "progress").text
            a = driver.find_element(By.ID, "player-a").get_attribute("data-version")
            b = driver.find_element(By.ID, "player-b").get_attribute("data-version")
            side = "b" if a == "v0000" else "a"
            challenger = b if side == "b" else a

            # Choose the challenger: it becomes the favourite, the history shows the answer.
            driver.find_element(By.ID, f"choose-{side}").click()
            wait.until(lambda d: d.find_element(By.ID, "favourite").text == challenger)
            rows = driver.find_elements(By.CSS_SELECTOR, "#history tbody tr")
            assert len(rows) == 1 and side in rows[0].text and challenger in rows[0].text
            assert "P(favourite is the best heard)" in driver.find_element(By.ID, "certainty").text
            wait.until(players_ready)
            assert driver.find_element(By.ID, "pair-id").text.startswith("(p0002")

            # "both fine" with a rating, then "neither": each is sent and recorded.
            driver.find_element(By.CSS_SELECTOR, "#rating option[value='5']").click()
            driver.find_element(By.ID, "choose-both").click()
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == 2)
            wait.until(players_ready)
            driver.find_element(By.ID, "choose-neither").click()
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == 3)
            favourite = driver.find_element(By.ID, "favourite").text

            driver.find_element(By.ID, "save").click()
            wait.until(lambda d: "saved" in d.find_element(By.ID, "saved").text)
            assert str(out) in driver.find_element(By.ID, "saved").text
            return favourite
        finally:
            driver.quit()

    summary, favourite = tune_with(client, project_path=song, out=out, port=0, seconds=2.0, budget=4)
    answers = [json.loads(x) for x in (tmp_path / "tuned.tune-session" / "answers.jsonl").read_text().splitlines()]
    assert [a["choice"] for a in answers][1:] == ["both", "neither"] and answers[1]["rating"] == 5
    assert summary.favourite == favourite and summary.answers == 3
    for name in ("mix.wav", "project.json", "arrangement.mid", "session.dawproject", "session.rpp"):
        assert (out / name).is_file(), name
    assert json.loads((out / "tune.json").read_text())["favourite"] == favourite
    assert len(load_project(out / "project.json").tracks) == 2
