"""dynamap on asyncio: `AsyncSession` (install `dynamap[aio]` for aiobotocore).

```python
from dynamap.aio import AsyncSession
```

Importing this module does not import aiobotocore. `AsyncSession(client)` sends through
`AioFastTransport(client)` (dynamap's wire layer on the client's HTTP session);
`transport=AiobotocoreTransport(client)` keeps aiobotocore's own request path.
"""

from _dynamap.session.aio import AsyncSession
from _dynamap.session.aquery import AsyncQuery, AsyncScan
from _dynamap.session.atransaction import AsyncReadTransaction, AsyncTransaction
from _dynamap.session.awaitable import AsyncDeferred
from _dynamap.transport.aiobotocore import AiobotocoreTransport
from _dynamap.transport.aiofast import AioFastTransport
from _dynamap.transport.asyncbase import AsyncTransport

__all__ = [
    "AioFastTransport",
    "AiobotocoreTransport",
    "AsyncDeferred",
    "AsyncQuery",
    "AsyncReadTransaction",
    "AsyncScan",
    "AsyncSession",
    "AsyncTransaction",
    "AsyncTransport",
]
