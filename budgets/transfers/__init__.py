"""Reallocation, by subdomain:

- `requests`: asking to move budget between lines of a version in force, approving, rejecting
  and cancelling (the available-funds rule and the finance override);
- `selectors`: each line's funds and effective amount, the requests filtered and counted;
- `allocation`: the ROI solver (pure: no database);
- `proposals`: an ROI proposal built from a version's lines and accepted as transfer requests.

Import from the module that defines a name; this package exports nothing itself.
"""
