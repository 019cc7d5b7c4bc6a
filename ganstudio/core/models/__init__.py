"""Network definitions; pure torch.nn modules without training logic."""
