"""Datasets: finding pictures in folders and zips, decoding them, caching them, and batching them for training."""
