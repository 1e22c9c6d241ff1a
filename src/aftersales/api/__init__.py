"""HTTP interface (FastAPI). The API issue fills it with resources; here: the app shell,
health check and the embedded deadline worker."""
