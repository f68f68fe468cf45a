"""Data pipeline, training and evaluation of the melody models."""
