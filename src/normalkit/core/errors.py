"""The one exception type normalkit raises for bad input.

The CLI prints its message on one line and exits with code 2; Python callers can
catch it like any other exception.
"""


class NormalkitError(Exception):
    """Bad input or an environment problem, with a message that names the fix."""
