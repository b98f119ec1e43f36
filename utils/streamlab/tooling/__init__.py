"""The ``streamlab`` command and what maintainers and instructors run: doctor, cleanup,
build-labs, run-solutions and the participant IAM policy.
"""
