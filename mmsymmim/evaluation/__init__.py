from .attention_distance import attention_distance
from .finetune import (
    RawPixels,
    balanced_subset,
    encode,
    finetune_accuracy,
    load_backbone,
)
from .knn import extract_features, knn_accuracy, knn_predict
from .linear_probe import linear_probe_accuracy

__all__ = [
    'attention_distance', 'extract_features', 'knn_accuracy', 'knn_predict',
    'linear_probe_accuracy',
    'RawPixels', 'balanced_subset', 'encode', 'finetune_accuracy',
    'load_backbone'
]
