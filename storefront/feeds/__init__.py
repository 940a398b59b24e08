"""The feed contract: schemas of the five input tables, their validator and atomic storage."""

from storefront.feeds.forms import with_optional
from storefront.feeds.schemas import FEED_NAMES, SCHEMAS, Column, FeedSchema, Kind
from storefront.feeds.store import Feeds, Folded, fold_events, read_feeds, write_feeds
from storefront.feeds.validate import FeedValidationError, validate_feeds, validate_frame

__all__ = [
    "FEED_NAMES",
    "SCHEMAS",
    "Column",
    "FeedSchema",
    "FeedValidationError",
    "Feeds",
    "Folded",
    "Kind",
    "fold_events",
    "read_feeds",
    "validate_feeds",
    "validate_frame",
    "with_optional",
    "write_feeds",
]
