"""Version 1 of the JSON API: one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from aftersales.api.v1 import (
    accounts,
    auth,
    automation,
    buyers,
    cases,
    evidence,
    interventions,
    judgment,
    logistics,
    messages,
    orders,
    reports,
    reviews,
    shops,
    webhooks,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    accounts.router,
    shops.router,
    orders.router,
    buyers.router,
    logistics.router,
    cases.router,
    automation.router,
    messages.router,
    evidence.router,
    reports.router,
    reviews.router,
    interventions.router,
    judgment.router,
    webhooks.router,
]
