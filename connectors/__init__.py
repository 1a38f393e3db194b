"""One module per source channel; each turns native payloads into CloudEvents for raw.<channel>.

`REGISTRY` maps channel names to lazily imported classes, so importing `connectors` loads no
channel's code (nor an IMAP or POS client). Adding a channel is one new file and one line here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from connectors.base import Connector

REGISTRY: dict[str, str] = {
    "webform": "connectors.webform:WebformConnector",
    "zalo": "connectors.zalo:ZaloConnector",
    "facebook": "connectors.facebook:FacebookConnector",
    "kiotviet": "connectors.kiotviet:KiotVietConnector",
    "sapo": "connectors.sapo:SapoConnector",
    "haravan": "connectors.haravan:HaravanConnector",
    "callcenter": "connectors.callcenter:CallcenterConnector",
    "omicall": "connectors.omicall:OmicallConnector",
    "caresoft": "connectors.caresoft:CaresoftConnector",
    "bulk": "connectors.bulk:BulkConnector",
    "asterisk_cdr": "connectors.asterisk_cdr:AsteriskCdrConnector",
    "pos_export": "connectors.pos_export:PosExportConnector",
    "email": "connectors.email:EmailConnector",
}


def load_connector(channel: str, **options: Any) -> Connector:
    """Instantiate the connector registered for `channel` (KeyError names the known channels); `options`
    are its settings-given keyword arguments (`Settings.connector_options`)."""
    try:
        target = REGISTRY[channel]
    except KeyError:
        raise KeyError(f"unknown channel {channel!r}; known: {', '.join(sorted(REGISTRY))}") from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cast("Connector", cls(**options))
