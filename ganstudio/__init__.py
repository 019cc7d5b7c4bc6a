"""GAN Studio: train generative adversarial networks on your own pictures, on your own machine."""

__version__ = "0.1.0"
APP_NAME = "GAN Studio"
