"""The exceptions services and selectors raise; their messages are for humans.

`DomainError` is a rule a user broke. `NotFound` is a record that is missing OR another
organisation's (the two are never told apart): `access_<thing>(tenant=, pk=)` selectors raise
it, pages answer it with 404 (finops.tenancy.middleware), commands and tasks print its message."""


class DomainError(Exception):
    def __init__(self, message: str, *, errors: list | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []

    def __str__(self) -> str:
        return self.message


class NotFound(DomainError):
    pass


class NotAllowed(DomainError):
    """The actor's role does not grant what the service does (`finops.tenancy.policy`): a page
    answers 403 when it does not show the message itself."""


def found(row, what: str):
    """`row`, or NotFound("This <what> does not exist.") when it is None: the one answer of an
    `access_<thing>` selector for a missing row and for another organisation's."""
    if row is None:
        raise NotFound(f"This {what} does not exist.")
    return row
