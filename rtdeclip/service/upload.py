"""A multipart/form-data body streamed straight into a folder.

Starlette's own form parser spools files to the system's temporary folder;
this one writes each file part directly into the job's staging folder under
``--data`` (same file system as the job folders, so a job is published by a
rename), counts bytes as they arrive, and stops at the size limit.
"""
import codecs
import os
import re

from python_multipart.multipart import MultipartParser, parse_options_header


class UploadError(Exception):
    """A request the client must fix: status code and one-line message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


# upload names are kept as given (``-c clipped.wav`` must find them) within
# a safe alphabet; anything else is refused rather than silently renamed
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+()\[\]-]{0,199}$")


def check_name(name):
    base = name.replace("\\", "/").rsplit("/", 1)[-1]   # browsers on Windows send paths
    if not _NAME.match(base) or base in (".", ".."):
        raise UploadError(400, f"file name {name!r} not accepted: use letters, digits, "
                               f"spaces and . _ - + ( ) [ ], not starting with a dot")
    return base


class StreamingForm:
    """Feed ``write(chunk)`` the body; afterwards ``fields`` maps field
    names to strings and ``files`` maps field names to (upload name, path)."""

    def __init__(self, content_type, folder, max_bytes, max_files, max_fields):
        _, params = parse_options_header(content_type or "")
        boundary = params.get(b"boundary")
        if not boundary:
            raise UploadError(400, "expected a multipart/form-data body with a boundary "
                                   "(curl -F ...)")
        charset = params.get(b"charset", b"utf-8").decode("latin-1")
        try:
            self.charset = codecs.lookup(charset).name
        except LookupError:
            self.charset = "latin-1"
        self.folder, self.max_bytes = folder, max_bytes
        self.max_files, self.max_fields = max_files, max_fields
        self.fields, self.files = {}, {}
        self.received = 0
        self._hname, self._hval = b"", b""
        self._disp = b""
        self._name = None
        self._out = None
        self._data = None
        self._ended = False
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin, "on_part_data": self._part_data,
            "on_part_end": self._part_end, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_end": self._end},
            max_size=float("inf"))

    def _dec(self, b):
        return b.decode(self.charset, errors="replace")

    def write(self, chunk):
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise UploadError(413, f"upload larger than this server's limit of "
                                   f"{self.max_bytes / 1048576:g} MB")
        try:
            self.parser.write(chunk)
        except UploadError:
            raise
        except Exception as e:   # the parser's own errors: a malformed body
            raise UploadError(400, f"malformed multipart body: {str(e).splitlines()[0][:200]}") \
                from None

    def finish(self):
        try:
            self.parser.finalize()
        except Exception as e:
            raise UploadError(400, f"malformed multipart body: {str(e).splitlines()[0][:200]}") \
                from None
        if self._out is not None or not self._ended:
            raise UploadError(400, "incomplete multipart body")

    def close(self):
        if self._out is not None:
            self._out.close()
            self._out = None

    # parser callbacks
    def _part_begin(self):
        self._disp, self._name, self._data = b"", None, None

    def _header_field(self, data, start, end):
        self._hname += data[start:end]

    def _header_value(self, data, start, end):
        self._hval += data[start:end]

    def _header_end(self):
        if self._hname.lower() == b"content-disposition":
            self._disp = self._hval
        self._hname, self._hval = b"", b""

    def _headers_finished(self):
        _, opts = parse_options_header(self._disp)
        if b"name" not in opts:
            raise UploadError(400, "a form part has no name")
        self._name = self._dec(opts[b"name"])
        if b"filename" in opts:
            if len(self.files) >= self.max_files:
                raise UploadError(400, f"more than {self.max_files} files")
            if self._name in self.files:
                raise UploadError(400, f"{self._name} given twice")
            upload = check_name(self._dec(opts[b"filename"]))
            if any(upload == n for n, _ in self.files.values()):
                raise UploadError(400, f"two files named {upload!r}")
            path = os.path.join(self.folder, upload)
            self.files[self._name] = (upload, path)
            self._out = open(path, "xb")
        else:
            if len(self.fields) >= self.max_fields:
                raise UploadError(400, f"more than {self.max_fields} form fields")
            self._data = bytearray()

    def _part_data(self, data, start, end):
        if self._out is not None:
            self._out.write(data[start:end])
        elif self._data is not None:
            if len(self._data) + end - start > 65536:
                raise UploadError(400, f"form field {self._name!r} longer than 64 KiB")
            self._data += data[start:end]

    def _part_end(self):
        if self._out is not None:
            self._out.close()
            self._out = None
        elif self._data is not None:
            self.fields[self._name] = self._dec(bytes(self._data))
            self._data = None

    def _end(self):
        self._ended = True
