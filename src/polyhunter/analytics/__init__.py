"""Leader analytics and the copy backtest: reading recorded histories (files, the Data API), and
what the commands print and plot. The rules themselves are in the domain."""
