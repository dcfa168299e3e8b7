"""Errors a user can act on: printed as one line by the CLI."""


class UserError(Exception):
    """A bad input, file or device; the message names it and the problem."""

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code
