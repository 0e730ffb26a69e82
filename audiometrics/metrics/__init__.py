"""LWLRAP (numpy and torch) and Kaggle submission scoring."""
