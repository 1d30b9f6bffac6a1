"""The one error tree of the ledger.

    LedgerError                       every refusal of the domain; nothing was recorded
    ├── InputError                    malformed input (amount, code, date, file row)
    │   ├── MalformedAmount
    │   ├── MalformedCommand
    │   └── ImportRejected            a file with bad rows (carries every row's problem)
    ├── NotFound                      unknown fund, program, store, donation, official, event
    ├── AlreadyExists                 a fund, receipt number, document number recorded twice
    │   └── IdempotencyConflict       an idempotency key reused for a different command
    ├── AuthorizationError            who signed is not allowed to do this
    │   ├── UnknownKey
    │   ├── RevokedKey
    │   ├── WrongRole
    │   ├── WrongDepartment
    │   └── SeparationOfDuties
    ├── VerificationError             a signature or stored byte does not check out
    │   └── BadSignature
    └── InvariantViolation            the command would break a rule of the books
        ├── InsufficientBalance       a fund, program or store would go negative
        ├── DirectedMisuse            directed (restricted) money or goods used off-purpose
        ├── GoodsNotConserved
        ├── CorrectionError
        ├── RecipientError            a payment or record that does not fit the recipient
        │                             registry (protected, erased, another village)
        └── WorkflowError             a disclosure step out of order
            └── ObjectionPending      an objection in a posting period has no response

Each error has a stable machine code (``code``) and a message naming what was wrong.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every domain refusal. Raised before anything is recorded."""

    code = "ledger_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The input field at fault (``amount``, ``fund``), when one is: for per-row reports.
        self.field = field


class InputError(LedgerError):
    code = "bad_input"


class MalformedAmount(InputError):
    code = "malformed_amount"


class MalformedCommand(InputError):
    code = "malformed_command"


class BatchRejected(InputError):
    """Some commands of an all-or-nothing batch were refused; nothing was recorded.

    ``problems`` pairs each refused command's index in the batch with its error.
    """

    code = "batch_rejected"

    def __init__(self, problems: list[tuple[int, LedgerError]]) -> None:
        self.problems = problems
        lines = [f"{len(problems)} command(s) refused; nothing was recorded"]
        lines += [f"  #{i}: {e.message}" for i, e in problems]
        super().__init__("\n".join(lines))


class ImportRejected(InputError):
    """A file had bad rows; ``problems`` lists (row, column, message) for every one."""

    code = "import_rejected"

    def __init__(self, source: str, problems: list[tuple[int, str, str]]) -> None:
        self.source = source
        self.problems = problems
        rows = len({row for row, _, _ in problems})
        lines = [f"{source}: {len(problems)} problem(s) in {rows} row(s); nothing was recorded"]
        lines += [f"  row {row}, column {col}: {msg}" for row, col, msg in problems]
        super().__init__("\n".join(lines))


class NotFound(LedgerError):
    code = "not_found"


class AlreadyExists(LedgerError):
    code = "already_exists"


class IdempotencyConflict(AlreadyExists):
    """An idempotency key already used for a different command."""

    code = "idempotency_conflict"


class AuthorizationError(LedgerError):
    code = "not_authorized"


class UnknownKey(AuthorizationError):
    code = "unknown_key"


class RevokedKey(AuthorizationError):
    code = "revoked_key"


class WrongRole(AuthorizationError):
    code = "wrong_role"


class WrongDepartment(AuthorizationError):
    code = "wrong_department"


class SeparationOfDuties(AuthorizationError):
    code = "separation_of_duties"


class VerificationError(LedgerError):
    code = "verification_failed"


class BadSignature(VerificationError):
    code = "bad_signature"


class InvariantViolation(LedgerError):
    code = "invariant_violation"


class InsufficientBalance(InvariantViolation):
    code = "insufficient_balance"


class DirectedMisuse(InvariantViolation):
    code = "directed_misuse"


class GoodsNotConserved(InvariantViolation):
    code = "goods_not_conserved"


class CorrectionError(InvariantViolation):
    code = "correction_error"


class WorkflowError(InvariantViolation):
    """A disclosure step out of order (approving before review, publishing unapproved…)."""

    code = "workflow_order"


class ObjectionPending(WorkflowError):
    """An objection raised during a 公示 posting period has no response yet."""

    code = "objection_pending"


class RecipientError(InvariantViolation):
    """A payment or record that does not fit the recipient registry: a protected recipient named
    in public, an erased recipient, a village other than the registered one."""

    code = "recipient_error"
