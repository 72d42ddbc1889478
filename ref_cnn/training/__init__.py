"""The training application behind ``python -m ref_cnn train``: data, models, optimiser,
the loop, checkpoints and plots."""
