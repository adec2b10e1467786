"""Downstream evaluation of frozen or fine-tuned encoders (numpy in, numpy/dicts out)."""

from swav_ts.evaluation.embed import embed
from swav_ts.evaluation.finetune import finetune, train_supervised
from swav_ts.evaluation.knn import knn_eval, knn_predict
from swav_ts.evaluation.label_fractions import (
    label_fraction_runs,
    label_fraction_table,
    stratified_fraction,
)
from swav_ts.evaluation.linear import linear_probe
from swav_ts.evaluation.metrics import (
    accuracy,
    classification_metrics,
    clustering_metrics,
    confusion,
    macro_f1,
)
from swav_ts.evaluation.ridge import ridge_probe
from swav_ts.evaluation.splits import subject_kfold, subject_kfold_linear_probe

__all__ = [
    "accuracy",
    "classification_metrics",
    "clustering_metrics",
    "confusion",
    "embed",
    "finetune",
    "knn_eval",
    "knn_predict",
    "label_fraction_runs",
    "label_fraction_table",
    "linear_probe",
    "macro_f1",
    "ridge_probe",
    "stratified_fraction",
    "subject_kfold",
    "subject_kfold_linear_probe",
    "train_supervised",
]
