"""The Qt-free engine of GAN Studio: data, models, training, checkpoints, runs and export."""
