"""The agent's configuration: one TOML file, checked completely before anything starts.

Each section is a frozen dataclass (:mod:`~camdrift.agent.config.sections`); :func:`load_config` builds them
from the file (:mod:`~camdrift.agent.config.loader`), refusing unknown keys, wrong types and impossible values
with a :class:`ConfigError` (:class:`ConfigErrors` for several, all found in one reading) that names the file and the key path
(``camdrift.toml: analysis.cpu_budget: must be in (0, 1], got 1.5``); the command line overrides keys with the
options of :mod:`~camdrift.agent.config.options`. Every key and its default is documented in
``systemd/camdrift.example.toml`` (a test keeps the two in step).
"""

from camdrift.agent.config.loader import ConfigError, ConfigErrors, load_config, parse_config
from camdrift.agent.config.options import add_config_arguments, config_from_args
from camdrift.agent.config.sections import (
    ActivationsConfig,
    AnalysisConfig,
    BaselineConfig,
    CameraConfig,
    Config,
    ConsoleSinkConfig,
    EvidenceConfig,
    JsonlSinkConfig,
    MqttConfig,
    SinksConfig,
    SourceConfig,
    StateConfig,
    triple,
)

__all__ = [
    "AnalysisConfig", "BaselineConfig", "CameraConfig", "Config", "ConfigError", "ConfigErrors", "ConsoleSinkConfig",
    "ActivationsConfig", "EvidenceConfig", "JsonlSinkConfig", "MqttConfig", "SinksConfig", "SourceConfig", "StateConfig",
    "add_config_arguments", "config_from_args", "load_config", "parse_config", "triple",
]  # fmt: skip
