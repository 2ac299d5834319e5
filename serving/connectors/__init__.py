"""Ticket-system connectors: vendor webhooks in, vendor REST write-back out, one module per system."""

from __future__ import annotations

from serving.connectors.base import (
    SYSTEMS,
    Connector,
    ConnectorConfig,
    HttpCall,
    Inbound,
    LabelMapping,
    Outcome,
    PayloadError,
    SignatureError,
    TicketData,
    WritePlan,
    WritePolicy,
)
from serving.connectors.generic import Generic
from serving.connectors.glpi import Glpi
from serving.connectors.jira import Jira
from serving.connectors.zammad import Zammad
from serving.connectors.zendesk import Zendesk

CONNECTORS: dict[str, Connector] = {c.system: c for c in (Zendesk(), Jira(), Zammad(), Glpi(), Generic())}


def get_connector(system: str) -> Connector:
    """The connector of a system, or a ValueError listing the known ones."""
    try:
        return CONNECTORS[system]
    except KeyError:
        raise ValueError(f"unknown ticket system {system!r}; known: {', '.join(SYSTEMS)}") from None


__all__ = [
    "CONNECTORS",
    "SYSTEMS",
    "Connector",
    "ConnectorConfig",
    "HttpCall",
    "Inbound",
    "LabelMapping",
    "Outcome",
    "PayloadError",
    "SignatureError",
    "TicketData",
    "WritePlan",
    "WritePolicy",
    "get_connector",
]
