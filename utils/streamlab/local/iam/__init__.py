"""IAM in the emulator: a policy evaluator and the request context of each AWS call.

moto's own IAM enforcement checks actions only (it ignores Resource and
Condition), which is not enough to prove that the participant policy keeps
participants apart. ``evaluator`` decides a request as IAM does; ``requests``
names the action, resource ARNs and condition keys of each call the kit makes.
"""
