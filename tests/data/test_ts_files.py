from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from swav_ts.data import load_ts_file

HEADER = """# comment
@problemName Toy
@timeStamps false
@missing {missing}
@univariate false
@dimensions 2
@equalLength {equal}
@classLabel true a b
@data
"""


def write(tmp_path: Path, text: str, name: str = "toy.ts") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_basicmotions_shapes(uea_dir):
    X, y = load_ts_file(uea_dir / "BasicMotions_TRAIN.ts")
    assert X.shape == (40, 6, 100) and X.dtype == np.float32
    assert y.shape == (40,) and y.dtype.kind == "U"
    assert set(y) == {"Standing", "Running", "Walking", "Badminton"}
    assert np.isfinite(X).all()
    # first value of the first case, as written in the file
    assert X[0, 0, 0] == pytest.approx(0.079106)


def test_racketsports_train_test(uea_dir):
    Xtr, ytr = load_ts_file(uea_dir / "RacketSports_TRAIN.ts", return_type="array")
    Xte, yte = load_ts_file(uea_dir / "RacketSports_TEST.ts")
    assert Xtr.shape == (151, 6, 30) and Xte.shape == (152, 6, 30)
    assert len(set(ytr)) == 4 and set(yte) <= set(ytr)
    lst, _ = load_ts_file(uea_dir / "RacketSports_TEST.ts", return_type="list")
    assert len(lst) == 152 and lst[5].shape == (6, 30)
    np.testing.assert_array_equal(lst[5], Xte[5])


def test_missing_values_become_nan(tmp_path):
    p = write(
        tmp_path, HEADER.format(missing="true", equal="true") + "1,?,3:4,5,6:a\n7,8,9:?,?,1:b\n"
    )
    X, y = load_ts_file(p)
    assert X.shape == (2, 2, 3)
    assert np.isnan(X[0, 0, 1]) and np.isnan(X[1, 1, :2]).all() and X[1, 1, 2] == 1
    assert list(y) == ["a", "b"]


def test_unequal_length_list_and_pad(tmp_path):
    text = HEADER.format(missing="false", equal="false") + "1,2,3:4,5,6:a\n7,8:9,10:b\n"
    p = write(tmp_path, text)
    X, _y = load_ts_file(p)
    assert isinstance(X, list) and [x.shape for x in X] == [(2, 3), (2, 2)]
    assert X[1].dtype == np.float32
    Xp, _yp, lengths = load_ts_file(p, pad=True)
    assert Xp.shape == (2, 2, 3) and list(lengths) == [3, 2]
    assert np.isnan(Xp[1, :, 2]).all() and Xp[1, 1, 1] == 10
    with pytest.raises(ValueError, match="unequal lengths"):
        load_ts_file(p, return_type="array")


def test_unlabelled_file(tmp_path):
    text = (
        "@problemName U\n@timeStamps false\n@univariate true\n@classLabel false\n@data\n1,2\n3,4\n"
    )
    X, y = load_ts_file(write(tmp_path, text))
    assert X.shape == (2, 1, 2) and y is None


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("@problemName X\n@classLabel true a\n1,2:a\n", r"line 3: expected a @tag header"),
        ("@problemName X\n@classLabel true a\n", r"line 2: missing @data"),
        ("@problemName X\n@colour red\n@data\n1:a\n", r"line 2: unknown header tag @colour"),
        ("@univariate true\n@dimensions 3\n@data\n1\n", r"line 3: contradictory header"),
        ("@timeStamps true\n@data\n(0,1)\n", r"line 2: .*timestamped format"),
        ("@missing maybe\n@data\n", r"line 1: @missing expects 'true' or 'false'"),
        ("@dimensions 2\n@classLabel true a b\n@data\n1,2:3,4:a\n5,6:b\n", r"line 5: expected 2"),
        (
            "@dimensions 2\n@classLabel true a b\n@data\n1,2:3,4:a\n5,6:7,8:c\n",
            r"line 5: class label 'c'",
        ),
        ("@classLabel true a\n@data\n1,x,3:a\n", r"line 3: dimension 0, value 1: 'x'"),
        ("@missing false\n@classLabel true a\n@data\n1,?:a\n", r"line 4: .*@missing false"),
        ("@equalLength true\n@classLabel true a\n@data\n1,2:a\n1,2,3:a\n", r"line 5: @equalLength"),
        ("@classLabel true a\n@classLabel true b\n@data\n", r"line 2: .*given twice"),
        ("@dimensions 2\n@data\n1,2:3\n", r"line 3: dimensions of one case"),
    ],
)
def test_header_and_data_errors_name_file_and_line(tmp_path, text, match):
    p = write(tmp_path, text, "bad.ts")
    with pytest.raises(ValueError, match=match) as exc:
        load_ts_file(p)
    assert "bad.ts" in str(exc.value)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="no such"):
        load_ts_file(tmp_path / "nope.ts")
    p = write(tmp_path, "@classLabel true a\n@data\n1,2:a\n")
    with pytest.raises(ValueError, match="return_type"):
        load_ts_file(p, return_type="frame")
