"""A wheel install runs the main job: the bundled HAPT data and the shipped model travel inside
the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    scratch = ROOT / "build"  # setuptools builds in the checkout: leave it as it was
    had_scratch = scratch.exists()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=build,
    )
    if not had_scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (path,) = out.glob("swav_ts-*.whl")
    return path


def test_the_wheel_holds_the_hapt_recordings(wheel):
    with zipfile.ZipFile(wheel) as z:
        info = z.getinfo("swav_ts/data/bundled/hapt_recordings.npz")
        shipped = (ROOT / "datasets" / "hapt" / "hapt_recordings.npz").stat().st_size
        assert info.file_size == shipped > 5_000_000  # the data, not a link


def test_the_wheel_holds_the_shipped_model(wheel):
    from swav_ts.pretrained import MODELS, model_path

    with zipfile.ZipFile(wheel) as z:
        info = z.getinfo(f"swav_ts/pretrained/{MODELS['motion-50hz'].file}")
        assert info.file_size == model_path("motion-50hz").stat().st_size


def test_an_installed_wheel_finds_the_data_from_another_folder(wheel, tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import swav_ts, sys; from swav_ts.data.hapt import hapt_path, load_hapt; "
        "from swav_ts import TimeSeriesSwAV; from swav_ts.pretrained import model_path; "
        "X, y, s = load_hapt('test'); m = TimeSeriesSwAV.pretrained(); "
        "print(swav_ts.__file__); print(hapt_path()); print(X.shape); "
        "print(model_path('motion-50hz')); print(m.transform(X[:2]).shape)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=elsewhere,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    module, data, shape, model, embedded = proc.stdout.strip().splitlines()
    assert module.startswith(str(site)) and data.startswith(str(site))
    assert not Path(data).is_symlink()
    assert shape == "(2874, 6, 128)"
    assert model.startswith(str(site)) and embedded == "(2, 128)"  # the shipped model, unpacked
