"""The labs' vocabulary for AWS, the same on both backends: ``connect()``'s session, and helpers
for tables, streams, functions and their roles, invocations, logs, mappings, queues and tags.

Each helper speaks plain boto3 underneath, so a learner can redo any step with the raw call.
"""
