"""Training: segment sampling with label targets, the training loop, logs and checkpoints."""
