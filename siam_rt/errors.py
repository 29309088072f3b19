"""User-facing errors."""


class SiamError(Exception):
    """A user mistake or bad input: the message names the file and the problem; shown without traceback."""
