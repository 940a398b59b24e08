"""The Storefront HTTP service (BentoML, new-style ``@bentoml.service`` class).

Endpoints (all ``POST`` with JSON bodies, typed in :mod:`serving.schemas`, listed in
the OpenAPI document at ``/docs.json``): ``/recommend``, ``/similar_items``,
``/bought_together``, ``/price``, ``/forecast``, ``/user_profile``, ``/events``;
``/admin/reload`` (admin key). BentoML adds ``/livez``, ``/readyz`` and Prometheus
``/metrics``. Run it with ``storefront serve`` (or ``bentoml serve
serving.service:Storefront``); settings in ``configs/serving.yaml``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
import uuid
from typing import Any

import bentoml
import polars as pl
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse

from audit.quotes import Quote, QuoteLog
from serving.activity import RecentActivity
from serving.config import load_serving_config
from serving.events import EventStore, InvalidEventError, validate_events
from serving.experiments import PAGE_SURFACES, Experiments, open_experiment_store
from serving.headers import AnswerHeadersMiddleware, cors_options
from serving.online import OnlineHealer, open_online
from serving.openapi import OpenAPIMiddleware
from serving.overload import OverloadMiddleware
from serving.pages import SITE, PagesMiddleware
from serving.pages.site import ShopContext
from serving.rankings import RankingCache
from serving.reader import Features
from serving.reload import ReloadSignal
from serving.reports import PAGES
from serving.rules import BusinessRules
from serving.schemas import (
    BoughtTogetherRequest,
    BoughtTogetherResponse,
    EventsRequest,
    EventsResponse,
    ExperimentReportRequest,
    ExperimentReportResponse,
    ForecastRequest,
    ForecastResponse,
    ItemPrice,
    PriceRequest,
    PriceResponse,
    RecommendedItem,
    RecommendRequest,
    RecommendResponse,
    ReloadRequest,
    ReloadResponse,
    SimilarItemsRequest,
    SimilarItemsResponse,
    UserProfileRequest,
    UserProfileResponse,
)
from serving.security import GuardMiddleware, IngestPolicy, Pseudonymiser
from serving.state import Backlog, State, build_state
from storefront.clock import Clock, SystemClock
from storefront.config import load_config

log = logging.getLogger("storefront.serving")
CONFIG = load_serving_config()


def _refuse(status: int, error: str, fields: list[str]) -> JSONResponse:
    """An error answer in the same shape as the schema failures (see serving.security)."""
    return JSONResponse({"error": error, "fields": fields}, status_code=status)


def _request_id(given: str | None) -> str:
    return given or uuid.uuid4().hex


def _short_reason(count: int, k: int) -> str | None:
    """Why an answer has ``count`` < ``k`` items (``None`` when it has ``k``): fewer
    items pass retrieval and the rules than asked."""
    return None if count >= k else "not_enough_candidates"


def _named(**fields: list[str]) -> dict[str, list[str]]:
    """``unknown``: the request fields with values the shop does not know."""
    return {name.replace("__", "."): values for name, values in fields.items() if values}


@bentoml.asgi_app(PAGES.app, path="/reports")
@bentoml.service(
    name="storefront",
    workers=CONFIG.workers,
    threads=CONFIG.threads,
    traffic={"timeout": CONFIG.timeout_seconds},
    logging={"access": {"enabled": CONFIG.access_log}},
)
class Storefront:
    """Recommendations, prices, forecasts and event intake for one shop."""

    def __init__(self) -> None:
        import torch

        self.cfg = CONFIG
        self.clock: Clock = SystemClock()
        """Business time ("now") of the service; every state built holds it."""
        torch.set_num_threads(self.cfg.recommend.torch_threads)
        worker = bentoml.server_context.worker_index
        self.cfg.log.install(self.cfg.workspace().service_log, worker)
        self.pseudonym = Pseudonymiser(self.cfg.resolved_pseudonym_key())
        data_dir = self.cfg.resolved_data_dir()
        self.rules = load_config(
            BusinessRules, self.cfg.business_rules_config, name="business_rules"
        )
        self.event_store = EventStore(
            self.cfg.events_url(), self.cfg.events.sqlite_synchronous, self.clock
        )
        rec = self.cfg.recommend
        self.features = Features(
            open_online(data_dir, self.cfg), rec.feature_store_retry_seconds, rec.item_cache_seconds
        )
        self._push: Any = None
        self._push_store: Any = None
        self.activity = RecentActivity(
            self.event_store, max(self.rules.exclude_bought_days, 1.0), now=self.clock.now
        ).start()  # what shoppers did through the service (every worker's, within ~1 s)
        self._warming = threading.Event()
        self.state: State = build_state(
            self.cfg, self.features, self.rules, self._purchases, clock=self.clock,
            activity=self.activity,
            rankings=RankingCache(rec.ranking_cache_seconds, rec.ranking_cache_size),
        )  # fmt: skip
        self._warm(self.state)

        def healed() -> None:  # the store works again: the state stops saying otherwise
            state = self.state
            reasons = [r for r in state.degraded if r != "feature_store_unavailable"]
            self.state = dataclasses.replace(state, degraded=reasons)
            if self.features.cached:
                self.features.refresh_items()

        self.healer = OnlineHealer(
            lambda: open_online(data_dir, self.cfg), self.features, healed
        ).start()
        self.backlog = None
        if self.cfg.events.push_online and (worker or 1) == 1:  # one pusher for all workers
            self.backlog = Backlog(self.event_store, self._push_online).start()
        self.reloads = ReloadSignal(self.cfg.serving_dir() / "reload.generation", self._rebuild)
        self.experiments = Experiments(
            open_experiment_store(data_dir, self.cfg.experiments_settings),
            self.pseudonym,
            self.cfg.experiments_refresh_seconds,
            self.state.shop.unit_costs,
        )
        store = self.experiments.store
        self.quotes = QuoteLog(None if store is None else store.engine)  # every /price quote
        PAGES.store = store
        SITE.bind(
            ShopContext(data_dir, self.clock, self.cfg.events_url(), store, self.cfg),
            self.cfg.resolved_admin_key(),
        )  # the dashboard, the pricing desk and the audit read this shop
        log.info(
            "serving %s from %s (models %s%s)",
            self.cfg.models.name,
            data_dir,
            self.state.versions(),
            f"; degraded: {', '.join(self.state.degraded)}" if self.state.degraded else "",
        )

    @bentoml.on_shutdown
    def _flush_exposures(self) -> None:
        """Write the exposures (and price quotes) still waiting for their batch."""
        self.experiments.flush()
        self.quotes.flush()

    def __is_ready__(self) -> bool:
        return self.state is not None

    def _purchases(self, user_id: str, since: float) -> list[str]:
        return self.activity.purchases(user_id, since)

    def _rebuild(self, load_challenger: bool | None = None) -> State:
        """Build a new state and swap it in (in-flight requests finish on the old one)."""
        online_ok = self.healer.check()  # reopens a missing, replaced or failing store
        state = build_state(
            self.cfg, self.features, self.rules, self._purchases, self.state, load_challenger,
            online_ok=online_ok,
        )  # fmt: skip
        self.state = state  # one reference swap
        self._warm(state)
        self.experiments.unit_costs = state.shop.unit_costs
        self.experiments.refresh()
        return state

    def _warm(self, state: State) -> None:
        """Rank the most recent shoppers' feeds in the background (a previous warm-up
        stops: its state is gone)."""
        self._warming.set()
        self._warming = stop = threading.Event()
        engine = state.engines.get("champion")
        count = self.cfg.recommend.warm_shoppers
        if engine is None or count == 0:
            return
        users = list(engine.model.histories)[-count:][::-1]  # latest first seen first
        threading.Thread(
            target=state.recommender.warm, args=(users, stop), name="warm-rankings", daemon=True
        ).start()

    def _served(self, request_id: str | None) -> dict[str, Any]:
        self.reloads.follow()
        return {"request_id": _request_id(request_id)}

    def _versions(
        self, state: State, version: str | None, alias: str = "champion"
    ) -> dict[str, str]:
        if version is None:
            return {self.cfg.models.name: "popularity"}
        engine = state.engines.get(alias) or state.engines.get("champion")
        suffix = "" if engine is None or engine.loaded.source == "registry" else " (local copy)"
        return {self.cfg.models.name: f"{version}{suffix}"}

    @staticmethod
    def _items(state: State, ids: list[str], scores: list[float]) -> list[RecommendedItem]:
        cats = state.shop.categories
        return [
            RecommendedItem(item_id=i, score=round(s, 6), category=cats.get(i))
            for i, s in zip(ids, scores, strict=True)
        ]

    @staticmethod
    def _unknown_items(state: State, items: list[str] | None) -> list[str]:
        """Those of ``items`` not in the catalogue (order kept, no repeats)."""
        known = state.shop.categories
        return list(dict.fromkeys(i for i in items or [] if i not in known))

    @staticmethod
    def _unknown_category(state: State, category: str | None) -> list[str]:
        """``[category]`` when the shop has no such category, else ``[]``."""
        if category is None or not state.shop.categories:
            return []
        return [] if category in set(state.shop.categories.values()) else [category]

    def _quote(
        self, state: State, items: list[str], at: dt.datetime, request_id: str
    ) -> tuple[list[ItemPrice], list[str], list[str]]:
        """The prices ``/price`` answers for ``items`` at ``at`` (a pricing experiment's
        current-price arm: the feed price), logged as the experiments' exposures."""
        arms = self.experiments.for_items(items, at)
        current = frozenset(i for i, a in arms.items() if a.setting("pricing_policy") == "current")
        prices, unknown, degraded = state.prices.prices(items, at, feed_only=current)
        for quote in prices:
            if quote.item_id in arms:
                quote.variant = next(iter(arms[quote.item_id].names().values()))
        self.experiments.log_prices(request_id, arms, {p.item_id: p.price for p in prices}, at)
        return prices, unknown, degraded

    def _degraded(self, state: State, reasons: list[str]) -> dict[str, Any]:
        model_reasons = [r for r in state.degraded if r.startswith(("champion", "challenger"))]
        every = sorted(set(reasons) | set(model_reasons))
        return {"degraded": bool(every), "degraded_reasons": every}

    @bentoml.api(route="/recommend")
    def recommend(self, body: RecommendRequest, /) -> RecommendResponse:
        """Recommendations for a shopper (user or session id) in a page context; the
        experiments the shopper is in may set the strategy or the model alias."""
        state = self.state
        started, at = time.perf_counter(), state.clock.now()
        unit = body.user_id or body.session_id
        served = self._served(body.request_id)
        ctx = body.context
        arms = self.experiments.for_shopper(ctx.page_type, body.user_id, body.session_id, at)
        alias = arms.setting("model_alias") or body.model
        failed = False
        rec = state.recommender
        try:
            if arms.setting("strategy") == "popularity":
                answer, version = rec.popular(body.k, ctx.category, [], ctx.exclude), None
            else:
                answer, version = rec.recommend(
                    body.user_id, body.k, ctx.page_type, ctx.cart_items, ctx.category,
                    ctx.item_id, alias, exclude=ctx.exclude, session_id=body.session_id,
                )  # fmt: skip
        except Exception:
            log.exception("recommend failed for %s; popular items answer", self.pseudonym(unit))
            answer = rec.popular(body.k, ctx.category, ["error_fallback"], ctx.exclude)
            version, failed = None, True
        self.experiments.log_recommendation(
            served["request_id"], PAGE_SURFACES.get(ctx.page_type, ctx.page_type), arms,
            answer.items, at, (time.perf_counter() - started) * 1000, failed,
        )  # fmt: skip
        items = self._items(state, answer.items, answer.scores)
        degraded = list(answer.degraded)
        if body.include:
            degraded += self._include(state, items, set(body.include), at, served["request_id"])
        return RecommendResponse(
            **served,
            variants=arms.names(),
            items=items,
            strategy=answer.strategy,
            short_reason=answer.short_reason,
            unknown=self._context_unknown(state, ctx, answer.unknown),
            model_versions=self._versions(state, version, alias),
            **self._degraded(state, degraded),
        )

    def _context_unknown(
        self, state: State, ctx: Any, found: dict[str, list[str]]
    ) -> dict[str, list[str]]:
        """What of the context the shop does not know: the recommender's findings and
        the catalogue's (every field, whichever path answered)."""
        unknown = _named(
            context__category=self._unknown_category(state, ctx.category),
            context__item_id=self._unknown_items(state, [ctx.item_id] if ctx.item_id else []),
            context__cart_items=self._unknown_items(state, ctx.cart_items),
            context__exclude=self._unknown_items(state, ctx.exclude),
        )
        for name, values in found.items():
            unknown[name] = list(dict.fromkeys([*unknown.get(name, []), *values]))
        return unknown

    def _include(
        self,
        state: State,
        items: list[RecommendedItem],
        include: set[str],
        at: dt.datetime,
        request_id: str,
    ) -> list[str]:
        """Fill each item's price in force and/or availability; degraded reasons."""
        ids = [i.item_id for i in items]
        degraded: list[str] = []
        if "price" in include and ids:
            prices, _, degraded = self._quote(state, ids, at, request_id)
            quoted = {p.item_id: p.price for p in prices}
            for item in items:
                item.price = quoted.get(item.item_id)
        if "stock" in include and ids:
            try:
                stock = state.recommender.availability(ids)
            except Exception:
                log.warning("availability unknown", exc_info=True)
                stock, degraded = {}, [*degraded, "stock_unavailable"]
            for item in items:
                item.in_stock = stock.get(item.item_id)
        return degraded

    @bentoml.api(route="/similar_items")
    def similar_items(self, body: SimilarItemsRequest, /) -> SimilarItemsResponse:
        """Items like a product (co-views and item vectors); popular items if unknown."""
        state = self.state
        served = self._served(body.request_id)
        rec = state.recommender
        degraded: list[str] = []
        engine = rec.engine("champion", degraded)
        known = engine is not None and body.item_id in engine.index
        unknown_category = self._unknown_category(state, body.category)
        category = None if unknown_category else body.category  # not applied, named
        try:
            if known and engine is not None:
                answer = rec.similar(engine, body.item_id, body.k, category, degraded)
            else:
                answer = rec.popular(
                    body.k, category or state.shop.categories.get(body.item_id), degraded
                )
        except Exception:
            log.exception("similar_items failed")
            answer = rec.popular(body.k, category, ["error_fallback"])
        return SimilarItemsResponse(
            **served,
            item_id=body.item_id,
            known=known,
            items=self._items(state, answer.items, answer.scores),
            short_reason=_short_reason(len(answer.items), body.k),
            unknown=_named(
                item_id=self._unknown_items(state, [body.item_id]), category=unknown_category
            ),
            model_versions=self._versions(state, engine.version if engine else None),
            **self._degraded(state, answer.degraded),
        )

    @bentoml.api(route="/bought_together")
    def bought_together(self, body: BoughtTogetherRequest, /) -> BoughtTogetherResponse:
        """Add-ons for a cart (co-purchase rules, then popular items of its categories)."""
        state = self.state
        served = self._served(body.request_id)
        rec = state.recommender
        degraded: list[str] = []
        engine = rec.engine("champion", degraded)
        unknown = [i for i in body.cart_items if engine is None or i not in engine.index]
        try:
            basket = (
                [engine.index[i] for i in body.cart_items if i not in unknown] if engine else []
            )
            if engine is not None and basket:
                import numpy as np

                answer = rec.bought_together(
                    engine, np.array(basket, dtype=np.int64), body.k, degraded
                )
            else:
                answer = rec.popular(body.k, None, degraded)
        except Exception:
            log.exception("bought_together failed")
            answer = rec.popular(body.k, None, ["error_fallback"])
        return BoughtTogetherResponse(
            **served,
            items=self._items(state, answer.items, answer.scores),
            short_reason=_short_reason(len(answer.items), body.k),
            unknown=_named(cart_items=self._unknown_items(state, body.cart_items)),
            unknown_items=unknown,
            model_versions=self._versions(state, engine.version if engine else None),
            **self._degraded(state, answer.degraded),
        )

    @bentoml.api(route="/price")
    def price(self, body: PriceRequest, /) -> PriceResponse:
        """Current approved prices with their guardrail reasons and 30-day lowest price;
        items in a pricing experiment's current-price arm answer their feed price."""
        state = self.state
        at = state.clock.now()
        served = self._served(body.request_id)
        prices, unknown, degraded = self._quote(state, body.item_ids, at, served["request_id"])
        requester = self.pseudonym(body.user_id or body.session_id)  # never the raw id
        self.quotes.append(
            Quote(served["request_id"], p.item_id, p.price, p.was_price, p.is_reduced, at,
                  requester)
            for p in prices
        )  # fmt: skip
        return PriceResponse(
            **served,
            prices=prices,
            unknown=_named(item_ids=list(dict.fromkeys(unknown))),
            unknown_items=unknown,
            degraded=bool(degraded),
            degraded_reasons=degraded,
        )

    @bentoml.api(route="/forecast")
    def forecast(self, body: ForecastRequest, /) -> ForecastResponse:
        """Demand forecasts per item for the next ``horizon`` periods, with quantiles."""
        state = self.state
        quantiles = list(body.quantiles)
        found, unknown, horizon, degraded = state.forecasts.forecast(
            body.item_ids, body.horizon, quantiles, body.location_id
        )
        location: list[str] = []
        if body.location_id is not None and unknown and not found and not degraded:
            # no forecast at all there: the location is what is unknown when the items
            # have forecasts elsewhere
            elsewhere = state.forecasts.forecast(unknown, 1, quantiles, None)[0]
            location = [body.location_id] if elsewhere else []
        return ForecastResponse(
            **self._served(body.request_id),
            forecasts=found,
            unknown=_named(item_ids=list(dict.fromkeys(unknown)), location_id=location),
            unknown_items=unknown,
            horizon=horizon,
            degraded=bool(degraded),
            degraded_reasons=degraded,
        )

    @bentoml.api(route="/user_profile")
    def user_profile(self, body: UserProfileRequest, /) -> UserProfileResponse:
        """A shopper's RFM segment, lifecycle stage and tags."""
        degraded: list[str] = []
        user, known = self.features.user(body.user_id, degraded)
        p = self.cfg.profile
        stage = user.get("lifecycle_stage") or "new"
        tags = []
        if (user.get("m_score") or 0) >= p.high_value_m_score:
            tags.append("high_value")
        if (user.get("f_score") or 0) >= p.frequent_f_score:
            tags.append("frequent")
        if (user.get("discount_share") or 0) >= p.deal_seeker_discount_share:
            tags.append("deal_seeker")
        if stage in p.win_back_stages:
            tags.append("win_back")
        if (user.get("session_carts") or 0) > 0 and not (user.get("purchases_1d") or 0):
            tags.append("open_cart")
        if not known:
            tags.append("unknown")
        top = [c for c in (user.get(f"top_category_{i}") for i in (1, 2, 3)) if c]
        return UserProfileResponse(
            **self._served(body.request_id),
            user_id=body.user_id,
            known=known,
            segment=user.get("rfm_segment") or "prospect",
            lifecycle_stage=stage,
            tags=tags,
            top_categories=top,
            degraded=bool(degraded),
            degraded_reasons=sorted(set(degraded)),
        )

    @bentoml.api(route="/events")
    def events(self, body: EventsRequest, /) -> EventsResponse:
        """Validate, persist (committed before the answer) and push a batch of events;
        events out of bounds (``events.max_quantity``, ``max_unit_price``, stamped more
        than ``max_future_seconds`` ahead of the service's clock or ``max_age_days``
        behind it) or a purchase / add-to-cart at another price than the service quotes
        (``events.price_tolerance``) are refused (422, nothing of the batch stored)."""
        from serving.events import Bounds, check_prices

        self.reloads.follow()
        state = self.state
        rows = [e.model_dump() for e in body.events]
        known = set(state.shop.categories) or None
        settings = self.cfg.events
        skew = dt.timedelta(seconds=settings.max_future_seconds)

        def in_experiments(items: list[str], at: dt.datetime) -> frozenset[str]:
            return frozenset(self.experiments.for_items(items, at))

        try:
            frame = validate_events(rows, known, state.clock.now(), skew, Bounds.of(settings))
            if settings.price_tolerance is not None:  # the ledger read once for the batch
                quote = state.prices.quoter(in_experiments)
                check_prices(frame, quote, settings.price_tolerance)
        except InvalidEventError as exc:
            return _refuse(422, f"invalid request: {exc.field}: {exc.reason}", [exc.field])  # type: ignore[return-value]
        try:
            stored = self.event_store.append(frame)
        except Exception:
            log.exception("event store write failed; nothing acknowledged")
            return _refuse(503, "event store unavailable; nothing was stored", [])  # type: ignore[return-value]
        self.experiments.log_events(stored.frame)
        self.activity.record_frame(stored.frame)
        pushed, degraded = True, []
        if self.cfg.events.push_online:
            pushed = self._push_stored(stored)
            if not pushed:
                degraded.append("online_push_failed")
        return EventsResponse(
            accepted=len(stored.accepted),
            duplicates=len(stored.duplicates),
            event_ids=stored.accepted + stored.duplicates,
            pushed=pushed,
            degraded=bool(degraded),
            degraded_reasons=degraded,
        )

    def _push_stored(self, stored: Any) -> bool:
        """Push a batch's new events and any replayed ones not pushed before, marking
        them pushed; whether every event of the batch is pushed now."""
        frame = stored.frame
        try:
            replayed = set(stored.duplicates) - self.event_store.pushed_ids(stored.duplicates)
            if replayed:  # stored before but never pushed (a crash, the store down)
                again = self.event_store.unpushed(len(replayed), event_ids=sorted(replayed))
                frame = pl.concat([frame, again], how="diagonal_relaxed")
        except Exception:
            log.warning("could not read which replayed events are pushed", exc_info=True)
            return False
        if frame.is_empty():
            return True
        if not self._push_online(frame):
            return False
        try:
            self.event_store.mark_pushed(frame["event_id"].to_list())
        except Exception:
            log.warning("events pushed but not marked so", exc_info=True)
        return True

    def _push_online(self, frame: Any) -> bool:
        """Push recent activity to Feast; ``False`` (logged) when it fails."""
        online = self.features.online
        if online is None:
            return False
        try:
            if self._push is None or self._push_store is not online.store:
                from features.config import FeatureConfig
                from features.realtime import RecentActivity

                features = load_config(FeatureConfig, self.cfg.features_config, name="features")
                self._push = RecentActivity(online.store, features.recent)
                self._push_store = online.store
            with online.lock:
                self._push.push(frame)
            return True
        except Exception as exc:
            # the error's type only: a message may quote the events (user ids)
            log.warning("online push failed (events are stored): %s", type(exc).__name__)
            return False

    @bentoml.api(route="/experiments/report")
    def experiment_report(self, body: ExperimentReportRequest, /) -> ExperimentReportResponse:
        """An experiment's analysis (lifts with intervals, SRM, sequential test, chance to
        beat, timeline, segments) as JSON; the same as HTML at ``GET /reports/<name>``."""
        try:
            report = PAGES.report(body.name)
        except LookupError as exc:
            return _refuse(404, f"name: {exc}", ["name"])  # type: ignore[return-value]
        return ExperimentReportResponse(name=body.name, report=report, html=f"/reports/{body.name}")

    @bentoml.api(route="/admin/reload")
    def reload(self, body: ReloadRequest, /) -> ReloadResponse:
        """Reload feeds and models by alias; requests keep being served meanwhile."""
        started = time.perf_counter()
        state = self._rebuild(body.load_challenger)
        self.reloads.announce()  # the other workers follow on their next request
        return ReloadResponse(
            reloaded=True,
            model_versions=state.versions(),
            degraded=bool(state.degraded),
            degraded_reasons=state.degraded,
            seconds=round(time.perf_counter() - started, 3),
        )


if (cors := cors_options(CONFIG.cors)) is not None:  # outermost: answers preflights
    Storefront.add_asgi_middleware(CORSMiddleware, **cors)
# the body's request id in x-bentoml-request-id, server-timing on every answer
Storefront.add_asgi_middleware(AnswerHeadersMiddleware)
Storefront.add_asgi_middleware(
    GuardMiddleware,
    max_body_bytes=CONFIG.limits.max_body_bytes,
    admin_key=CONFIG.resolved_admin_key(),
    ingest=IngestPolicy(CONFIG.resolved_ingest_key(), CONFIG.events.require_ingest_key),
)
# the shop's pages (/dashboard, /pricing, /audit) behind the admin login
Storefront.add_asgi_middleware(PagesMiddleware)
# the OpenAPI document (/docs.json) and the API page (/, /docs)
Storefront.add_asgi_middleware(OpenAPIMiddleware, service=Storefront, events=CONFIG.events)
Storefront.add_asgi_middleware(OverloadMiddleware, **CONFIG.overload.model_dump())
