"""Data sets: readers for each layout, splits, label encoding, transforms and loaders.

Modules are imported directly (training.data.sources, training.data.loader, ...); this package
file stays empty so that importing one reader never pulls in torch workers or drawing code.
"""
