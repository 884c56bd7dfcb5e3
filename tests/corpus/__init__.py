"""The bad-input corpus (issue 10): generated media, briefs, EDLs, output paths and faults, each
run through the CLI as a subprocess and checked for its exit code, its message, no traceback, no
partial output and unchanged sources. `harness` runs a case, `library` makes the media, and the
`cases_*` modules hold the table."""
