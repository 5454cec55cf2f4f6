"""The one error this package raises for bad input."""


class RunDirError(Exception):
    """A file of a run directory (or a setting) that cannot be used, with the field and the expectation.

    The message reads like tsgpt's FormatError: ``<file>: <field>: <what was expected>``.
    """

    def __init__(self, path, field, message):
        super().__init__(f"{path}: {field}: {message}")
        self.path = str(path)
        self.field = field
