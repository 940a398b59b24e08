"""Settings of recommender training (``configs/recommender.yaml``)."""

from __future__ import annotations

from pydantic import Field

from storefront.config import Settings
from training.tuning import TuningConfig


class SplitConfig(Settings):
    """Temporal split: train, then a validation window, then a test window (days)."""

    validation_days: int = Field(default=14, ge=1)
    test_days: int = Field(default=14, ge=1)
    target_events: list[str] = Field(default_factory=lambda: ["purchase", "add_to_cart"])
    """Events in a window that count as hits (what a shopper chose)."""
    exclude_purchased: bool = False
    """Drop items the shopper already bought from their ranking (repeat-purchase shops
    should keep them)."""


class EvaluationConfig(Settings):
    """Full-ranking metrics over the whole catalogue."""

    ks: list[int] = Field(default_factory=lambda: [5, 10, 20, 50], min_length=1)
    primary_metric: str = "ndcg@10"


class PopularityConfig(Settings):
    """Recent popularity: weighted interactions in the last days before the cutoff."""

    days: int = Field(default=14, ge=1)
    view_weight: float = 1.0
    cart_weight: float = 3.0
    purchase_weight: float = 5.0


class ItemKNNConfig(Settings):
    """Item-kNN over co-occurrence (cosine with shrinkage)."""

    neighbours: int = Field(default=100, ge=1)
    shrinkage: float = Field(default=10.0, ge=0)


class EASEConfig(Settings):
    """EASE (Steck, 2019): a closed-form linear item-item model."""

    l2: float = Field(default=200.0, gt=0)
    max_items: int = Field(default=20_000, ge=1)
    """Refuse to invert a larger items x items matrix (memory grows as n²)."""
    top_items: int | None = Field(default=None, ge=1)
    """Only the most interacted-with items get weights (None: every item); the solve's
    cost grows with the cube of the item count."""


class SequentialConfig(Settings):
    """SASRec-style transformer over a shopper's recent items, full softmax loss."""

    max_length: int = Field(default=50, ge=2)
    dim: int = Field(default=64, ge=8)
    layers: int = Field(default=2, ge=1)
    heads: int = Field(default=2, ge=1)
    dropout: float = Field(default=0.2, ge=0, lt=1)
    id_dropout: float = Field(default=0.3, ge=0, lt=1)
    """Share of item-id embeddings zeroed in training, so side features (category, price
    bucket) carry meaning for items the model never saw."""
    price_buckets: int = Field(default=10, ge=1)
    batch_size: int = Field(default=128, ge=1)
    learning_rate: float = Field(default=2e-3, gt=0)
    epochs: int = Field(default=20, ge=1)
    max_seconds: float = Field(default=240.0, gt=0)
    patience: int = Field(default=3, ge=1)
    """Stop after this many epochs without a better validation metric."""
    threads: int = Field(default=2, ge=1)
    seed: int = 0


class RankerConfig(Settings):
    """LightGBM LambdaRank re-ranker over the candidate generators' union."""

    enabled: bool = True
    """The final stage; needs the shop's feature store (storefront features build)."""
    candidates: dict[str, int] = Field(
        default_factory=lambda: {"sequential": 100, "ease": 100, "itemknn": 50, "popularity": 50}
    )
    """How many top items each generator contributes."""
    training_users: int = Field(default=4000, ge=10)
    """Validation-window shoppers sampled to train the ranker."""
    num_leaves: int = Field(default=31, ge=2)
    learning_rate: float = Field(default=0.05, gt=0)
    rounds: int = Field(default=300, ge=1)
    early_stopping: int = Field(default=30, ge=1)
    min_child_samples: int = Field(default=50, ge=1)
    threads: int = Field(default=2, ge=1)
    features_config: str | None = None
    """Features YAML of the feature store the ranker reads (default configs/features.yaml)."""


class ItemToItemConfig(Settings):
    """Blend and association-rule thresholds."""

    embedding_weight: float = Field(default=0.1, ge=0, le=1)
    """Share of the item vectors in the similar-items score (the rest is co-views)."""
    min_support: int = Field(default=2, ge=1)
    """Orders that must hold both items."""
    min_confidence: float = Field(default=0.01, ge=0, le=1)
    min_lift: float = Field(default=1.0, ge=0)
    k: int = Field(default=10, ge=1)


class TrackingConfig(Settings):
    """MLflow tracking (local SQLite store by default)."""

    tracking_uri: str | None = None
    """Default: ``sqlite:///<project>/mlflow.db`` with artifacts in ``mlruns/``."""
    experiment: str = "recommender"
    model_name: str = "storefront-recommender"


class GateConfig(Settings):
    """The quality gate of ``models promote``: challenger against champion on the same
    test window. Tolerances are absolute, in the metric's units."""

    primary_tolerance: float = Field(default=0.005, ge=0)
    """The challenger's primary metric may be at most this much below the champion's."""
    guardrails: dict[str, float] = Field(
        default_factory=lambda: {
            "coverage@10": 0.02,
            "cold_users.ndcg@10": 0.01,
            "new_items.recall@20": 0.01,
        }
    )
    """Metric -> how far below the champion's the challenger's may be (higher is better
    for every one): catalogue coverage and the cold-start slices."""


class RecommenderConfig(Settings):
    """Everything recommender training needs."""

    split: SplitConfig = Field(default_factory=SplitConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    popularity: PopularityConfig = Field(default_factory=PopularityConfig)
    itemknn: ItemKNNConfig = Field(default_factory=ItemKNNConfig)
    ease: EASEConfig = Field(default_factory=EASEConfig)
    sequential: SequentialConfig = Field(default_factory=SequentialConfig)
    ranker: RankerConfig = Field(default_factory=RankerConfig)
    item2item: ItemToItemConfig = Field(default_factory=ItemToItemConfig)
    tuning: TuningConfig = Field(default_factory=TuningConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
