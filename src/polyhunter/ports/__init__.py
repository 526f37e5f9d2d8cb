"""Ports: the Protocols the core talks through, one module per kind of part.

* ``sources``: ``SignalSource`` (a feed of leader fills), ``SignalSink`` (where a source hands them),
  source health, dedup.
* ``venue``: market data (``MarketData``), the executor of copy orders (``Executor``).
* ``store``: ``CopyStore``, the unit of work the hot path needs.
* ``coordinator``: dedup, counters, locks and queues shared by processes.
* ``clock``: wall and monotonic time.

The engine imports ports and the domain only; adapters, the store and coordination implement them.
"""
