"""The early-warning model: the probability that an inspection confirms a violation.

Two river estimators, learned online from the labels of ``inspection.recorded``:

* an anomaly detector, ``MinMaxScaler | HalfSpaceTrees`` (fixed seed), that learns what a
  *compliant* enterprise looks like (only labels ``violation_found = false``), so a
  violator's profile never becomes "normal"; its score is the feature ``anomaly_score``;
* a classifier, ``StandardScaler | LogisticRegression``, on the profile features plus
  ``anomaly_score``. Its contributions (weight × standardised value) explain a score.

Prequential discipline: score, then decide, then learn. :meth:`EarlyWarningModel.score`
never changes the model; :meth:`~EarlyWarningModel.score_then_learn` returns the score it
had *before* learning the label, and the prequential ROC AUC is updated with that score.

>>> from rules.models.features import FEATURE_NAMES
>>> model = EarlyWarningModel()
>>> x = {name: 0.0 for name in FEATURE_NAMES}
>>> before = model.score_then_learn(x, True)
>>> before.probability, before.n_learned, model.n_learned
(0.5, 0, 1)
>>> EarlyWarningModel.from_bytes(model.to_bytes()).score(x) == model.score(x)
True
"""

from __future__ import annotations

import functools
import hashlib
import json
import pickle
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

from river import anomaly, compose, linear_model, metrics, optim, preprocessing

from rules.models.features import ANOMALY_SCORE, FEATURE_NAMES, FEATURE_NAMES_ZH, describe

MODEL_FORMAT = 1  # bump when the pickled layout changes; part of the config hash


@dataclass(frozen=True, slots=True)
class ModelConfig:
    learning_rate: float = 0.05
    intercept_lr: float = 0.05
    l2: float = 0.0
    hst_trees: int = 10
    hst_height: int = 6  # 10 trees of 127 nodes: a checkpoint of ~50 kB
    hst_window: int = 250
    seed: int = 42
    auc_thresholds: int = 50

    def digest(self, feature_names: tuple[str, ...] = FEATURE_NAMES) -> str:
        """12 hex digits naming this model's state: features, configuration, pickle format
        and river's minor version. Any change starts a fresh model instead of misreading one."""
        return _digest(self, feature_names)


@functools.lru_cache(maxsize=64)
def _digest(config: ModelConfig, feature_names: tuple[str, ...]) -> str:
    # Cached: every checkpoint read checks it, and reading river's version from its
    # package metadata took longer than the rest of the check.
    minor = ".".join(metadata.version("river").split(".")[:2])
    blob = json.dumps(
        {
            "features": list(feature_names),
            "config": asdict(config),
            "format": MODEL_FORMAT,
            "river": minor,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


DEFAULT_CONFIG = ModelConfig()


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature that pushed the probability up: ``weight × standardised value`` (log-odds)."""

    feature: str
    name_zh: str
    value: float  # the raw feature value
    contribution: float

    def describe(self) -> str:
        """zh-CN, with the value in its unit: ``近180天联系失败（3次）``."""
        return describe(self.feature, self.value)


@dataclass(frozen=True, slots=True)
class Warning:
    """The model's score for one enterprise at one event (``Facts.warning``)."""

    probability: float
    anomaly_score: float
    contributions: tuple[Contribution, ...]  # positive ones, largest first
    n_learned: int  # labels the model had learned when it scored
    auc: float | None  # prequential ROC AUC so far (None before both classes were seen)


class EarlyWarningModel:
    def __init__(self, config: ModelConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self.config_hash = config.digest()
        self._scaler: Any = preprocessing.StandardScaler()  # river is untyped: Any
        self._classifier = linear_model.LogisticRegression(
            optimizer=optim.SGD(config.learning_rate),
            intercept_lr=config.intercept_lr,
            l2=config.l2,
        )
        self._pipeline = compose.Pipeline(self._scaler, self._classifier)
        self._detector = compose.Pipeline(
            preprocessing.MinMaxScaler(),
            anomaly.HalfSpaceTrees(
                n_trees=config.hst_trees,
                height=config.hst_height,
                window_size=config.hst_window,
                seed=config.seed,
            ),
        )
        self._auc: Any = metrics.ROCAUC(n_thresholds=config.auc_thresholds)  # type: ignore[no-untyped-call]
        self.n_learned = 0
        self.n_violations = 0

    # -- scoring ------------------------------------------------------------------------

    def score(self, x: Mapping[str, float]) -> Warning:
        """Score ``x`` (from :func:`~rules.models.features.features`); changes nothing."""
        return self._score(self._augment(x))

    @property
    def auc(self) -> float | None:
        """Prequential ROC AUC so far; computed once per model state (it is not cheap)."""
        if self.n_violations == 0 or self.n_violations == self.n_learned:
            return None
        cached: tuple[int, float] | None = getattr(self, "_auc_at", None)
        if cached is None or cached[0] != self.n_learned:
            cached = self._auc_at = (self.n_learned, float(self._auc.get()))
        return cached[1]

    # -- learning -----------------------------------------------------------------------

    def score_then_learn(self, x: Mapping[str, float], label: bool) -> Warning:
        """Learn ``label`` for ``x``; return the score from *before* learning it, which
        therefore does not depend on ``label`` (its ``auc`` is left ``None``)."""
        xa = self._augment(x)
        # Without the AUC so far: it changes with every label, and computing it here
        # cost three times the learning itself (the caller wants the probability).
        warning = self._score(xa, with_auc=False)
        self._auc.update(bool(label), warning.probability)
        self._pipeline.learn_one(xa, bool(label))
        if not label:  # the detector learns what compliant looks like, never a violator
            self._detector.learn_one(_raw(xa))
        self.n_learned += 1
        self.n_violations += int(bool(label))
        return warning

    def learn(self, x: Mapping[str, float], label: bool) -> None:
        self.score_then_learn(x, label)

    # -- persistence --------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Pickled and compressed. Only ever load bytes riskwire itself wrote (see
        :mod:`rules.models.checkpoint`): unpickling runs code."""
        state = {"format": MODEL_FORMAT, "config_hash": self.config_hash, "model": self}
        return zlib.compress(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL), 1)

    @classmethod
    def from_bytes(cls, data: bytes, config: ModelConfig = DEFAULT_CONFIG) -> EarlyWarningModel:
        """The model :meth:`to_bytes` wrote; ``ValueError`` if it is another format or
        configuration than ``config``'s."""
        try:
            state: Any = pickle.loads(zlib.decompress(data))
        except (zlib.error, pickle.UnpicklingError, EOFError, AttributeError) as exc:
            raise ValueError(f"not an early-warning model checkpoint: {exc}") from exc
        if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
            raise ValueError("an early-warning model of another format")
        if state.get("config_hash") != config.digest():
            raise ValueError("an early-warning model of another configuration")
        model = state["model"]
        if not isinstance(model, cls):
            raise ValueError(f"expected {cls.__name__}, got {type(model).__name__}")
        return model

    # -- internals ----------------------------------------------------------------------

    def _augment(self, x: Mapping[str, float]) -> dict[str, float]:
        missing = [name for name in FEATURE_NAMES if name not in x]
        if missing:
            raise ValueError(f"features missing: {', '.join(missing)}")
        raw = {name: float(x[name]) for name in FEATURE_NAMES}
        raw[ANOMALY_SCORE] = float(self._detector.score_one(raw))
        return raw

    def _score(self, xa: dict[str, float], *, with_auc: bool = True) -> Warning:
        probability = float(self._pipeline.predict_proba_one(xa)[True])
        z = self._scaler.transform_one(xa)
        weights = self._classifier.weights
        contributions = sorted(
            (
                Contribution(name, FEATURE_NAMES_ZH[name], xa[name], c)
                for name in xa
                if (c := float(weights.get(name, 0.0)) * float(z[name])) > 0.0
            ),
            key=lambda c: (-c.contribution, c.feature),
        )
        return Warning(
            probability=probability,
            anomaly_score=xa[ANOMALY_SCORE],
            contributions=tuple(contributions),
            n_learned=self.n_learned,
            auc=self.auc if with_auc else None,
        )


def _raw(xa: Mapping[str, float]) -> dict[str, float]:
    return {name: xa[name] for name in FEATURE_NAMES}
