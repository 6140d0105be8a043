"""The kernel's background jobs: one row for every job (an import of GL actuals, budget cells,
next cost items and contracts), run by a Celery worker, watched by beat, shown by one page partial.

- `models.py`: `Job`, its status, its input file and how it ended.
- `records.py`: kinds (with the task that runs each) → record a job (size limit, same-file
  detection), claim, read and finish it; queueing never imports the task module that runs it.
- `runs.py`: the status machine, the heartbeat while a job runs, what beat hands out again.
- `progress.py`: done / total / phase for the page that polls (`templates/jobs/_progress.html`).
- `tasks.py`: beat's requeue of jobs with no sign of life.
"""
