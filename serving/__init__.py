"""The HTTP API, the web console and the `triage` command line."""
