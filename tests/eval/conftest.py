from __future__ import annotations

import pytest

from embeddings import get_encoder
from tests.eval.tables import ENCODER, department_table
from training.train import train_bundle
from triage.bundle import ModelBundle


@pytest.fixture(scope="session")
def drift_bundle() -> ModelBundle:
    """A small trained bundle (three departments, 3-fold CV) with its drift reference."""
    return train_bundle(department_table(), get_encoder(ENCODER), version="d1", folds=3)
