"""Settings of the HTTP service (``configs/serving.yaml``).

Every key has a working default; the YAML file overrides them. Secrets (the admin key,
the pseudonymisation key) come from the environment first.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field

from storefront.config import Settings, default_data_dir, load_config
from storefront.workspace import Workspace, workspace

CONFIG_ENV = "STOREFRONT_SERVING_CONFIG"
"""Explicit serving YAML (set by ``storefront serve --config``)."""
ADMIN_KEY_ENV = "STOREFRONT_ADMIN_KEY"
INGEST_KEY_ENV = "STOREFRONT_INGEST_KEY"
PSEUDONYM_KEY_ENV = "STOREFRONT_PSEUDONYM_KEY"
ADMIN_KEY_FILE = "admin.key"
INGEST_KEY_FILE = "ingest.key"
"""Key files in the shop's serving state (``state/serving/``), owner-only; the quickstart
writes them. The environment and the YAML file win over them."""


class ModelsConfig(Settings):
    """Which registered model to serve, by alias, and where MLflow lives."""

    name: str = "storefront-recommender"
    champion_alias: str = "champion"
    challenger_alias: str = "challenger"
    load_challenger: bool = False
    """Also load ``@challenger`` (answers with ``model: challenger`` on request)."""
    tracking_uri: str | None = None
    """Default: ``$MLFLOW_TRACKING_URI``, else the project's ``mlflow.db``."""


class LimitsConfig(Settings):
    """Request size limit (the field limits are the API contract: serving/schemas.py)."""

    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    """Larger bodies are refused with 413 before they are read whole."""


class RecommendConfig(Settings):
    """The recommendation path."""

    default_k: int = Field(default=10, ge=1)
    candidates: int | None = Field(default=None, ge=10, le=1000)
    """Largest number of candidates re-ranked per request (the union of the generators'
    top items, cut); ``None``: all of them, as the model was trained and judged."""
    generator_depth: dict[str, int] | None = None
    """How many top items each generator adds to the candidates; ``None``: the trained
    model's setting (what it was trained and judged on)."""
    recent_items: int = Field(default=20, ge=0)
    """Recent views from the online store appended to the shopper's history."""
    torch_threads: int = Field(default=1, ge=1)
    feature_store_retry_seconds: float = Field(default=5.0, ge=0)
    """After a failed online read, answer from last good copies this long before retrying."""
    item_cache_seconds: float = Field(default=60.0, ge=0)
    """Item features change only when the store materializes: re-read the catalogue's
    in the background at most this often, so a request reads only its shopper. 0: read
    each request's candidates from the store (one batched read per request)."""
    ranking_cache_seconds: float = Field(default=60.0, ge=0)
    """A shopper's ranked feed (before the business rules, which run on every request)
    is kept this long and reused until the shopper does something through ``/events``;
    0: rank on every request."""
    ranking_cache_size: int = Field(default=50_000, ge=1)
    """Shoppers whose ranked feed is kept (least recently asked dropped)."""
    warm_shoppers: int = Field(default=500, ge=0)
    """After each model load, rank this many of the most recent shoppers in the
    background (a quarter of one core at most), so their first request within
    ``ranking_cache_seconds`` is answered from the cache."""


class EventsConfig(Settings):
    """Durable event store (SQLAlchemy Core)."""

    url: str | None = None
    """Database URL; default ``sqlite:///<data_dir>/serving/events.db`` (WAL). A
    ``postgresql+psycopg://`` URL for the scale profile."""
    sqlite_synchronous: str = Field(default="FULL", pattern="^(FULL|EXTRA|NORMAL)$")
    push_online: bool = True
    """Push recent activity to the Feast online store after each committed batch."""
    max_future_seconds: float = Field(default=300.0, ge=0)
    """Events stamped more than this many seconds after the service's clock are refused
    (422 naming ``events.<row>.timestamp``; nothing of the batch is stored)."""
    max_age_days: float = Field(default=400.0, gt=0)
    """Events stamped more than this many days before the service's clock are refused."""
    max_quantity: int = Field(default=1000, ge=1)
    """Largest ``quantity`` of one event."""
    max_unit_price: float = Field(default=1e6, gt=0)
    """Largest ``unit_price`` of one event."""
    price_tolerance: float | None = Field(default=0.01, ge=0)
    """A purchase or add-to-cart whose ``unit_price`` differs from the price the service
    quotes for the item at the event's moment (``/price``) by more than this share is
    refused; ``null`` turns the check off."""
    require_ingest_key: bool = True
    """``POST /events`` needs the ingest key (``X-Ingest-Key`` or ``Authorization:
    Bearer``); ``false`` opens it (local experiments only)."""


class ProfileConfig(Settings):
    """Tags of ``/user_profile``, from the shopper's features."""

    high_value_m_score: int = Field(default=4, ge=1, le=5)
    """Tag ``high_value`` from this monetary quintile score."""
    frequent_f_score: int = Field(default=4, ge=1, le=5)
    """Tag ``frequent`` from this frequency quintile score."""
    deal_seeker_discount_share: float = Field(default=0.5, ge=0, le=1)
    """Tag ``deal_seeker`` when at least this share of purchases were discounted."""
    win_back_stages: list[str] = Field(default_factory=lambda: ["at_risk", "dormant"])
    """Lifecycle stages tagged ``win_back``."""


class OverloadConfig(Settings):
    """Bounded work under overload (:mod:`serving.overload`), per worker process."""

    max_in_flight: int = Field(default=8, ge=1)
    """Requests running at once (beyond ``threads`` they wait for a request thread)."""
    max_queue: int = Field(default=32, ge=0)
    """Requests waiting for a slot; more are answered 503 with ``Retry-After`` at once."""
    max_wait_seconds: float = Field(default=2.0, ge=0)
    """A request queued longer than this is answered 503 (0: no limit)."""
    retry_after_seconds: int = Field(default=1, ge=0)
    """``Retry-After`` of a shed request."""


class LogConfig(Settings):
    """The service's own log file, rotated by size."""

    file: str | None = None
    """Default: the shop's ``state/serving/service.log``; ``""``: no log file."""
    max_bytes: int = Field(default=10_000_000, ge=10_000)
    """Size at which the log rotates."""
    backups: int = Field(default=5, ge=1)
    """Rotated files kept (``service.log.1`` … ``.<backups>``)."""
    level: str = "INFO"

    def install(self, default: Path, worker: int | None = None) -> Path | None:
        """Send the process's log records (the root logger's) to a size-rotated file.

        Args:
            default: The file when ``file`` is not set (the shop's service log).
            worker: The worker's index; workers after the first write
                ``<name>-<worker>.log`` (one writer per file, so rotation is safe).

        Returns:
            The file, or ``None`` when there is none (``file: ""``, or the process's
            output already goes to that file: rotating under it would lose lines).
        """
        import logging
        import logging.handlers

        if self.file == "":
            return None
        path = Path(self.file) if self.file else default
        if worker is not None and worker > 1:
            path = path.with_name(f"{path.stem}-{worker}{path.suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        root = logging.getLogger()
        for handler in root.handlers:
            if getattr(handler, "baseFilename", None) == str(path.resolve()):
                return path  # installed already
        if path.exists():
            target = path.stat()
            for fd in (1, 2):
                try:
                    info = os.fstat(fd)
                except OSError:
                    continue
                if (info.st_dev, info.st_ino) == (target.st_dev, target.st_ino):
                    logging.getLogger(__name__).warning(
                        "the service's output already goes to %s: not rotating it (send "
                        "the output elsewhere to have it rotated)",
                        path,
                    )
                    return None
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=self.max_bytes, backupCount=self.backups, encoding="utf-8"
        )
        handler.setLevel(self.level.upper())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))
        root.addHandler(handler)
        for name in ("serving", "storefront", "experiments"):
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() > handler.level:
                logger.setLevel(handler.level)
        return path


class CorsConfig(Settings):
    """Which web origins' browser code may call the service (CORS)."""

    allow_origins: list[str] = Field(default_factory=list)
    """Origins allowed (``https://shop.example.com``; ``"*"``: any). Empty (the default):
    no CORS headers at all, so browsers refuse cross-origin calls."""
    allow_headers: list[str] = Field(default_factory=lambda: ["content-type"])
    """Request headers a browser may send (never put a key in browser code)."""
    max_age_seconds: int = Field(default=600, ge=0)
    """How long a browser may keep a preflight's answer."""


class ServingConfig(Settings):
    """Everything the service reads at start."""

    data_dir: str | None = None
    """Feed directory of the shop; default ``$STOREFRONT_DATA_DIR`` or ``data/feeds``."""
    features_config: str | None = None
    """Features YAML of the shop's feature store (default ``configs/features.yaml``)."""
    business_rules_config: str | None = None
    """Business rules YAML (default ``configs/business_rules.yaml``)."""
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    recommend: RecommendConfig = Field(default_factory=RecommendConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)
    profile: ProfileConfig = Field(default_factory=ProfileConfig)
    overload: OverloadConfig = Field(default_factory=OverloadConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    cors: CorsConfig = Field(default_factory=CorsConfig)
    admin_key: str | None = None
    """Key of ``/admin/*``, ``/experiments/report`` and ``/reports/*``
    (``$STOREFRONT_ADMIN_KEY`` wins, else this, else the shop's ``state/serving/admin.key``);
    none: those are refused."""
    ingest_key: str | None = None
    """Key of ``POST /events`` (``$STOREFRONT_INGEST_KEY`` wins, else this, else the shop's
    ``state/serving/ingest.key``); none while ``events.require_ingest_key``: refused."""
    pseudonym_key: str | None = None
    """HMAC key for user ids in logs and experiment units (``$STOREFRONT_PSEUDONYM_KEY``
    wins); none: a random key kept in the shop's state (``serving/pseudonym.key``)."""
    workers: int = Field(default=1, ge=1)
    """Server processes (each loads the models; a reload reaches all of them)."""
    threads: int = Field(default=4, ge=1)
    """Request threads per process (I/O such as event commits overlaps)."""
    timeout_seconds: int = Field(default=30, ge=1)
    access_log: bool = False
    """BentoML's per-request access log (costs CPU at high rates; user ids are never in it)."""
    experiments_refresh_seconds: float = Field(default=5.0, ge=0)
    """How often the running experiments are re-read from the experiment store."""
    experiments_settings: str | None = None
    """Experiments YAML (store URL); default ``configs/experiments.yaml``."""

    def resolved_data_dir(self) -> Path:
        """The shop folder (``$STOREFRONT_DATA_DIR`` wins over the file)."""
        if "STOREFRONT_DATA_DIR" in os.environ or self.data_dir is None:
            return default_data_dir()
        return Path(self.data_dir)

    def workspace(self) -> Workspace:
        """The shop folder's paths (moved into the current layout on first use)."""
        return workspace(self.resolved_data_dir())

    def serving_dir(self) -> Path:
        """The shop's serving state: local model copies, event database, pseudonym key."""
        return self.workspace().serving

    def events_url(self) -> str:
        """The event store's database URL."""
        return self.events.url or f"sqlite:///{self.workspace().event_log}"

    def _key_file(self, name: str) -> str | None:
        try:  # the path only: reading a key moves nothing (Workspace, not workspace())
            path = Workspace(self.resolved_data_dir()).serving / name
            return (path.read_text().strip() or None) if path.is_file() else None
        except OSError:
            return None

    def resolved_admin_key(self) -> str | None:
        """The admin key: the environment, the file, else the shop's key file."""
        return os.environ.get(ADMIN_KEY_ENV) or self.admin_key or self._key_file(ADMIN_KEY_FILE)

    def resolved_ingest_key(self) -> str | None:
        """The ingest key of ``/events``: the environment, the file, else the shop's key
        file."""
        return os.environ.get(INGEST_KEY_ENV) or self.ingest_key or self._key_file(INGEST_KEY_FILE)

    def resolved_pseudonym_key(self) -> str:
        """The HMAC key of user ids: the environment, the file, else a random key kept
        in the shop's state (owner-only), so that pseudonyms — and
        the experiment variants assigned by them — survive restarts and agree between
        workers."""
        given = os.environ.get(PSEUDONYM_KEY_ENV) or self.pseudonym_key
        if given:
            return given
        path = self.workspace().pseudonym_key
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(handle, "w") as out:
                out.write(secrets.token_hex(32))
            try:  # link: the key appears whole, and the first of racing workers wins
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()


def load_serving_config() -> ServingConfig:
    """``$STOREFRONT_SERVING_CONFIG`` if set, else ``configs/serving.yaml``, else defaults."""
    return load_config(ServingConfig, os.environ.get(CONFIG_ENV) or None, name="serving")
