#!/usr/bin/python3
"""Drives nmt serve's page in Debian's headless Chromium (no download): loads it, types a
sentence, asks for alternatives and the attention heatmap, clicks Translate, reads the result,
submits again from the keyboard, checks a narrow window, and fails on any console error.

usage: page_test.py URL SENTENCE SCREENSHOT.png  -> prints the translation as JSON on success
"""
import json
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait


def main(url, sentence, screenshot):
    # Chromium's profile (tens of files a run) goes when the page test ends, passed or failed.
    with tempfile.TemporaryDirectory(prefix="nmt-chromium-", ignore_cleanup_errors=True) as profile:
        drive(url, sentence, screenshot, profile)


def drive(url, sentence, screenshot, profile):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--user-data-dir=" + profile, "--window-size=1000,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_page_load_timeout(20)
        driver.get(url)
        wait = WebDriverWait(driver, 20)
        wait.until(lambda d: d.find_element(By.ID, "languages").text != "translation")
        source = driver.find_element(By.ID, "source")
        source.send_keys(sentence)
        Select(driver.find_element(By.ID, "alternatives-count")).select_by_value("2")
        driver.find_element(By.ID, "show-attention").click()
        driver.find_element(By.ID, "translate").click()
        wait.until(lambda d: d.find_element(By.ID, "translation").text.strip() != "" or d.find_element(By.ID, "error").text)
        error = driver.find_element(By.ID, "error").text
        if error:
            raise AssertionError("the page shows an error: " + error)
        translation = driver.find_element(By.ID, "translation").text
        alternatives = driver.find_elements(By.CSS_SELECTOR, "#alternatives li")
        if len(alternatives) != 3:
            raise AssertionError("expected the best and 2 alternatives, got %d" % len(alternatives))
        if not driver.find_element(By.ID, "time").text.endswith(" s"):
            raise AssertionError("no request time shown")
        if not driver.find_elements(By.CSS_SELECTOR, "#heatmap table td"):
            raise AssertionError("no attention heatmap")
        driver.save_screenshot(screenshot)

        # The keyboard alone: Ctrl+Enter in the text box translates again.
        driver.execute_script("document.getElementById('translation').textContent = ''")
        source.send_keys(Keys.CONTROL, Keys.ENTER)
        wait.until(lambda d: d.find_element(By.ID, "translation").text.strip() != "")
        if driver.find_element(By.ID, "translation").text != translation:
            raise AssertionError("Ctrl+Enter gave another translation")

        # A narrow screen: nothing wider than the window.
        driver.set_window_size(380, 800)
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            raise AssertionError("the page is %d px wider than a 380 px window" % overflow)

        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        if errors:
            raise AssertionError("console errors: %s" % errors)
        print(json.dumps({"translation": translation}))
    finally:
        driver.quit()


if __name__ == "__main__":
    try:
        main(*sys.argv[1:4])
    except Exception as error:  # the test prints why
        print("page test failed: %s" % error)
        sys.exit(1)
