"""The labs' applications: the game of lab 04, the reliability lab's tables (05), replication and
windowed analytics (06), and the kit's own Lambda sources in ``lambda_sources/``.
"""
