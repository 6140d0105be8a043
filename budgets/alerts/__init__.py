"""Variance alerts, by subdomain:

- `rules`: what finance sets up to watch (scope, basis, thresholds, recipients) and its checks;
- `evaluation`: rules against budget vs actual, each breach recorded once, with its inbox item
  and its messages queued in the kernel's outbox (and the rule editor's preview);
- `email`: the e-mail of a recipient's due alerts (the outbox kind "variance_alert");
- `inbox`: acknowledging and snoozing an alert (the kernel inbox's rules);
- `selectors`: reads for the inbox, the rule list and the editor.

Import from the module that defines a name; this package exports nothing itself.
"""
