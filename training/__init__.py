"""Datasets in, versioned model bundle out: training, calibration, export and demo data."""
