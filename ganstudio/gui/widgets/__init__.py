"""Widgets the pages share: plots, galleries, thumbnail grids, banners."""
