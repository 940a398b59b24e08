"""A small typed Python client of the Storefront service.

Each method posts one endpoint's body and returns its answer as the service's own
response model (:mod:`serving.schemas`), so a typo in a field is an error at the call
and the answer's fields are typed. Refusals raise :class:`ServiceError` with the status,
the fields the service names and ``Retry-After``. ::

    from serving.client import StorefrontClient

    with StorefrontClient("http://127.0.0.1:3000", ingest_key="...") as shop:
        answer = shop.recommend(user_id="u000042", k=5, include=["price", "stock"])
        for item in answer.items:
            print(item.item_id, item.score, item.price, item.in_stock)

:meth:`StorefrontClient.over` runs the same typed calls over any ``post(path, body)
-> answer`` function (the traffic simulator's tests pass one of theirs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from serving.schemas import (
    BoughtTogetherResponse,
    EventsResponse,
    ForecastResponse,
    Include,
    PageType,
    PriceResponse,
    RecommendResponse,
    ReloadResponse,
    SimilarItemsResponse,
    UserProfileResponse,
)

Post = Callable[[str, dict[str, Any]], dict[str, Any]]
"""``post(path, body) -> answer``: one call to the service."""
Answer = TypeVar("Answer", bound=BaseModel)


class ServiceError(RuntimeError):
    """The service refused a call (or could not be reached: ``status`` 0).

    Attributes:
        status: The HTTP status (0: no answer).
        error: The service's message.
        fields: The request fields (or headers) it names.
        retry_after: Seconds to wait before retrying (503), if it said.
    """

    def __init__(
        self,
        status: int,
        error: str,
        fields: list[str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            f"{status}: {error}" + (f" (fields: {', '.join(fields)})" if fields else "")
        )
        self.status, self.error, self.fields = status, error, list(fields or [])
        self.retry_after = retry_after


class StorefrontClient:
    """Typed calls to one Storefront service.

    Args:
        base_url: Where it answers (``http://127.0.0.1:3000``).
        ingest_key: ``X-Ingest-Key`` of ``POST /events``.
        admin_key: ``X-API-Key`` of ``/admin/*``.
        timeout: Seconds per call.
    """

    def __init__(
        self,
        base_url: str,
        ingest_key: str | None = None,
        admin_key: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        import httpx

        headers = {"x-ingest-key": ingest_key} if ingest_key else {}
        headers |= {"x-api-key": admin_key} if admin_key else {}
        self._http = httpx.Client(base_url=base_url, timeout=timeout, headers=headers)
        self._post: Post = self._post_http
        self.last_headers: Mapping[str, str] = {}
        """The headers of the last answer over HTTP (``x-bentoml-request-id``,
        ``server-timing``)."""

    @classmethod
    def over(cls, post: Post) -> StorefrontClient:
        """The same typed calls over ``post`` (no HTTP connection of its own)."""
        client = cls.__new__(cls)
        client._http, client._post, client.last_headers = None, post, {}
        return client

    def close(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> StorefrontClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One ``POST`` of a JSON body; the decoded answer.

        Raises:
            ServiceError: A status other than 200, or no answer.
        """
        return self._post(path, body)

    def _post_http(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        try:
            answer = self._http.post(path, json=body)
        except httpx.HTTPError as exc:
            raise ServiceError(0, f"{path}: no answer ({exc}); is the service running?") from exc
        self.last_headers = answer.headers
        if answer.status_code == 200:
            return answer.json()
        try:
            said = answer.json()
        except ValueError:
            said = {"error": answer.text[:500]}
        said = said if isinstance(said, dict) else {"error": str(said)[:500]}
        retry = answer.headers.get("retry-after")
        raise ServiceError(
            answer.status_code,
            str(said.get("error") or said),
            [str(f) for f in said.get("fields") or []],
            float(retry) if retry and retry.replace(".", "", 1).isdigit() else None,
        )

    def _call(self, path: str, model: type[Answer], body: dict[str, Any]) -> Answer:
        sent = {name: value for name, value in body.items() if value is not None}
        return model.model_validate(self._post(path, sent))

    def recommend(
        self,
        user_id: str | None = None,
        session_id: str | None = None,
        *,
        k: int = 10,
        page_type: PageType = "home",
        cart_items: Iterable[str] = (),
        category: str | None = None,
        item_id: str | None = None,
        exclude: Iterable[str] = (),
        include: Iterable[Include] = (),
        model: Literal["champion", "challenger"] | None = None,
        request_id: str | None = None,
    ) -> RecommendResponse:
        """``POST /recommend``: ``k`` items for a shopper on a page, best first."""
        context: dict[str, Any] = {"page_type": page_type, "cart_items": list(cart_items)}
        context |= {"category": category, "item_id": item_id, "exclude": list(exclude)}
        body = {"user_id": user_id, "session_id": session_id, "k": k, "model": model}
        body |= {"request_id": request_id, "include": list(include) or None}
        body["context"] = {n: v for n, v in context.items() if v is not None}
        return self._call("/recommend", RecommendResponse, body)

    def similar_items(
        self,
        item_id: str,
        *,
        k: int = 10,
        category: str | None = None,
        request_id: str | None = None,
    ) -> SimilarItemsResponse:
        """``POST /similar_items``: items like ``item_id``."""
        body = {"item_id": item_id, "k": k, "category": category, "request_id": request_id}
        return self._call("/similar_items", SimilarItemsResponse, body)

    def bought_together(
        self, cart_items: Iterable[str], *, k: int = 10, request_id: str | None = None
    ) -> BoughtTogetherResponse:
        """``POST /bought_together``: add-ons for a cart."""
        body = {"cart_items": list(cart_items), "k": k, "request_id": request_id}
        return self._call("/bought_together", BoughtTogetherResponse, body)

    def price(self, item_ids: Iterable[str], *, request_id: str | None = None) -> PriceResponse:
        """``POST /price``: the price in force of each item."""
        return self._call(
            "/price", PriceResponse, {"item_ids": list(item_ids), "request_id": request_id}
        )

    def forecast(
        self,
        item_ids: Iterable[str],
        *,
        horizon: int = 7,
        quantiles: Iterable[Literal["p10", "p50", "p90"]] = ("p10", "p50", "p90"),
        location_id: str | None = None,
    ) -> ForecastResponse:
        """``POST /forecast``: demand forecasts per item."""
        body = {"item_ids": list(item_ids), "horizon": horizon, "quantiles": list(quantiles)}
        return self._call("/forecast", ForecastResponse, body | {"location_id": location_id})

    def user_profile(self, user_id: str) -> UserProfileResponse:
        """``POST /user_profile``: a shopper's segment, stage and tags."""
        return self._call("/user_profile", UserProfileResponse, {"user_id": user_id})

    def events(self, events: Iterable[Mapping[str, Any]]) -> EventsResponse:
        """``POST /events`` (the ingest key): at most 500 events of the feed contract;
        ``datetime`` stamps are sent in ISO 8601."""
        rows = [
            {n: v.isoformat() if isinstance(v, dt.datetime) else v for n, v in e.items()}
            for e in events
        ]
        return self._call("/events", EventsResponse, {"events": rows})

    def reload(self, load_challenger: bool | None = None) -> ReloadResponse:
        """``POST /admin/reload`` (the admin key): feeds and models again."""
        return self._call("/admin/reload", ReloadResponse, {"load_challenger": load_challenger})
