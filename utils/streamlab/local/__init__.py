"""The local AWS emulator: moto's server plus what moto cannot do without Docker.

``app`` wraps moto's WSGI application (one lock around it, a health endpoint,
interception points); ``server`` runs it; ``control`` starts, finds and stops
it as a background process that outlives notebooks, like an AWS account does.
"""
