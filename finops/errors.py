"""The one exception type services raise for a rule a user broke; its message is for humans."""


class DomainError(Exception):
    def __init__(self, message: str, *, errors: list | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []

    def __str__(self) -> str:
        return self.message
