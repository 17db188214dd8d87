from .knn import extract_features, knn_accuracy, knn_predict

__all__ = ['extract_features', 'knn_accuracy', 'knn_predict']
