"""SwAV core: the method's math and training machinery, free of any modality code."""

from swav_ts.core.heads import ProjectionHead, Prototypes
from swav_ts.core.loss import SwAVLossOutput, swav_loss
from swav_ts.core.model import SwAVModel, group_crops, multicrop_features
from swav_ts.core.queue import EmbeddingQueue
from swav_ts.core.sinkhorn import sinkhorn

__all__ = [
    "EmbeddingQueue",
    "ProjectionHead",
    "Prototypes",
    "SwAVLossOutput",
    "SwAVModel",
    "group_crops",
    "multicrop_features",
    "sinkhorn",
    "swav_loss",
]
