"""Event schemas, the envelope, the type registry with upcasters, and the JSON codec.

Depends on nothing else of tasktrail's and does no I/O.
"""
