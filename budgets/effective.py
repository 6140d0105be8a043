"""A budget line's effective amount, defined once: the amount it was approved with (stored on
the line, which never changes once its version is approved) plus approved transfers in, minus
approved transfers out. Requested (pending) transfers out are carried beside it, because what a
line still has available counts them (`transfers.line_funds`).

Budget vs actual (`reports.py`), a revision's copy of its parent (`services.version_revise`) and
the transfer checks (`transfers/`) all read lines through `EFFECTIVE_LINES_SQL`, so a line means
the same number everywhere. Parameters: `%(tenant)s`, `%(version)s`.
"""

from __future__ import annotations

LINE_MOVES_SQL = """
    SELECT line_id, sum(approved_in) AS approved_in, sum(approved_out) AS approved_out,
           sum(pending_out) AS pending_out
    FROM (
        SELECT destination_id AS line_id, amount AS approved_in, 0 AS approved_out, 0 AS pending_out
        FROM budgets_transferrequest
        WHERE tenant_id = %(tenant)s AND version_id = %(version)s AND status = 'approved'
        UNION ALL
        SELECT source_id, 0, amount, 0 FROM budgets_transferrequest
        WHERE tenant_id = %(tenant)s AND version_id = %(version)s AND status = 'approved'
        UNION ALL
        SELECT source_id, 0, 0, amount FROM budgets_transferrequest
        WHERE tenant_id = %(tenant)s AND version_id = %(version)s AND status = 'requested'
    ) moves GROUP BY line_id
"""

EFFECTIVE_LINES_SQL = f"""
    SELECT l.id, l.tenant_id, l.account_id, l.cost_center_id, l.period_id, l.amount AS original,
           l.amount + coalesce(m.approved_in, 0) - coalesce(m.approved_out, 0) AS amount,
           coalesce(m.approved_in, 0) AS transfers_in, coalesce(m.approved_out, 0) AS transfers_out,
           coalesce(m.pending_out, 0) AS pending_out
    FROM budgets_budgetline l
    LEFT JOIN ({LINE_MOVES_SQL}) m ON m.line_id = l.id
    WHERE l.tenant_id = %(tenant)s AND l.version_id = %(version)s
"""
