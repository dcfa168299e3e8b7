"""The errors rtdeclip raises on purpose: one family, the same at every entry
point (library, command line, live host, service).

Every message is one line that names the parameter, file or device and the
problem; the command line prints it as ``rtdeclip: error: <message>`` and
the service answers it as a 4xx JSON body.  Only those two edges turn an
error into text; the library raises.

    >>> from rtdeclip.errors import ParameterError, RtdeclipError
    >>> issubclass(ParameterError, ValueError) and issubclass(ParameterError, RtdeclipError)
    True
"""


class RtdeclipError(Exception):
    """Base of the family: a bad input, file, device or setting, with a
    one-line message.  ``exit_code`` is what the command line exits with."""

    exit_code = 1

    def __init__(self, message="", exit_code=None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ParameterError(RtdeclipError, ValueError):
    """A bad argument: a parameter out of its range, of the wrong type, or
    an array of the wrong shape or dtype.  A ValueError too, so callers that
    catch ValueError keep working."""


class FileError(RtdeclipError):
    """A file that cannot be read, decoded or written (or must not be
    overwritten); the message starts with its path."""


class DeviceError(RtdeclipError):
    """An audio device that cannot be opened, or that went away while
    streaming."""


# the name of the base before the family existed (a command-line notion);
# kept so that ``except rtdeclip.UserError`` goes on catching everything
UserError = RtdeclipError

__all__ = ["RtdeclipError", "ParameterError", "FileError", "DeviceError", "UserError"]
