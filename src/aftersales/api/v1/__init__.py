"""Version 1 of the JSON API: one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from aftersales.api.v1 import accounts, auth, cases, logistics, messages, orders, shops, webhooks

ROUTERS: list[APIRouter] = [
    auth.router,
    accounts.router,
    shops.router,
    orders.router,
    logistics.router,
    cases.router,
    messages.router,
    webhooks.router,
]
