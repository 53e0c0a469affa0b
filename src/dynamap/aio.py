"""dynamap on asyncio: `AsyncSession` (install `dynamap[aio]` for aiobotocore).

```python
from dynamap.aio import AsyncSession
```

Importing this module does not import aiobotocore; an `AsyncSession` made from a
client, or an `AiobotocoreTransport`, uses it at its first request.
"""

from _dynamap.session.aio import AsyncSession
from _dynamap.session.aquery import AsyncQuery, AsyncScan
from _dynamap.session.atransaction import AsyncReadTransaction, AsyncTransaction
from _dynamap.session.awaitable import AsyncDeferred
from _dynamap.transport.aiobotocore import AiobotocoreTransport
from _dynamap.transport.asyncbase import AsyncTransport

__all__ = [
    "AiobotocoreTransport",
    "AsyncDeferred",
    "AsyncQuery",
    "AsyncReadTransaction",
    "AsyncScan",
    "AsyncSession",
    "AsyncTransaction",
    "AsyncTransport",
]
