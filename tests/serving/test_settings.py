"""Settings: search encoders and channel weights reach the knowledge base; bad values name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.app import build_service
from serving.settings import SettingsError, load_settings


def test_search_encoders_and_weights_reach_the_knowledge_base(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        encoder="hashing:64",
        search_encoders=["hashing:32"],
        search_weights={"en": {"bm25": 0.5, "hashing:32": 2.0}},
        search_candidates=80,
    )
    knowledge = build_service(settings).knowledge
    assert [e.name for e in knowledge.extra_encoders] == ["hashing:32"]
    assert knowledge.config.candidates == 80
    assert knowledge.config.weight("en", "bm25") == 0.5
    assert knowledge.config.weight("en", "hashing:32") == 2.0
    # Languages and channels not named keep the defaults.
    assert knowledge.config.weight("zh", "use-m3") == 1.0
    assert knowledge.config.weight("en", "use-m3") == 0.1


def test_search_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_SEARCH_ENCODERS", '["hashing:16"]')
    monkeypatch.setenv("TRIAGE_SEARCH_WEIGHTS", '{"zh": {"bm25": 0}}')
    settings = load_settings(data_dir=tmp_path)
    assert settings.search_encoders == ["hashing:16"]
    assert settings.search_weights == {"zh": {"bm25": 0.0}}


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"search_encoders": ["nope:1"]}, "search_encoders"),
        ({"search_encoders": ["hashing:8", "hashing:8"]}, "named twice"),
        ({"search_weights": {"en": {"bm25": -1}}}, "use 0 to switch it off"),
        ({"search_weights": {"fr": {"bm25": 1}}}, "search_weights"),
        ({"search_candidates": 1}, "search_candidates"),
    ],
)
def test_bad_search_settings_name_the_setting(
    tmp_path: Path, overrides: dict[str, object], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(data_dir=tmp_path, **overrides)


def test_config_file_is_read_and_its_errors_name_the_file(tmp_path: Path) -> None:
    config = tmp_path / "triage.yaml"
    config.write_text("similar_k: 7\nsearch_candidates: 60\n", encoding="utf-8")
    settings = load_settings(config, data_dir=tmp_path)
    assert settings.similar_k == 7 and settings.search_candidates == 60
    config.write_text("similar_k: [7\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"triage\.yaml: invalid YAML at line 2"):
        load_settings(config)
    config.write_text("- similar_k\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="expected a mapping of setting: value, found a list"):
        load_settings(config)
    with pytest.raises(SettingsError, match="no such file"):
        load_settings(tmp_path / "missing.yaml")
