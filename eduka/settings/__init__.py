"""Settings family: `base` holds everything; `dev`, `test` and `production` only differ where
they must. Every value comes from the environment (django-environ, optional `.env`)."""
