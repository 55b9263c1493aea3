#!/usr/bin/python3
"""Real-browser check of a report.html written by `condense report RUN_DIR`.

Drives headless Chromium through chromedriver with the W3C WebDriver HTTP
protocol (standard library only, no selenium) and checks that the report:

  1. logs no console errors (no SEVERE browser log entry, and an empty
     window.__reportErrors if the page defines it);
  2. loads nothing that is not embedded: no resource timing entry and no
     request in the performance log (which also sees file:// loads, unlike
     resource timing) other than data: and blob: URLs;
  3. renders: a screenshot is a valid PNG of nontrivial size;
  4. responds to the step slider: Home moves to the first step and changes
     #step-value, #step-metrics and at least one canvas.heatmap; End returns
     to the original step;
  5. renders the first step: a second screenshot, <stem>-first-step.png.

Usage:
  /usr/bin/python3 tests/browser/check_report.py REPORT_HTML --screenshot OUT.png
      [--chromium /usr/bin/chromium] [--chromedriver /usr/bin/chromedriver]
      [--timeout 60]

Exit status: 0 when every check passes, 1 when a check fails, 2 when the
browser could not be driven at all (bad arguments, chromedriver not starting).
"""

import argparse
import base64
import hashlib
import json
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib

ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"
KEY_HOME = "\ue011"
KEY_END = "\ue010"
MIN_SCREENSHOT_BYTES = 10 * 1024


class CheckFailed(Exception):
    """A report check failed; the message says what and why."""


class SetupError(Exception):
    """The browser could not be started or driven."""


class WebDriverError(Exception):
    def __init__(self, status, error, message):
        super().__init__(f"HTTP {status} {error}: {message}")
        self.status = status
        self.error = error


class WebDriver:
    """Minimal W3C WebDriver client for one chromedriver process."""

    def __init__(self, chromedriver, timeout, workdir):
        self.timeout = timeout
        self.session = None
        self.log_endpoint = None
        self.driver_log = os.path.join(workdir, "chromedriver.log")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        with open(self.driver_log, "wb") as log:
            # Own process group, so cleanup can stop chromedriver and every
            # browser process it launched by this one group id.
            self.proc = subprocess.Popen(
                [chromedriver, f"--port={self.port}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise SetupError(f"chromedriver exited with status {self.proc.returncode}:\n"
                                 + self.driver_log_tail())
            try:
                if self.request("GET", "/status", timeout=2).get("ready"):
                    return
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline:
                raise SetupError(f"chromedriver not ready on port {self.port} after {timeout}s:\n"
                                 + self.driver_log_tail())
            time.sleep(0.1)

    def driver_log_tail(self, lines=20):
        try:
            with open(self.driver_log, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def request(self, method, path, body=None, timeout=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout + 30) as resp:
                payload = json.load(resp)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                value = json.loads(raw).get("value", {})
                error, message = value.get("error", "?"), value.get("message", "")
            except (ValueError, AttributeError):
                error, message = "?", raw[:500].decode("utf-8", "replace")
            raise WebDriverError(e.code, error, message.split("\n")[0]) from None
        return payload.get("value")

    def s(self, path):
        return f"/session/{self.session}{path}"

    def start_session(self, chromium, user_data_dir):
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1400,1000",
                         f"--user-data-dir={user_data_dir}"],
                # Network events only: the performance log then lists every
                # request the page makes, file:// ones included.
                "perfLoggingPrefs": {"enableNetwork": True, "enablePage": False},
            },
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
            "timeouts": {"pageLoad": self.timeout * 1000, "script": self.timeout * 1000},
        }
        try:
            value = self.request("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        except WebDriverError as e:
            raise SetupError(f"could not create a browser session: {e}\n"
                             + self.driver_log_tail()) from None
        self.session = value["sessionId"]
        return value.get("capabilities", {})

    def navigate(self, url):
        self.request("POST", self.s("/url"), {"url": url})

    def execute(self, script, *args):
        return self.request("POST", self.s("/execute/sync"), {"script": script, "args": list(args)})

    def find(self, css):
        value = self.request("POST", self.s("/element"), {"using": "css selector", "value": css})
        return value[ELEMENT_KEY]

    def click(self, element):
        self.request("POST", self.s(f"/element/{element}/click"), {})

    def send_keys(self, element, text):
        self.request("POST", self.s(f"/element/{element}/value"), {"text": text})

    def screenshot(self):
        return base64.b64decode(self.request("GET", self.s("/screenshot")))

    def log(self, kind):
        """Drains a log ("browser" or "performance"). ChromeDriver in W3C mode
        serves logs at POST /session/{id}/se/log; older ones only at the legacy
        POST /session/{id}/log. (GET /session/{id}/log/browser is not a
        ChromeDriver command.) The first endpoint that answers is kept."""
        candidates = [("POST", "/se/log"), ("POST", "/log"), ("GET", f"/log/{kind}")]
        if self.log_endpoint:
            method, path = self.log_endpoint
            candidates = [(method, path if method == "POST" else f"/log/{kind}")]
        errors = []
        for method, path in candidates:
            body = {"type": kind} if method == "POST" else None
            try:
                entries = self.request(method, self.s(path), body)
            except WebDriverError as e:
                if e.status in (404, 405) or e.error in ("unknown command", "unknown method"):
                    errors.append(f"{method} {path}: {e}")
                    continue
                raise
            self.log_endpoint = (method, path)
            return entries or []
        raise SetupError("no browser log endpoint answered:\n  " + "\n  ".join(errors))

    def close(self):
        if self.session:
            try:
                self.request("DELETE", self.s(""), timeout=15)
            except (OSError, WebDriverError):
                pass
            self.session = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # Any browser process left behind is in chromedriver's process group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_png(data, what):
    """Fails unless `data` is a complete PNG (signature, IHDR, chunk CRCs, IEND)
    larger than MIN_SCREENSHOT_BYTES. Returns (width, height)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise CheckFailed(f"{what} does not start with the PNG signature")
    pos, chunks, size = 8, [], None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise CheckFailed(f"{what} is truncated in chunk {kind!r}")
        if struct.unpack(">I", crc)[0] != zlib.crc32(kind + body):
            raise CheckFailed(f"{what} has a bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        chunks.append(kind)
        pos += 12 + length
        if kind == b"IEND":
            break
    if not chunks or chunks[0] != b"IHDR" or chunks[-1] != b"IEND" or b"IDAT" not in chunks:
        raise CheckFailed(f"{what} is not a complete PNG (chunks: {[c.decode() for c in chunks]})")
    if size[0] == 0 or size[1] == 0:
        raise CheckFailed(f"{what} has zero size {size}")
    if len(data) <= MIN_SCREENSHOT_BYTES:
        raise CheckFailed(f"{what} is only {len(data)} bytes (want > {MIN_SCREENSHOT_BYTES}); "
                          "the page is probably blank")
    return size


STATE_JS = """
const slider = document.getElementById('step-slider');
const value = document.getElementById('step-value');
const metrics = document.getElementById('step-metrics');
const canvases = [];
for (const c of document.querySelectorAll('canvas.heatmap')) {
  let url = null, error = null;
  try { url = c.toDataURL(); } catch (e) { error = String(e); }
  canvases.push({layer: c.dataset.layer || null, width: c.width, height: c.height,
                 url: url, error: error});
}
return {
  slider: slider ? {tag: slider.tagName, type: slider.type, min: slider.min,
                    max: slider.max, value: slider.value} : null,
  step: value ? value.textContent.trim() : null,
  metrics: metrics ? metrics.tagName + ':' + metrics.textContent.replace(/\\s+/g, ' ').trim() : null,
  canvases: canvases,
};
"""


def page_state(wd):
    state = wd.execute(STATE_JS)
    if state["slider"] is None:
        raise CheckFailed("no element #step-slider")
    for c in state["canvases"]:
        if c["error"]:
            raise CheckFailed(f"canvas.heatmap[data-layer={c['layer']}].toDataURL() threw: {c['error']}")
        c["digest"] = hashlib.sha256(c.pop("url").encode()).hexdigest()
    return state


def wait_until(timeout, probe):
    """Calls probe() until it returns a truthy value or `timeout` seconds pass;
    returns the last value either way."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def format_entry(entry):
    return f"[{entry.get('level')}] ({entry.get('source', '?')}) {entry.get('message', '')}"


def check_console(wd, when, seen):
    """Fails on SEVERE browser log entries and on window.__reportErrors entries
    not reported by an earlier call (seen["report_errors"] counts those)."""
    entries = wd.log("browser")  # the log is drained, so entries are new
    severe = [e for e in entries if e.get("level") == "SEVERE"]
    reported = wd.execute("""
        if (!('__reportErrors' in window)) return null;
        const v = window.__reportErrors;
        if (v === null || v === undefined) return [];
        return Array.isArray(v) ? v.map(String) : [String(v)];
    """)
    if reported is not None:
        already = seen.get("report_errors", 0)
        seen["report_errors"] = len(reported)
        reported = reported[already:]
    problems = []
    if severe:
        problems.append(f"{len(severe)} SEVERE browser log entr{'y' if len(severe) == 1 else 'ies'} {when}:\n    "
                        + "\n    ".join(format_entry(e) for e in severe))
    if reported:
        problems.append(f"window.__reportErrors has {len(reported)} entr{'y' if len(reported) == 1 else 'ies'} {when}:\n    "
                        + "\n    ".join(reported))
    if problems:
        raise CheckFailed("\n  ".join(problems))
    others = len(entries)
    method, path = wd.log_endpoint
    note = "window.__reportErrors empty" if reported is not None else "no window.__reportErrors"
    return f"{others} log entr{'y' if others == 1 else 'ies'}, none SEVERE ({method} {path}); {note}"


# Schemes a self-contained page may load: inline data, and Chrome's own pages
# (the browser shows a chrome:// new-tab page before navigating to the report).
LOCAL_SCHEMES = ("data:", "blob:", "about:", "chrome:", "chrome-untrusted:", "devtools:")


def short(url, limit=120):
    return url if len(url) <= limit else url[:limit] + f"... ({len(url)} chars)"


def check_network(wd, report_uri, seen):
    """Fails on requests for anything but data:/blob: URLs, seen either as
    resource timing entries or as Network.requestWillBeSent events in the
    performance log. Resource timing misses file:// loads (an <img src=x.png>
    next to the report), the performance log does not. Only requests new
    since the previous call are reported (seen keeps the count)."""
    entries = wd.execute("""
        return performance.getEntriesByType('resource')
          .map(e => ({name: e.name, initiator: e.initiatorType,
                      status: e.responseStatus === undefined ? null : e.responseStatus}));
    """)
    already = seen.get("resources", 0)
    seen["resources"] = len(entries)
    timing = [e for e in entries[already:] if not e["name"].startswith(("data:", "blob:"))]

    events = []
    for entry in wd.log("performance"):
        try:
            message = json.loads(entry["message"])["message"]
        except (KeyError, TypeError, ValueError):
            continue
        if message.get("method") != "Network.requestWillBeSent":
            continue
        params = message.get("params", {})
        url = params.get("request", {}).get("url", "")
        if url.startswith(LOCAL_SCHEMES) or (url == report_uri and params.get("type") == "Document"):
            continue
        events.append(f"{short(url)} (type {params.get('type', '?')}, from {short(params.get('documentURL', '?'), 80)})")

    problems = []
    if timing:
        problems.append(f"{len(timing)} resource timing entr{'y' if len(timing) == 1 else 'ies'}:\n    "
                        + "\n    ".join(f"{short(e['name'])} (initiator {e['initiator']}, status {e['status']})"
                                         for e in timing))
    if events:
        problems.append(f"{len(events)} request{'' if len(events) == 1 else 's'} in the performance log:\n    "
                        + "\n    ".join(events))
    if problems:
        raise CheckFailed("the page loads something that is not embedded:\n  " + "\n  ".join(problems))
    return "no requests outside data:/blob: (resource timing and performance log)"


def save_screenshot(wd, path, what):
    # Both screenshots frame the interactive part the same way: the slider
    # near the top of the viewport, the heatmaps and metrics below it.
    wd.execute("""
        const s = document.getElementById('step-slider');
        if (s) { s.scrollIntoView({block: 'start'}); window.scrollBy(0, -80); }
    """)
    data = wd.screenshot()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    width, height = check_png(data, what)
    return f"{path} ({width}x{height}, {len(data) // 1024} KB)"


def slider_home(wd, original, settle):
    """Checks the slider's contract, clicks it and sends Home; returns the page
    state at the first step."""
    info = original["slider"]
    if info["tag"] != "INPUT" or info["type"] != "range":
        raise CheckFailed(f"#step-slider is <{info['tag'].lower()} type={info['type']}>, want <input type=range>")
    if original["step"] is None:
        raise CheckFailed("no element #step-value")
    if original["metrics"] is None:
        raise CheckFailed("no element #step-metrics")
    if not original["canvases"]:
        raise CheckFailed("no canvas.heatmap elements")
    try:
        lo, hi = int(info["min"]), int(info["max"])
    except ValueError:
        raise CheckFailed(f"#step-slider min/max are not integers: min={info['min']!r} max={info['max']!r}") from None
    if lo != 0:
        raise CheckFailed(f"#step-slider min is {lo}, want 0")
    if hi < 1:
        raise CheckFailed(f"#step-slider max is {hi}: the report needs at least two snapshot steps")
    if info["value"] != str(hi):
        raise CheckFailed(f"#step-slider starts at {info['value']}, want the last step ({hi})")

    slider = wd.find("#step-slider")
    wd.click(slider)  # focuses the slider (a click on its middle may also move it)
    wd.send_keys(slider, KEY_HOME)

    def canvases_changed(state):
        return [a["layer"] for a, b in zip(state["canvases"], original["canvases"]) if a["digest"] != b["digest"]]

    def settled():
        state = page_state(wd)
        done = (state["slider"]["value"] == "0" and state["step"] != original["step"]
                and state["metrics"] != original["metrics"] and canvases_changed(state))
        return state if done else None

    # Drawing may be deferred (requestAnimationFrame, image decoding): poll.
    first = wait_until(settle, settled) or page_state(wd)
    if first["slider"]["value"] != "0":
        raise CheckFailed(f"after Home the slider is at {first['slider']['value']}, want 0")
    if first["step"] == original["step"]:
        raise CheckFailed(f"after Home #step-value is still {original['step']!r}")
    if first["metrics"] == original["metrics"]:
        raise CheckFailed(f"after Home #step-metrics text is unchanged: {original['metrics'][:200]!r}")
    if len(first["canvases"]) != len(original["canvases"]):
        raise CheckFailed(f"the number of heatmaps changed from {len(original['canvases'])} "
                          f"to {len(first['canvases'])}")
    changed = canvases_changed(first)
    if not changed:
        raise CheckFailed(f"after Home no canvas.heatmap changed "
                          f"({len(original['canvases'])} canvases, step {original['step']} -> {first['step']})")
    first["element"] = slider
    first["summary"] = (f"step {original['step']} -> {first['step']}, metrics changed, "
                        f"{len(changed)}/{len(original['canvases'])} heatmaps changed "
                        f"({', '.join(map(str, changed))})")
    return first


def slider_end(wd, original, first, settle):
    """Sends End to the slider and checks the page is back at the original step."""
    hi = original["slider"]["max"]
    wd.send_keys(first["element"], KEY_END)
    last = wait_until(settle, lambda: (lambda s: s if s["step"] == original["step"] and s["slider"]["value"] == hi
                                       else None)(page_state(wd))) or page_state(wd)
    if last["slider"]["value"] != hi:
        raise CheckFailed(f"after End the slider is at {last['slider']['value']}, want {hi}")
    if last["step"] != original["step"]:
        raise CheckFailed(f"after End #step-value is {last['step']!r}, want the original {original['step']!r}")
    if last["metrics"] != original["metrics"]:
        raise CheckFailed("after End #step-metrics differs from the initial table")
    same = all(a["digest"] == b["digest"] for a, b in zip(last["canvases"], original["canvases"]))
    return (f"step {first['step']} -> {last['step']}, metrics restored"
            + (", heatmaps identical to the initial drawing" if same else ", heatmaps redrawn (not pixel-identical)"))


class Checks:
    """Runs named checks, printing one PASS/FAIL line each, and remembers failures."""

    def __init__(self):
        self.failed = []

    def run(self, name, fn):
        try:
            detail = fn()
        except CheckFailed as e:
            print(f"FAIL {name}: {e}")
        except WebDriverError as e:
            print(f"FAIL {name}: WebDriver command failed: {e}")
        except OSError as e:
            print(f"FAIL {name}: lost the connection to chromedriver: {e}")
        else:
            print(f"PASS {name}: {detail['summary'] if isinstance(detail, dict) else detail}")
            return detail
        self.failed.append(name)
        return None

    def skip(self, name, why):
        print(f"SKIP {name}: {why}")
        self.failed.append(name)


def run(args):
    report = pathlib.Path(args.report).resolve()
    if not report.is_file():
        raise SetupError(f"no such file: {report}")
    shot = pathlib.Path(args.screenshot).resolve()
    shot_first = shot.with_name(f"{shot.stem}-first-step.png")
    for exe in (args.chromium, args.chromedriver):
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            raise SetupError(f"not an executable: {exe}")

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="check-report-")
    wd = None
    checks = Checks()
    seen = {}  # counts of errors and requests already reported
    settle = min(10, args.timeout)
    try:
        wd = WebDriver(args.chromedriver, args.timeout, workdir)
        caps = wd.start_session(args.chromium, os.path.join(workdir, "profile"))
        print(f"browser: {caps.get('browserName', '?')} {caps.get('browserVersion', '?')}, "
              f"chromedriver on port {wd.port}")

        def load():
            wd.navigate(report.as_uri())
            ready = wait_until(args.timeout, lambda: wd.execute(
                "return document.body ? (document.body.dataset.ready || null) : null;") == "1")
            if not ready:
                try:
                    log = [format_entry(e) for e in wd.log("browser")]
                except (WebDriverError, SetupError):
                    log = []
                raise CheckFailed(f"document.body.dataset.ready never became \"1\" within {args.timeout}s"
                                  + ("; browser log:\n    " + "\n    ".join(log) if log else ""))
            return f"{report.name} ready {time.monotonic() - started:.1f}s after start"

        if checks.run("load", load) is None:
            return 1
        checks.run("console", lambda: check_console(wd, "after load", seen))
        checks.run("network", lambda: check_network(wd, report.as_uri(), seen))

        def initial_state():
            state = page_state(wd)
            layers = ", ".join(str(c["layer"]) for c in state["canvases"]) or "none"
            slider = state["slider"]
            state["summary"] = (f"step {state['step']!r}, slider {slider['value']} of "
                                f"{slider['min']}..{slider['max']}, {len(state['canvases'])} heatmaps ({layers})")
            return state

        original = checks.run("initial state", initial_state)
        checks.run("screenshot", lambda: save_screenshot(wd, shot, "screenshot"))
        if original is None:
            checks.skip("slider", "no initial state")
            return 1
        first = checks.run("slider Home", lambda: slider_home(wd, original, settle))
        checks.run("first-step screenshot", lambda: save_screenshot(wd, shot_first, "first-step screenshot"))
        if first is None:
            checks.skip("slider End", "Home did not reach the first step")
        else:
            checks.run("slider End", lambda: slider_end(wd, original, first, settle))
        checks.run("console after slider", lambda: check_console(wd, "while moving the slider", seen))
        checks.run("network after slider", lambda: check_network(wd, report.as_uri(), seen))
    finally:
        if wd is not None:
            wd.close()
        shutil.rmtree(workdir, ignore_errors=True)
        elapsed = time.monotonic() - started
        if checks.failed:
            print(f"FAILED: {', '.join(checks.failed)} ({elapsed:.1f}s)")
        elif sys.exc_info()[0] is None:
            print(f"OK: all checks passed ({elapsed:.1f}s)")
    return 1 if checks.failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", help="path to report.html")
    parser.add_argument("--screenshot", required=True,
                        help="PNG to write; the first-step screenshot goes next to it as <stem>-first-step.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--timeout", type=int, default=60, help="seconds to wait for startup and the page")
    args = parser.parse_args()
    try:
        return run(args)
    except SetupError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
