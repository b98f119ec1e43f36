"""The kit inside Jupyter: the ``%%lambda_function`` magic, one-line error display, result tables,
and the ``streamlab lab`` launcher.
"""
