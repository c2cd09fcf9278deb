"""The HTML report: self-contained, rendered by a real headless browser, written atomically.

Proves: ``report`` writes index.html, report.json and a manifest; the page has every section and
embeds every plot as a PNG data URI, references nothing outside itself and runs no script; Debian's
Chromium (headless) decodes every image (naturalWidth > 0, read back from the DOM) and paints a
non-blank screenshot; a refused ``--out`` exits 1 with one line and leaves nothing behind, a
previous report is replaced as a whole.  The browser test is skipped only where Chromium is not
installed and the run is not CI (``CI=true``, set by the CI runner): in CI it must run.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from neurodeploy.cli import main
from neurodeploy.report.html import SECTIONS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMAGES = 5                      # accuracy, layer errors, firing rates, operations, raster


@pytest.fixture(scope="module")
def report_dir(digits_graph: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report"
    res = CliRunner().invoke(main, ["report", str(digits_graph), "--out", str(out), "--steps", "1,2,4",
                                    "--limit", "50", "--sample", "3"])
    assert res.exit_code == 0, res.output
    return out


def test_page_is_self_contained(report_dir: Path) -> None:
    assert sorted(p.name for p in report_dir.iterdir()) == ["index.html", "manifest.json", "report.json"]
    page = (report_dir / "index.html").read_text()
    for key, _title in SECTIONS:
        assert f'<section id="{key}">' in page
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(sources) == IMAGES
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)
    assert "<script" not in page and not re.search(r"(?:src|href)=\"(?!data:|#)", page)
    assert "http://" not in page and "https://" not in page
    doc = json.loads((report_dir / "report.json").read_text())
    assert {"summary", "resources", "evaluation", "budget", "stats", "raster"} <= set(doc)
    assert doc["raster"]["sample"] == 3 and doc["resources"]["target"] == "loihi2"
    assert json.loads((report_dir / "manifest.json").read_text())["kind"] == "report"


def _needs_chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium); runs in CI")
    return CHROMIUM


def _chromium(*args: str) -> subprocess.CompletedProcess:
    cmd = [_needs_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)


def test_chromium_renders_every_section_and_image(report_dir: Path, tmp_path: Path) -> None:
    page = (report_dir / "index.html").read_text()
    # a copy with a probe that writes each image's decoded width into the DOM after load
    probe = ("<script>window.addEventListener('load',()=>{for(const i of document.images)"
             "{i.setAttribute('data-decoded-width',i.naturalWidth)}"
             "document.body.setAttribute('data-probe','done')});</script></body>")
    copy = tmp_path / "probe.html"
    copy.write_text(page.replace("</body>", probe))
    dom = _chromium("--virtual-time-budget=10000", "--dump-dom", copy.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-probe="done"' in dom.stdout
    widths = [int(w) for w in re.findall(r'data-decoded-width="(\d+)"', dom.stdout)]
    assert len(widths) == IMAGES and min(widths) > 100, widths
    for key, title in SECTIONS:
        assert f'<section id="{key}"><h2>{title}</h2>' in dom.stdout
    shot = tmp_path / "shot.png"
    res = _chromium(f"--screenshot={shot}", "--window-size=1200,9000", (report_dir / "index.html").as_uri())
    assert res.returncode == 0 and shot.read_bytes().startswith(PNG_MAGIC)
    from PIL import Image

    with Image.open(shot) as im:
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50           # text, tables and plots, not a blank page


def test_refused_out_exits_1_and_writes_nothing(digits_graph: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", digits_graph / "inside"):
        res = runner.invoke(main, ["report", str(digits_graph), "--out", str(out), "--limit", "5", "--steps", "1"])
        assert res.exit_code == 1 and len([ln for ln in res.output.splitlines() if ln.strip()]) == 1, res.output
    assert not (digits_graph / "inside").exists() and (tmp_path / "file").read_text() == "x"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    res = runner.invoke(main, ["report", str(digits_graph), "--out", str(foreign), "--limit", "5", "--steps", "1"])
    assert res.exit_code == 1 and sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


def test_a_previous_report_is_replaced_as_a_whole(digits_graph: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = ["report", str(digits_graph), "--out", str(out), "--steps", "1", "--limit"]
    assert CliRunner().invoke(main, [*args, "6"]).exit_code == 0
    assert CliRunner().invoke(main, [*args, "7"]).exit_code == 0
    assert json.loads((out / "report.json").read_text())["samples"] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]                   # no temporaries left
