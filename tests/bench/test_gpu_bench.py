"""``swav-ts bench gpu --device cpu --quick``: every section runs and reports numbers."""

import json
import math

import pytest

from swav_ts.bench import gpu as bench_gpu


def test_gpu_quick_on_cpu(tmp_path, capsys, cifar_dir, monkeypatch):
    from swav_ts.bench import image as image_bench

    monkeypatch.setattr(image_bench, "shared_cifar10_dir", lambda: cifar_dir)  # fixture JPEGs
    out = tmp_path / "gpu.json"
    res = bench_gpu.main(["--device", "cpu", "--quick", "--json", str(out)])
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1].startswith("| image")  # the table comes last
    saved = json.loads(out.read_text())
    assert saved["summary"] == json.loads(json.dumps(res["summary"]))
    sections = saved["sections"]
    assert list(sections) == ["sinkhorn", "augment", "train", "image"]
    for name, sec in sections.items():
        assert "error" not in sec and "skipped" not in sec, (name, sec)
        assert 0 < sec["seconds"] <= sec["budget_s"] * 3, name
    for r in sections["sinkhorn"]["rows"]:
        assert r["ours_ms"] > 0 and r["plain_ms"] > 0 and r["ours_finite_at_1e4"]
    for r in sections["augment"]["rows"]:
        assert math.isfinite(r["windows_per_s"]) and r["windows_per_s"] > 0
    (train_row,) = sections["train"]["rows"]
    assert train_row["windows_per_s"] > 0 and math.isfinite(train_row["step_ms"])
    assert sum(train_row["share"].values()) == pytest.approx(1.0)
    image = sections["image"]
    for key in ("synthetic_img_s", "jpeg_pipeline_img_s", "end_to_end_jpeg_img_s"):
        assert math.isfinite(image[key]) and image[key] > 0, key


def test_budget_skips_sections():
    res = bench_gpu.run_gpu_benchmark("cpu", quick=True, sections=["image"], total_budget_s=1.0)
    assert "skipped" in res["sections"]["image"]
    with pytest.raises(ValueError, match="unknown section"):
        bench_gpu.run_gpu_benchmark("cpu", quick=True, sections=["nope"])
