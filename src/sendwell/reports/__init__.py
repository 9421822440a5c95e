"""Reports: read-only queries over outbox and events, exports and SVG charts.

Nothing here writes to the database. Modules: ``campaign`` (one campaign's funnel and
links), ``sites`` (deliverability per destination site), ``series`` (hourly/daily time
series), ``reputation`` (bounce and complaint rates against mailbox-provider thresholds),
``export`` (JSON/CSV), ``charts`` (pygal SVG).
"""
