"""Evaluation: how well a reconstruction keeps the original's pitch content and timing, against baselines."""
