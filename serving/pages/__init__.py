"""The shop's pages, served by the service beside its API: the KPI dashboard
(``/dashboard``), the pricing desk (``/pricing``) and the algorithm audit (``/audit``).

Each page is a module of this package with a ``routes(site)`` function (and, for the
JSON calls its page makes, an ``openapi_paths()`` function); :class:`~serving.pages.site.Site`
finds them, puts them behind the admin login and serves the bundled assets
(``/assets/...``: Plotly, the stylesheet, the table script; no CDN).
"""

from serving.pages.site import SITE, PagesMiddleware, Site

__all__ = ["SITE", "PagesMiddleware", "Site"]
