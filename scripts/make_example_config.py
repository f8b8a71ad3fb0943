#!/usr/bin/env python3
"""Writes kb_agent.example.yaml from the settings model (run after changing kb_agent/config.py)."""

from kb_agent.config import PROJECT_ROOT, Settings
from kb_agent.settings_doc import example_yaml


def default_settings() -> Settings:
    # Defaults as a fresh checkout has them: data in ./data, no environment, no config file.
    return Settings.model_construct(**{name: field.get_default(call_default_factory=True)
                                       for name, field in Settings.model_fields.items()})


if __name__ == "__main__":
    (PROJECT_ROOT / "kb_agent.example.yaml").write_text(example_yaml(default_settings()), encoding="utf-8")
    print("wrote kb_agent.example.yaml")
