"""Tasks over codes or pixels: training and evaluation loops."""

from .classification import ClassifierResult, TensorPairs, evaluate, train_classifier

__all__ = ["ClassifierResult", "TensorPairs", "evaluate", "train_classifier"]
