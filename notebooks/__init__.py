"""The companion training notebook (``fat2019_training.ipynb``), shipped as package data."""
