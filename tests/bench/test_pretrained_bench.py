"""`swav-ts bench pretrained` on the tiny HAPT windows (the shipped model is used as is)."""

import numpy as np

from swav_ts.bench import pretrained as bench_pretrained
from tests.fixtures import hapt_tiny


def test_pretrained_bench_scores_both_inputs_and_times_against_minirocket(monkeypatch):
    tiny = hapt_tiny()
    splits = {
        "train": (tiny["X_train"], tiny["y_train"], tiny["subject_train"]),
        "test": (tiny["X_test"], tiny["y_test"], tiny["subject_test"]),
    }
    monkeypatch.setattr("swav_ts.data.hapt.load_hapt", lambda split: splits[split])
    res = bench_pretrained.run_pretrained_benchmark(repeats=1)
    for key in ("all_channels", "accelerometer_only"):
        for probe in ("lr", "ridge"):
            accs = res[key][probe]
            assert set(accs) == {1.0, 0.1, 0.01}
            assert 1 / 6 < accs[1.0] <= 1.0  # 6 classes: better than chance
    assert res["all_channels"]["lr"] != res["accelerometer_only"]["lr"]  # the gyro mattered
    assert res["n_timed"] == 120 and res["embed_s"] > 0
    assert np.isclose(res["x_minirocket"], res["embed_s"] / res["minirocket_transform_s"])
    assert "MiniRocket's time" in bench_pretrained.format_result(res)
