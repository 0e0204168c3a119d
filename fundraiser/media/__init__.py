"""Images that staff upload (appeal hero images, co-signer logos), kept in the
database so that every app host serves the same bytes: hosts share nothing
but PostgreSQL and Redis."""
